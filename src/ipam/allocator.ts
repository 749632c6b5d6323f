/**
 * Pod addresses the way Calico's CNI IPAM hands them out, as a pure function: each pod has a
 * handle (k8s-pod-network.<container ID>) and gets an address from a block affine to its node,
 * the next free one in the block's order, claiming another block when its blocks are full.
 * What the blocks already record is kept: a pod keeps its address across reconciles, the
 * addresses of pods that are gone are released, and allocations of anyone else's handles are
 * left alone.
 */
import {createHash} from 'node:crypto'

import {NetctlError} from '../errors.js'
import {API_VERSION} from '../resources/types.js'
import {ipamHandleName, type AllocationAttribute, type IPAMBlock, type IPAMBlockSpec, type IPAMHandle} from '../resources/ipam.js'
import {allocationsOf, emptyBlockSpec, ipToOrdinal, ordinalToIp, withAllocations} from './block.js'

export const podHandlePrefix = 'k8s-pod-network.'

/** A stable container ID for a lab's pod (a runtime would give a random one): 64 hex digits. */
export const labContainerID = (lab: string, namespace: string, pod: string): string => createHash('sha256').update(`netctl-lab/${lab}/${namespace}/${pod}`).digest('hex')
export const podHandleID = (containerID: string): string => `${podHandlePrefix}${containerID}`

/** calico-node's handles for a node's tunnel addresses. */
export const tunnelHandleID = (type: 'ipip' | 'vxlan', node: string): string => `${type}-tunnel-addr-${node}`

export interface PodRequest {
  pod: string
  namespace: string
  node: string
  handleID: string
  /** The address the pod had before its lab kept IPAM (a WorkloadEndpoint's): kept when still free. */
  previousIp?: string
}

export interface NodeRequest {
  name: string
  /** The blocks affine to the node, in order; new blocks are appended. */
  blocks: string[]
  /** The tunnel address calico-node takes (the first address of the first block), when the pool encapsulates. */
  tunnel?: 'ipip' | 'vxlan'
}

export interface AllocationInput {
  nodes: NodeRequest[]
  pods: PodRequest[]
  /** The blocks IPAM already holds for these nodes (others' are never read or written). */
  blocks: IPAMBlock[]
  /** Claim a free block for a node (the caller knows the pool and who holds what). */
  claimBlock: (node: string) => string
  /** Ordinals of a node's block that pods never get (the tunnel address; flannel's network, gateway and broadcast). */
  reserved: (blockIndex: number, size: number) => ReadonlySet<number>
  /** How many blocks a node may hold (flannel: its one subnet). */
  maxBlocksPerNode?: number
  /** Written into new allocations' attributes, as the CNI plugin does. */
  timestamp: string
}

export interface AllocationResult {
  /** handleID → address. */
  addresses: Map<string, string>
  /** Every block of the nodes, as it must be stored. */
  blocks: IPAMBlockSpec[]
  /** One per allocated handle (pods and tunnels). */
  handles: IPAMHandle[]
}

export function allocateAddresses(input: AllocationInput): AllocationResult {
  const existing = new Map(input.blocks.map((b) => [b.spec!.cidr, b.spec!]))
  const addresses = new Map<string, string>()
  const handles = new Map<string, Record<string, number>>()
  const outBlocks: IPAMBlockSpec[] = []
  const record = (handleID: string, cidr: string, ordinal: number) => {
    addresses.set(handleID, ordinalToIp(cidr, ordinal))
    const blocks = handles.get(handleID) ?? {}
    blocks[cidr] = (blocks[cidr] ?? 0) + 1
    handles.set(handleID, blocks)
  }

  for (const node of input.nodes) {
    // Every node holds a block, pods or not (its tunnel and blackhole route live there).
    if (node.blocks.length === 0) node.blocks.push(input.claimBlock(node.name))
    const pods = input.pods.filter((p) => p.node === node.name)
    const wanted = new Map(pods.map((p) => [p.handleID, p]))
    const tunnelHandles = new Set([tunnelHandleID('ipip', node.name), tunnelHandleID('vxlan', node.name)])
    const wantedTunnel = node.tunnel ? tunnelHandleID(node.tunnel, node.name) : undefined
    // Per block: what it keeps; pods placed so far.
    const state = node.blocks.map((cidr) => {
      const spec = existing.get(cidr) ?? emptyBlockSpec(cidr, `host:${node.name}`)
      const kept = new Map<number, AllocationAttribute>()
      for (const [ordinal, attr] of allocationsOf(spec)) {
        const handle = attr.handle_id ?? ''
        const ours = handle.startsWith(podHandlePrefix) || tunnelHandles.has(handle)
        // Someone else's allocation stays; ours stays while its pod (or tunnel) is still wanted here.
        if (!ours || wanted.has(handle) || handle === wantedTunnel) kept.set(ordinal, attr)
      }
      const stored: IPAMBlockSpec = {...spec, affinity: spec.affinity ?? `host:${node.name}`}
      return {spec: stored, kept}
    })
    const placed = new Set<string>()
    for (const [, block] of state.entries()) {
      for (const [ordinal, attr] of block.kept) {
        const handle = attr.handle_id ?? ''
        if (placed.has(handle) && (wanted.has(handle) || handle === wantedTunnel)) {
          // A handle twice: keep its first address only.
          block.kept.delete(ordinal)
          continue
        }
        if (wanted.has(handle) || handle === wantedTunnel) {
          placed.add(handle)
          record(handle, block.spec.cidr, ordinal)
        }
      }
    }
    const taken = (i: number, ordinal: number) => state[i]!.kept.has(ordinal)
    const attributes = (pod: PodRequest): AllocationAttribute => ({
      handle_id: pod.handleID,
      secondary: {namespace: pod.namespace, node: node.name, pod: pod.pod, timestamp: input.timestamp},
    })
    const place = (i: number, ordinal: number, handleID: string, attr: AllocationAttribute) => {
      state[i]!.kept.set(ordinal, attr)
      placed.add(handleID)
      record(handleID, state[i]!.spec.cidr, ordinal)
    }

    // The tunnel takes the first address of the node's first block.
    if (wantedTunnel && !placed.has(wantedTunnel) && state[0] && !taken(0, 0)) {
      place(0, 0, wantedTunnel, {handle_id: wantedTunnel, secondary: {node: node.name, type: node.tunnel === 'vxlan' ? 'vxlanTunnelAddress' : 'ipipTunnelAddress'}})
    }
    // Pods that had an address before their lab kept IPAM keep it where it is still free.
    for (const pod of pods) {
      if (placed.has(pod.handleID) || !pod.previousIp) continue
      state.forEach((block, i) => {
        const ordinal = ipToOrdinal(block.spec.cidr, pod.previousIp!)
        if (placed.has(pod.handleID) || ordinal === undefined || taken(i, ordinal)) return
        if (input.reserved(i, block.spec.allocations.length).has(ordinal)) return
        place(i, ordinal, pod.handleID, attributes(pod))
      })
    }
    // Everyone else: the next free address, in each block's order of free addresses.
    for (const pod of pods) {
      if (placed.has(pod.handleID)) continue
      for (let i = 0; ; i++) {
        if (i >= state.length) {
          if (input.maxBlocksPerNode !== undefined && state.length >= input.maxBlocksPerNode) {
            throw new NetctlError('usage', `node ${node.name} has more pods than its ${state.length} block(s) hold`, 'use fewer pods per node')
          }
          const cidr = input.claimBlock(node.name)
          node.blocks.push(cidr)
          state.push({spec: emptyBlockSpec(cidr, `host:${node.name}`), kept: new Map()})
        }
        const block = state[i]!
        const reserved = input.reserved(i, block.spec.allocations.length)
        const free = block.spec.unallocated.find((o) => !block.kept.has(o) && !reserved.has(o))
        // Ordinals freed in this run are not in the stored order yet.
        const freed = free ?? block.spec.allocations.findIndex((_, o) => !block.kept.has(o) && !reserved.has(o) && !block.spec.unallocated.includes(o))
        if (freed === undefined || freed < 0) continue
        place(i, freed, pod.handleID, attributes(pod))
        break
      }
    }
    for (const block of state) outBlocks.push(withAllocations(block.spec, block.kept))
  }

  const handleObjects = [...handles.entries()].map<IPAMHandle>(([handleID, block]) => ({
    apiVersion: API_VERSION,
    kind: 'IPAMHandle',
    metadata: {name: ipamHandleName(handleID)},
    spec: {handleID, block, deleted: false},
  }))
  return {addresses, blocks: outBlocks, handles: handleObjects}
}
