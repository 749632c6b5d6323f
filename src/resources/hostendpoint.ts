/** Calico's HostEndpoint: a host interface (or its expected IPs) that policy applies to. */
import {ip, isInterfaceName, name, nodeName, portName, protocol} from './formats.js'
import {joined, name as nameCell, text, type KindInfo} from './kind.js'
import {checkResource} from './metadata.js'
import {supportsPorts} from './rule.js'
import type {Resource} from './types.js'
import {integer, invalid, isPlainObject, list, object, show, string} from './validate.js'

type Spec = {node?: string; interfaceName?: string; expectedIPs?: string[]; profiles?: string[]; ports?: Array<{protocol: string | number}>}
const spec = (r: Resource): Spec => (isPlainObject(r.spec) ? r.spec : {}) as Spec

// Calico's "interface" tag: a Linux interface name, or "*" for all of the host's interfaces.
const hostInterface = string({max: 15, test: (v) => v === '*' || isInterfaceName(v), what: 'an interface name or "*"', fix: 'use the host interface\'s name (1 to 15 letters, digits, "_", "." and "-"), or "*" for all of them'})

const hostEndpointSpecFields = {
  node: nodeName,
  interfaceName: hostInterface,
  expectedIPs: list(ip(), {max: 1000}),
  profiles: list(name, {max: 1000}),
  ports: list(object({name: portName, protocol, port: integer(1, 65535)}, {required: ['name', 'protocol', 'port']}), {max: 1000}),
}

// Fields of the policy that applies to a host endpoint, easily put on the host endpoint itself.
const policyFields = ['applyOnForward', 'preDNAT', 'doNotTrack', 'selector', 'order', 'types', 'ingress', 'egress']

export function validateHostEndpoint(resource: Resource): void {
  const misplaced = isPlainObject(resource.spec) ? policyFields.find((key) => Object.hasOwn(resource.spec as object, key)) : undefined
  if (misplaced) throw invalid(resource, `spec.${misplaced}`, 'is a field of a GlobalNetworkPolicy, not of a HostEndpoint', 'remove it here, and set it on a GlobalNetworkPolicy whose selector matches this host endpoint\'s labels')
  checkResource(resource, {kind: 'HostEndpoint', namespaced: false, spec: hostEndpointSpecFields})
  const s = spec(resource)
  if (!s.node) throw invalid(resource, 'spec.node', 'is required', 'set spec.node to the name of the node the interface is on')
  if (!s.interfaceName && (s.expectedIPs ?? []).length === 0) {
    throw invalid(resource, 'spec', 'has neither interfaceName nor expectedIPs', 'set spec.interfaceName (e.g. eth0, or "*" for all interfaces), spec.expectedIPs, or both')
  }
  for (const [i, port] of (s.ports ?? []).entries()) {
    if (!supportsPorts(port.protocol)) throw invalid(resource, `spec.ports[${i}].protocol`, `${show(port.protocol)} has no ports`, 'use TCP, UDP or SCTP')
  }
}

export const hostEndpointKind: KindInfo = {
  kind: 'HostEndpoint',
  plural: 'hostendpoints',
  aliases: ['hostendpoint', 'hostendpoints', 'hep', 'heps'],
  namespaced: false,
  columns: {ps: ['NAME', 'NODE'], wide: ['NAME', 'NODE', 'INTERFACE', 'IPS', 'PROFILES']},
  cells: {
    NAME: nameCell,
    NODE: (r) => text(spec(r).node),
    INTERFACE: (r) => text(spec(r).interfaceName),
    IPS: (r) => joined(spec(r).expectedIPs),
    PROFILES: (r) => joined(spec(r).profiles),
  },
  validate: validateHostEndpoint,
}
