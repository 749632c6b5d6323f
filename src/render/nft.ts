/**
 * nftables script tokens, for the rules labs load with `nft -f`: names, quoted strings
 * (comments, interface names), addresses and ports, each refused unless it is one inert token.
 */
import {formatCidr, formatIp, parseCidr, parseIp} from '../resources/cidr.js'
import {refuse} from './refuse.js'

const target = 'an nft script'

/** Table, chain and set names. */
export function nftName(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(value)) throw refuse(target, value, 'an nft name is a letter or _ followed by up to 63 letters, digits, _ . -')
  return value
}

export function nftString(value: unknown, maxLength = 255): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length > maxLength || /["\\\u0000-\u001f\u007f]/.test(value)) throw refuse(target, value, `an nft string holds at most ${maxLength} characters and no quotes, backslashes or control characters`)
  return `"${value}"`
}

export function nftAddress(value: unknown): string {
  if (typeof value === 'string' && value.includes('/')) {
    const cidr = parseCidr(value)
    if (cidr) return formatCidr(cidr)
  } else if (typeof value === 'string') {
    const ip = parseIp(value)
    if (ip) return formatIp(ip.family, ip.value)
  }
  throw refuse(target, value, 'it is not an IP address or CIDR')
}

export function nftPort(value: unknown): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) throw refuse(target, value, 'a port is a whole number from 0 to 65535')
  return String(value)
}

/** A whole number in [min, max]: ICMP types and codes, protocol numbers. */
export function nftInteger(value: unknown, min: number, max: number): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw refuse(target, value, `expected a whole number from ${min} to ${max}`)
  return String(value)
}

/**
 * A rule comment made from datastore names (tier/policy/rule): every character outside a small
 * inert set becomes "_" and it is cut to nft's 128-byte limit, so a hostile name still yields a
 * loadable, quoted comment instead of breaking the script (the comment is only a label).
 */
export function nftComment(value: string): string {
  const clean = String(value).replace(/[^A-Za-z0-9 ._:/@=+,-]/g, '_').slice(0, 120)
  return nftString(clean)
}
