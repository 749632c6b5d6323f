/**
 * bird.conf tokens. Addresses, prefixes and numbers are parsed and written back in
 * canonical form, so that nothing but the value itself can reach the file; strings are
 * written quoted, and refused if they hold a quote, a backslash or a control character.
 */
import {formatCidr, formatIp, isMasked, parseCidr, parseIp} from '../resources/cidr.js'
import {refuse} from './refuse.js'

const target = 'bird.conf'

export function birdIp(value: unknown, family?: 4 | 6): string {
  const ip = typeof value === 'string' ? parseIp(value) : undefined
  if (!ip || (family && ip.family !== family)) throw refuse(target, value, `it is not an IPv${family ?? '4 or IPv6'} address`)
  return formatIp(ip.family, ip.value)
}

export function birdPrefix(value: unknown): string {
  const cidr = typeof value === 'string' ? parseCidr(value) : undefined
  if (!cidr || !isMasked(cidr)) throw refuse(target, value, 'it is not a CIDR with its host bits clear')
  return formatCidr(cidr)
}

export function birdNumber(value: unknown, max = 4294967295): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) throw refuse(target, value, `it is not a whole number from 0 to ${max}`)
  return String(value)
}

export function birdString(value: unknown): string {
  const text = String(value)
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || text.length > 4096 || /["\\\u0000-\u001f\u007f]/.test(text)) throw refuse(target, value, 'a quoted BIRD string cannot hold quotes, backslashes or control characters')
  return `"${text}"`
}

export function birdSymbol(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value)) throw refuse(target, value, 'a BIRD name is a letter or _ followed by letters, digits and _')
  return value
}
