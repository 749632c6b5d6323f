/**
 * Where Calico's etcd datastore keeps IPAM, and in which JSON: not as v3 objects under
 * /calico/resources/v3, but as libcalico-go's backend model under /calico/ipam/v2:
 *   assignment/ipv4/block/10.244.0.0-26       AllocationBlock {cidr, affinity, allocations, …}
 *   host/<node>/ipv4/block/10.244.0.0-26       BlockAffinity {state, deleted}
 *   handle/<handle ID>                         IPAMHandle {block, deleted}
 *   config                                     IPAMConfig {strict_affinity, auto_allocate_blocks, maxBlocksPerHost}
 * The key carries what the value lacks (the block's node, the handle's ID); etcd's mod
 * revision is the resourceVersion as for every other kind. These values have no metadata:
 * labels and annotations are not kept.
 */
import {blockAffinityName} from '../resources/blockaffinity.js'
import {formatCidr, parseCidr} from '../resources/cidr.js'
import type {KindInfo} from '../resources/kind.js'
import {ipamBlockName, ipamConfigName, ipamHandleName} from '../resources/ipam.js'
import {API_VERSION, type Resource} from '../resources/types.js'

const root = '/calico/ipam/v2/'

const isIpamKind = (kind: KindInfo): boolean => ['IPAMBlock', 'BlockAffinity', 'IPAMHandle', 'IPAMConfig'].includes(kind.kind)

/** The prefix a kind's keys share, for listing; undefined for kinds kept as v3 objects. */
export function ipamEtcdPrefix(kind: KindInfo): string | undefined {
  switch (kind.kind) {
    case 'IPAMBlock': return `${root}assignment/`
    case 'BlockAffinity': return `${root}host/`
    case 'IPAMHandle': return `${root}handle/`
    case 'IPAMConfig': return `${root}config`
    default: return undefined
  }
}

const cidrInKey = (cidr: string): {version: number; text: string} => {
  const parsed = parseCidr(cidr)
  if (!parsed) throw new Error(`"${cidr}" is not a CIDR`)
  return {version: parsed.family, text: formatCidr(parsed).replace('/', '-')}
}

/** The key of an object netctl writes (its spec names the block or handle). */
export function ipamEtcdKey(kind: KindInfo, resource: Resource): string | undefined {
  if (!isIpamKind(kind)) return undefined
  const spec = (resource.spec ?? {}) as Record<string, unknown>
  switch (kind.kind) {
    case 'IPAMBlock': {
      const {version, text} = cidrInKey(String(spec.cidr))
      return `${root}assignment/ipv${version}/block/${text}`
    }
    case 'BlockAffinity': {
      const {version, text} = cidrInKey(String(spec.cidr))
      return `${root}${spec.type || 'host'}/${String(spec.node)}/ipv${version}/block/${text}`
    }
    case 'IPAMHandle': return `${root}handle/${String(spec.handleID ?? resource.metadata.name)}`
    default: return `${root}config`
  }
}

/**
 * The key of an object asked for by name, when the name says it; undefined for blocks and
 * affinities, whose names cannot be turned back into a CIDR and node: those are found by listing.
 */
export function ipamEtcdKeyByName(kind: KindInfo, name: string): string | undefined {
  if (kind.kind === 'IPAMHandle') return `${root}handle/${name}`
  if (kind.kind === 'IPAMConfig') return name === ipamConfigName ? `${root}config` : `${root}config/${name}`
  return undefined
}

export const isListedByName = (kind: KindInfo): boolean => kind.kind === 'IPAMBlock' || kind.kind === 'BlockAffinity'

/**
 * Calico's value at `key` as a v3 object, or a description of what is wrong with it.
 * `value` is the parsed JSON object.
 */
export function decodeIpamValue(kind: KindInfo, key: string, value: Record<string, unknown>): Resource | string {
  const object = (kindName: string, name: string, spec: Record<string, unknown>): Resource => ({apiVersion: API_VERSION, kind: kindName, metadata: {name}, spec})
  switch (kind.kind) {
    case 'IPAMBlock': {
      if (typeof value.cidr !== 'string' || !parseCidr(value.cidr)) return 'an allocation block without a CIDR'
      const spec: Record<string, unknown> = {cidr: value.cidr}
      const affinity = value.affinity ?? (typeof value.hostAffinity === 'string' ? `host:${value.hostAffinity}` : undefined)
      if (affinity !== null && affinity !== undefined) spec.affinity = affinity
      if (value.affinity_claim_time !== undefined && value.affinity_claim_time !== null) spec.affinityClaimTime = value.affinity_claim_time
      spec.allocations = value.allocations ?? []
      spec.unallocated = value.unallocated ?? []
      spec.attributes = value.attributes ?? []
      spec.sequenceNumber = value.sequenceNumber ?? 0
      if (value.sequenceNumberForAllocation !== undefined && value.sequenceNumberForAllocation !== null) spec.sequenceNumberForAllocation = value.sequenceNumberForAllocation
      spec.deleted = value.deleted ?? false
      spec.strictAffinity = value.strictAffinity ?? false
      return object('IPAMBlock', ipamBlockName(value.cidr), spec)
    }
    case 'BlockAffinity': {
      const match = /^\/calico\/ipam\/v2\/(host|virtual)\/([^/]+)\/ipv[46]\/block\/([^/]+)$/.exec(key)
      const cidr = match?.[3]?.replace('-', '/')
      if (!match || !cidr || !parseCidr(cidr)) return 'a key that names no node and block'
      const spec: Record<string, unknown> = {state: value.state ?? 'confirmed', node: match[2], cidr, deleted: String(value.deleted === true)}
      if (match[1] !== 'host') spec.type = match[1]
      return object('BlockAffinity', blockAffinityName(match[2]!, cidr), spec)
    }
    case 'IPAMHandle': {
      const handleID = key.slice(`${root}handle/`.length)
      if (!handleID || handleID.includes('/')) return 'a key that names no handle'
      const spec: Record<string, unknown> = {handleID, block: value.block ?? {}}
      if (value.deleted !== undefined) spec.deleted = value.deleted
      return object('IPAMHandle', ipamHandleName(handleID), spec)
    }
    default: {
      if (key !== `${root}config`) return 'a key that is not /calico/ipam/v2/config'
      const spec: Record<string, unknown> = {strictAffinity: value.strict_affinity ?? false, autoAllocateBlocks: value.auto_allocate_blocks ?? false}
      if (value.maxBlocksPerHost !== undefined) spec.maxBlocksPerHost = value.maxBlocksPerHost
      if (value.ipCooldownSeconds !== undefined) spec.ipCooldownSeconds = value.ipCooldownSeconds
      if (value.kubeVirtVMAddressPersistence !== undefined) spec.kubeVirtVMAddressPersistence = value.kubeVirtVMAddressPersistence
      return object('IPAMConfig', ipamConfigName, spec)
    }
  }
}

/** The JSON Calico keeps for a v3 IPAM object, or undefined for the other kinds. */
export function encodeIpamValue(resource: Resource): string | undefined {
  const spec = (resource.spec ?? {}) as Record<string, unknown>
  switch (resource.kind) {
    case 'IPAMBlock': {
      // Field order and presence as Go's encoding/json writes model.AllocationBlock.
      const value: Record<string, unknown> = {cidr: spec.cidr, affinity: spec.affinity ?? null}
      if (spec.affinityClaimTime) value.affinity_claim_time = spec.affinityClaimTime
      Object.assign(value, {
        allocations: spec.allocations ?? [],
        unallocated: spec.unallocated ?? [],
        attributes: spec.attributes ?? [],
        sequenceNumber: spec.sequenceNumber ?? 0,
        sequenceNumberForAllocation: spec.sequenceNumberForAllocation ?? null,
        deleted: spec.deleted ?? false,
      })
      return JSON.stringify(value)
    }
    case 'BlockAffinity':
      return JSON.stringify({state: spec.state ?? 'confirmed', deleted: spec.deleted === true || spec.deleted === 'true'})
    case 'IPAMHandle':
      return JSON.stringify({block: spec.block ?? {}, deleted: spec.deleted ?? false})
    case 'IPAMConfig': {
      // omitempty everywhere, as model.IPAMConfig.
      const value: Record<string, unknown> = {}
      if (spec.strictAffinity) value.strict_affinity = true
      if (spec.autoAllocateBlocks) value.auto_allocate_blocks = true
      if (spec.maxBlocksPerHost) value.maxBlocksPerHost = spec.maxBlocksPerHost
      if (spec.kubeVirtVMAddressPersistence) value.kubeVirtVMAddressPersistence = spec.kubeVirtVMAddressPersistence
      if (spec.ipCooldownSeconds) value.ipCooldownSeconds = spec.ipCooldownSeconds
      return JSON.stringify(value)
    }
    default:
      return undefined
  }
}
