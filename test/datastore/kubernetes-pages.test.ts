/** Paged listings on the Kubernetes datastore: the next page is on its way while the caller works on this one, over kept-alive connections. */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {createServer as createHttpServer} from 'node:http'
import {connect, createServer, type Server, type Socket} from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'

import {headContinueToken, KubernetesDatastore, kubePageSize} from '../../src/datastore/kubernetes.js'
import {workloadEndpointKind} from '../../src/resources/workloadendpoint.js'
import {tempDir} from '../helpers/cli.js'
import {startTimedRelay} from '../helpers/relay.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

/** A kubeconfig whose server is a relay on this port. */
function writeRelayedKubeconfig(path: string, port: number, token: string): void {
  writeFileSync(path, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'relayed',
    clusters: [{name: 'relayed', cluster: {server: `http://127.0.0.1:${port}`}}],
    users: [{name: 'u', user: {token}}],
    contexts: [{name: 'relayed', context: {cluster: 'relayed', user: 'u'}}],
  }))
}

describe('kubernetes paged listing', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let ds: KubernetesDatastore
  // Names whose order by byte (the API server's) differs from a collation's: 'W' < 'a' by byte.
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

  it('has the next page\'s request on the wire before a page is handed out, however long the caller then works', async () => {
    // A relay in another process notes when each request reaches it, while this process works on
    // page 1 for 300 ms without yielding, as printing a big page does. A request that is only sent
    // once the caller yields would reach it after that.
    const relay = await startTimedRelay(Number(new URL(api.url).port))
    try {
      const kubeconfig = join(dir.path, 'relayed-timed')
      writeRelayedKubeconfig(kubeconfig, relay.port, api.token)
      const relayed = await KubernetesDatastore.open({datastoreType: 'kubernetes', stateDir: dir.path, kubeconfig, kubeconfigSource: 'flag --kubeconfig'})
      let busyUntil = 0
      try {
        const pages = relayed.listPages(workloadEndpointKind, {})
        assert.equal((await pages.next()).done, false)
        busyUntil = Date.now() + 300
        while (Date.now() < busyUntil);
        for await (const page of {[Symbol.asyncIterator]: () => pages}) assert.ok(page.length > 0)
      } finally {
        await relayed.close()
      }
      const arrivals = relay.arrivals().flatMap(({at, head}) => [...head.matchAll(/^GET (\S+)/gm)].map((m) => ({at, request: m[1]!})))
      assert.equal(arrivals.length, 3, JSON.stringify(arrivals))
      assert.ok(arrivals[1]!.at < busyUntil, `page 2's request reached the server ${arrivals[1]!.at - busyUntil} ms after page 1's work ended`)
      assert.ok(arrivals[2]!.at >= busyUntil, 'page 3 is asked for only once page 2 has come')
    } finally {
      relay.stop()
    }
  })

  it('reads every page over two kept-alive connections (client-node would make one per request)', async () => {
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
    writeRelayedKubeconfig(kubeconfig, (relay.address() as {port: number}).port, api.token)
    const relayed = await KubernetesDatastore.open({datastoreType: 'kubernetes', stateDir: dir.path, kubeconfig, kubeconfigSource: 'flag --kubeconfig'})
    try {
      // Two listings of three pages: six requests. The next page is asked for while this one still
      // arrives, so two connections take turns.
      assert.equal((await relayed.list(workloadEndpointKind)).length, names.length)
      assert.equal((await relayed.list(workloadEndpointKind)).length, names.length)
      assert.ok(connections <= 2, `${connections} connections for six requests`)
    } finally {
      await relayed.close()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => relay.close(() => resolve()))
    }
  })

  it('keeps the API server\'s order (namespace, then pod name), as calicoctl does, in pages and in list()', async () => {
    const byByte = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
    const podOrder = names.map((name, i) => `ns-${i % 3}/${name}`).sort(byByte)
    const pods = (items: Array<{metadata: {namespace?: string}; spec?: unknown}>) => items.map((r) => `${r.metadata.namespace}/${(r.spec as {pod: string}).pod}`)
    const paged: string[] = []
    for await (const page of ds.listPages(workloadEndpointKind, {})) paged.push(...pods(page))
    assert.deepEqual(paged, podOrder)
    assert.deepEqual(pods(await ds.list(workloadEndpointKind)), podOrder)
    // The test tells the two apart.
    assert.notDeepEqual(podOrder, [...podOrder].sort((a, b) => a.localeCompare(b)))
  })
})

/** A pod as a list item: a name in default, on node01. */
const podItem = (name: string) => JSON.stringify({metadata: {name, namespace: 'default'}, spec: {nodeName: 'node01'}, status: {podIP: '10.0.0.1'}})

/** An HTTP server on a free loopback port; close() ends its connections too. */
async function startServer(handler: Parameters<typeof createHttpServer>[1]): Promise<{port: number; close: () => Promise<void>}> {
  const server = createHttpServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as {port: number}).port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('the continue token at the head of a page', () => {
  it('is read from the list\'s own metadata as the API server writes it, and from nothing else', () => {
    assert.equal(headContinueToken('{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"eyJh","remainingItemCount":3},"items":[{"metadata":{'), 'eyJh')
    assert.equal(headContinueToken('{"metadata":{"continue":"abc"},"items":[]}'), 'abc')
    for (const head of [
      '{"items":[],"metadata":{"continue":"after-the-items"}}',
      '{"kind":"PodList","metadata":{"annotations":{"continue":"nested"}},"items":[]}',
      '{"metadata":{"resourceVersion":"9","note":"x,\\"continue\\":\\"in-a-string"},"items":[]}',
      '{"metadata":{"continue":""},"items":[]}',
      '{"metadata":{"continue":"cut-off',
      ' {"metadata":{"continue":"after-a-space"}}',
      '',
    ]) assert.equal(headContinueToken(head), undefined, head)
  })

  it('asks for the next page as soon as this one\'s head arrives, follows only the token the parsed page carries, and cancels the other', async () => {
    // The first page names token "early" first and "parsed" last (JSON.parse keeps the last). The
    // server sends its head, then holds the rest back until the page "early" is asked for (or 5 s
    // pass). It never answers "early", and answers "parsed" only once "early" was given up (or 5 s
    // pass). The page asked for with "early" must not be printed.
    const log: string[] = []
    const signal = () => {
      let done!: () => void
      return {promise: new Promise<void>((resolve) => (done = resolve)), done: () => done()}
    }
    const earlyAsked = signal()
    const earlyGivenUp = signal()
    const server = await startServer(async (req, res) => {
      const token = new URL(req.url!, 'http://x').searchParams.get('continue') ?? ''
      log.push(`asked ${token || 'first'}`)
      res.writeHead(200, {'Content-Type': 'application/json'})
      if (token === '') {
        res.write('{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"early","continue":"parsed"},"items":[')
        await Promise.race([earlyAsked.promise, sleep(5000)])
        log.push('first page ended')
        res.end(`${podItem('first')}]}`)
      } else if (token === 'early') {
        res.on('close', () => earlyGivenUp.done())
        earlyAsked.done()
      } else {
        await Promise.race([earlyGivenUp.promise, sleep(5000)])
        log.push(`answered ${token}`)
        res.end(`{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[${podItem(token === 'parsed' ? 'last' : 'never-printed')}]}`)
      }
    })
    const dir = tempDir()
    try {
      const kubeconfig = join(dir.path, 'kubeconfig')
      writeRelayedKubeconfig(kubeconfig, server.port, 'any')
      const ds = await KubernetesDatastore.open({datastoreType: 'kubernetes', stateDir: dir.path, kubeconfig, kubeconfigSource: 'flag --kubeconfig'})
      try {
        const started = performance.now()
        const pods = (await ds.list(workloadEndpointKind)).map((w) => (w.spec as {pod: string}).pod)
        assert.deepEqual(pods, ['first', 'last'])
        assert.deepEqual(log, ['asked first', 'asked early', 'first page ended', 'asked parsed', 'answered parsed'])
        assert.ok(performance.now() - started < 4000, 'the page asked for with "early" was given up only when the listing ended')
      } finally {
        await ds.close()
      }
    } finally {
      await server.close()
      dir.cleanup()
    }
  })

  it('asks for nothing after a page fails, not even credentials for the page its head named', async () => {
    // One page, in one chunk, with a continue token and more objects than the listing may hold:
    // its head and its end arrive together, and the page fails. The exec plugin notes each run.
    const dir = tempDir()
    const runs = join(dir.path, 'runs')
    const plugin = join(dir.path, 'plugin.cjs')
    writeFileSync(plugin, `require('node:fs').appendFileSync(${JSON.stringify(runs)}, 'run\\n')\nprocess.stdout.write(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: {token: 't'}}))\n`)
    const asked: string[] = []
    const server = await startServer((req, res) => {
      asked.push(req.url!)
      res.writeHead(200, {'Content-Type': 'application/json'}).end(`{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"more"},"items":[${podItem('a')},${podItem('b')}]}`)
    })
    try {
      const kubeconfig = join(dir.path, 'kubeconfig')
      writeFileSync(kubeconfig, JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
        clusters: [{name: 'c', cluster: {server: `http://127.0.0.1:${server.port}`, 'insecure-skip-tls-verify': true}}],
        users: [{name: 'u', user: {exec: {apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: [plugin], interactiveMode: 'Never'}}}],
        contexts: [{name: 'c', context: {cluster: 'c', user: 'u'}}],
      }))
      const ds = await KubernetesDatastore.open({datastoreType: 'kubernetes', stateDir: dir.path, kubeconfig, kubeconfigSource: 'flag --kubeconfig'}, {maxListObjects: 1})
      try {
        await assert.rejects(ds.list(workloadEndpointKind), /returned more than 1 objects/)
        await sleep(300)
        assert.equal(readFileSync(runs, 'utf8'), 'run\n')
        assert.equal(asked.length, 1)
      } finally {
        await ds.close()
      }
    } finally {
      await server.close()
      dir.cleanup()
    }
  })
})
