/** Paged listings on the Kubernetes datastore: the next page is on its way while the caller works on this one. */
import assert from 'node:assert/strict'
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
