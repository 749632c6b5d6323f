import {createHash} from 'node:crypto'

import {parseCidr} from './cidr.js'
import {joined, name, text, type KindInfo} from './kind.js'
import type {Resource, WorkloadEndpointSpec} from './types.js'
import {invalid} from './validate.js'

/** Calico escapes "-" inside each name segment as "--" so that "-" can join the segments. */
const escapeSegment = (segment: string): string => segment.replaceAll('-', '--')

/** `node01`, `busybox-x` → `node01-k8s-busybox--x-eth0`, the name calicoctl shows for a pod's endpoint. */
export function workloadEndpointName(parts: {node: string; pod: string; endpoint?: string; orchestrator?: string}): string {
  const segments = [parts.node, parts.orchestrator ?? 'k8s', parts.pod, parts.endpoint ?? 'eth0']
  return segments.map(escapeSegment).join('-')
}

/**
 * The host side of a pod's veth: the prefix and the first hex of sha1("<namespace>.<pod>"),
 * cut to the kernel's 15-character limit for interface names.
 */
export function calicoInterfaceName(namespace: string, pod: string, prefix = 'cali'): string {
  const digest = createHash('sha1').update(`${namespace}.${pod}`).digest('hex')
  return (prefix + digest).slice(0, 15)
}

const spec = (r: Resource) => (r.spec ?? {}) as WorkloadEndpointSpec

function validateWorkloadEndpoint(resource: Resource): void {
  const s = spec(resource)
  for (const [i, network] of (s.ipNetworks ?? []).entries()) {
    if (typeof network !== 'string' || !parseCidr(network)) {
      throw invalid(resource, `spec.ipNetworks[${i}]`, `${JSON.stringify(network)} is not a CIDR`, 'write each as address/prefix, e.g. 192.168.49.66/32')
    }
  }
  if (s.interfaceName !== undefined && (typeof s.interfaceName !== 'string' || s.interfaceName.length > 15)) {
    throw invalid(resource, 'spec.interfaceName', `${JSON.stringify(s.interfaceName)} is not a Linux interface name`, 'use at most 15 characters')
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
    NAME: name,
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
