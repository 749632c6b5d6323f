import {hash} from 'node:crypto'

import {containsIp, parseCidrOrIp, parseIp} from './cidr.js'
import {cidr, containerID, dscp, interfaceName, ip, isPortName, mac, name, network, nodeName, protocol} from './formats.js'
import {joined, name as nameCell, text, type KindInfo} from './kind.js'
import {checkResource} from './metadata.js'
import type {Resource, WorkloadEndpointSpec} from './types.js'
import {integer, invalid, list, object, show, string, type Rule} from './validate.js'

/** Calico escapes "-" inside each name segment as "--" so that "-" can join the segments. */
const escapeSegment = (segment: string): string => (segment.includes('-') ? segment.replaceAll('-', '--') : segment)

/** `node01`, `busybox-x` → `node01-k8s-busybox--x-eth0`, the name calicoctl shows for a pod's endpoint. */
export function workloadEndpointName(parts: {node: string; pod: string; endpoint?: string; orchestrator?: string}): string {
  // A template, not map/join: a listing names thousands.
  return `${escapeSegment(parts.node)}-${escapeSegment(parts.orchestrator ?? 'k8s')}-${escapeSegment(parts.pod)}-${escapeSegment(parts.endpoint ?? 'eth0')}`
}

/**
 * The host side of a pod's veth: the prefix and the first hex of sha1("<namespace>.<pod>"),
 * cut to the kernel's 15-character limit for interface names.
 */
export function calicoInterfaceName(namespace: string, pod: string, prefix = 'cali'): string {
  // One-shot hash(): a listing names thousands of these, and a Hash object per name costs twice as much.
  const digest = hash('sha1', `${namespace}.${pod}`, 'hex')
  return (prefix + digest).slice(0, 15)
}

const spec = (r: Resource) => (r.spec ?? {}) as WorkloadEndpointSpec

const int64 = integer(0, Number.MAX_SAFE_INTEGER)
// Go writes a port's hostIP without omitempty: "" when unset.
const optionalNetwork: Rule = (resource, field, value) => (value === '' ? undefined : network()(resource, field, value))

// Calico's WorkloadEndpointSpec (libcalico-go lib/apis/internalapi/workloadendpoint.go).
const workloadEndpointSpecFields = {
  orchestrator: name,
  workload: name,
  node: nodeName,
  containerID,
  pod: name,
  endpoint: name,
  serviceAccountName: name,
  ipNetworks: list(network(), {max: 64}),
  ipNATs: list(object({internalIP: ip(), externalIP: ip()}, {required: ['internalIP', 'externalIP']}), {max: 64}),
  ipv4Gateway: ip(4),
  ipv6Gateway: ip(6),
  profiles: list(name, {max: 256}),
  interfaceName,
  mac,
  ports: list(object({name: string({max: 15, test: isPortName, what: 'a port name', fix: 'use at most 15 lower-case letters, digits and "-", with a letter', allowEmpty: true}), protocol, port: integer(1, 65535), hostPort: integer(0, 65535), hostIP: optionalNetwork}, {required: ['protocol', 'port']}), {max: 256}),
  allowSpoofedSourcePrefixes: list(cidr(), {max: 256}),
  qosControls: object({
    ingressBandwidth: int64, ingressBurst: int64, ingressPeakrate: int64, ingressMinburst: int64,
    egressBandwidth: int64, egressBurst: int64, egressPeakrate: int64, egressMinburst: int64,
    ingressPacketRate: int64, ingressPacketBurst: int64, egressPacketRate: int64, egressPacketBurst: int64,
    ingressMaxConnections: int64, egressMaxConnections: int64, dscp,
  }),
}

export function validateWorkloadEndpoint(resource: Resource): void {
  checkResource(resource, {kind: 'WorkloadEndpoint', namespaced: true, spec: workloadEndpointSpecFields, specRequired: ['interfaceName']})
  const s = spec(resource)
  // Calico: an endpoint's networks are single addresses (/32, /128).
  const networks = (s.ipNetworks ?? []).map((n) => parseCidrOrIp(n)!)
  networks.forEach((network, i) => {
    if (network.prefix !== network.bits) {
      throw invalid(resource, `spec.ipNetworks[${i}]`, `${show(s.ipNetworks![i])} holds more than one address`, `give the endpoint's own address as /${network.bits}`)
    }
  })
  for (const [i, nat] of (s.ipNATs ?? []).entries()) {
    const internal = parseIp(nat.internalIP)!
    const external = parseIp(nat.externalIP)!
    if (internal.family !== external.family) {
      throw invalid(resource, `spec.ipNATs[${i}]`, `maps IPv${internal.family} ${nat.internalIP} to IPv${external.family} ${nat.externalIP}`, 'use two addresses of the same family')
    }
    if (!networks.some((n) => containsIp(n, internal.family, internal.value))) {
      throw invalid(resource, `spec.ipNATs[${i}].internalIP`, `${nat.internalIP} is not one of the endpoint's ipNetworks`, 'NAT one of the addresses listed in spec.ipNetworks')
    }
  }
  for (const [i, p] of ((s.ports ?? []) as Array<{name?: string; protocol: unknown; hostPort?: number}>).entries()) {
    if (!['TCP', 'UDP', 'SCTP', 6, 17, 132, '6', '17', '132'].includes(p.protocol as string)) {
      throw invalid(resource, `spec.ports[${i}].protocol`, `${show(p.protocol)} has no ports`, 'use TCP, UDP or SCTP')
    }
    if (!p.name && !p.hostPort) throw invalid(resource, `spec.ports[${i}].name`, 'is required when hostPort is not set', 'name the port, or set hostPort')
  }
}

export const workloadEndpointKind: KindInfo = {
  kind: 'WorkloadEndpoint',
  plural: 'workloadendpoints',
  aliases: ['workloadendpoint', 'workloadendpoints', 'wep', 'weps'],
  namespaced: true,
  columns: {
    ps: ['WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE'],
    wide: ['NAME', 'WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE', 'PROFILES', 'NATS'],
  },
  cells: {
    NAME: nameCell,
    NAMESPACE: (r) => text(r.metadata.namespace),
    NODE: (r) => text(spec(r).node),
    ORCHESTRATOR: (r) => text(spec(r).orchestrator),
    WORKLOAD: (r) => text(spec(r).workload || spec(r).pod),
    NETWORKS: (r) => joined(spec(r).ipNetworks),
    NATS: (r) => joined((spec(r).ipNATs ?? []).map((nat) => `${nat.internalIP}->${nat.externalIP}`)),
    PROFILES: (r) => joined(spec(r).profiles),
    INTERFACE: (r) => text(spec(r).interfaceName),
  },
  validate: validateWorkloadEndpoint,
}

/** The inverse of workloadEndpointName: split on single dashes, then undo the doubling. */
export function parseWorkloadEndpointName(name: string): {node: string; orchestrator: string; pod: string; endpoint: string} | undefined {
  const segments: string[] = []
  let current = ''
  for (let i = 0; i < name.length; i++) {
    if (name[i] !== '-') current += name[i]
    else if (name[i + 1] === '-') {
      current += '-'
      i++
    } else {
      segments.push(current)
      current = ''
    }
  }
  segments.push(current)
  if (segments.length !== 4 || segments.some((s) => s === '')) return undefined
  const [node, orchestrator, pod, endpoint] = segments as [string, string, string, string]
  return {node, orchestrator, pod, endpoint}
}
