/** The real netctl binary against the embedded datastore: the main paths of every resource command. */
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {load} from 'js-yaml'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'

const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', name)

describe('netctl resource commands (embedded datastore)', () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  before(async () => {
    state = tempDir()
    const created = await netctl(['create', '-f', fixture('pools.yaml')])
    assert.equal(created.code, 0, created.stderr)
    assert.equal(created.stdout.trim(), "Successfully created 2 'IPPool' resource(s)")
  })
  after(() => state.cleanup())

  it('get prints calicoctl tables', async () => {
    const ps = await netctl(['get', 'ippools'])
    assert.equal(ps.code, 0)
    assert.equal(ps.stdout, [
      'NAME                  CIDR             SELECTOR',
      'default-ipv4-ippool   192.168.0.0/16   all()',
      'pool-b                10.10.0.0/16     all()',
      '',
    ].join('\n'))
    const wide = await netctl(['get', 'ipp', '-o', 'wide'])
    assert.match(wide.stdout, /^NAME\s+CIDR\s+NAT\s+IPIPMODE\s+VXLANMODE\s+DISABLED\s+DISABLEBGPEXPORT\s+SELECTOR\n/)
    assert.match(wide.stdout, /default-ipv4-ippool\s+192\.168\.0\.0\/16\s+true\s+Always\s+Never\s+false\s+false\s+all\(\)/)
    const custom = await netctl(['get', 'pools', '-o', 'custom-columns=NAME,ipipmode'])
    assert.equal(custom.stdout.split('\n')[0], 'NAME                  IPIPMODE')
  })

  it('get -o yaml prints one named object alone, with Calico defaults, and a list as IPPoolList', async () => {
    const one = await netctl(['get', 'ippool', 'default-ipv4-ippool', '-o', 'yaml'])
    const pool = load(one.stdout) as {kind: string; metadata: {resourceVersion: string}; spec: Record<string, unknown>}
    assert.equal(pool.kind, 'IPPool')
    assert.deepEqual(pool.spec, {
      allowedUses: ['Workload', 'Tunnel'], blockSize: 26, cidr: '192.168.0.0/16', ipipMode: 'Always', natOutgoing: true, nodeSelector: 'all()', vxlanMode: 'Never',
    })
    assert.match(one.stdout, /^apiVersion: projectcalico\.org\/v3\nkind: IPPool\nmetadata:\n/)
    assert.match(one.stdout, /resourceVersion: "\d+"/)
    const list = load((await netctl(['get', 'ippools', '-o', 'yaml'])).stdout) as {kind: string; items: unknown[]}
    assert.equal(list.kind, 'IPPoolList')
    assert.equal(list.items.length, 2)
  })

  it('get -o json and --json give the same stable document', async () => {
    const json = await netctl(['get', 'ippools', '-o', 'json'])
    const flag = await netctl(['get', 'ippools', '--json'])
    assert.equal(json.code, 0)
    assert.deepEqual(JSON.parse(json.stdout), JSON.parse(flag.stdout))
    assert.equal(json.stdout, (await netctl(['get', 'ippools', '-o', 'json'])).stdout)
    assert.deepEqual(Object.keys(JSON.parse(json.stdout).items[0]), ['apiVersion', 'kind', 'metadata', 'spec'])
  })

  it('shows workload endpoints like calicoctl, with NAMESPACE for -A and -n', async () => {
    assert.equal((await netctl(['apply', '-f', fixture('workloadendpoints.yaml')])).code, 0)
    const plain = await netctl(['get', 'workloadendpoints'])
    assert.equal(plain.stdout, [
      'WORKLOAD                             NODE           NETWORKS             INTERFACE',
      'busybox-deployment-8c7dc8548-x6ljh   controlplane   192.168.49.66/32     cali9861acf9f07',
      'busybox-deployment-8c7dc8548-btnkv   node01         192.168.196.131/32   calib673e730d42',
      '',
    ].join('\n'))
    const all = await netctl(['get', 'weps', '-A'])
    assert.match(all.stdout, /^NAMESPACE\s+WORKLOAD\s+NODE\s+NETWORKS\s+INTERFACE\n/)
    assert.match(all.stdout, /kube-system\s+coredns-66bff467f8-52tkd\s+node01/)
    const wide = await netctl(['get', 'wep', '-n', 'default', '-o', 'wide'])
    assert.match(wide.stdout, /^NAMESPACE\s+NAME\s+WORKLOAD\s+NODE\s+NETWORKS\s+INTERFACE\s+PROFILES\s+NATS\n/)
    assert.match(wide.stdout, /kns\.default,ksa\.default\.default/)
  })

  it('ippool set changes one field and keeps the rest', async () => {
    const set = await netctl(['ippool', 'set', 'default-ipv4-ippool', '--ipip', 'Never'])
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stdout, /Always → Never/)
    assert.match(set.stdout, /Successfully updated IPPool "default-ipv4-ippool"/)
    const pool = JSON.parse((await netctl(['get', 'ippool', 'default-ipv4-ippool', '-o', 'json'])).stdout)
    assert.equal(pool.spec.ipipMode, 'Never')
    assert.equal(pool.spec.natOutgoing, true)
    const noNat = await netctl(['ippool', 'set', 'default-ipv4-ippool', '--no-nat-outgoing', '--json'])
    assert.equal(JSON.parse(noNat.stdout).after.spec.natOutgoing, false)
  })

  it('ippool set refuses VXLAN on top of IPIP and names the fix', async () => {
    assert.equal((await netctl(['ippool', 'set', 'pool-b', '--ipip', 'Always'])).code, 0)
    const refused = await netctl(['ippool', 'set', 'pool-b', '--vxlan', 'Always'])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /both IPIP \(Always\) and VXLAN \(Always\)/)
    assert.match(refused.stderr, /--vxlan Always --ipip Never/)
    assert.equal(JSON.parse((await netctl(['get', 'ippool', 'pool-b', '-o', 'json'])).stdout).spec.vxlanMode, 'Never')
    const both = await netctl(['ippool', 'set', 'pool-b', '--vxlan', 'Always', '--ipip', 'Never'])
    assert.equal(both.code, 0, both.stderr)
  })

  it('encap set switches every IPv4 pool, or only the named ones', async () => {
    const all = await netctl(['encap', 'set', 'ipip', '--cross-subnet'])
    assert.equal(all.code, 0, all.stderr)
    assert.match(all.stdout, /Successfully switched 2 IPPool\(s\) to ipip \(CrossSubnet\)/)
    const wide = (await netctl(['get', 'ippools', '-o', 'custom-columns=NAME,IPIPMODE,VXLANMODE'])).stdout
    assert.match(wide, /default-ipv4-ippool\s+CrossSubnet\s+Never/)
    assert.match(wide, /pool-b\s+CrossSubnet\s+Never/)
    const one = await netctl(['encap', 'set', 'vxlan', '--pool', 'pool-b', '--yes'])
    assert.equal(one.code, 0, one.stderr)
    const after = (await netctl(['get', 'ippools', '-o', 'custom-columns=NAME,IPIPMODE,VXLANMODE'])).stdout
    assert.match(after, /default-ipv4-ippool\s+CrossSubnet\s+Never/)
    assert.match(after, /pool-b\s+Never\s+Always/)
    const none = await netctl(['encap', 'set', 'none', '--json'])
    assert.deepEqual(JSON.parse(none.stdout).pools.map((p: {after: {spec: {ipipMode: string; vxlanMode: string}}}) => [p.after.spec.ipipMode, p.after.spec.vxlanMode]), [['Never', 'Never'], ['Never', 'Never']])
    // Already so: said, and nothing written.
    const version = async () => JSON.parse((await netctl(['get', 'ippool', 'pool-b', '-o', 'json'])).stdout).metadata.resourceVersion
    const before = await version()
    const again = await netctl(['encap', 'set', 'none', '--yes'])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /\n2 IPPool\(s\) already use none: unchanged\n$/)
    assert.equal(await version(), before)
    const partly = await netctl(['encap', 'set', 'vxlan', '--yes'])
    assert.match(partly.stdout, /Successfully switched 2 IPPool\(s\) to vxlan\n/)
    await netctl(['encap', 'set', 'none', '--pool', 'pool-b', '--yes'])
    const half = await netctl(['encap', 'set', 'vxlan', '--yes'])
    assert.match(half.stdout, /Successfully switched 1 IPPool\(s\) to vxlan; 1 already used it\n/)
  })

  it('patch applies a JSON merge patch', async () => {
    const patched = await netctl(['patch', 'ippool', 'pool-b', '-p', '{"spec":{"disabled":true},"metadata":{"labels":{"tier":"x"}}}'])
    assert.equal(patched.code, 0, patched.stderr)
    const pool = JSON.parse((await netctl(['get', 'ippool', 'pool-b', '-o', 'json'])).stdout)
    assert.equal(pool.spec.disabled, true)
    assert.deepEqual(pool.metadata.labels, {tier: 'x'})
    const removed = await netctl(['patch', 'ippool', 'pool-b', '-p', '{"metadata":{"labels":null}}'])
    assert.equal(removed.code, 0)
    assert.equal(JSON.parse((await netctl(['get', 'ippool', 'pool-b', '-o', 'json'])).stdout).metadata.labels, undefined)
  })

  it('apply reads stdin and delete removes by name and by file', async () => {
    const doc = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: temp}\nspec: {cidr: 10.99.0.0/16}\n'
    const applied = await netctl(['apply', '-f', '-'], doc)
    assert.equal(applied.stdout.trim(), "Successfully applied 1 'IPPool' resource(s)")
    const deleted = await netctl(['delete', 'ippool', 'temp'])
    assert.equal(deleted.stdout.trim(), "Successfully deleted 1 'IPPool' resource(s)")
    const gone = await netctl(['get', 'ippool', 'temp'])
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /^Error: IPPool "temp" not found\n/)
    await netctl(['apply', '-f', '-'], doc)
    const byFile = await netctl(['delete', '-f', '-'], doc)
    assert.equal(byFile.code, 0, byFile.stderr)
  })

  it('apply -f DIR reads every .yaml/.yml/.json file in it, in name order', async () => {
    const dir = join(state.path, 'manifests')
    mkdirSync(dir)
    writeFileSync(join(dir, '10-a.yaml'), 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: dir-a}\nspec: {cidr: 10.201.0.0/16}\n')
    writeFileSync(join(dir, '20-b.json'), JSON.stringify({apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: {name: 'default'}, spec: {asNumber: 64512}}))
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest')
    const r = await netctl(['apply', '-f', dir])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'Successfully applied 2 resource(s)')
    assert.match((await netctl(['get', 'bgpconfig'])).stdout, /default\s+64512/)
    assert.equal((await netctl(['delete', '-f', dir])).code, 0)
  })

  it('version and config view answer', async () => {
    const version = await netctl(['version', '--json'])
    assert.equal(JSON.parse(version.stdout).clientVersion, '0.1.0')
    const view = await netctl(['config', 'view', '-o', 'json'])
    assert.deepEqual(JSON.parse(view.stdout).settings.stateDir, {value: state.path, source: 'env NETCTL_STATE_DIR'})
  })
})
