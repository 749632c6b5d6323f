import {parseCidr, parseIp} from './cidr.js'
import {name, text, type KindInfo} from './kind.js'
import type {NodeSpec, Resource} from './types.js'
import {checkAsNumber, invalid} from './validate.js'

const spec = (r: Resource) => (r.spec ?? {}) as NodeSpec

/** Calico keeps a node's BGP address with its subnet (172.17.0.32/16): the subnet drives CrossSubnet. */
function checkAddressWithPrefix(resource: Resource, field: string, value: unknown, family: 4 | 6): void {
  if (value === undefined) return
  const cidr = typeof value === 'string' ? parseCidr(value) : undefined
  if (!cidr || cidr.family !== family) {
    throw invalid(resource, field, `${JSON.stringify(value)} is not an IPv${family} address with prefix`, family === 4 ? 'write it like 172.17.0.32/16' : 'write it like fd00::32/64')
  }
}

function validateNode(resource: Resource): void {
  const s = spec(resource)
  checkAddressWithPrefix(resource, 'spec.bgp.ipv4Address', s.bgp?.ipv4Address, 4)
  checkAddressWithPrefix(resource, 'spec.bgp.ipv6Address', s.bgp?.ipv6Address, 6)
  checkAsNumber(resource, 'spec.bgp.asNumber', s.bgp?.asNumber)
  for (const field of ['ipv4VXLANTunnelAddr'] as const) {
    const value = s[field]
    if (value !== undefined && parseIp(String(value))?.family !== 4) throw invalid(resource, `spec.${field}`, `${JSON.stringify(value)} is not an IPv4 address`)
  }
  if (s.vxlanTunnelMACAddr !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(String(s.vxlanTunnelMACAddr))) {
    throw invalid(resource, 'spec.vxlanTunnelMACAddr', `${JSON.stringify(s.vxlanTunnelMACAddr)} is not a MAC address`)
  }
}

export const nodeKind: KindInfo = {
  kind: 'Node',
  plural: 'nodes',
  aliases: ['node', 'nodes', 'no', 'nos'],
  namespaced: false,
  columns: {ps: ['NAME'], wide: ['NAME', 'ASN', 'IPV4', 'IPV6']},
  cells: {
    NAME: name,
    // calicoctl shows an inherited AS number in parentheses.
    ASN: (r, context) => {
      const own = spec(r).bgp?.asNumber
      if (own !== undefined) return String(own)
      return spec(r).bgp ? `(${context.defaultASNumber ?? 64512})` : ''
    },
    IPV4: (r) => text(spec(r).bgp?.ipv4Address),
    IPV6: (r) => text(spec(r).bgp?.ipv6Address),
  },
  validate: validateNode,
}
