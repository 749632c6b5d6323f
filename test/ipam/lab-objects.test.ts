/**
 * What a lab keeps in Calico IPAM, written through syncCluster into the file store and a real
 * etcd (no kernel needed): blocks and handles as Calico's CNI leaves them, pods keeping their
 * addresses across reconciles, nothing rewritten when nothing changed, and nothing left after
 * removeClusterObjects.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import type {Datastore} from '../../src/datastore/datastore.js'
import {EtcdDatastore} from '../../src/datastore/etcd.js'
import {FileDatastore} from '../../src/datastore/file.js'
import {labContainerID, podHandleID} from '../../src/ipam/allocator.js'
import * as ipam from '../../src/ipam/service.js'
import {loadCluster, removeClusterObjects, syncCluster} from '../../src/lab/plan/cluster.js'
import {defaultTopology} from '../../src/lab/topology/topology.js'
import {ipamBlockKind, ipamHandleKind} from '../../src/resources/ipam.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import {tempDir} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'

const lab = 'ipamt'
const podIps = async (ds: Datastore, pods = 2) => (await syncCluster(ds, lab, defaultTopology({nodes: 2, podsPerNode: pods}))).cluster.pods.map((p) => `${p.name}=${p.ip}`)

function labIpamOn(open: () => Datastore) {
  it('a lab allocates its pods through IPAM: blocks with allocations, one handle per pod, ipam check clean', async () => {
    const ds = open()
    assert.deepEqual(await podIps(ds), ['busybox-controlplane-0=192.168.0.1', 'busybox-controlplane-1=192.168.0.2', 'busybox-node01-0=192.168.0.65', 'busybox-node01-1=192.168.0.66'])
    const blocks = await ds.list(ipamBlockKind)
    assert.deepEqual(blocks.map((b) => [b.metadata.name, b.spec?.affinity]), [['192-168-0-0-26', 'host:controlplane'], ['192-168-0-64-26', 'host:node01']])
    const handles = (await ds.list(ipamHandleKind)).map((h) => h.spec?.handleID).sort()
    assert.equal(handles.length, 4)
    assert.ok(handles.includes(podHandleID(labContainerID(lab, 'default', 'busybox-node01-1'))))
    assert.match(await ipam.showIp(ds, '192.168.0.66'), /^IP 192\.168\.0\.66 is in use\nHandle ID: k8s-pod-network\.[0-9a-f]{64}\nActive Owner Attributes:\n  namespace: default\n  node: node01\n  pod: busybox-node01-1\n  timestamp: /)
    const checked = await ipam.checkIpam(ds, {version: 'test'})
    assert.equal(checked.problems, 0, checked.lines.join('\n'))
  })

  it('a reconcile keeps every pod\'s address and writes nothing when nothing changed', async () => {
    const ds = open()
    const before = (await ds.list(ipamBlockKind)).map((b) => b.metadata.resourceVersion)
    await podIps(ds)
    assert.deepEqual((await ds.list(ipamBlockKind)).map((b) => b.metadata.resourceVersion), before)
    const grown = await podIps(ds, 3)
    assert.deepEqual(grown, ['busybox-controlplane-0=192.168.0.1', 'busybox-controlplane-1=192.168.0.2', 'busybox-controlplane-2=192.168.0.3', 'busybox-node01-0=192.168.0.65', 'busybox-node01-1=192.168.0.66', 'busybox-node01-2=192.168.0.67'])
    const loaded = await loadCluster(ds, lab, defaultTopology({nodes: 2, podsPerNode: 3}))
    assert.deepEqual(loaded.pods.map((p) => `${p.name}=${p.ip}`), grown)
    assert.equal((await ipam.checkIpam(ds, {version: 'test'})).problems, 0)
  })

  it('an encapsulating pool: the node\'s tunnel address is an IPAM allocation too', async () => {
    const ds = open()
    const pool = await ds.get(ipPoolKind, 'default-ipv4-ippool')
    await ds.update(ipPoolKind, {...pool, spec: {...pool.spec, vxlanMode: 'Always'}})
    await podIps(ds, 3)
    assert.match(await ipam.showIp(ds, '192.168.0.64'), /^IP 192\.168\.0\.64 is in use\nHandle ID: vxlan-tunnel-addr-node01\nActive Owner Attributes:\n  node: node01\n  type: vxlanTunnelAddress$/)
    await ds.update(ipPoolKind, {...(await ds.get(ipPoolKind, 'default-ipv4-ippool')), spec: {...pool.spec, vxlanMode: 'Never'}})
    await podIps(ds, 3)
    assert.equal(await ipam.showIp(ds, '192.168.0.64'), '192.168.0.64 is not assigned')
  })
}

describe('lab IPAM in the file datastore', () => {
  let dir: ReturnType<typeof tempDir>
  let ds: FileDatastore
  before(() => {
    dir = tempDir()
    ds = new FileDatastore(dir.path)
  })
  after(() => dir?.cleanup())
  labIpamOn(() => ds)

  it('refuses to allocate from a block someone broke, and changes nothing', async () => {
    const block = (await ds.list(ipamBlockKind)).find((b) => b.metadata.name === '192-168-0-64-26')!
    const broken = await ds.update(ipamBlockKind, {...block, spec: {...block.spec, unallocated: [4, 5, 6]}})
    const handles = (await ds.list(ipamHandleKind)).length
    await assert.rejects(podIps(ds, 4), /holds an invalid IPAMBlock "192-168-0-64-26" \(expected 64 addresses in this block, but Unallocated \(3\) \+ Allocated \(3\) = 6\); the lab was not changed/)
    assert.equal((await ds.get(ipamBlockKind, '192-168-0-64-26')).metadata.resourceVersion, broken.metadata.resourceVersion)
    assert.equal((await ds.list(ipamHandleKind)).length, handles)
  })
})

describe('lab IPAM in etcd (no labels in Calico\'s IPAM keys: ownership follows the lab\'s nodes)', () => {
  let etcd: EtcdServer
  let ds: EtcdDatastore
  before(async () => {
    etcd = await startEtcd()
    ds = await EtcdDatastore.open({datastoreType: 'etcdv3', stateDir: '', etcdEndpoints: etcd.endpoint})
  })
  after(async () => {
    await ds?.close()
    await etcd?.stop()
  })
  labIpamOn(() => ds)

  it('a reconcile that changes nothing writes nothing, block affinities (kept without labels) included', async () => {
    const revision = async () => (await ds.listWithRevision(ipPoolKind)).revision
    await podIps(ds, 3)
    const before = await revision()
    await podIps(ds, 3)
    assert.equal(await revision(), before)
  })

  it('removeClusterObjects (lab down) leaves none of the lab\'s IPAM behind', async () => {
    assert.ok(etcd.etcdctl(['get', '/calico/ipam/v2/', '--prefix', '--keys-only']).stdout.includes('/calico/ipam/v2/host/node01/ipv4/block/192.168.0.64-26'))
    await removeClusterObjects(ds, lab)
    assert.equal(etcd.etcdctl(['get', '/calico/ipam/v2/', '--prefix', '--keys-only']).stdout.trim(), '')
    assert.equal(etcd.etcdctl(['get', '/calico/resources/v3/projectcalico.org/nodes/', '--prefix', '--keys-only']).stdout.trim(), '')
  })
})

describe('a new lab created with an encapsulating pool', () => {
  it('allocates its nodes\' tunnel addresses on the first sync', async () => {
    const dir = tempDir()
    try {
      const ds = new FileDatastore(dir.path)
      const {cluster} = await syncCluster(ds, lab, {...defaultTopology({nodes: 2, podsPerNode: 1}), encapsulation: 'VXLAN'})
      assert.equal(cluster.pool.spec?.vxlanMode, 'Always')
      assert.match(await ipam.showIp(ds, '192.168.0.0'), /^IP 192\.168\.0\.0 is in use\nHandle ID: vxlan-tunnel-addr-controlplane\n/)
      assert.deepEqual(cluster.pods.map((p) => p.ip), ['192.168.0.1', '192.168.0.65'])
    } finally {
      dir.cleanup()
    }
  })
})
