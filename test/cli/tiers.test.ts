/**
 * Calico's tier rules through the real netctl binary, the same scenario in every datastore:
 * the embedded file store, a real etcd and the Kubernetes API test double. A policy goes only
 * into a tier that exists (the protected ones always do); a Tier comes before its policies in a
 * file; the protected tiers and a tier still holding policies are never deleted; a write that
 * touches policies makes the protected tiers, as calicoctl's EnsureInitialized does.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir, type CliResult} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

type Netctl = (args: string[], input?: string) => Promise<CliResult>

const doc = (kind: string, metadata: string, spec: string) => `apiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata: {${metadata}}\nspec: {${spec}}\n`
const securityTier = doc('Tier', 'name: security', 'order: 100')
const allowDb = (tier = 'security') => doc('NetworkPolicy', 'name: allow-db, namespace: production', `tier: ${tier}, selector: "role == 'db'", ingress: [{action: Allow}]`)
const blockTelnet = doc('GlobalNetworkPolicy', 'name: security.block-telnet', 'tier: security, order: 10, selector: all(), ingress: [{action: Deny, protocol: TCP, destination: {ports: [23]}}]')
const files = (...docs: string[]) => docs.join('---\n')

const ok = (r: CliResult) => assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`)
const names = (r: CliResult) => r.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[0])

/** The scenario every datastore runs; each step depends on the ones before. */
function tierRules(netctl: () => Netctl): void {
  it('a fresh datastore lists no tier; a policy in the default tier needs no Tier object, and the write makes the protected tiers', async () => {
    const fresh = await netctl()(['get', 'tiers'])
    ok(fresh)
    assert.deepEqual(names(fresh), [])
    ok(await netctl()(['create', '-f', '-'], doc('GlobalNetworkPolicy', 'name: deny-metadata', 'selector: all(), egress: [{action: Deny, destination: {nets: [169.254.169.254/32]}}]')))
    const tiers = JSON.parse((await netctl()(['get', 'tiers', '-o', 'json'])).stdout) as {items: Array<{metadata: {name: string}; spec: {order: number; defaultAction: string}}>}
    const byName = Object.fromEntries(tiers.items.map((t) => [t.metadata.name, t.spec]))
    assert.deepEqual(byName, {
      default: {order: 1_000_000, defaultAction: 'Deny'},
      'kube-admin': {order: 1_000, defaultAction: 'Pass'},
      'kube-baseline': {order: 10_000_000, defaultAction: 'Pass'},
    })
    // A policy in a protected tier is accepted too.
    ok(await netctl()(['create', '-f', '-'], doc('GlobalNetworkPolicy', 'name: admin-allow-dns', 'tier: kube-admin, selector: all(), egress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]')))
  })

  it('refuses a policy (and a staged one) in a tier that does not exist, naming the tier and the fix', async () => {
    const np = await netctl()(['create', '-f', '-'], allowDb())
    assert.equal(np.code, 1, np.stderr)
    assert.match(np.stderr, /NetworkPolicy "production\/allow-db" is in tier "security", which does not exist/)
    assert.match(np.stderr, /create the tier first/)
    const staged = await netctl()(['apply', '-f', '-'], doc('StagedGlobalNetworkPolicy', 'name: try-deny', 'tier: audit, selector: all(), ingress: [{action: Deny}]'))
    assert.equal(staged.code, 1, staged.stderr)
    assert.match(staged.stderr, /StagedGlobalNetworkPolicy "try-deny" is in tier "audit", which does not exist/)
    assert.equal((await netctl()(['get', 'np', 'allow-db', '-n', 'production'])).code, 1)
    assert.equal((await netctl()(['get', 'sgnp', 'try-deny'])).code, 1)
  })

  it('a file with a policy before its Tier is refused whole, saying to put the Tier first', async () => {
    const r = await netctl()(['apply', '-f', '-'], files(allowDb(), securityTier))
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /NetworkPolicy "production\/allow-db" is in tier "security", which this file creates only later \(stdin, document 2\)/)
    assert.match(r.stderr, /put the Tier "security" before its policies/)
    assert.equal((await netctl()(['get', 'tier', 'security'])).code, 1)
  })

  it('a file with the Tier first creates the tier and its policies in one go', async () => {
    const r = await netctl()(['create', '-f', '-'], files(securityTier, allowDb(), blockTelnet))
    ok(r)
    assert.match(r.stdout, /Successfully created 3 resource\(s\)/)
    const gnp = JSON.parse((await netctl()(['get', 'gnp', 'security.block-telnet', '-o', 'json'])).stdout)
    assert.equal(gnp.spec.tier, 'security')
  })

  it('get tiers lists them by order, as calicoctl does', async () => {
    const r = await netctl()(['get', 'tiers'])
    ok(r)
    assert.deepEqual(names(r), ['security', 'kube-admin', 'default', 'kube-baseline'])
    assert.match(r.stdout, /security\s+100\n/)
  })

  it('an update that moves a policy into a missing tier is refused (apply and patch); one that keeps its tier is not checked', async () => {
    const moved = await netctl()(['apply', '-f', '-'], allowDb('nowhere'))
    assert.equal(moved.code, 1, moved.stderr)
    assert.match(moved.stderr, /is in tier "nowhere", which does not exist/)
    const patched = await netctl()(['patch', 'gnp', 'security.block-telnet', '-p', '{"spec":{"tier":"nowhere"}}'])
    assert.equal(patched.code, 1, patched.stderr)
    assert.match(patched.stderr, /GlobalNetworkPolicy "security.block-telnet" is in tier "nowhere", which does not exist/)
    ok(await netctl()(['patch', 'gnp', 'security.block-telnet', '-p', '{"spec":{"order":20}}']))
  })

  it('refuses to delete a tier that still holds policies, naming how many and which', async () => {
    const r = await netctl()(['delete', 'tier', 'security'])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /Tier "security" cannot be deleted: 2 policies are still in it: NetworkPolicy "production\/allow-db", GlobalNetworkPolicy "security.block-telnet"/)
    assert.match(r.stderr, /delete those policies or move them/)
    ok(await netctl()(['get', 'tier', 'security']))
  })

  it('never deletes the protected tiers', async () => {
    for (const tier of ['default', 'kube-admin', 'kube-baseline']) {
      const r = await netctl()(['delete', 'tier', tier])
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, new RegExp(`Tier "${tier}" cannot be deleted: Calico keeps the default, kube-admin, kube-baseline tiers itself`))
    }
    ok(await netctl()(['get', 'tier', 'default']))
  })

  it('delete -f of the file that made them (Tier first) deletes the policies, then the tier; a policy left behind refuses it all', async () => {
    const partial = await netctl()(['delete', '-f', '-'], files(securityTier, allowDb()))
    assert.equal(partial.code, 1, partial.stderr)
    assert.match(partial.stderr, /Tier "security" cannot be deleted: 1 policy is still in it: GlobalNetworkPolicy "security.block-telnet"/)
    ok(await netctl()(['get', 'np', 'allow-db', '-n', 'production']))
    const all = await netctl()(['delete', '-f', '-'], files(securityTier, allowDb(), blockTelnet))
    ok(all)
    assert.match(all.stdout, /Successfully deleted 3 resource\(s\)/)
    assert.equal((await netctl()(['get', 'tier', 'security'])).code, 1)
    assert.equal((await netctl()(['get', 'gnp', 'security.block-telnet'])).code, 1)
  })
}

describe('tier rules (embedded datastore)', () => {
  let state: ReturnType<typeof tempDir>
  before(() => {
    state = tempDir()
  })
  after(() => state.cleanup())
  tierRules(() => (args, input) => runCli(args, {stateDir: state.path, input}))
})

describe('tier rules in a real etcd', () => {
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
  tierRules(() => (args, input) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint], {input, stateDir: dir.path}))

  it('keeps the protected tiers under Calico\'s keys', () => {
    const keys = etcd.etcdctl(['get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/tiers/']).stdout.split('\n').filter(Boolean)
    assert.deepEqual(keys.sort(), ['default', 'kube-admin', 'kube-baseline'].map((t) => `/calico/resources/v3/projectcalico.org/tiers/${t}`))
  })
})

describe('tier rules in the Kubernetes datastore (API test double)', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let kubeconfig: string
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
  tierRules(() => (args, input) => runCli(args, {input, env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig}}))

  it('wrote no refused object: no POST for a policy in a missing tier, no DELETE of a protected or non-empty tier', () => {
    const writes = api.requests.filter((q) => q.method === 'POST' || q.method === 'DELETE').map((q) => `${q.method} ${q.path}`)
    assert.ok(!writes.some((w) => /try-deny|stagedglobalnetworkpolicies/.test(w)), writes.join('\n'))
    assert.ok(!writes.some((w) => /^DELETE .*\/tiers\/(default|kube-admin|kube-baseline)$/.test(w)), writes.join('\n'))
    assert.equal(writes.filter((w) => w === 'POST /apis/crd.projectcalico.org/v1/tiers').length, 4, writes.join('\n'))
    assert.equal(writes.filter((w) => w === 'DELETE /apis/crd.projectcalico.org/v1/tiers/security').length, 1, writes.join('\n'))
    // The file named the Tier first; its policies went before it.
    assert.deepEqual(writes.filter((w) => w.startsWith('DELETE')).slice(-3), [
      'DELETE /apis/crd.projectcalico.org/v1/namespaces/production/networkpolicies/allow-db',
      'DELETE /apis/crd.projectcalico.org/v1/globalnetworkpolicies/security.block-telnet',
      'DELETE /apis/crd.projectcalico.org/v1/tiers/security',
    ])
  })
})
