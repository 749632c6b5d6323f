/**
 * The field formats Calico's validator (libcalico-go lib/validator/v3) knows, as schema rules.
 * Each names what it wants and how to write it.
 */
import {isMasked, parseCidr, parseCidrOrIp, parseIp} from './cidr.js'
import {parseSelector} from './selector.js'
import type {Resource} from './types.js'
import {dnsSubdomain, integer, invalid, MAX_AS_NUMBER, show, string, type Rule} from './validate.js'

const ipHint = {4: 'write four numbers from 0 to 255 without leading zeros, e.g. 10.0.0.1', 6: 'write it like fd00::1'} as const

/** An address (Calico's ipv4 / ipv6 / ip tags). */
export const ip = (family?: 4 | 6): Rule =>
  string({
    max: 45,
    test: (v) => {
      const parsed = parseIp(v)
      return parsed !== undefined && (family === undefined || parsed.family === family)
    },
    what: family ? `an IPv${family} address` : 'an IP address',
    fix: family ? ipHint[family] : 'write it like 10.0.0.1 or fd00::1',
  })

/** Calico's cidrv4 / cidrv6 / cidr: an address with an optional prefix; host bits allowed. */
export const cidr = (family?: 4 | 6): Rule =>
  string({
    max: 49,
    test: (v) => {
      const parsed = parseCidrOrIp(v)
      return parsed !== undefined && (family === undefined || parsed.family === family)
    },
    what: family ? `an IPv${family} address or CIDR` : 'an address or CIDR',
    fix: family === 6 ? 'write it like fd00::32/64' : 'write it like 172.17.0.32/16, without spaces or leading zeros',
  })

/** Calico's net / netv4 / netv6: a CIDR (or a bare address) with no host bits set. */
export const network = (family?: 4 | 6): Rule =>
  string({
    max: 49,
    test: (v) => {
      const parsed = parseCidrOrIp(v)
      return parsed !== undefined && isMasked(parsed) && (family === undefined || parsed.family === family)
    },
    what: `a masked ${family ? `IPv${family} ` : ''}CIDR`,
    fix: 'write it as network/prefix with no host bits set, e.g. 10.96.0.0/12 or fd00:96::/112',
  })

/** A CIDR that must carry its prefix and be masked (BlockAffinity spec.cidr). */
export const maskedCidr: Rule = string({
  max: 49,
  test: (v) => {
    const parsed = parseCidr(v)
    return parsed !== undefined && isMasked(parsed)
  },
  what: 'a masked CIDR',
  fix: 'write it as network/prefix with no host bits set, e.g. 192.168.196.128/26',
})

// Go's net.ParseMAC: 6, 8 or 20 octets as pairs joined by ":" or "-", or as dotted groups of four.
const macFormats = [/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}(?:(?::[0-9a-f]{2}){2}|(?::[0-9a-f]{2}){14})?$/i, /^[0-9a-f]{2}(?:-[0-9a-f]{2}){5}(?:(?:-[0-9a-f]{2}){2}|(?:-[0-9a-f]{2}){14})?$/i, /^[0-9a-f]{4}(?:\.[0-9a-f]{4}){2}(?:\.[0-9a-f]{4}|(?:\.[0-9a-f]{4}){7})?$/i]
export const isMac = (v: string): boolean => macFormats.some((re) => re.test(v))
export const mac: Rule = string({max: 59, test: isMac, what: 'a MAC address', fix: 'write it like 66:8f:2a:1c:00:01'})

/** Calico's "name": a DNS-1123 subdomain (node, pod, profile, orchestrator names). */
export const name: Rule = string({max: 253, test: (v) => dnsSubdomain.test(v), what: 'a valid name', fix: 'use at most 253 lower-case letters, digits, "-" and ".", starting and ending with a letter or digit'})

export const isNodeName = (v: string): boolean => v.length <= 253 && dnsSubdomain.test(v)
export const nodeName: Rule = string({max: 253, test: isNodeName, what: 'a valid node name', fix: 'use the node\'s name: at most 253 lower-case letters, digits, "-" and "."'})

/** A name from another system (an orchestrator's node name) that Calico does not check: a safe token. */
export const token = (max = 253): Rule =>
  string({max, test: (v) => /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(v), what: 'a valid name', fix: `use at most ${max} letters, digits, ".", "_" and "-"`})

export const containerID: Rule = string({max: 253, test: (v) => /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/.test(v), what: 'a container ID', fix: 'use letters, digits and "-", e.g. the 64 hex digits the runtime gives'})

/**
 * A Linux interface name as Calico checks it (^[a-zA-Z0-9_.-]{1,15}$); "." and ".." are
 * refused too, as the kernel refuses them: they would walk a /proc/sys path.
 */
export const isInterfaceName = (v: string): boolean => /^[a-zA-Z0-9_.-]{1,15}$/.test(v) && v !== '.' && v !== '..'
export const interfaceName: Rule = string({max: 15, test: isInterfaceName, what: 'a Linux interface name', fix: 'use 1 to 15 letters, digits, "_", "." and "-", e.g. cali1234567890a'})

/** BGPConfiguration ignoredInterfaces: an interface name that may hold "*" wildcards, but not "*" alone. */
export const ignoredInterface: Rule = string({max: 15, test: (v) => v !== '*' && /^[a-zA-Z0-9_.*-]{1,15}$/.test(v) && v !== '.' && v !== '..', what: 'an interface name or pattern', fix: 'use 1 to 15 letters, digits, "_", ".", "-" and "*", e.g. eth*'})

/** Felix interface filters (iptablesNATOutgoingInterfaceFilter, bpfForceTrackPacketsFromIfaces): "+" is a wildcard. */
export const ifaceFilter: Rule = string({max: 15, test: (v) => /^[a-zA-Z0-9:._+-]{1,15}$/.test(v), what: 'an interface name or filter', fix: 'use 1 to 15 letters, digits, ":", ".", "_", "+" and "-", e.g. docker+'})

/** A selector that must parse (Calico validates every selector with its parser). */
export const selector: Rule = (resource, field, value) => {
  string({max: 1024, test: (v) => !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(v), what: 'a selector on one line', fix: 'write the selector on one line', allowEmpty: true})(resource, field, value)
  try {
    parseSelector(value as string)
  } catch {
    throw invalid(resource, field, `${show(value)} is not a selector netctl can read`, "use all(), has(key), key == 'value', key != 'value', key in {'a','b'}, && and ||")
  }
}

/** BGPPeer peerIP: an address, or <IPv4>:<port> or [<IPv6>]:<port>. Returns the address part. */
export function splitPeerIp(value: string): {address: string; port?: number} | undefined {
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(value)
  const v4 = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/.exec(value)
  const withPort = v6 ?? v4
  if (withPort) {
    const port = Number(withPort[2])
    if (port < 1 || port > 65535 || !parseIp(withPort[1]!) || (v6 && parseIp(withPort[1]!)!.family !== 6)) return undefined
    return {address: withPort[1]!, port}
  }
  return parseIp(value) ? {address: value} : undefined
}
export const peerIp: Rule = string({max: 64, test: (v) => splitPeerIp(v) !== undefined, what: 'an IP address with an optional port', fix: 'write it like 172.17.0.40, 172.17.0.40:179, fd00::40 or [fd00::40]:179'})

export const asNumber: Rule = (resource, field, value) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_AS_NUMBER) {
    throw invalid(resource, field, `${show(value)} is not an AS number`, 'use a whole number from 1 to 4294967295, without quotes')
  }
}

/** metav1.Duration as the CRDs check it: 90s, 1m30s, 1.5h, 250ms. */
export const duration: Rule = string({max: 64, test: (v) => /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/.test(v), what: 'a duration', fix: 'write it like 90s, 1m30s or 250ms'})

/** A BGP community value: aa:nn (16-bit parts) or aa:nn:mm (32-bit parts). */
export function isCommunity(v: string): boolean {
  const parts = /^(\d+):(\d+)$/.exec(v) ?? /^(\d+):(\d+):(\d+)$/.exec(v)
  if (!parts) return false
  const limit = parts.length === 3 ? 65535 : 4294967295
  return parts.slice(1).every((p) => p.length <= 10 && Number(p) <= limit)
}
export const community: Rule = string({max: 40, test: isCommunity, what: 'a BGP community', fix: 'write aa:nn (each up to 65535) or aa:nn:mm (each up to 4294967295)'})

/** Kubernetes' IsValidPortName: up to 15 lower-case letters, digits and single inner "-", with a letter. */
export const isPortName = (v: string): boolean => v.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(v) && /[a-z]/.test(v) && !v.includes('--')
export const portName: Rule = string({max: 15, test: isPortName, what: 'a port name', fix: 'use at most 15 lower-case letters, digits and "-", with at least one letter'})

/** numorstring.Port: a number, "min:max", or a port name. */
export const port: Rule = (resource, field, value) => {
  if (typeof value === 'number') return integer(0, 65535)(resource, field, value)
  string({
    max: 15,
    test: (v) => {
      const range = /^(\d{1,5}):(\d{1,5})$/.exec(v)
      if (range) return Number(range[1]) <= Number(range[2]) && Number(range[2]) <= 65535
      return /^\d{1,5}$/.test(v) ? Number(v) <= 65535 : isPortName(v)
    },
    what: 'a port, a range or a port name',
    fix: 'write a number from 0 to 65535, a range like 30000:32767 or a port name',
  })(resource, field, value)
}

/** numorstring.Protocol: a name Calico knows, or a number from 1 to 255. */
export const protocol: Rule = (resource, field, value) => {
  if (typeof value === 'number') return integer(1, 255)(resource, field, value)
  string({max: 8, test: (v) => /^(TCP|UDP|ICMP|ICMPv6|SCTP|UDPLite)$/.test(v) || (/^\d{1,3}$/.test(v) && Number(v) >= 1 && Number(v) <= 255), what: 'a protocol', fix: 'use TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number from 1 to 255'})(resource, field, value)
}

/** numorstring.DSCP: 0..63 or a name (AF11, CS1, EF, DF ...). */
export const dscp: Rule = (resource, field, value) => {
  if (typeof value === 'number') return integer(0, 63)(resource, field, value)
  string({max: 4, test: (v) => /^(DF|EF|CS[0-7]|AF[1-4][1-3])$/.test(v), what: 'a DSCP value', fix: 'use a number from 0 to 63 or a name such as AF11, CS1 or EF'})(resource, field, value)
}

export const wireguardPublicKey: Rule = string({max: 44, test: (v) => /^[A-Za-z0-9+/]{43}=$/.test(v), what: 'a WireGuard public key', fix: 'give the 44-character base64 key that wg pubkey prints'})

/** A Kubernetes secret key selector (BGP passwords). */
export const secretKeyRef: Record<string, Rule> = {
  name: string({max: 253, test: (v) => dnsSubdomain.test(v), what: 'a secret name', fix: 'use the Secret\'s name'}),
  key: string({max: 253, test: (v) => /^[-._a-zA-Z0-9]+$/.test(v), what: 'a secret key', fix: 'use letters, digits, "-", "_" and "."'}),
  optional: (r: Resource, f: string, v: unknown) => {
    if (typeof v !== 'boolean') throw invalid(r, f, `must be true or false, not ${show(v)}`, `write ${f}: true or false`)
  },
}
