/**
 * Calico's allocation block as plain data (libcalico-go ipam_block.go): one entry per address
 * (null when free, else an index into attributes), the free ordinals in the order they are
 * handed out, and a sequence number that moves on every write. Pure functions only.
 */
import {formatIp, parseCidr, parseIp} from '../resources/cidr.js'
import {API_VERSION} from '../resources/types.js'
import {addressCount, ipamBlockName, type AllocationAttribute, type IPAMBlock, type IPAMBlockSpec} from '../resources/ipam.js'

/** The address at `ordinal` of the block. */
export function ordinalToIp(cidr: string, ordinal: number): string {
  const c = parseCidr(cidr)!
  return formatIp(c.family, c.network + BigInt(ordinal))
}

/** The ordinal of `ip` in the block, or undefined when the block does not hold it. */
export function ipToOrdinal(cidr: string, ip: string): number | undefined {
  const c = parseCidr(cidr)
  const a = parseIp(ip)
  if (!c || !a || a.family !== c.family) return undefined
  const offset = a.value - c.network
  return offset >= 0n && offset < BigInt(addressCount(cidr)) ? Number(offset) : undefined
}

export const blockContains = (cidr: string, ip: string): boolean => ipToOrdinal(cidr, ip) !== undefined

/** An empty block, as IPAM claims one: every ordinal free, in order. */
export function emptyBlockSpec(cidr: string, affinity?: string): IPAMBlockSpec {
  const size = addressCount(cidr)
  const spec: IPAMBlockSpec = {
    cidr,
    allocations: Array<null>(size).fill(null),
    unallocated: Array.from({length: size}, (_, i) => i),
    attributes: [],
    sequenceNumber: 0,
    sequenceNumberForAllocation: {},
    deleted: false,
    strictAffinity: false,
  }
  if (affinity) spec.affinity = affinity
  return spec
}

export const blockResource = (spec: IPAMBlockSpec, labels?: Record<string, string>): IPAMBlock => ({
  apiVersion: API_VERSION,
  kind: 'IPAMBlock',
  metadata: {name: ipamBlockName(spec.cidr), ...(labels ? {labels} : {})},
  spec,
})

/** The node a block is affine to ("host:node01" → node01), or undefined. */
export const blockHost = (spec: Pick<IPAMBlockSpec, 'affinity'>): string | undefined => {
  const match = /^(host|virtual):(.+)$/.exec(spec.affinity ?? '')
  return match?.[2]
}

/** ordinal → attribute of every allocated address. */
export function allocationsOf(spec: IPAMBlockSpec): Map<number, AllocationAttribute> {
  const out = new Map<number, AllocationAttribute>()
  spec.allocations.forEach((index, ordinal) => {
    if (index !== null && index !== undefined) out.set(ordinal, spec.attributes[index] ?? {})
  })
  return out
}

/**
 * The block holding exactly `allocations`: attributes in ordinal order, the free ordinals in
 * their old order with newly freed ones at the end (IPAM reuses the longest-free address last),
 * and the sequence number moved on when anything changed.
 */
export function withAllocations(old: IPAMBlockSpec, allocations: ReadonlyMap<number, AllocationAttribute>): IPAMBlockSpec {
  const size = addressCount(old.cidr)
  const ordinals = [...allocations.keys()].sort((a, b) => a - b)
  const attributes = ordinals.map((o) => allocations.get(o)!)
  const entries: Array<number | null> = Array<null>(size).fill(null)
  ordinals.forEach((o, i) => (entries[o] = i))
  const wasFree = new Set(old.unallocated)
  const unallocated = old.unallocated.filter((o) => !allocations.has(o))
  for (let o = 0; o < size; o++) if (!allocations.has(o) && !wasFree.has(o)) unallocated.push(o)
  const same = JSON.stringify([entries, attributes, unallocated]) === JSON.stringify([old.allocations, old.attributes, old.unallocated])
  if (same) return old
  const sequenceNumber = old.sequenceNumber + 1
  const previous = old.sequenceNumberForAllocation ?? {}
  const oldAllocations = allocationsOf(old)
  const sequenceNumberForAllocation: Record<string, number> = {}
  for (const o of ordinals) {
    const kept = oldAllocations.get(o)?.handle_id === allocations.get(o)!.handle_id ? previous[String(o)] : undefined
    sequenceNumberForAllocation[String(o)] = kept ?? sequenceNumber
  }
  return {...old, allocations: entries, unallocated, attributes, sequenceNumber, sequenceNumberForAllocation}
}

/** The block with `ordinal` released (and its attribute dropped), or undefined when it was free. */
export function releaseOrdinal(spec: IPAMBlockSpec, ordinal: number): IPAMBlockSpec | undefined {
  const allocations = allocationsOf(spec)
  if (!allocations.delete(ordinal)) return undefined
  return withAllocations(spec, allocations)
}

/** calicoctl's validateBlock: allocations, attributes and free ordinals agree. */
export function blockProblem(block: IPAMBlock): string | undefined {
  const b = block.spec!
  const size = addressCount(b.cidr)
  const seenAttributes = new Set<number>()
  const seenOrdinals = new Set<number>()
  for (let o = 0; o < size; o++) {
    const index = b.allocations[o]
    if (index === null || index === undefined) continue
    if (index < 0 || index >= b.attributes.length) return `allocation ${o} indexes a nonexistent attribute ${index}`
    seenAttributes.add(index)
    seenOrdinals.add(o)
  }
  for (let i = 0; i < b.attributes.length; i++) {
    if (!seenAttributes.has(i)) return `attribute index ${i} exists but is not indexed by an allocation`
    const releasedAt = b.attributes[i]!.releasedAt
    if (releasedAt && Date.parse(releasedAt) > Date.now()) return `attribute index ${i} has releasedAt in the future, suggesting clock skew`
  }
  for (const [i, o] of b.unallocated.entries()) {
    if (o < 0 || o >= b.allocations.length) return `ordinal ${o} appears in the Unallocated array but is out of the block`
    if (b.unallocated.slice(0, i).includes(o)) return `ordinal ${o} appears more than once in Unallocated array`
    if (seenOrdinals.has(o)) return `ordinal ${o} is allocated but appears in Unallocated`
  }
  if (b.unallocated.length + seenOrdinals.size !== size) {
    return `expected ${size} addresses in this block, but Unallocated (${b.unallocated.length}) + Allocated (${seenOrdinals.size}) = ${b.unallocated.length + seenOrdinals.size}`
  }
  return undefined
}
