/** The Kubernetes datastore end to end through the CLI, against the API server test double. */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {KubernetesDatastore, type KubeLimits} from '../../src/datastore/kubernetes.js'
import {NetctlError} from '../../src/errors.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import {nodeKind} from '../../src/resources/node.js'
import type {Resource} from '../../src/resources/types.js'
import {calicoInterfaceName, workloadEndpointKind} from '../../src/resources/workloadendpoint.js'
import {repoRoot, runCli, tempDir} from '../helpers/cli.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

const pod = (namespace: string, name: string, node: string | undefined, ip: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {name, namespace, labels: {app: name.split('-')[0]!}},
  spec: {nodeName: node, serviceAccountName: 'default', containers: [{}]},
  status: {phase: 'Running', podIP: ip, podIPs: [{ip}]},
  ...extra,
})

describe('kubernetes datastore (against the Kubernetes API test double)', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let kubeconfig: string
  const netctl = (args: string[], input?: string, env: Record<string, string> = {}) =>
    runCli(args, {input, env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig, ...env}})

  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir()
    kubeconfig = join(dir.path, 'kubeconfig')
    api.writeKubeconfig(kubeconfig, {namespace: 'team-a', extraContext: 'elsewhere'})
    api.seed('nodes', [
      {metadata: {name: 'controlplane', annotations: {'projectcalico.org/IPv4Address': '172.17.0.32/16', 'projectcalico.org/IPv4IPIPTunnelAddr': '192.168.49.64'}}},
      {metadata: {name: 'node01', annotations: {'projectcalico.org/IPv4Address': '172.17.0.40/16'}}},
    ])
    api.seed('pods', [
      pod('team-a', 'busybox-deployment-8c7dc8548-btnkv', 'node01', '192.168.196.131'),
      pod('team-a', 'busybox-deployment-8c7dc8548-x6ljh', 'controlplane', '192.168.49.66'),
      pod('team-a', 'pending-x', undefined, ''),
      pod('kube-system', 'kube-proxy-b2j4x', 'node01', '172.17.0.40', {spec: {nodeName: 'node01', hostNetwork: true}}),
      pod('kube-system', 'coredns-66bff467f8-52tkd', 'node01', '192.168.196.129'),
      pod('team-b', 'job-done', 'node01', '192.168.196.140', {status: {phase: 'Succeeded', podIP: '192.168.196.140'}}),
    ])
  })
  after(async () => {
    await api?.stop()
    dir?.cleanup()
  })

  it('shows pods as workload endpoints, in the context namespace by default', async () => {
    const r = await netctl(['get', 'workloadendpoints'])
    assert.equal(r.code, 0, r.stderr)
    // In the pods' order, as calicoctl prints them in seed 000 (not by endpoint name, which would put
    // controlplane's first); interface names hash "<namespace>.<pod>".
    assert.equal(r.stdout, [
      'WORKLOAD                             NODE           NETWORKS             INTERFACE',
      `busybox-deployment-8c7dc8548-btnkv   node01         192.168.196.131/32   ${calicoInterfaceName('team-a', 'busybox-deployment-8c7dc8548-btnkv')}`,
      `busybox-deployment-8c7dc8548-x6ljh   controlplane   192.168.49.66/32     ${calicoInterfaceName('team-a', 'busybox-deployment-8c7dc8548-x6ljh')}`,
      '',
    ].join('\n'))
    const all = await netctl(['get', 'weps', '-A'])
    assert.match(all.stdout, /^NAMESPACE\s+WORKLOAD\s+NODE\s+NETWORKS\s+INTERFACE\n/)
    assert.match(all.stdout, /kube-system\s+coredns-66bff467f8-52tkd\s+node01\s+192\.168\.196\.129\/32/)
    assert.match(all.stdout, /team-b\s+job-done\s+node01\s+cali/, 'a finished pod shows with no IPs')
    assert.doesNotMatch(all.stdout, /kube-proxy|pending-x/)
  })

  it('finds an endpoint by pod name and by escaped name, and filters by node server-side', async () => {
    const byPod = JSON.parse((await netctl(['get', 'wep', 'busybox-deployment-8c7dc8548-btnkv', '-o', 'json'])).stdout)
    assert.equal(byPod.metadata.name, 'node01-k8s-busybox--deployment--8c7dc8548--btnkv-eth0')
    assert.deepEqual(byPod.spec.profiles, ['kns.team-a', 'ksa.team-a.default'])
    const byName = JSON.parse((await netctl(['get', 'wep', 'node01-k8s-busybox--deployment--8c7dc8548--btnkv-eth0', '-o', 'json'])).stdout)
    assert.equal(byName.spec.pod, 'busybox-deployment-8c7dc8548-btnkv')
    const before = api.requests.length
    const onNode = await netctl(['get', 'weps', '-A', '--node', 'controlplane'])
    assert.match(onNode.stdout, /busybox-deployment-8c7dc8548-x6ljh/)
    assert.doesNotMatch(onNode.stdout, /node01/)
    assert.ok(api.requests.slice(before).some((q) => q.path === '/api/v1/pods' && q.query.get('fieldSelector') === 'spec.nodeName=controlplane'))
    const missing = await netctl(['get', 'wep', 'nope'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /WorkloadEndpoint "nope" not found in namespace "team-a"/)
  })

  it('lists pods in pages of 500 following continue', async () => {
    api.seed('pods', Array.from({length: 1203}, (_, i) => pod('bulk', `web-${String(i).padStart(4, '0')}`, `node${i % 3}`, `10.${Math.floor(i / 250)}.${i % 250}.1`)))
    const before = api.requests.length
    const r = await netctl(['get', 'weps', '-n', 'bulk', '-o', 'json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).items.length, 1203)
    const lists = api.requests.slice(before).filter((q) => q.path === '/api/v1/namespaces/bulk/pods')
    assert.deepEqual(lists.map((q) => q.query.get('limit')), ['500', '500', '500'])
    assert.equal(lists[0]!.query.get('continue'), null)
    assert.ok(lists[1]!.query.get('continue'))
  })

  it('writes Calico kinds as crd.projectcalico.org/v1 objects and reads them back', async () => {
    const created = await netctl(['apply', '-f', join(repoRoot, 'test/fixtures/pools.yaml')])
    assert.equal(created.code, 0, created.stderr)
    const r = await netctl(['get', 'ippools', '-o', 'wide'])
    assert.match(r.stdout, /default-ipv4-ippool\s+192\.168\.0\.0\/16\s+true\s+Always\s+Never/)
    const post = api.requests.find((q) => q.method === 'POST' && q.path === '/apis/crd.projectcalico.org/v1/ippools')
    assert.ok(post)
    const set = await netctl(['ippool', 'set', 'default-ipv4-ippool', '--ipip', 'Never'])
    assert.equal(set.code, 0, set.stderr)
    assert.equal(JSON.parse((await netctl(['get', 'ippool', 'default-ipv4-ippool', '-o', 'json'])).stdout).spec.ipipMode, 'Never')
    const uid = JSON.parse((await netctl(['get', 'ippool', 'default-ipv4-ippool', '-o', 'json'])).stdout).metadata.uid
    assert.ok(uid)
  })

  it('a stale resourceVersion is a conflict (409)', async () => {
    const stale = (await netctl(['get', 'ippool', 'pool-b', '-o', 'yaml'])).stdout
    assert.equal((await netctl(['ippool', 'set', 'pool-b', '--nat-outgoing'])).code, 0)
    const r = await netctl(['replace', '-f', '-'], stale.replace('blockSize: 24', 'blockSize: 24\n  disabled: true'))
    assert.equal(r.code, 1)
    assert.match(r.stderr, /was changed since resourceVersion/)
    const race = await Promise.all([netctl(['ippool', 'set', 'pool-b', '--disabled']), netctl(['ippool', 'set', 'pool-b', '--no-nat-outgoing'])])
    for (const x of race) assert.equal(x.code, 0, x.stderr)
    const spec = JSON.parse((await netctl(['get', 'ippool', 'pool-b', '-o', 'json'])).stdout).spec
    assert.equal(spec.disabled, true)
    assert.equal(spec.natOutgoing, false)
  })

  it('updates Calico fields of a Kubernetes Node with a merge patch', async () => {
    const r = await netctl(['patch', 'node', 'node01', '-p', '{"spec":{"bgp":{"asNumber":64600}}}'])
    assert.equal(r.code, 0, r.stderr)
    const patch = api.requests.filter((q) => q.method === 'PATCH' && q.path === '/api/v1/nodes/node01').at(-1)
    assert.equal(patch?.contentType, 'application/merge-patch+json')
    const nodes = await netctl(['get', 'nodes', '-o', 'wide'])
    assert.match(nodes.stdout, /node01\s+64600\s+172\.17\.0\.40\/16/)
    assert.match(nodes.stdout, /controlplane\s+\(64512\)\s+172\.17\.0\.32\/16/)
    const refused = await netctl(['delete', 'node', 'node01'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /Calico's Nodes are the cluster's Node objects/)
  })

  it('--context picks another context and its namespace', async () => {
    api.seed('pods', [pod('other', 'lonely-pod', 'node01', '192.168.196.150')])
    const r = await netctl(['get', 'weps', '--context', 'elsewhere'])
    assert.match(r.stdout, /lonely-pod/)
    const bad = await netctl(['get', 'weps', '--context', 'nowhere'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /the kubeconfig has no context "nowhere"\n  use one of: double, elsewhere/)
  })

  it('says which verb on which resource was denied (403), and when credentials are refused (401)', async () => {
    api.deny('list', 'pods')
    const r = await netctl(['get', 'weps', '-A'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^Error: the API server denied "list" on pods \(403\): pods is forbidden: User "netctl-test" cannot list resource "pods"/)
    assert.match(r.stderr, /kubectl auth can-i list pods/)
    const wrong = join(dir.path, 'wrong-token')
    api.writeKubeconfig(wrong, {token: 'not-the-token'})
    const u = await runCli(['get', 'ippools'], {env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: wrong}})
    assert.equal(u.code, 1)
    assert.match(u.stderr, /did not accept netctl's credentials \(401\) when it tried to list ippools\.crd\.projectcalico\.org/)
  })

  it('gets its token from an exec credential plugin', async () => {
    const plugin = join(dir.path, 'credential-plugin.mjs')
    writeFileSync(plugin, `console.log(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: {token: ${JSON.stringify(api.token)}}}))`)
    const execConfig = join(dir.path, 'exec-kubeconfig')
    api.writeKubeconfig(execConfig, {exec: {command: process.execPath, args: [plugin]}})
    const r = await runCli(['get', 'ippools'], {env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: execConfig}})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /default-ipv4-ippool/)
  })

  it('names the server when it cannot be reached, and refuses unknown auth providers', async () => {
    const unreachable = join(dir.path, 'unreachable')
    writeFileSync(unreachable, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'x',
      clusters: [{name: 'x', cluster: {server: 'http://127.0.0.1:9', 'insecure-skip-tls-verify': true}}], users: [{name: 'u', user: {token: 't'}}], contexts: [{name: 'x', context: {cluster: 'x', user: 'u'}}],
    }))
    const r = await runCli(['get', 'ippools'], {env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: unreachable}})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:9: .*ECONNREFUSED/)
    const provider = join(dir.path, 'provider')
    writeFileSync(provider, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'x',
      clusters: [{name: 'x', cluster: {server: api.url, 'insecure-skip-tls-verify': true}}], users: [{name: 'u', user: {'auth-provider': {name: 'openstack', config: {}}}}], contexts: [{name: 'x', context: {cluster: 'x', user: 'u'}}],
    }))
    const p = await runCli(['get', 'ippools'], {env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: provider}})
    assert.equal(p.code, 1)
    assert.match(p.stderr, /uses the auth provider "openstack", which netctl cannot use/)
  })
})

/** Rejects with a NetctlError of this kind whose message matches; returns the elapsed milliseconds. */
async function rejectsWith(promise: Promise<unknown>, kind: string, message: RegExp): Promise<number> {
  const started = performance.now()
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof NetctlError, `not a NetctlError: ${error}`)
    assert.equal(error.kind, kind, error.message)
    assert.match(error.message, message)
    return true
  })
  return performance.now() - started
}

describe('kubernetes datastore against a misbehaving API server', () => {
  // Each case must end within seconds; a hang fails it instead of stalling the run.
  const bounded = {timeout: 20_000}
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let kubeconfig: string
  const config = () => ({datastoreType: 'kubernetes' as const, stateDir: '', kubeconfig})
  const open = (limits: Partial<KubeLimits> = {}) => KubernetesDatastore.open(config(), limits)
  const netctl = (args: string[]) => runCli(args, {env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig}})
  const pool = (name: string): Resource => ({apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name}, spec: {cidr: '10.9.0.0/16'}})
  const ippools = '/apis/crd.projectcalico.org/v1/ippools'

  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir()
    kubeconfig = join(dir.path, 'kubeconfig')
    api.writeKubeconfig(kubeconfig)
    api.seed('nodes', [{metadata: {name: 'node01', annotations: {'projectcalico.org/IPv4Address': '172.17.0.40/16'}}}])
    api.seed('ippools', [{metadata: {name: 'stored'}, spec: {cidr: '10.8.0.0/16'}}])
    api.seed('pods', Array.from({length: 3}, (_, i) => ({metadata: {name: `web-${i}`, namespace: 'default'}, spec: {nodeName: 'node01'}, status: {podIP: `10.8.0.${i + 1}`}})))
  })
  after(async () => {
    api?.behave()
    await api?.stop()
    dir?.cleanup()
  })

  it('a continue token that comes back is an error naming the endpoint, not a loop', bounded, async () => {
    api.misbehave({mode: 'repeat-continue', path: '/api/v1/pods'})
    const before = api.requests.length
    const r = await netctl(['get', 'weps', '-A'])
    api.behave()
    assert.equal(r.code, 1, r.stderr)
    // The listing prints as its pages come (as kubectl's does): the first page's rows, never the repeated page's.
    assert.equal(r.stdout.split('\n').filter((line) => line.startsWith('default ')).length, 3, r.stdout)
    assert.match(r.stderr, /the API server at http:\/\/127\.0\.0\.1:\d+ sent the same continue token twice .*pods \(GET \/api\/v1\/pods\)/)
    assert.equal(api.requests.slice(before).filter((q) => q.path === '/api/v1/pods').length, 2, 'the second page gives the token away')
  })

  it('a list without end stops at the page bound and at the object bound', bounded, async () => {
    api.misbehave({mode: 'endless-pages', itemsPerPage: 0, path: ippools})
    let before = api.requests.length
    await rejectsWith((await open({maxListPages: 5})).list(ipPoolKind), 'unavailable', /listing ippools\.crd\.projectcalico\.org \(GET \/apis\/crd\.projectcalico\.org\/v1\/ippools\) at http:\/\/127\.0\.0\.1:\d+ did not end after 5 pages \(0 objects\)/)
    assert.equal(api.requests.length - before, 5)
    api.misbehave({mode: 'endless-pages', itemsPerPage: 100, path: '/api/v1/pods'})
    before = api.requests.length
    await rejectsWith((await open({maxListObjects: 250})).list(workloadEndpointKind, {}), 'unavailable', /listing pods \(GET \/api\/v1\/pods\) at http:\/\/127\.0\.0\.1:\d+ returned more than 250 objects/)
    assert.equal(api.requests.length - before, 3)
    api.behave()
  })

  it('a listing that pages along for longer than its time bound is cut off', bounded, async () => {
    api.misbehave({mode: 'endless-pages', itemsPerPage: 1, path: ippools})
    const elapsed = await rejectsWith((await open({listMs: 400, maxListPages: 1e9, maxListObjects: 1e9})).list(ipPoolKind), 'unavailable', /listing ippools\.crd\.projectcalico\.org \(GET \/apis\/crd\.projectcalico\.org\/v1\/ippools\) at http:\/\/127\.0\.0\.1:\d+ did not finish within 0\.4 s \(\d+ pages, \d+ objects so far\)/)
    api.behave()
    // The bound is kept by Date.now(), the test times with a finer clock: a few ms either side.
    assert.ok(elapsed >= 380 && elapsed < 2000, `took ${elapsed} ms`)
  })

  it('a body trickled a byte at a time ends at the request time bound, for every verb', bounded, async () => {
    const limits = {idleMs: 5000, requestMs: 500}
    const ds = await open(limits)
    const node = await ds.get(nodeKind, 'node01')
    const stored = await ds.get(ipPoolKind, 'stored')
    const cases: Array<[string, string, () => Promise<unknown>]> = [
      ['GET', ippools, () => ds.list(ipPoolKind)],
      ['GET', '/api/v1/pods', () => ds.list(workloadEndpointKind, {})],
      ['GET', `${ippools}/stored`, () => ds.get(ipPoolKind, 'stored')],
      ['POST', ippools, () => ds.create(ipPoolKind, pool('new'))],
      ['PUT', `${ippools}/stored`, () => ds.update(ipPoolKind, stored)],
      ['PATCH', '/api/v1/nodes/node01', () => ds.update(nodeKind, node)],
      ['DELETE', `${ippools}/stored`, () => ds.delete(ipPoolKind, 'stored')],
    ]
    for (const [method, path, operation] of cases) {
      api.misbehave({mode: 'trickle', intervalMs: 50, bytes: 100_000, method, path})
      const abandoned = api.abandoned
      const pattern = new RegExp(`did not finish answering ${method} ${path.replaceAll('/', '\\/')} within 0\\.5 s`)
      const elapsed = await rejectsWith(operation(), 'unavailable', pattern)
      assert.ok(elapsed >= 450 && elapsed < 2000, `${method} ${path} took ${elapsed} ms`)
      await waitFor(() => api.abandoned === abandoned + 1, `netctl hangs up on the trickled ${method} ${path}`)
    }
    api.behave()
  })

  it('a process whose request was cut off exits on its own (no timer or socket left behind)', bounded, async () => {
    api.misbehave({mode: 'trickle', intervalMs: 50, bytes: 100_000, path: ippools})
    const script = `
      const {KubernetesDatastore} = await import(${JSON.stringify(join(repoRoot, 'src/datastore/kubernetes.ts'))})
      const {ipPoolKind} = await import(${JSON.stringify(join(repoRoot, 'src/resources/ippool.ts'))})
      const ds = await KubernetesDatastore.open(${JSON.stringify(config())}, {requestMs: 300})
      await ds.list(ipPoolKind).then(() => console.log('listed'), (error) => console.log(error.kind + ': ' + error.message))
    `
    const started = performance.now()
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    clearTimeout(killer)
    api.behave()
    assert.equal(code, 0, `the process did not exit on its own: ${output}`)
    assert.match(output, /^unavailable: .*did not finish answering GET \/apis\/crd\.projectcalico\.org\/v1\/ippools within 0\.3 s/)
    assert.ok(performance.now() - started < 10_000)
  })

  it('an exec credential plugin that hangs counts against the request time bound', bounded, async () => {
    // It gives up by itself after 3 s, so nothing is left running after the test.
    const plugin = join(dir.path, 'slow-plugin.mjs')
    writeFileSync(plugin, 'setTimeout(() => {}, 3000)')
    const slow = join(dir.path, 'slow-kubeconfig')
    api.writeKubeconfig(slow, {exec: {command: process.execPath, args: [plugin]}})
    const ds = await KubernetesDatastore.open({...config(), kubeconfig: slow}, {requestMs: 500})
    const elapsed = await rejectsWith(ds.list(ipPoolKind), 'unavailable', /cannot get credentials for the kubeconfig user: none came within 0\.5 s/)
    assert.ok(elapsed < 2000, `took ${elapsed} ms`)
  })

  it('a response body over the size bound is an error, not a memory hog', bounded, async () => {
    api.misbehave({mode: 'raw', body: JSON.stringify({kind: 'List', items: [], padding: 'x'.repeat(200_000)}), path: ippools})
    await rejectsWith((await open({maxBodyBytes: 64 * 1024})).list(ipPoolKind), 'unavailable', /answered GET \/apis\/crd\.projectcalico\.org\/v1\/ippools with more than 64 KiB/)
    api.behave()
  })

  it('a reply that is not JSON, or not the object asked for, is an error naming the path and the fault', bounded, async () => {
    const cases: Array<[string, string, string, RegExp]> = [
      [ippools, 'text/html', '<html><body>Please log in to the proxy</body></html>', /answered GET \/apis\/crd\.projectcalico\.org\/v1\/ippools with a body that is not JSON \(text\/html: <html><body>Please log in/],
      [ippools, 'application/json', 'null', /answered GET \/apis\/crd\.projectcalico\.org\/v1\/ippools with null where a list belongs/],
      [ippools, 'application/json', '{"kind":"Status"}', /answered GET \/apis\/crd\.projectcalico\.org\/v1\/ippools with a list that has no items array/],
      [ippools, 'application/json', '{"items":[null]}', /answered GET \/apis\/crd\.projectcalico\.org\/v1\/ippools with a list whose item 0 is not an object with metadata\.name/],
      [ippools, 'application/json', '', /answered GET \/apis\/crd\.projectcalico\.org\/v1\/ippools with an empty body/],
      ['/api/v1/pods', 'application/json', '[]', /answered GET \/api\/v1\/pods with an array where a list belongs/],
    ]
    for (const [path, contentType, body, message] of cases) {
      api.misbehave({mode: 'raw', contentType, body, path})
      const r = await netctl(path === ippools ? ['get', 'ippools'] : ['get', 'weps', '-A'])
      assert.equal(r.code, 1, `${body}: ${r.stdout}${r.stderr}`)
      assert.equal(r.stdout, '', `${body}: no table`)
      assert.match(r.stderr, message)
    }
    const ds = await open()
    api.misbehave({mode: 'raw', body: '"stored"', path: `${ippools}/stored`})
    await rejectsWith(ds.get(ipPoolKind, 'stored'), 'unavailable', /answered GET \/apis\/crd\.projectcalico\.org\/v1\/ippools\/stored with a string where an object with metadata\.name belongs/)
    api.misbehave({mode: 'raw', status: 201, body: '{"metadata":{}}', method: 'POST', path: ippools})
    await rejectsWith(ds.create(ipPoolKind, pool('new')), 'unavailable', /answered POST \/apis\/crd\.projectcalico\.org\/v1\/ippools with an object without metadata\.name/)
    api.misbehave({mode: 'raw', contentType: 'text/plain', body: 'OK', method: 'DELETE', path: `${ippools}/stored`})
    await rejectsWith(ds.delete(ipPoolKind, 'stored'), 'unavailable', /answered DELETE \/apis\/crd\.projectcalico\.org\/v1\/ippools\/stored with a body that is not JSON \(text\/plain: OK\)/)
    api.behave()
    assert.equal((await ds.get(ipPoolKind, 'stored')).metadata.name, 'stored', 'the double is itself again')
  })
})

async function waitFor(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
