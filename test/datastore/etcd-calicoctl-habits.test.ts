/** calicoctl's habits on a real etcd: ClusterInformation made with the first Node, label, delete with a missing name. */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {etcdKey} from '../../src/datastore/etcd.js'
import {clusterInformationKind} from '../../src/resources/felixconfiguration.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import {runCli} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {poolYaml} from '../helpers/manifests.js'

describe('etcd v3 datastore: calicoctl habits', () => {
  let etcd: EtcdServer
  const netctl = (args: string[], input?: string) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint], {input})
  const stored = (key: string) => {
    const out = etcd.etcdctl(['get', key, '--print-value-only']).stdout.trim()
    return out ? JSON.parse(out) : undefined
  }
  before(async () => (etcd = await startEtcd()))
  after(async () => etcd?.stop())

  it('writes ClusterInformation "default" at Calico\'s key when the first Node is written, and only then', async () => {
    const key = etcdKey(clusterInformationKind, 'default')
    assert.equal((await netctl(['apply', '-f', '-'], poolYaml('ci-pool', '10.90.0.0/16'))).code, 0)
    assert.equal(stored(key), undefined)
    const node = await netctl(['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: etcd-node-1}\nspec: {bgp: {ipv4Address: 10.90.0.1/24}}\n')
    assert.equal(node.code, 0, node.stderr)
    const info = stored(key)
    assert.equal(info.kind, 'ClusterInformation')
    assert.match(info.spec.clusterGUID, /^[0-9a-f]{32}$/)
    assert.equal(info.spec.datastoreReady, true)
    const refused = await netctl(['delete', 'clusterinformation', 'default'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /ClusterInformation is read-only/)
    assert.equal(stored(key).spec.clusterGUID, info.spec.clusterGUID)
  })

  it('labels in one compare-and-swap update and deletes what exists of several names', async () => {
    const label = await netctl(['label', 'ippool', 'ci-pool', 'zone=edge', 'rack=r1'])
    assert.equal(label.code, 0, label.stderr)
    assert.deepEqual(stored(etcdKey(ipPoolKind, 'ci-pool')).metadata.labels, {zone: 'edge', rack: 'r1'})
    const clash = await netctl(['label', 'ippool', 'ci-pool', 'zone=core'])
    assert.equal(clash.code, 1)
    assert.deepEqual(stored(etcdKey(ipPoolKind, 'ci-pool')).metadata.labels, {zone: 'edge', rack: 'r1'})
    const r = await netctl(['delete', 'ippool', 'ci-pool', 'ci-missing'])
    assert.equal(r.code, 1)
    assert.equal(r.stdout, "Successfully deleted 1 'IPPool' resource(s)\n")
    assert.match(r.stderr, /resource does not exist: IPPool\(ci-missing\)/)
    assert.equal(stored(etcdKey(ipPoolKind, 'ci-pool')), undefined)
  })
})
