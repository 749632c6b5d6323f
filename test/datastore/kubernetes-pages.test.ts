/** Paged listings on the Kubernetes datastore: the next page is on its way while the caller works on this one, over the same connection. */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {connect, createServer, type Server, type Socket} from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'

import {KubernetesDatastore, kubePageSize} from '../../src/datastore/kubernetes.js'
import {workloadEndpointKind} from '../../src/resources/workloadendpoint.js'
import {tempDir} from '../helpers/cli.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

describe('kubernetes paged listing', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let ds: KubernetesDatastore
  // Names whose order by byte differs from the order by collation ('B' < 'a' by byte): listing must sort as localeCompare does.
  const names = Array.from({length: 2 * kubePageSize + 10}, (_, i) => `${i % 2 ? 'Web' : 'api'}-${i}`)

  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir()
    api.writeKubeconfig(join(dir.path, 'kubeconfig'))
    api.seed('pods', names.map((name, i) => ({
      apiVersion: 'v1', kind: 'Pod',
      metadata: {name, namespace: `ns-${i % 3}`},
      spec: {nodeName: 'node01', serviceAccountName: 'default'},
      status: {phase: 'Running', podIP: `10.0.${i >> 8}.${i & 255}`},
    })))
    ds = await KubernetesDatastore.open({datastoreType: 'kubernetes', stateDir: dir.path, kubeconfig: join(dir.path, 'kubeconfig'), kubeconfigSource: 'flag --kubeconfig'})
  })
  after(async () => {
    await ds?.close()
    await api?.stop()
    dir?.cleanup()
  })

  const podLists = () => api.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/pods').length

  it('asks for the next page before the caller has finished with this one', async () => {
    const before = podLists()
    const pages = ds.listPages(workloadEndpointKind, {})
    const first = await pages.next()
    assert.equal(first.done, false)
    // The caller is still on page 1: page 2 is already asked for, page 3 not yet.
    await sleep(300)
    assert.equal(podLists() - before, 2)
    let count = first.value!.length
    for await (const page of {[Symbol.asyncIterator]: () => pages}) count += page.length
    assert.equal(count, names.length)
    assert.equal(podLists() - before, 3)
  })

  it('reads every page over one connection (client-node would make one per request)', async () => {
    // A TCP relay in front of the double counts the connections netctl opens.
    const target = new URL(api.url)
    let connections = 0
    const sockets: Socket[] = []
    const relay: Server = createServer((socket) => {
      connections += 1
      const upstream = connect(Number(target.port), target.hostname)
      sockets.push(socket, upstream)
      socket.pipe(upstream).pipe(socket)
      socket.on('error', () => upstream.destroy())
      upstream.on('error', () => socket.destroy())
    })
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
    const kubeconfig = join(dir.path, 'relayed')
    const port = (relay.address() as {port: number}).port
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'relayed',
      clusters: [{name: 'relayed', cluster: {server: `http://127.0.0.1:${port}`}}],
      users: [{name: 'u', user: {token: api.token}}],
      contexts: [{name: 'relayed', context: {cluster: 'relayed', user: 'u'}}],
    }))
    const relayed = await KubernetesDatastore.open({datastoreType: 'kubernetes', stateDir: dir.path, kubeconfig, kubeconfigSource: 'flag --kubeconfig'})
    try {
      assert.equal((await relayed.list(workloadEndpointKind)).length, names.length)
      assert.equal(connections, 1)
    } finally {
      await relayed.close()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => relay.close(() => resolve()))
    }
  })

  it('sorts each page by namespace/name as localeCompare does, and list() the whole', async () => {
    const expected = (items: Array<{metadata: {namespace?: string; name: string}}>) =>
      items.map((r) => `${r.metadata.namespace}/${r.metadata.name}`).sort((a, b) => a.localeCompare(b))
    for await (const page of ds.listPages(workloadEndpointKind, {})) {
      assert.deepEqual(page.map((r) => `${r.metadata.namespace}/${r.metadata.name}`), expected(page))
    }
    const all = await ds.list(workloadEndpointKind)
    assert.equal(all.length, names.length)
    assert.deepEqual(all.map((r) => `${r.metadata.namespace}/${r.metadata.name}`), expected(all))
  })
})
