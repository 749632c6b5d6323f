/** netctl cluster diags / node diags: the bundle's contents (tar -tzf), masking, and that the host is only read. */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {maskSecrets} from '../../src/services/diags.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {kernelSkipReason, rootNamespaceSnapshot} from '../helpers/kernel.js'

const listing = (archive: string) => spawnSync('tar', ['-tzf', archive], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean)
const member = (archive: string, path: string) => spawnSync('tar', ['-xzOf', archive, path], {encoding: 'utf8'}).stdout
const bundleOf = (stdout: string) => /(?:Diagnostic bundle created at|Diags saved to) (\S+\.tar\.gz)\n/.exec(stdout)?.[1]

describe('diags', () => {
  let etcd: EtcdServer
  const made: string[] = []
  const onEtcd = (args: string[], input?: string) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint], {input})
  before(async () => (etcd = await startEtcd()))
  after(async () => {
    await etcd?.stop()
    for (const archive of made) rmSync(dirname(archive), {recursive: true, force: true})
  })

  it('masks secrets and endpoint credentials, keeps secret references', () => {
    const masked = maskSecrets({spec: {password: {secretKeyRef: {name: 'bgp', key: 'pw'}}, token: 'abc', endpoints: 'https://user:pw@10.0.0.1:2379,http://10.0.0.2:2379', selector: "zone in {'a', 'b'}, role == 'db'"}})
    assert.deepEqual(masked, {spec: {password: {secretKeyRef: {name: 'bgp', key: 'pw'}}, token: '****', endpoints: 'https://****@10.0.0.1:2379,http://10.0.0.2:2379', selector: "zone in {'a', 'b'}, role == 'db'"}})
  })

  it('cluster diags: every kind of the datastore as cluster/crd/<plural>.yaml, in a .tar.gz in a temp dir', async () => {
    const seeded = await onEtcd(['apply', '-f', '-'], [
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: diag-pool}\nspec: {cidr: 10.77.0.0/16}',
      'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: rr}\nspec: {peerIP: 10.0.0.9, asNumber: 64512, password: {secretKeyRef: {name: bgp-secrets, key: rr}}}',
    ].join('\n---\n'))
    assert.equal(seeded.code, 0, seeded.stderr)
    const r = await onEtcd(['cluster', 'diags', '--since', '10m', '--max-logs', '2'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^==== Begin collecting diagnostics\. ====\nCreated temporary directory: \/\S+\n/)
    const archive = bundleOf(r.stdout)
    assert.ok(archive, r.stdout)
    made.push(archive)
    const dir = /calico-diagnostics-\d{8}_\d{6}/.exec(archive)![0]
    const files = listing(archive)
    for (const plural of ['ippools', 'bgppeers', 'nodes', 'clusterinformations', 'blockaffinities', 'globalnetworkpolicies', 'workloadendpoints']) {
      assert.ok(files.includes(`${dir}/cluster/crd/${plural}.yaml`), `${plural} in ${files.join(' ')}`)
    }
    assert.ok(files.includes(`${dir}/cluster/datastore.yaml`))
    assert.match(member(archive, `${dir}/cluster/crd/ippools.yaml`), /name: diag-pool/)
    assert.match(member(archive, `${dir}/cluster/crd/bgppeers.yaml`), /secretKeyRef:\n\s+name: bgp-secrets/)
    assert.match(member(archive, `${dir}/cluster/datastore.yaml`), new RegExp(`location: etcd ${etcd.endpoint}\n`))
    // The unpacked directory is removed (calicoctl's default), the archive stays.
    assert.equal(existsSync(join(dirname(archive), dir)), false)
    assert.ok(existsSync(archive))
  })

  it('cluster diags refuses a --since that is not a duration and a negative --max-logs, as calicoctl', async () => {
    const since = await onEtcd(['cluster', 'diags', '--since', 'yesterday'])
    assert.equal(since.code, 2)
    assert.match(since.stderr, /invalid --since "yesterday"/)
    const logs = await onEtcd(['cluster', 'diags', '--max-logs', '-1'])
    assert.equal(logs.code, 2)
    assert.match(logs.stderr, /negative value for --max-logs/)
  })

  it('node diags on the host: routes, links, nftables, a copied --log-dir; the root namespace is only read', {skip: kernelSkipReason()}, async () => {
    const logs = tempDir()
    try {
      mkdirSync(join(logs.path, 'felix'))
      writeFileSync(join(logs.path, 'felix', 'current'), 'felix log line\n')
      const before = rootNamespaceSnapshot()
      // Its own state dir: a current lab context elsewhere on the machine would make it diagnose that lab.
      const r = await runCli(['node', 'diags', '--log-dir', logs.path], {stateDir: join(logs.path, 'state')})
      assert.equal(r.code, 0, r.stderr)
      assert.equal(rootNamespaceSnapshot(), before)
      assert.match(r.stdout, /^Collecting diagnostics\nUsing temp dir: \/\S+\/diagnostics\n/)
      const archive = bundleOf(r.stdout)
      assert.ok(archive, r.stdout)
      made.push(archive)
      assert.match(archive, /\/diags-\d{8}_\d{6}\.tar\.gz$/)
      const files = listing(archive)
      for (const f of ['date', 'hostname', 'ipv4_route', 'ipv6_route', 'ipv4_addr', 'links', 'neigh', 'nft_ruleset', 'notes', 'logs/felix/current']) assert.ok(files.includes(`diagnostics/${f}`), `${f} in ${files.join(' ')}`)
      assert.match(member(archive, 'diagnostics/links'), /^1: lo: /m)
      assert.equal(member(archive, 'diagnostics/logs/felix/current'), 'felix log line\n')
    } finally {
      logs.cleanup()
    }
  })
})
