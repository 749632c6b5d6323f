/** IPv4/IPv6 addresses and CIDRs as bigints: enough to check masking, overlap and containment. */
import {isIPv4, isIPv6} from 'node:net'

export interface Cidr {
  family: 4 | 6
  /** The address part as written, as a number. */
  address: bigint
  prefix: number
  /** The address with the host bits cleared. */
  network: bigint
  bits: 32 | 128
}

/**
 * Strict, as Go's net.ParseIP: no spaces, no leading zeros in IPv4 octets (node's isIPv4
 * already refuses them), no IPv6 zone ("%eth0").
 */
export function parseIp(text: string): {family: 4 | 6; value: bigint} | undefined {
  if (typeof text !== 'string' || text.length > 45) return undefined
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n)
    return {family: 4, value}
  }
  if (isIPv6(text) && !text.includes('%')) return {family: 6, value: parseIpv6(text)}
  return undefined
}

function parseIpv6(text: string): bigint {
  // Rewrite an embedded IPv4 tail (::ffff:1.2.3.4) as two hex groups, then expand "::".
  let body = text
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4?.[1]) {
    const n = parseIp(v4[1])!.value
    body = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`
  }
  const [head, rest] = body.split('::') as [string, string | undefined]
  const hex = (part: string) => (part ? part.split(':').map((g) => parseInt(g, 16)) : [])
  const headGroups = hex(head)
  const restGroups = hex(rest ?? '')
  const zeros = rest === undefined ? [] : Array<number>(8 - headGroups.length - restGroups.length).fill(0)
  return [...headGroups, ...zeros, ...restGroups].reduce((acc, g) => (acc << 16n) | BigInt(g), 0n)
}

/**
 * address/prefix, strictly: nothing around it, no leading zero in the prefix (`/016`), the
 * address as strict as parseIp's. Callers that accept padding must trim before they call.
 */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined
  const match = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(text)
  if (!match) return undefined
  const ip = parseIp(match[1]!)
  if (!ip) return undefined
  const bits = ip.family === 4 ? 32 : 128
  const prefix = Number(match[2])
  if (prefix > bits) return undefined
  return {family: ip.family, address: ip.value, prefix, network: ip.value & mask(bits, prefix), bits}
}

function mask(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n
  return all ^ ((1n << BigInt(bits - prefix)) - 1n)
}

export const isMasked = (cidr: Cidr): boolean => cidr.address === cidr.network

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false
  const prefix = Math.min(a.prefix, b.prefix)
  const m = mask(a.bits, prefix)
  return (a.network & m) === (b.network & m)
}

export function formatIp(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.')
  const groups = Array.from({length: 8}, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn))
  // Compress the longest run of zero groups (RFC 5952).
  let best = {start: -1, length: 0}
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > best.length && j - i > 1) best = {start: i, length: j - i}
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (best.start < 0) return hex.join(':')
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`
}

export const formatCidr = (cidr: Cidr): string => `${formatIp(cidr.family, cidr.network)}/${cidr.prefix}`

/** The link-local range of a family (parsed on use: node's IPv6 check is costly at startup). */
export const linkLocal = (family: 4 | 6): Cidr => parseCidr(family === 4 ? '169.254.0.0/16' : 'fe80::/10')!

/** Calico's ParseCIDROrIP: a CIDR, or a bare address taken as a /32 or /128. */
export function parseCidrOrIp(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined
  if (text.includes('/')) return parseCidr(text)
  const ip = parseIp(text)
  if (!ip) return undefined
  const bits = ip.family === 4 ? 32 : 128
  return {family: ip.family, address: ip.value, prefix: bits, network: ip.value, bits}
}

/** Whether `ip` (a value of the cidr's family) falls inside `cidr`. */
export const containsIp = (cidr: Cidr, family: 4 | 6, ip: bigint): boolean => cidr.family === family && (ip & mask(cidr.bits, cidr.prefix)) === cidr.network
