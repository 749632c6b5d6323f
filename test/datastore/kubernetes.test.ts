/** The Kubernetes datastore end to end through the CLI, against the API server test double. */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {calicoInterfaceName} from '../../src/resources/workloadendpoint.js'
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
    // Sorted by endpoint name, like calicoctl; interface names hash "<namespace>.<pod>".
    assert.equal(r.stdout, [
      'WORKLOAD                             NODE           NETWORKS             INTERFACE',
      `busybox-deployment-8c7dc8548-x6ljh   controlplane   192.168.49.66/32     ${calicoInterfaceName('team-a', 'busybox-deployment-8c7dc8548-x6ljh')}`,
      `busybox-deployment-8c7dc8548-btnkv   node01         192.168.196.131/32   ${calicoInterfaceName('team-a', 'busybox-deployment-8c7dc8548-btnkv')}`,
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
