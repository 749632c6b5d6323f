/** The pure parts of IPAM: the allocator labs use, block bookkeeping, calicoctl's number formats, validation, etcd's model JSON. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {decodeIpamValue, encodeIpamValue, ipamEtcdKey} from '../../src/datastore/etcd-ipam.js'
import {allocateAddresses, tunnelHandleID, type AllocationInput, type PodRequest} from '../../src/ipam/allocator.js'
import {allocationsOf, blockResource, emptyBlockSpec, ipToOrdinal, ordinalToIp, releaseOrdinal, withAllocations} from '../../src/ipam/block.js'
import {boxTable, goG, goRound} from '../../src/ipam/format.js'
import {blockProblem, splitCidr} from '../../src/ipam/service.js'
import {blockAffinityKind} from '../../src/resources/blockaffinity.js'
import {ipamBlockKind, ipamConfigKind, ipamHandleKind, type IPAMBlockSpec} from '../../src/resources/ipam.js'

const pod = (name: string, node: string, previousIp?: string): PodRequest => ({pod: name, namespace: 'default', node, handleID: `k8s-pod-network.${name}`, previousIp})

function run(input: Partial<AllocationInput> & Pick<AllocationInput, 'nodes' | 'pods'>) {
  const free = ['10.0.0.0/26', '10.0.0.64/26', '10.0.0.128/26', '10.0.0.192/26']
  const claimed: string[] = []
  const result = allocateAddresses({
    blocks: [],
    claimBlock: () => {
      const cidr = free.filter((c) => !input.nodes.some((n) => n.blocks.includes(c)))[0]!
      claimed.push(cidr)
      free.splice(free.indexOf(cidr), 1)
      return cidr
    },
    reserved: (i) => new Set(i === 0 ? [0] : []),
    timestamp: '2026-01-01T00:00:00Z',
    ...input,
  })
  return {...result, claimed, ip: (name: string) => result.addresses.get(`k8s-pod-network.${name}`)}
}
const asStored = (blocks: IPAMBlockSpec[]) => blocks.map((spec) => blockResource(spec))

describe('lab IPAM allocator', () => {
  it('gives each node a block and its pods the next free addresses, with handles as Calico\'s CNI', () => {
    const r = run({nodes: [{name: 'a', blocks: []}, {name: 'b', blocks: []}], pods: [pod('p1', 'a'), pod('p2', 'a'), pod('q1', 'b')]})
    assert.deepEqual([r.ip('p1'), r.ip('p2'), r.ip('q1')], ['10.0.0.1', '10.0.0.2', '10.0.0.65'])
    assert.deepEqual(r.blocks.map((b) => [b.cidr, b.affinity]), [['10.0.0.0/26', 'host:a'], ['10.0.0.64/26', 'host:b']])
    const a = r.blocks[0]!
    assert.deepEqual(a.allocations.slice(0, 4), [null, 0, 1, null])
    assert.deepEqual(a.attributes[0], {handle_id: 'k8s-pod-network.p1', secondary: {namespace: 'default', node: 'a', pod: 'p1', timestamp: '2026-01-01T00:00:00Z'}})
    assert.equal(a.unallocated.length, 62)
    assert.deepEqual(a.unallocated.slice(0, 2), [0, 3])
    assert.equal(blockProblem(blockResource(a)), undefined)
    assert.deepEqual(r.handles.map((h) => [h.metadata.name, h.spec]), [
      ['k8s-pod-network.p1', {handleID: 'k8s-pod-network.p1', block: {'10.0.0.0/26': 1}, deleted: false}],
      ['k8s-pod-network.p2', {handleID: 'k8s-pod-network.p2', block: {'10.0.0.0/26': 1}, deleted: false}],
      ['k8s-pod-network.q1', {handleID: 'k8s-pod-network.q1', block: {'10.0.0.64/26': 1}, deleted: false}],
    ])
  })

  it('keeps addresses across runs, releases those of pods that went (reused last), and writes nothing when nothing changed', () => {
    const first = run({nodes: [{name: 'a', blocks: []}], pods: [pod('p1', 'a'), pod('p2', 'a')]})
    const again = run({nodes: [{name: 'a', blocks: ['10.0.0.0/26']}], pods: [pod('p1', 'a'), pod('p2', 'a')], blocks: asStored(first.blocks)})
    assert.deepEqual(again.blocks, first.blocks, 'same blocks, same sequence number')
    const second = run({nodes: [{name: 'a', blocks: ['10.0.0.0/26']}], pods: [pod('p2', 'a'), pod('p3', 'a')], blocks: asStored(first.blocks)})
    assert.equal(second.ip('p2'), '10.0.0.2')
    // p1's .1 went to the end of the free list: p3 gets .3.
    assert.equal(second.ip('p3'), '10.0.0.3')
    assert.equal(second.blocks[0]!.unallocated.at(-1), 1)
    assert.equal(second.blocks[0]!.sequenceNumber, first.blocks[0]!.sequenceNumber + 1)
    assert.equal(second.blocks[0]!.sequenceNumberForAllocation!['2'], first.blocks[0]!.sequenceNumberForAllocation!['2'], 'a kept allocation keeps its sequence number')
    assert.deepEqual(second.handles.map((h) => h.spec!.handleID), ['k8s-pod-network.p2', 'k8s-pod-network.p3'])
  })

  it('keeps a pod\'s previous address (a lab built before it kept IPAM) and others\' allocations in its blocks', () => {
    const foreign = emptyBlockSpec('10.0.0.0/26', 'host:a')
    const withForeign = withAllocations(foreign, new Map([[5, {handle_id: 'someone-else', secondary: {node: 'a'}}]]))
    const r = run({nodes: [{name: 'a', blocks: ['10.0.0.0/26']}], pods: [pod('p1', 'a', '10.0.0.7'), pod('p2', 'a', '10.0.0.5'), pod('p3', 'a')], blocks: asStored([withForeign])})
    assert.equal(r.ip('p1'), '10.0.0.7')
    assert.equal(r.ip('p2'), '10.0.0.1', '.5 is someone else\'s')
    assert.equal(r.ip('p3'), '10.0.0.2')
    assert.equal(allocationsOf(r.blocks[0]!).get(5)?.handle_id, 'someone-else')
  })

  it('claims another block when a node\'s blocks are full; only the first block keeps .0 for the tunnel', () => {
    const pods = Array.from({length: 65}, (_, i) => pod(`p${i}`, 'a'))
    const r = run({nodes: [{name: 'a', blocks: []}], pods})
    assert.deepEqual(r.claimed, ['10.0.0.0/26', '10.0.0.64/26'])
    assert.equal(r.ip('p62'), '10.0.0.63')
    assert.equal(r.ip('p63'), '10.0.0.64')
    assert.equal(r.ip('p64'), '10.0.0.65')
    assert.equal(new Set(r.addresses.values()).size, 65)
  })

  it('records the tunnel address as calico-node does, and releases it when the pool stops encapsulating', () => {
    const on = run({nodes: [{name: 'a', blocks: [], tunnel: 'vxlan'}], pods: [pod('p1', 'a')]})
    assert.equal(on.addresses.get(tunnelHandleID('vxlan', 'a')), '10.0.0.0')
    assert.deepEqual(allocationsOf(on.blocks[0]!).get(0), {handle_id: 'vxlan-tunnel-addr-a', secondary: {node: 'a', type: 'vxlanTunnelAddress'}})
    const off = run({nodes: [{name: 'a', blocks: ['10.0.0.0/26']}], pods: [pod('p1', 'a')], blocks: asStored(on.blocks)})
    assert.equal(allocationsOf(off.blocks[0]!).has(0), false)
    assert.equal(off.ip('p1'), '10.0.0.1')
  })

  it('refuses more pods than a node may hold blocks for (flannel: one subnet)', () => {
    const pods = Array.from({length: 62}, (_, i) => pod(`p${i}`, 'a'))
    assert.throws(() => run({nodes: [{name: 'a', blocks: []}], pods, maxBlocksPerNode: 1, reserved: (_i, size) => new Set([0, 1, size - 1])}), /node a has more pods than its 1 block\(s\) hold/)
  })
})

describe('allocation blocks', () => {
  it('maps ordinals and addresses, and releases one allocation', () => {
    assert.equal(ordinalToIp('10.0.0.64/26', 3), '10.0.0.67')
    assert.equal(ipToOrdinal('10.0.0.64/26', '10.0.0.127'), 63)
    assert.equal(ipToOrdinal('10.0.0.64/26', '10.0.0.128'), undefined)
    assert.equal(ipToOrdinal('fd00::/122', 'fd00::3f'), 63)
    const block = withAllocations(emptyBlockSpec('10.0.0.0/30'), new Map([[1, {handle_id: 'h1'}], [2, {handle_id: 'h2'}]]))
    const released = releaseOrdinal(block, 1)!
    assert.deepEqual([released.allocations, released.attributes, released.unallocated], [[null, null, 0, null], [{handle_id: 'h2'}], [0, 3, 1]])
    assert.equal(releaseOrdinal(released, 1), undefined)
  })

  it('finds what calicoctl\'s validateBlock finds', () => {
    const good = withAllocations(emptyBlockSpec('10.0.0.0/30'), new Map([[1, {handle_id: 'h1'}]]))
    assert.equal(blockProblem(blockResource(good)), undefined)
    assert.equal(blockProblem(blockResource({...good, allocations: [null, 3, null, null]})), 'allocation 1 indexes a nonexistent attribute 3')
    assert.equal(blockProblem(blockResource({...good, unallocated: [0, 2, 3, 1]})), 'ordinal 1 is allocated but appears in Unallocated')
    assert.equal(blockProblem(blockResource({...good, unallocated: [0, 2]})), 'expected 4 addresses in this block, but Unallocated (2) + Allocated (1) = 3')
    assert.equal(blockProblem(blockResource({...good, attributes: [{handle_id: 'h1'}, {handle_id: 'x'}]})), 'attribute index 1 exists but is not indexed by an allocation')
  })
})

describe('calicoctl number and table formats', () => {
  it('prints numbers as Go\'s %.5g and percentages as %.f (exact halves to even)', () => {
    assert.deepEqual([0, 64, 65536, 65533, 131072, 1048576, 16777216].map((n) => goG(n)), ['0', '64', '65536', '65533', '1.3107e+05', '1.0486e+06', '1.6777e+07'])
    assert.deepEqual([0.5, 1.5, 2.5, 3.125, 99.99].map(goRound), ['0', '2', '2', '3', '100'])
  })

  it('draws go-pretty\'s default box', () => {
    assert.equal(boxTable([{header: 'a'}, {header: 'n', right: true}], [['x', '1'], ['yy', '10']]), ['+----+----+', '| A  | N  |', '+----+----+', '| x  |  1 |', '| yy | 10 |', '+----+----+'].join('\n'))
  })

  it('splits a CIDR as calicoctl ipam split does', () => {
    assert.deepEqual(splitCidr('10.244.0.0/16', 4), ['10.244.0.0/18', '10.244.64.0/18', '10.244.128.0/18', '10.244.192.0/18'])
    assert.deepEqual(splitCidr('fd00::/120', 2), ['fd00::/121', 'fd00::80/121'])
    assert.throws(() => splitCidr('10.0.0.0/31', 4), /the CIDR 10.0.0.0\/31 is not large enough to be split into 4 parts/)
    assert.throws(() => splitCidr('10.0.0.0/16', 6), /not a valid power of 2: 6/)
  })
})

describe('IPAM kinds: validation at entry', () => {
  const block = () => blockResource(withAllocations(emptyBlockSpec('10.0.0.0/30', 'host:a'), new Map([[1, {handle_id: 'h1'}]])))
  it('accepts what IPAM writes and names the field that is wrong', () => {
    ipamBlockKind.validate!(block(), {others: []})
    const b = block()
    assert.throws(() => ipamBlockKind.validate!({...b, spec: {...b.spec!, allocations: [null, 0]}}, {others: []}), /IPAMBlock "10-0-0-0-30": spec.allocations has 2 entries, but 10.0.0.0\/30 holds 4 addresses/)
    assert.throws(() => ipamBlockKind.validate!({...b, spec: {...b.spec!, affinity: 'node-a'}}, {others: []}), /spec.affinity "node-a" is not host:<node> or virtual:<name>/)
    assert.throws(() => ipamBlockKind.validate!({...b, spec: {...b.spec!, colour: 'red'}}, {others: []}), /spec.colour is not a known field/)
    assert.throws(() => ipamBlockKind.validate!({...b, metadata: {name: 'other'}}, {others: []}), /Calico names the block of 10.0.0.0\/30 "10-0-0-0-30"/)
    assert.throws(() => ipamHandleKind.validate!({apiVersion: 'projectcalico.org/v3', kind: 'IPAMHandle', metadata: {name: 'h'}, spec: {handleID: 'h', block: {'10.0.0.1/30': 1}}}, {others: []}), /is not a masked block CIDR/)
    const config = (spec: Record<string, unknown>) => ({apiVersion: 'projectcalico.org/v3', kind: 'IPAMConfig', metadata: {name: 'default'}, spec})
    ipamConfigKind.validate!(ipamConfigKind.withDefaults!(config({strictAffinity: true, maxBlocksPerHost: 4})), {others: []})
    assert.throws(() => ipamConfigKind.validate!(config({strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 4}), {others: []}), /requires StrictAffinity to be enabled/)
    assert.throws(() => ipamConfigKind.validate!(config({strictAffinity: false, autoAllocateBlocks: false}), {others: []}), /cannot disable 'StrictAffinity' and 'AutoAllocateBlocks'/)
  })
})

describe('etcd: Calico\'s model JSON for IPAM', () => {
  it('round-trips blocks, affinities, handles and the config through their keys and values', () => {
    const b = blockResource(withAllocations(emptyBlockSpec('10.0.0.0/30', 'host:a'), new Map([[1, {handle_id: 'h1'}]])))
    const key = ipamEtcdKey(ipamBlockKind, b)!
    assert.equal(key, '/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-30')
    const back = decodeIpamValue(ipamBlockKind, key, JSON.parse(encodeIpamValue(b)!))
    assert.deepEqual(back, {...b, metadata: {name: '10-0-0-0-30'}})
    const affinity = {apiVersion: 'projectcalico.org/v3', kind: 'BlockAffinity', metadata: {name: 'a-10-0-0-0-30'}, spec: {state: 'confirmed', node: 'a', cidr: '10.0.0.0/30', deleted: 'false'}}
    const affinityKey = ipamEtcdKey(blockAffinityKind, affinity)!
    assert.equal(affinityKey, '/calico/ipam/v2/host/a/ipv4/block/10.0.0.0-30')
    assert.equal(encodeIpamValue(affinity), '{"state":"confirmed","deleted":false}')
    assert.deepEqual(decodeIpamValue(blockAffinityKind, affinityKey, {state: 'confirmed', deleted: false}), affinity)
    // Calico once stored affinities with no value; its block values may carry the old hostAffinity.
    assert.deepEqual((decodeIpamValue(blockAffinityKind, '/calico/ipam/v2/host/b/ipv6/block/fd00::-122', {}) as {spec: unknown}).spec, {state: 'confirmed', node: 'b', cidr: 'fd00::/122', deleted: 'false'})
    assert.equal((decodeIpamValue(ipamBlockKind, key, {cidr: '10.0.0.0/30', hostAffinity: 'old', allocations: [null, null, null, null], unallocated: [0, 1, 2, 3], attributes: []}) as {spec: {affinity?: unknown}}).spec.affinity, 'host:old')
    assert.equal(decodeIpamValue(ipamBlockKind, key, {allocations: []}), 'an allocation block without a CIDR')
    assert.equal(encodeIpamValue({apiVersion: 'projectcalico.org/v3', kind: 'IPAMConfig', metadata: {name: 'default'}, spec: {strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0}}), '{"auto_allocate_blocks":true}')
  })
})
