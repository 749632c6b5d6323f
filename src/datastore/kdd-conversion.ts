/**
 * How Calico's Kubernetes datastore (KDD) maps v3 objects onto Kubernetes objects:
 * Calico kinds as crd.projectcalico.org/v1 custom resources, Nodes as annotations on
 * Kubernetes Nodes, and WorkloadEndpoints derived from Pods (never stored).
 */
import {parseCidr, parseIp} from '../resources/cidr.js'
import type {KindInfo} from '../resources/kind.js'
import {API_VERSION, type NodeSpec, type ObjectMeta, type Resource, type WorkloadEndpointSpec} from '../resources/types.js'
import {calicoInterfaceName, workloadEndpointName} from '../resources/workloadendpoint.js'

export const crdGroupVersion = 'crd.projectcalico.org/v1'
/** Where a custom resource keeps the v3 metadata that Kubernetes has no field for. */
export const metadataAnnotation = 'projectcalico.org/metadata'

/** The Kubernetes object shapes netctl reads; only the fields it uses. */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta & {generateName?: string}
  spec?: Record<string, unknown>
  status?: Record<string, unknown>
}

export interface Pod extends KubeObject {
  spec?: {
    nodeName?: string
    hostNetwork?: boolean
    serviceAccountName?: string
    containers?: Array<{ports?: Array<{name?: string; containerPort?: number; hostPort?: number; hostIP?: string; protocol?: string}>}>
  }
  status?: {phase?: string; podIP?: string; podIPs?: Array<{ip: string}>}
}

// --- custom resources ------------------------------------------------------------------

export function customResourceToV3(kind: KindInfo, object: KubeObject): Resource {
  const {[metadataAnnotation]: stored, ...annotations} = object.metadata.annotations ?? {}
  let metadata: ObjectMeta = {name: object.metadata.name}
  if (stored) {
    try {
      metadata = {...(JSON.parse(stored) as Partial<ObjectMeta>), name: object.metadata.name}
    } catch {
      // A hand-edited annotation that is not JSON: fall back to the Kubernetes metadata.
    }
  }
  metadata.resourceVersion = object.metadata.resourceVersion
  metadata.uid ??= object.metadata.uid
  metadata.creationTimestamp ??= object.metadata.creationTimestamp
  if (object.metadata.labels) metadata.labels = object.metadata.labels
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations
  else delete metadata.annotations
  for (const key of Object.keys(metadata)) if (metadata[key] === null || metadata[key] === undefined) delete metadata[key]
  if (kind.namespaced && object.metadata.namespace) metadata.namespace = object.metadata.namespace
  else delete metadata.namespace
  return {apiVersion: API_VERSION, kind: kind.kind, metadata, spec: object.spec ?? {}}
}

/** The kinds whose name Calico also keeps in the metadata annotation (its policy kinds). */
const namesInAnnotation = new Set(['NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy'])

/** Where a kind's custom resources live: /apis/crd.projectcalico.org/v1/[namespaces/<ns>/]<plural>[/<name>]. */
export function customResourcePath(kind: KindInfo, namespace?: string, name?: string): string {
  const scope = kind.namespaced && namespace !== undefined ? `namespaces/${encodeURIComponent(namespace)}/` : ''
  const base = `/apis/${crdGroupVersion}/${scope}${kind.plural}`
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`
}

export function v3ToCustomResource(resource: Resource): KubeObject {
  const {name, namespace, resourceVersion, labels, annotations, ...rest} = resource.metadata
  // Calico keeps the rest of the v3 metadata (uid, creationTimestamp, ...) in one annotation,
  // with the name too for its policy kinds.
  const stored = JSON.stringify(namesInAnnotation.has(resource.kind) ? {name, creationTimestamp: null, ...rest} : {creationTimestamp: null, ...rest})
  const metadata: KubeObject['metadata'] = {name, annotations: {...annotations, [metadataAnnotation]: stored}}
  if (namespace) metadata.namespace = namespace
  if (resourceVersion) metadata.resourceVersion = resourceVersion
  if (labels) metadata.labels = labels
  return {apiVersion: crdGroupVersion, kind: resource.kind, metadata, spec: resource.spec ?? {}}
}

// --- Kubernetes NetworkPolicies and Namespaces (read-only in Calico's view) ---------------

/** /apis/networking.k8s.io/v1/[namespaces/<ns>/]networkpolicies[/<name>]: the cluster's own policies. */
export function kubernetesNetworkPolicyPath(namespace?: string, name?: string): string {
  const scope = namespace !== undefined ? `namespaces/${encodeURIComponent(namespace)}/` : ''
  const base = `/apis/networking.k8s.io/v1/${scope}networkpolicies`
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`
}

/** /api/v1/namespaces[/<name>]: what Calico derives the kns.<namespace> Profiles from. */
export const namespacePath = (name?: string): string => (name === undefined ? '/api/v1/namespaces' : `/api/v1/namespaces/${encodeURIComponent(name)}`)

/** /api/v1/[namespaces/<ns>/]serviceaccounts[/<name>]: what Calico derives the ksa.<ns>.<sa> Profiles from. */
export function serviceAccountPath(namespace?: string, name?: string): string {
  const base = namespace === undefined ? '/api/v1/serviceaccounts' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts`
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`
}

// --- nodes -------------------------------------------------------------------------------

/** v3 Node fields that live in annotations of the Kubernetes Node. */
export const nodeAnnotations = {
  ipv4Address: 'projectcalico.org/IPv4Address',
  ipv6Address: 'projectcalico.org/IPv6Address',
  asNumber: 'projectcalico.org/ASNumber',
  routeReflectorClusterID: 'projectcalico.org/RouteReflectorClusterID',
  ipv4IPIPTunnelAddr: 'projectcalico.org/IPv4IPIPTunnelAddr',
  ipv4VXLANTunnelAddr: 'projectcalico.org/IPv4VXLANTunnelAddr',
  vxlanTunnelMACAddr: 'projectcalico.org/VXLANTunnelMACAddr',
} as const

export function kubeNodeToV3(node: KubeObject): Resource<NodeSpec> {
  const a = node.metadata.annotations ?? {}
  const spec: NodeSpec = {}
  const bgp: NonNullable<NodeSpec['bgp']> = {}
  if (a[nodeAnnotations.ipv4Address]) bgp.ipv4Address = a[nodeAnnotations.ipv4Address]
  if (a[nodeAnnotations.ipv6Address]) bgp.ipv6Address = a[nodeAnnotations.ipv6Address]
  if (a[nodeAnnotations.asNumber]) bgp.asNumber = Number(a[nodeAnnotations.asNumber])
  if (a[nodeAnnotations.routeReflectorClusterID]) bgp.routeReflectorClusterID = a[nodeAnnotations.routeReflectorClusterID]
  if (a[nodeAnnotations.ipv4IPIPTunnelAddr]) bgp.ipv4IPIPTunnelAddr = a[nodeAnnotations.ipv4IPIPTunnelAddr]
  if (Object.keys(bgp).length > 0) spec.bgp = bgp
  if (a[nodeAnnotations.ipv4VXLANTunnelAddr]) spec.ipv4VXLANTunnelAddr = a[nodeAnnotations.ipv4VXLANTunnelAddr]
  if (a[nodeAnnotations.vxlanTunnelMACAddr]) spec.vxlanTunnelMACAddr = a[nodeAnnotations.vxlanTunnelMACAddr]
  const addresses: NonNullable<NodeSpec['addresses']> = []
  for (const cidr of [bgp.ipv4Address, bgp.ipv6Address]) if (cidr) addresses.push({address: cidr, type: 'CalicoNodeIP'})
  const status = (node.status?.addresses ?? []) as Array<{type: string; address: string}>
  for (const {type, address} of status) if (type === 'InternalIP' || type === 'ExternalIP') addresses.push({address, type})
  if (addresses.length > 0) spec.addresses = addresses
  spec.orchRefs = [{nodeName: node.metadata.name, orchestrator: 'k8s'}]
  const metadata: ObjectMeta = {name: node.metadata.name, resourceVersion: node.metadata.resourceVersion, uid: node.metadata.uid, creationTimestamp: node.metadata.creationTimestamp}
  if (node.metadata.labels) metadata.labels = node.metadata.labels
  return {apiVersion: API_VERSION, kind: 'Node', metadata, spec}
}

/** The merge patch that writes a v3 Node back: its annotations (null removes) and labels. */
export function v3NodeToPatch(resource: Resource<NodeSpec>): Record<string, unknown> {
  const spec = resource.spec ?? {}
  const values: Record<keyof typeof nodeAnnotations, unknown> = {
    ipv4Address: spec.bgp?.ipv4Address,
    ipv6Address: spec.bgp?.ipv6Address,
    asNumber: spec.bgp?.asNumber,
    routeReflectorClusterID: spec.bgp?.routeReflectorClusterID,
    ipv4IPIPTunnelAddr: spec.bgp?.ipv4IPIPTunnelAddr,
    ipv4VXLANTunnelAddr: spec.ipv4VXLANTunnelAddr,
    vxlanTunnelMACAddr: spec.vxlanTunnelMACAddr,
  }
  const annotations = Object.fromEntries(
    (Object.keys(nodeAnnotations) as Array<keyof typeof nodeAnnotations>).map((field) => [nodeAnnotations[field], values[field] === undefined ? null : String(values[field])]),
  )
  const metadata: Record<string, unknown> = {annotations}
  if (resource.metadata.resourceVersion) metadata.resourceVersion = resource.metadata.resourceVersion
  if (resource.metadata.labels) metadata.labels = resource.metadata.labels
  return {metadata}
}

// --- pods → workload endpoints -------------------------------------------------------------

export const podAnnotations = {
  podIP: 'cni.projectcalico.org/podIP',
  podIPs: 'cni.projectcalico.org/podIPs',
  containerID: 'cni.projectcalico.org/containerID',
} as const

/** Pods Calico has no endpoint for: host-networked, or not scheduled yet. */
export const hasWorkloadEndpoint = (pod: Pod): boolean => Boolean(pod.spec?.nodeName) && !pod.spec?.hostNetwork

/** Pod IPs by Calico's precedence, each as a /32 or /128. */
export function podIpNetworks(pod: Pod): string[] {
  const status = pod.status
  const annotations = pod.metadata.annotations
  let ips: string[] = []
  if (status?.podIPs?.length) ips = status.podIPs.map((p) => p.ip)
  else if (status?.podIP) ips = [status.podIP]
  else if (annotations?.[podAnnotations.podIPs]) ips = annotations[podAnnotations.podIPs]!.split(',')
  else if (annotations?.[podAnnotations.podIP]) ips = [annotations[podAnnotations.podIP]!]
  // A loop, not map/filter/map: a listing converts thousands of pods.
  const networks: string[] = []
  for (const ip of ips) {
    const trimmed = ip.trim()
    if (trimmed) networks.push(asHostNetwork(trimmed))
  }
  return networks
}

/**
 * Calico keeps an annotation's prefix if it has one; a bare address becomes a host route. Only
 * an IPv6 address has a colon: the others need no parsing (listings convert thousands).
 */
const asHostNetwork = (ip: string): string => {
  if (ip.includes('/') && parseCidr(ip)) return ip
  return `${ip}/${ip.includes(':') && parseIp(ip)?.family === 6 ? 128 : 32}`
}

/**
 * The pod's labels and Calico's own: object spread's result, built by a loop that costs a tenth of
 * a spread of the objects JSON.parse makes. A "__proto__" key stays an own label, as spread keeps it.
 */
function endpointLabels(own: Record<string, string> | undefined, namespace: string): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const key in own) {
    if (key === '__proto__') Object.defineProperty(labels, key, {value: own[key], enumerable: true, writable: true, configurable: true})
    else labels[key] = own[key]!
  }
  labels['projectcalico.org/namespace'] = namespace
  labels['projectcalico.org/orchestrator'] = 'k8s'
  return labels
}

/** Succeeded or Failed pods have given their IPs back: Calico shows them with none. */
export const isFinished = (pod: Pod): boolean => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || pod.status?.phase === 'Completed'

export function podToWorkloadEndpoint(pod: Pod): Resource<WorkloadEndpointSpec> {
  const namespace = pod.metadata.namespace ?? 'default'
  const node = pod.spec!.nodeName!
  const serviceAccount = pod.spec?.serviceAccountName ?? ''
  const profiles = [`kns.${namespace}`]
  if (serviceAccount) profiles.push(`ksa.${namespace}.${serviceAccount}`)
  const labels = endpointLabels(pod.metadata.labels, namespace)
  if (serviceAccount && serviceAccount.length < 63) labels['projectcalico.org/serviceaccount'] = serviceAccount
  const ports = !pod.spec?.containers ? [] : pod.spec.containers.flatMap((c) => c.ports ?? [])
    .filter((p) => p.containerPort && (p.hostPort || p.name))
    .flatMap((p) => {
      const protocol = {'': 'TCP', TCP: 'TCP', UDP: 'UDP', SCTP: 'SCTP'}[p.protocol ?? '']
      if (!protocol) return []
      const port: Record<string, unknown> = {name: p.name ?? '', protocol, port: p.containerPort}
      if (p.hostPort) port.hostPort = p.hostPort
      if (p.hostIP) port.hostIP = p.hostIP
      return [port]
    })
  const spec: WorkloadEndpointSpec = {
    orchestrator: 'k8s',
    node,
    pod: pod.metadata.name,
    endpoint: 'eth0',
    ipNetworks: isFinished(pod) ? [] : podIpNetworks(pod),
    profiles,
    interfaceName: calicoInterfaceName(namespace, pod.metadata.name),
  }
  // Added, not deleted when empty: an object that loses a key is slower to read from then on.
  if (serviceAccount) spec.serviceAccountName = serviceAccount
  const containerID = pod.metadata.annotations?.[podAnnotations.containerID]
  if (containerID) spec.containerID = containerID
  if (ports.length > 0) spec.ports = ports
  const metadata: ObjectMeta = {
    name: workloadEndpointName({node, pod: pod.metadata.name}),
    namespace,
    uid: pod.metadata.uid,
    resourceVersion: pod.metadata.resourceVersion,
    creationTimestamp: pod.metadata.creationTimestamp,
    labels,
  }
  if (pod.metadata.generateName) metadata.generateName = pod.metadata.generateName
  return {apiVersion: API_VERSION, kind: 'WorkloadEndpoint', metadata, spec}
}
