/**
 * The policy kinds end to end through the real netctl binary: the embedded file datastore,
 * a real etcd (Calico's keys), and the Kubernetes datastore (Calico's CRDs, namespaced ones under
 * namespaces/<ns>/) against the Kubernetes API test double.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {load} from 'js-yaml'

import {runCli, tempDir} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

const policies = `apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: security
spec:
  order: 100
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-tcp-6379
  namespace: production
spec:
  tier: security
  order: 10
  selector: role == 'database'
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: role == 'frontend'
    destination:
      ports: [6379]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-egress
spec:
  selector: all()
  egress:
  - action: Deny
    destination:
      nets: [169.254.169.254/32]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: external
  labels: {role: external}
spec:
  nets: [198.51.100.0/24, 203.0.113.0/24]
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: partners
  namespace: production
spec:
  nets: [192.0.2.0/24]
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata:
  name: kns.production
spec:
  ingress: [{action: Allow}]
  egress: [{action: Allow}]
  labelsToApply: {pcns.projectcalico.org/name: production}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: node01-eth0
spec:
  node: node01
  interfaceName: eth0
  expectedIPs: [172.17.0.40]
  profiles: [kns.production]
`

describe('policy kinds through the CLI (embedded datastore)', () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  before(() => {
    state = tempDir()
    writeFileSync(join(state.path, 'policies.yaml'), policies)
  })
  after(() => state.cleanup())

  it('creates every kind from a file and lists them with calicoctl\'s columns', async () => {
    const created = await netctl(['create', '-f', join(state.path, 'policies.yaml')])
    assert.equal(created.code, 0, created.stderr)
    assert.equal(created.stdout.trim(), 'Successfully created 7 resource(s)')
    const table = async (...args: string[]) => {
      const r = await netctl(['get', ...args])
      assert.equal(r.code, 0, r.stderr)
      return r.stdout.split('\n').map((line) => line.trimEnd().split(/\s{2,}/))
    }
    assert.deepEqual((await table('policy', '-n', 'production')).slice(0, 2), [['NAMESPACE', 'NAME', 'TIER'], ['production', 'allow-tcp-6379', 'security']])
    assert.deepEqual((await table('np', '-A', '-o', 'wide')).slice(0, 2), [['NAMESPACE', 'NAME', 'TIER', 'ORDER', 'SELECTOR'], ['production', 'allow-tcp-6379', 'security', '10', "role == 'database'"]])
    // Without -n or -A: the default namespace, which holds none.
    assert.deepEqual(await table('pols'), [['NAME', 'TIER'], ['']])
    assert.deepEqual((await table('gnp', '-o', 'wide')).slice(0, 2), [['NAME', 'TIER', 'ORDER', 'SELECTOR'], ['deny-egress', 'default', '<nil>', 'all()']])
    assert.deepEqual((await table('tiers')).slice(0, 2), [['NAME', 'ORDER'], ['security', '100']])
    assert.deepEqual((await table('gnetsets', '-o', 'wide')).slice(0, 2), [['NAME', 'NETS'], ['external', '198.51.100.0/24,203.0.113.0/24']])
    assert.deepEqual((await table('netsets', '-A', '-o', 'wide')).slice(0, 2), [['NAMESPACE', 'NAME', 'NETS'], ['production', 'partners', '192.0.2.0/24']])
    assert.deepEqual((await table('profile', '-o', 'wide')).slice(0, 2), [['NAME', 'LABELS'], ['kns.production', 'pcns.projectcalico.org/name=production']])
    assert.deepEqual((await table('hep', '-o', 'wide')).slice(0, 2), [['NAME', 'NODE', 'INTERFACE', 'IPS', 'PROFILES'], ['node01-eth0', 'node01', 'eth0', '172.17.0.40', 'kns.production']])
  })

  it('get -o yaml and -o json show Calico\'s defaults', async () => {
    const yaml = await netctl(['get', 'gnp', 'deny-egress', '-o', 'yaml'])
    assert.equal(yaml.code, 0, yaml.stderr)
    const gnp = load(yaml.stdout) as {kind: string; metadata: {labels: Record<string, string>}; spec: {tier: string; types: string[]}}
    assert.equal(gnp.kind, 'GlobalNetworkPolicy')
    assert.equal(gnp.spec.tier, 'default')
    assert.deepEqual(gnp.spec.types, ['Egress'])
    assert.equal(gnp.metadata.labels['projectcalico.org/tier'], 'default')
    const json = JSON.parse((await netctl(['get', 'networkpolicy', 'allow-tcp-6379', '-n', 'production', '-o', 'json'])).stdout)
    assert.deepEqual(json.spec.types, ['Ingress'])
    assert.equal(json.metadata.namespace, 'production')
    const tier = JSON.parse((await netctl(['get', 'tier', 'security', '-o', 'json'])).stdout)
    assert.equal(tier.spec.defaultAction, 'Deny')
  })

  it('refuses a bad policy naming the field and the fix, and writes nothing', async () => {
    const bad = policies.replace('ports: [6379]', 'ports: [6379]\n    icmp: {type: 8}')
    const r = await netctl(['apply', '-f', '-'], bad)
    assert.equal(r.code, 2)
    assert.match(r.stderr, /NetworkPolicy "allow-tcp-6379": spec\.ingress\[0\]\.icmp is set, but protocol is "TCP"/)
    assert.match(r.stderr, /ICMP or ICMPv6/)
    const preDnat = await netctl(['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: pre}\nspec: {preDNAT: true, selector: all()}\n')
    assert.equal(preDnat.code, 2)
    assert.match(preDnat.stderr, /spec\.applyOnForward must be true when preDNAT is true/)
    assert.equal((await netctl(['get', 'gnp', 'pre'])).code, 1)
  })

  it('apply, patch, replace and delete work through the registry', async () => {
    const patched = await netctl(['patch', 'gnp', 'deny-egress', '-p', '{"spec":{"order":5}}'])
    assert.equal(patched.code, 0, patched.stderr)
    assert.equal(JSON.parse((await netctl(['get', 'gnp', 'deny-egress', '-o', 'json'])).stdout).spec.order, 5)
    const badPatch = await netctl(['patch', 'gnp', 'deny-egress', '-p', '{"spec":{"types":["Sideways"]}}'])
    assert.equal(badPatch.code, 2)
    assert.match(badPatch.stderr, /spec\.types\[0\]/)
    const applied = await netctl(['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: partners, namespace: production}\nspec: {nets: [192.0.2.0/24, 10.9.0.0/16]}\n')
    assert.equal(applied.code, 0, applied.stderr)
    assert.match((await netctl(['get', 'netsets', '-n', 'production', '-o', 'wide'])).stdout, /partners\s+192\.0\.2\.0\/24,10\.9\.0\.0\/16/)
    const replaced = await netctl(['replace', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 200}\n')
    assert.equal(replaced.code, 0, replaced.stderr)
    assert.match((await netctl(['get', 'tier'])).stdout, /security\s+200/)
    for (const args of [['networkpolicy', 'allow-tcp-6379', '-n', 'production'], ['gnp', 'deny-egress'], ['hep', 'node01-eth0']]) {
      const deleted = await netctl(['delete', ...args])
      assert.equal(deleted.code, 0, deleted.stderr)
    }
    assert.equal((await netctl(['get', 'gnp', 'deny-egress'])).code, 1)
    assert.equal((await netctl(['get', 'np', 'allow-tcp-6379', '-n', 'production'])).code, 1)
  })
})

describe('policy kinds in a real etcd', () => {
  let etcd: EtcdServer
  let dir: ReturnType<typeof tempDir>
  before(async () => {
    etcd = await startEtcd()
    dir = tempDir()
  })
  after(async () => {
    await etcd?.stop()
    dir?.cleanup()
  })
  const netctl = (args: string[], input?: string) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint], {input, stateDir: dir.path})

  it('stores a NetworkPolicy and a GlobalNetworkPolicy under Calico\'s keys and reads them back', async () => {
    const created = await netctl(['create', '-f', '-'], policies)
    assert.equal(created.code, 0, created.stderr)
    const keys = etcd.etcdctl(['get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/']).stdout.split('\n').filter(Boolean)
    assert.ok(keys.includes('/calico/resources/v3/projectcalico.org/networkpolicies/production/allow-tcp-6379'), keys.join('\n'))
    assert.ok(keys.includes('/calico/resources/v3/projectcalico.org/globalnetworkpolicies/deny-egress'), keys.join('\n'))
    assert.ok(keys.includes('/calico/resources/v3/projectcalico.org/tiers/security'), keys.join('\n'))
    assert.ok(keys.includes('/calico/resources/v3/projectcalico.org/networksets/production/partners'), keys.join('\n'))
    const stored = JSON.parse(etcd.etcdctl(['get', '/calico/resources/v3/projectcalico.org/networkpolicies/production/allow-tcp-6379', '--print-value-only']).stdout)
    assert.equal(stored.kind, 'NetworkPolicy')
    assert.equal(stored.spec.tier, 'security')
    assert.deepEqual(stored.spec.types, ['Ingress'])
    const np = await netctl(['get', 'np', '-A', '-o', 'wide'])
    assert.match(np.stdout, /production\s+allow-tcp-6379\s+security\s+10\s+role == 'database'/)
    const gnp = await netctl(['get', 'gnp', 'deny-egress', '-o', 'json'])
    assert.deepEqual(JSON.parse(gnp.stdout).spec.egress, [{action: 'Deny', destination: {nets: ['169.254.169.254/32']}}])
    assert.equal((await netctl(['delete', 'np', 'allow-tcp-6379', '-n', 'production'])).code, 0)
    assert.equal(etcd.etcdctl(['get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/networkpolicies/']).stdout.trim(), '')
  })
})

describe('policy kinds in the Kubernetes datastore (API test double)', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let kubeconfig: string
  const netctl = (args: string[], input?: string) => runCli(args, {input, env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig}})
  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir()
    kubeconfig = join(dir.path, 'kubeconfig')
    api.writeKubeconfig(kubeconfig, {namespace: 'default'})
  })
  after(async () => {
    await api?.stop()
    dir?.cleanup()
  })

  it('writes namespaced policies under namespaces/<ns>/ and global ones at the cluster scope', async () => {
    const created = await netctl(['create', '-f', '-'], policies.split('---\n').slice(0, 3).join('---\n'))
    assert.equal(created.code, 0, created.stderr)
    const posts = api.requests.filter((q) => q.method === 'POST').map((q) => q.path)
    assert.deepEqual(posts, [
      '/apis/crd.projectcalico.org/v1/tiers',
      '/apis/crd.projectcalico.org/v1/namespaces/production/networkpolicies',
      '/apis/crd.projectcalico.org/v1/globalnetworkpolicies',
      // The tiers Calico keeps itself (default, kube-admin, kube-baseline), made after a policy write.
      ...Array(3).fill('/apis/crd.projectcalico.org/v1/tiers'),
    ])
    const np = await netctl(['get', 'np', '-n', 'production', '-o', 'wide'])
    assert.equal(np.code, 0, np.stderr)
    assert.match(np.stdout, /production\s+allow-tcp-6379\s+security\s+10\s+role == 'database'/)
    const all = await netctl(['get', 'np', '-A'])
    assert.match(all.stdout, /production\s+allow-tcp-6379\s+security/)
    assert.ok(api.requests.some((q) => q.method === 'GET' && q.path === '/apis/crd.projectcalico.org/v1/networkpolicies'), 'lists all namespaces at the cluster path')
    const one = JSON.parse((await netctl(['get', 'np', 'allow-tcp-6379', '-n', 'production', '-o', 'json'])).stdout)
    assert.equal(one.metadata.namespace, 'production')
    assert.equal(one.metadata.labels['projectcalico.org/tier'], 'security')
    const patched = await netctl(['patch', 'np', 'allow-tcp-6379', '-n', 'production', '-p', '{"spec":{"order":20}}'])
    assert.equal(patched.code, 0, patched.stderr)
    assert.ok(api.requests.some((q) => q.method === 'PUT' && q.path === '/apis/crd.projectcalico.org/v1/namespaces/production/networkpolicies/allow-tcp-6379'))
    const deleted = await netctl(['delete', 'np', 'allow-tcp-6379', '-n', 'production'])
    assert.equal(deleted.code, 0, deleted.stderr)
    assert.ok(api.requests.some((q) => q.method === 'DELETE' && q.path === '/apis/crd.projectcalico.org/v1/namespaces/production/networkpolicies/allow-tcp-6379'))
    assert.equal((await netctl(['get', 'gnp', 'deny-egress'])).code, 0)
  })
})
