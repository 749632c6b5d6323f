/**
 * The things policy can select, as Felix's label index sees them: workload endpoints, host
 * endpoints, namespaced and global network sets, each with its effective labels (its own, then
 * those of its profiles, the endpoint's own winning and the first profile winning among profiles:
 * felix/labelindex/named_port_index.go) and the addresses it puts into IP sets.
 */
import {parseCidrOrIp, parseIp, type Cidr} from '../resources/cidr.js'
import type {Resource} from '../resources/types.js'

export type Labels = Record<string, string>

/** Label names Calico's converters use (api/pkg/apis/projectcalico/v3, k8s/conversion). */
export const LABEL_NAMESPACE = 'projectcalico.org/namespace'
export const LABEL_ORCHESTRATOR = 'projectcalico.org/orchestrator'
export const LABEL_SERVICE_ACCOUNT = 'projectcalico.org/serviceaccount'
export const LABEL_NAME = 'projectcalico.org/name'
export const NAMESPACE_PREFIX = 'pcns.'
export const SERVICE_ACCOUNT_PREFIX = 'pcsa.'
export const NAMESPACE_PROFILE_PREFIX = 'kns.'
export const SERVICE_ACCOUNT_PROFILE_PREFIX = 'ksa.'
export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow'

/**
 * Stand-ins for "the real labels have projectcalico.org/namespace" (resp. serviceaccount) inside
 * a prefixed view. Calico rewrites all() and global() in namespace and service-account selectors
 * into has(projectcalico.org/namespace) and friends *after* prefixing the rest; we evaluate the
 * prefixed part on a view with the prefix stripped, so these names stand for the unprefixed test.
 * "_" is not a valid label-key prefix in Kubernetes, so no real label can collide.
 */
export const VIEW_HAS_NAMESPACE = '_/has-namespace'
export const VIEW_HAS_SERVICE_ACCOUNT = '_/has-serviceaccount'

export type PeerKind = 'WorkloadEndpoint' | 'HostEndpoint' | 'NetworkSet' | 'GlobalNetworkSet'

export interface NamedPort {
  name: string
  protocol: number
  port: number
}

export interface Address {
  family: 4 | 6
  value: bigint
  text: string
}

export interface Peer {
  kind: PeerKind
  name: string
  namespace?: string
  /** Effective labels: own (plus the ones Calico adds), then inherited from profiles. */
  labels: Labels
  /** Labels read by a pcns.-prefixed selector, prefix stripped (plus VIEW_HAS_NAMESPACE). */
  namespaceView: Labels
  /** Same for pcsa. */
  serviceAccountView: Labels
  /** Endpoint addresses (WEP ipNetworks, HEP expectedIPs). */
  addresses: Address[]
  /** Network-set nets. */
  nets: Cidr[]
  ports: NamedPort[]
  profiles: string[]
  /** HEP interface name ("*" for all interfaces). */
  interfaceName?: string
  resource: Resource
}

export interface ProfileInfo {
  name: string
  labels: Labels
  ingress: unknown[]
  egress: unknown[]
  /** Made up here because the world lacked it (kns./ksa. from namespace labels, default-allow). */
  synthesized: boolean
}

const PROTOCOL_NUMBERS: Record<string, number> = {tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132, udplite: 136}

/** Calico's protocol: a name (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite, any case) or a number 0-255. */
export function protocolNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255) return value
  if (typeof value !== 'string') return undefined
  if (/^\d{1,3}$/.test(value)) return protocolNumber(Number(value))
  return PROTOCOL_NUMBERS[value.toLowerCase()]
}

export function protocolName(n: number): string {
  const found = Object.entries(PROTOCOL_NUMBERS).find(([, v]) => v === n)
  return found ? {tcp: 'TCP', udp: 'UDP', icmp: 'ICMP', icmpv6: 'ICMPv6', sctp: 'SCTP', udplite: 'UDPLite'}[found[0]]! : String(n)
}

const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {})
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [])
const labelsOf = (value: unknown): Labels => {
  const out: Labels = {}
  for (const [k, v] of Object.entries(record(value))) if (typeof v === 'string') out[k] = v
  return out
}

/** A view of `labels` holding only keys that start with `prefix`, the prefix cut off. */
export function prefixView(labels: Labels, prefix: string): Labels {
  const view: Labels = {}
  for (const [k, v] of Object.entries(labels)) if (k.startsWith(prefix)) view[k.slice(prefix.length)] = v
  if (Object.hasOwn(labels, LABEL_NAMESPACE)) view[VIEW_HAS_NAMESPACE] = ''
  if (Object.hasOwn(labels, LABEL_SERVICE_ACCOUNT)) view[VIEW_HAS_SERVICE_ACCOUNT] = ''
  return view
}

/** Own labels first, then each profile's labelsToApply in order; an earlier source wins. */
export function inheritLabels(own: Labels, profiles: string[], profileInfo: (name: string) => ProfileInfo | undefined): Labels {
  const out: Labels = {}
  for (const name of [...profiles].reverse()) Object.assign(out, profileInfo(name)?.labels ?? {})
  return Object.assign(out, own)
}

function addresses(texts: string[]): Address[] {
  const out: Address[] = []
  for (const text of texts) {
    // WEP ipNetworks are /32 or /128 networks; Felix takes the address and ignores the prefix.
    const cidr = text.includes('/') ? parseCidrOrIp(text) : undefined
    const ip = cidr ? {family: cidr.family, value: cidr.address} : parseIp(text)
    if (ip) out.push({family: ip.family, value: ip.value, text: text.split('/')[0]!})
  }
  return out
}

function namedPorts(value: unknown): NamedPort[] {
  const out: NamedPort[] = []
  for (const p of Array.isArray(value) ? value : []) {
    const port = record(p)
    // Only named ports matter to policy (the WEP update processor drops unnamed ones).
    if (typeof port.name !== 'string' || port.name === '' || typeof port.port !== 'number') continue
    out.push({name: port.name, protocol: protocolNumber(port.protocol ?? 'TCP') ?? 6, port: port.port})
  }
  return out
}

/**
 * A peer from one of the four kinds. The labels Calico adds are added here:
 * - WorkloadEndpoint: projectcalico.org/namespace and /orchestrator (clientv3 sets both on every
 *   write), /serviceaccount from spec.serviceAccountName; own pcns.* and pcsa.* labels are dropped
 *   (workloadendpointprocessor.go), so only the profiles can supply them.
 * - NetworkSet: projectcalico.org/namespace, and the namespace's kns.<ns> profile as parent
 *   (networksetprocessor.go).
 * - HostEndpoint, GlobalNetworkSet: their own labels (+ profiles for the HEP).
 */
export function makePeer(resource: Resource, profileInfo: (name: string) => ProfileInfo | undefined): Peer | undefined {
  const meta = resource.metadata
  const spec = record(resource.spec)
  const own = labelsOf(meta.labels)
  let profiles: string[] = []
  let addrs: Address[] = []
  let nets: Cidr[] = []
  let ports: NamedPort[] = []
  let interfaceName: string | undefined
  const kind = resource.kind as PeerKind
  switch (resource.kind) {
    case 'WorkloadEndpoint': {
      for (const k of Object.keys(own)) if (k.startsWith(NAMESPACE_PREFIX) || k.startsWith(SERVICE_ACCOUNT_PREFIX)) delete own[k]
      own[LABEL_NAMESPACE] = meta.namespace ?? 'default'
      own[LABEL_ORCHESTRATOR] = typeof spec.orchestrator === 'string' ? spec.orchestrator : ''
      if (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== '') own[LABEL_SERVICE_ACCOUNT] = spec.serviceAccountName
      profiles = strings(spec.profiles)
      addrs = addresses(strings(spec.ipNetworks))
      ports = namedPorts(spec.ports)
      interfaceName = typeof spec.interfaceName === 'string' ? spec.interfaceName : undefined
      break
    }
    case 'HostEndpoint':
      profiles = strings(spec.profiles)
      addrs = addresses(strings(spec.expectedIPs))
      ports = namedPorts(spec.ports)
      interfaceName = typeof spec.interfaceName === 'string' ? spec.interfaceName : undefined
      break
    case 'NetworkSet':
      own[LABEL_NAMESPACE] = meta.namespace ?? 'default'
      profiles = [NAMESPACE_PROFILE_PREFIX + (meta.namespace ?? 'default')]
      nets = strings(spec.nets).map((n) => parseCidrOrIp(n)).filter((c): c is Cidr => c !== undefined)
      break
    case 'GlobalNetworkSet':
      nets = strings(spec.nets).map((n) => parseCidrOrIp(n)).filter((c): c is Cidr => c !== undefined)
      break
    default:
      return undefined
  }
  const labels = inheritLabels(own, profiles, profileInfo)
  const namespaced = resource.kind === 'WorkloadEndpoint' || resource.kind === 'NetworkSet'
  return {
    kind,
    name: meta.name,
    namespace: namespaced ? (meta.namespace ?? 'default') : undefined,
    labels,
    namespaceView: prefixView(labels, NAMESPACE_PREFIX),
    serviceAccountView: prefixView(labels, SERVICE_ACCOUNT_PREFIX),
    addresses: addrs,
    nets,
    ports,
    profiles,
    interfaceName,
    resource,
  }
}

const ALLOW_ALL = [{action: 'Allow'}]

/**
 * The profiles a world knows: its Profile objects, plus those Calico would have made that the
 * world lacks: kns.<ns> for every namespace in the namespace-labels map or referenced by an
 * endpoint (labels pcns.<key> and pcns.projectcalico.org/name, allow-all rules: NamespaceToProfile),
 * ksa.<ns>.<sa> referenced by an endpoint (pcsa.projectcalico.org/name, no rules:
 * ServiceAccountToProfile; its own labels are unknown here), and the built-in
 * projectcalico-default-allow (allow all) that automatic host endpoints use.
 */
export function profileIndex(profiles: Resource[], namespaces: Record<string, Labels>, referenced: Iterable<string>): Map<string, ProfileInfo> {
  const index = new Map<string, ProfileInfo>()
  for (const p of profiles) {
    const spec = record(p.spec)
    index.set(p.metadata.name, {
      name: p.metadata.name,
      labels: labelsOf(spec.labelsToApply),
      ingress: Array.isArray(spec.ingress) ? spec.ingress : [],
      egress: Array.isArray(spec.egress) ? spec.egress : [],
      synthesized: false,
    })
  }
  const namespaceProfile = (ns: string, nsLabels: Labels) => {
    const name = NAMESPACE_PROFILE_PREFIX + ns
    if (index.has(name)) return
    const labels: Labels = {}
    for (const [k, v] of Object.entries(nsLabels)) labels[NAMESPACE_PREFIX + k] = v
    labels[NAMESPACE_PREFIX + LABEL_NAME] = ns
    index.set(name, {name, labels, ingress: ALLOW_ALL, egress: ALLOW_ALL, synthesized: true})
  }
  for (const [ns, nsLabels] of Object.entries(namespaces)) namespaceProfile(ns, nsLabels)
  for (const name of referenced) {
    if (index.has(name)) continue
    if (name.startsWith(NAMESPACE_PROFILE_PREFIX)) namespaceProfile(name.slice(NAMESPACE_PROFILE_PREFIX.length), {})
    else if (name.startsWith(SERVICE_ACCOUNT_PROFILE_PREFIX)) {
      // ksa.<namespace>.<serviceaccount>: a namespace name has no dots, so the rest is the account.
      const rest = name.slice(SERVICE_ACCOUNT_PROFILE_PREFIX.length)
      const dot = rest.indexOf('.')
      if (dot > 0) index.set(name, {name, labels: {[SERVICE_ACCOUNT_PREFIX + LABEL_NAME]: rest.slice(dot + 1)}, ingress: [], egress: [], synthesized: true})
    } else if (name === DEFAULT_ALLOW_PROFILE) {
      index.set(name, {name, labels: {}, ingress: ALLOW_ALL, egress: ALLOW_ALL, synthesized: true})
    }
  }
  return index
}

/** The profile names every WEP, HEP and NetworkSet refers to. */
export function referencedProfiles(resources: Resource[]): Set<string> {
  const out = new Set<string>()
  for (const r of resources) {
    if (r.kind === 'WorkloadEndpoint' || r.kind === 'HostEndpoint') for (const p of strings(record(r.spec).profiles)) out.add(p)
    if (r.kind === 'NetworkSet') out.add(NAMESPACE_PROFILE_PREFIX + (r.metadata.namespace ?? 'default'))
  }
  return out
}
