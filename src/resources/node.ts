import {parseIp} from './cidr.js'
import {asNumber, cidr, interfaceName, ip, mac, name, token, wireguardPublicKey} from './formats.js'
import {name as nameCell, text, type KindInfo} from './kind.js'
import {checkResource} from './metadata.js'
import type {NodeSpec, Resource} from './types.js'
import {invalid, list, object, oneOf, string} from './validate.js'

const spec = (r: Resource) => (r.spec ?? {}) as NodeSpec

// Calico's NodeSpec (libcalico-go lib/apis/internalapi/node.go) with its validate tags.
const bgpFields = {
  asNumber,
  // Calico keeps a node's BGP address with its subnet (172.17.0.32/16): the subnet drives CrossSubnet.
  ipv4Address: cidr(4),
  ipv6Address: cidr(6),
  ipv4IPIPTunnelAddr: ip(4),
  // BIRD's "rr cluster id": Calico wants a dotted quad.
  routeReflectorClusterID: string({max: 15, test: (v) => parseIp(v)?.family === 4, what: 'an IPv4 address (a route reflector cluster ID is a dotted quad)', fix: 'write it like 244.0.0.1'}),
}

const nodeSpecFields = {
  bgp: object(bgpFields),
  ipv4VXLANTunnelAddr: ip(4),
  vxlanTunnelMACAddr: mac,
  ipv6VXLANTunnelAddr: ip(6),
  vxlanTunnelMACAddrV6: mac,
  orchRefs: list(object({nodeName: token(253), orchestrator: name}, {required: ['orchestrator']}), {max: 16}),
  wireguard: object({interfaceIPv4Address: ip(4), interfaceIPv6Address: ip(6)}),
  // Calico's tag is "net", but without "dive" its validator never reaches list entries, and
  // calico-node itself stores the CalicoNodeIP with its subnet (172.17.0.40/16).
  addresses: list(object({address: cidr(), type: oneOf(['CalicoNodeIP', 'InternalIP', 'ExternalIP'])}, {required: ['address']}), {max: 64}),
  interfaces: list(object({name: interfaceName, addresses: list(cidr(), {max: 256})}), {max: 256}),
}

const nodeStatusFields = {
  wireguardPublicKey,
  wireguardPublicKeyV6: wireguardPublicKey,
  podCIDRs: list(cidr(), {max: 64}),
}

export function validateNode(resource: Resource): void {
  checkResource(resource, {kind: 'Node', namespaced: false, spec: nodeSpecFields, status: nodeStatusFields})
  const bgp = spec(resource).bgp
  if (bgp !== undefined && Object.keys(bgp).length === 0) {
    throw invalid(resource, 'spec.bgp', 'is empty', 'give it an ipv4Address or ipv6Address, or remove spec.bgp')
  }
}

export const nodeKind: KindInfo = {
  kind: 'Node',
  plural: 'nodes',
  aliases: ['node', 'nodes', 'no', 'nos'],
  namespaced: false,
  columns: {ps: ['NAME'], wide: ['NAME', 'ASN', 'IPV4', 'IPV6']},
  cells: {
    NAME: nameCell,
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
