/**
 * calicoctl's ipam commands (src/ipam/service.ts, what each command prints) against the three
 * backends: the embedded file store, a real etcd (where IPAM lives under /calico/ipam/v2 in
 * Calico's model JSON) and the Kubernetes API double (crd.projectcalico.org IPAM CRDs).
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import type {Datastore} from '../../src/datastore/datastore.js'
import {EtcdDatastore} from '../../src/datastore/etcd.js'
import {FileDatastore} from '../../src/datastore/file.js'
import {KubernetesDatastore} from '../../src/datastore/kubernetes.js'
import {NetctlError} from '../../src/errors.js'
import {allocationsOf, withAllocations} from '../../src/ipam/block.js'
import * as ipam from '../../src/ipam/service.js'
import {blockAffinityKind} from '../../src/resources/blockaffinity.js'
import {ipamBlockKind, ipamConfigKind, ipamHandleKind, type IPAMBlock} from '../../src/resources/ipam.js'
import {tempDir} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'
import {blocksTable, handleOf, seedCluster, usageTable} from './seed.js'

const problemsOf = (lines: string[]) => Number(/^Check complete; found (\d+) problems\.$/.exec(lines.at(-1)!)?.[1])

/** The same behaviour on every backend. */
function ipamOn(open: () => Datastore) {
  it('ipam show: pool usage, and with --show-blocks every block', async () => {
    assert.equal(await ipam.showBlockUtilization(open(), false), usageTable)
    assert.equal(await ipam.showBlockUtilization(open(), true), blocksTable)
  })

  it('ipam show --ip: the handle and owner of an address, or that it is free', async () => {
    assert.equal(await ipam.showIp(open(), '10.244.0.1'), [
      'IP 10.244.0.1 is in use',
      `Handle ID: ${handleOf('pod-a1')}`,
      'Active Owner Attributes:',
      '  namespace: default',
      '  node: node-a',
      '  pod: pod-a1',
      '  timestamp: 2026-01-01T00:00:00Z',
    ].join('\n'))
    assert.equal(await ipam.showIp(open(), '10.244.0.9'), '10.244.0.9 is not assigned')
    assert.equal(await ipam.showIp(open(), '10.9.0.1'), '10.9.0.1 is not assigned')
    await assert.rejects(ipam.showIp(open(), '10.244.0.300'), /invalid IP address specified: 10.244.0.300/)
  })

  it('ipam show --show-borrowed: none borrowed in this cluster', async () => {
    assert.equal(await ipam.showBorrowed(open()), [
      '+----+----------------+-------+-------------+------+--------------+',
      '| IP | BORROWING-NODE | BLOCK | BLOCK OWNER | TYPE | ALLOCATED-TO |',
      '+----+----------------+-------+-------------+------+--------------+',
    ].join('\n'))
  })

  it('ipam check: a consistent cluster has no problems', async () => {
    const {lines, problems, report} = await ipam.checkIpam(open(), {version: 'test'})
    assert.equal(problems, 0)
    assert.equal(problemsOf(lines), 0)
    for (const line of ['Found 2 IPAM blocks.', 'IPAM blocks record 3 allocations.', 'Found 3 workload IPs.', 'Found 0 handles with no matching IPs (and 3 handles with matches).', 'Found 0 invalid IPAMBlocks.']) assert.ok(lines.includes(line), `${line}\n${lines.join('\n')}`)
    assert.deepEqual(Object.keys(report.allocations), ['10.244.0.1', '10.244.0.2', '10.244.0.65'])
    assert.deepEqual(Object.keys(report.allocations['10.244.0.65']![0]!), ['ip', 'handle', 'sequenceNumber', 'pod', 'namespace', 'node', 'creationTimestamp', 'inUse', 'owners'])
    assert.equal(report.allocations['10.244.0.65']![0]!.inUse, true)
  })

  it('ipam check finds a leaked address; release --from-report frees it and its handle', async () => {
    const ds = open()
    // An allocation nobody uses: what a CNI DEL that never came leaves behind.
    const block = (await ds.list(ipamBlockKind)).find((b) => b.spec?.cidr === '10.244.0.64/26') as IPAMBlock
    const allocations = allocationsOf(block.spec!)
    allocations.set(9, {handle_id: 'k8s-pod-network.leaked', secondary: {namespace: 'default', node: 'node-b', pod: 'gone'}})
    await ds.update(ipamBlockKind, {...block, spec: withAllocations(block.spec!, allocations)})
    await ds.create(ipamHandleKind, {apiVersion: 'projectcalico.org/v3', kind: 'IPAMHandle', metadata: {name: 'k8s-pod-network.leaked'}, spec: {handleID: 'k8s-pod-network.leaked', block: {'10.244.0.64/26': 1}, deleted: false}})
    // And a handle whose addresses are all gone.
    await ds.create(ipamHandleKind, {apiVersion: 'projectcalico.org/v3', kind: 'IPAMHandle', metadata: {name: 'k8s-pod-network.orphan'}, spec: {handleID: 'k8s-pod-network.orphan', block: {'10.244.0.0/26': 1}, deleted: false}})
    const checked = await ipam.checkIpam(ds, {version: 'test', showProblemIps: true})
    assert.equal(checked.problems, 2)
    assert.ok(checked.lines.includes('Found 1 handles with no matching IPs (and 4 handles with matches).'), checked.lines.join('\n'))
    assert.deepEqual(checked.report.leakedHandles?.map((h) => h.ID), ['k8s-pod-network.orphan'])
    assert.ok(checked.lines.includes('  10.244.0.73 leaked; attrs Main:k8s-pod-network.leaked Extra:namespace=default,node=node-b,pod=gone'), checked.lines.join('\n'))
    assert.ok(checked.lines.includes('Found 1 IPs that are allocated in IPAM but not actually in use.'))
    assert.equal(checked.report.allocations['10.244.0.73']![0]!.inUse, false)
    await assert.rejects(ipam.releaseFromReports(ds, [{file: 'r.json', report: checked.report}], {force: false, version: 'test'}), /data store is not locked. Either lock the data store, or re-run with --force/)
    await assert.rejects(ipam.releaseFromReports(ds, [{file: 'r.json', report: {...checked.report, clusterGUID: 'other'}}], {force: true, version: 'test'}), /cluster does not match the provided report \(r.json\): mismatched cluster GUID/)
    const released = await ipam.releaseFromReports(ds, [{file: 'r.json', report: checked.report}], {force: true, version: 'test'})
    assert.deepEqual(released, [
      'WARNING: Data store is not locked. Ignoring due to --force option',
      'Releasing 1 old IPs...',
      'Released 1 IPs successfully',
      'Deleting 1 handles...',
      "Key: '.' = Deleted OK; 'x' = skip, handle missing/changed.",
      '.',
      'Released 1 handles; 0 skipped; 0 errors.',
      'You may now unlock the data store.',
    ])
    assert.ok(!(await ds.list(ipamHandleKind)).some((h) => h.spec?.handleID === 'k8s-pod-network.orphan'), 'the leaked handle is gone')
    assert.ok(!(await ds.list(ipamHandleKind)).some((h) => h.spec?.handleID === 'k8s-pod-network.leaked'), 'the emptied handle is gone')
    assert.equal((await ipam.checkIpam(ds, {version: 'test'})).problems, 0)
    assert.equal(await ipam.showBlockUtilization(ds, true), blocksTable)
  })

  it('ipam configure: StrictAffinity and MaxBlocksPerHost, with libcalico-go\'s checks', async () => {
    const ds = open()
    await assert.rejects(ipam.configureIpam(ds, {maxBlocksPerHost: '4'}), /MaxBlocksPerHost requires StrictAffinity to be enabled/)
    await assert.rejects(ipam.configureIpam(ds, {strictAffinity: 'yes'}), /invalid value. Use true or false to set strictaffinity/)
    await assert.rejects(ipam.configureIpam(ds, {}), /at least one configuration option must be specified/)
    assert.deepEqual(await ipam.configureIpam(ds, {strictAffinity: 'true', maxBlocksPerHost: '4'}), ['Successfully set StrictAffinity to: true', 'Successfully set MaxBlocksPerHost to: 4'])
    assert.match(await ipam.showConfiguration(ds), /\| StrictAffinity +\| true +\|\n\| AutoAllocateBlocks +\| true +\|\n\| MaxBlocksPerHost +\| 4 +\|/)
    const stored = await ds.get(ipamConfigKind, 'default')
    assert.deepEqual({strict: stored.spec?.strictAffinity, auto: stored.spec?.autoAllocateBlocks, max: stored.spec?.maxBlocksPerHost}, {strict: true, auto: true, max: 4})
    assert.deepEqual(await ipam.configureIpam(ds, {strictAffinity: 'false', maxBlocksPerHost: '0'}), ['Successfully set StrictAffinity to: false', 'Successfully set MaxBlocksPerHost to: 0'])
    await assert.rejects(ipam.configureIpam(ds, {kubeVirtIpPersistence: 'on'}), /invalid value for --kubevirt-ip-persistence. Use Enabled or Disabled/)
    await assert.rejects(ipam.configureIpam(ds, {ipCooldownSeconds: -1}), /at least one configuration option must be specified/)
    assert.deepEqual(await ipam.configureIpam(ds, {kubeVirtIpPersistence: 'Disabled', ipCooldownSeconds: 30}), ['Successfully set KubeVirtVMAddressPersistence to: Disabled', 'Successfully set IPCooldownSeconds to: 30'])
    assert.match(await ipam.showConfiguration(ds), /\| KubeVirtVMAddressPersistence \| "Disabled" \|\n\| IPCooldownSeconds +\| 30 +\|/)
    await ipam.configureIpam(ds, {kubeVirtIpPersistence: 'Enabled', ipCooldownSeconds: 0})
  })

  it('ipam release --ip frees one address; a free one is "not assigned"', async () => {
    const ds = open()
    assert.equal(await ipam.releaseIp(ds, '10.244.0.65'), 'Successfully released IP address 10.244.0.65')
    await assert.rejects(ipam.releaseIp(ds, '10.244.0.65'), (e: unknown) => e instanceof NetctlError && e.message === 'IP address 10.244.0.65 is not assigned')
    const checked = await ipam.checkIpam(ds, {version: 'test', showProblemIps: true})
    assert.equal(checked.problems, 1)
    assert.ok(checked.lines.includes('  10.244.0.65 in use by Workload(default/node--b-k8s-pod--b1-eth0) and in active IPAM pool but has no IPAM allocation.'), checked.lines.join('\n'))
    assert.ok(!(await ds.list(ipamHandleKind)).some((h) => h.spec?.handleID === handleOf('pod-b1')))
    const block = (await ds.list(ipamBlockKind)).find((b) => b.spec?.cidr === '10.244.0.64/26') as IPAMBlock
    // Calico hands the longest-free address out last: the released ordinal goes to the end.
    assert.equal(block.spec!.unallocated.at(-1), 1)
  })
}

describe('ipam on the embedded file datastore', () => {
  let dir: ReturnType<typeof tempDir>
  let ds: FileDatastore
  before(async () => {
    dir = tempDir()
    ds = new FileDatastore(dir.path)
    await seedCluster(ds)
  })
  after(() => dir?.cleanup())
  ipamOn(() => ds)

  it('ipam split: the pool replaced by equal parts (datastore locked, or --force)', async () => {
    await assert.rejects(ipam.splitPool(ds, {parts: 2, name: 'default-ipv4-ippool'}), /datastore is not locked/)
    await assert.rejects(ipam.splitPool(ds, {parts: 3, name: 'default-ipv4-ippool', force: true}), /not a valid power of 2: 3/)
    await assert.rejects(ipam.splitPool(ds, {parts: 2, force: true}), /no name or CIDR provided/)
    await assert.rejects(ipam.splitPool(ds, {parts: 2, cidr: '10.9.0.0/16', force: true}), /unable to find IP pool  covering the specified CIDR 10.9.0.0\/16/)
    const out = await ipam.splitPool(ds, {parts: 2, cidr: '10.244.0.0/16', force: true})
    assert.deepEqual(out, [
      'WARNING: Data store is not locked. Ignoring due to --force option',
      'IP Pool default-ipv4-ippool was successfully split into 2 smaller pools.Created split-default-ipv4-ippool-0 with CIDR 10.244.0.0/17.',
      'Created split-default-ipv4-ippool-1 with CIDR 10.244.128.0/17.',
      'Please refer to the documentation for final steps.',
    ])
  })
})

describe('ipam on etcd (Calico\'s /calico/ipam/v2 keys)', () => {
  let etcd: EtcdServer
  let ds: EtcdDatastore
  before(async () => {
    etcd = await startEtcd()
    ds = await EtcdDatastore.open({datastoreType: 'etcdv3', stateDir: '', etcdEndpoints: etcd.endpoint})
    await seedCluster(ds)
  })
  after(async () => {
    await ds?.close()
    await etcd?.stop()
  })

  it('keeps blocks, affinities, handles and the config where Calico does, in its JSON', async () => {
    const keys = etcd.etcdctl(['get', '/calico/ipam/v2/', '--prefix', '--keys-only']).stdout.split('\n').filter(Boolean)
    assert.deepEqual(keys, [
      '/calico/ipam/v2/assignment/ipv4/block/10.244.0.0-26',
      '/calico/ipam/v2/assignment/ipv4/block/10.244.0.64-26',
      `/calico/ipam/v2/handle/${handleOf('pod-a1')}`,
      `/calico/ipam/v2/handle/${handleOf('pod-a2')}`,
      `/calico/ipam/v2/handle/${handleOf('pod-b1')}`,
      '/calico/ipam/v2/host/node-a/ipv4/block/10.244.0.0-26',
      '/calico/ipam/v2/host/node-b/ipv4/block/10.244.0.64-26',
    ])
    const value = (key: string) => JSON.parse(etcd.etcdctl(['get', key, '--print-value-only']).stdout)
    const block = value('/calico/ipam/v2/assignment/ipv4/block/10.244.0.64-26')
    assert.deepEqual(Object.keys(block), ['cidr', 'affinity', 'allocations', 'unallocated', 'attributes', 'sequenceNumber', 'sequenceNumberForAllocation', 'deleted'])
    assert.equal(block.affinity, 'host:node-b')
    assert.equal(block.allocations[1], 0)
    assert.equal(block.allocations.length, 64)
    assert.deepEqual(block.attributes, [{handle_id: handleOf('pod-b1'), secondary: {namespace: 'default', node: 'node-b', pod: 'pod-b1', timestamp: '2026-01-01T00:00:00Z'}}])
    assert.deepEqual(value('/calico/ipam/v2/host/node-a/ipv4/block/10.244.0.0-26'), {state: 'confirmed', deleted: false})
    assert.deepEqual(value(`/calico/ipam/v2/handle/${handleOf('pod-a2')}`), {block: {'10.244.0.0/26': 1}, deleted: false})
    // And reads back what Calico wrote: the names and specs of the v3 objects.
    const affinity = await ds.get(blockAffinityKind, 'node-a-10-244-0-0-26')
    assert.deepEqual(affinity.spec, {state: 'confirmed', node: 'node-a', cidr: '10.244.0.0/26', deleted: 'false'})
    const stored = await ds.get(ipamBlockKind, '10-244-0-64-26')
    assert.equal(stored.spec?.affinity, 'host:node-b')
  })

  ipamOn(() => ds)

  it('writes the IPAMConfig as model.IPAMConfig at /calico/ipam/v2/config', async () => {
    await ds.delete(ipamConfigKind, 'default')
    // As libcalico-go: the defaults (KubeVirt persistence Enabled) are written along with the change.
    await ipam.configureIpam(ds, {strictAffinity: 'true'})
    assert.deepEqual(JSON.parse(etcd.etcdctl(['get', '/calico/ipam/v2/config', '--print-value-only']).stdout), {strict_affinity: true, auto_allocate_blocks: true, kubeVirtVMAddressPersistence: 'Enabled'})
  })
})

describe('ipam on Kubernetes (crd.projectcalico.org IPAM CRDs, the API double)', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let ds: KubernetesDatastore
  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir()
    const kubeconfig = join(dir.path, 'kubeconfig')
    api.writeKubeconfig(kubeconfig)
    ds = await KubernetesDatastore.open({datastoreType: 'kubernetes', stateDir: dir.path, kubeconfig})
    await seedCluster(ds, api)
  })
  after(async () => {
    await api?.stop()
    dir?.cleanup()
  })

  it('keeps IPAM as the ipamblocks, blockaffinities and ipamhandles custom resources', async () => {
    for (const plural of ['ipamblocks', 'blockaffinities', 'ipamhandles', 'clusterinformations']) {
      assert.ok(api.requests.some((r) => r.method === 'POST' && r.path === `/apis/crd.projectcalico.org/v1/${plural}`), plural)
    }
    const block = await ds.get(ipamBlockKind, '10-244-0-0-26')
    assert.equal(block.spec?.cidr, '10.244.0.0/26')
  })

  ipamOn(() => ds)
})

describe('ipam show --show-borrowed', () => {
  it('lists addresses a node took from another node\'s block, and counts those with no node', async () => {
    const dir = tempDir()
    try {
      const ds = new FileDatastore(dir.path)
      await seedCluster(ds)
      const block = (await ds.list(ipamBlockKind)).find((b) => b.spec?.cidr === '10.244.0.0/26') as IPAMBlock
      const allocations = allocationsOf(block.spec!)
      allocations.set(10, {handle_id: 'k8s-pod-network.borrowed', secondary: {namespace: 'web', node: 'node-b', pod: 'api-0'}})
      allocations.set(11, {handle_id: 'vxlan-tunnel-addr-node-b', secondary: {node: 'node-b', type: 'vxlanTunnelAddress'}})
      allocations.set(12, {handle_id: 'old'})
      await ds.update(ipamBlockKind, {...block, spec: withAllocations(block.spec!, allocations)})
      assert.equal(await ipam.showBorrowed(ds), [
        '+-------------+----------------+---------------+-------------+--------------------+--------------+',
        '| IP          | BORROWING-NODE | BLOCK         | BLOCK OWNER | TYPE               | ALLOCATED-TO |',
        '+-------------+----------------+---------------+-------------+--------------------+--------------+',
        '| 10.244.0.10 | node-b         | 10.244.0.0/26 | node-a      | pod                | web/api-0    |',
        '| 10.244.0.11 | node-b         | 10.244.0.0/26 | node-a      | vxlanTunnelAddress |              |',
        '+-------------+----------------+---------------+-------------+--------------------+--------------+',
        '',
        'Note: found 1 IP allocations without an explicit node association. Unable to determine if they are borrowed.',
      ].join('\n'))
      const checked = await ipam.checkIpam(ds, {version: 'test'})
      assert.equal(checked.report.allocations['10.244.0.10']![0]!.borrowed, true)
    } finally {
      dir.cleanup()
    }
  })
})

describe('ipam on a block IPAM cannot read', () => {
  it('names the block instead of failing somewhere inside', async () => {
    const dir = tempDir()
    try {
      const ds = new FileDatastore(dir.path)
      await seedCluster(ds)
      const block = (await ds.list(ipamBlockKind))[0]!
      await ds.update(ipamBlockKind, {...block, spec: {...block.spec, allocations: 'none'}})
      await assert.rejects(ipam.showBlockUtilization(ds, true), /IPAMBlock "10-244-0-0-26" in file datastore .* has no spec.allocations list of 64 entries: IPAM cannot read it/)
    } finally {
      dir.cleanup()
    }
  })
})
