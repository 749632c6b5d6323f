/**
 * Kubernetes networking.k8s.io/v1 NetworkPolicy → Calico v3 NetworkPolicy, as Calico converts
 * them (libcalico-go lib/backend/k8s/conversion, K8sNetworkPolicyToCalico): named
 * knp.default.<name>, in the default tier at order 1000, the pod selector ANDed with
 * projectcalico.org/orchestrator == 'k8s', one Allow rule per protocol and peer, ports merged
 * into ranges (SimplifyPorts), ipBlock as nets/notNets, namespaceSelector kept as Calico's
 * namespaceSelector (Felix matches it against the pcns.<key> labels of the kns.<ns> profiles).
 * Also the kns.<namespace> Profile Calico derives from a Namespace (NamespaceToProfile).
 * Pure functions: no I/O.
 */
import {NetctlError} from '../errors.js'
import {formatCidr, parseCidr, type Cidr} from './cidr.js'
import type {KindInfo} from './kind.js'
import {DEFAULT_TIER, KNP_PREFIX, networkPolicyKind} from './policy.js'
import {API_VERSION, type ObjectMeta, type Resource} from './types.js'

export {KNP_PREFIX} from './policy.js'

export const K8S_NETWORKING_API_VERSION = 'networking.k8s.io/v1'
/** Calico inserts every converted Kubernetes policy at this order. */
export const KNP_ORDER = 1000
export const NAMESPACE_PROFILE_PREFIX = 'kns.'
export const NAMESPACE_LABEL_PREFIX = 'pcns.'
export const NAME_LABEL = 'projectcalico.org/name'
export const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator'
/** The profile Calico's Kubernetes datastore always serves (allow all), first in its listing. */
export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow'

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: Array<{key: string; operator: string; values?: string[]}>
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector | null
  namespaceSelector?: LabelSelector | null
  ipBlock?: {cidr: string; except?: string[]} | null
}

export interface NetworkPolicyPort {
  protocol?: string | null
  port?: number | string | null
  endPort?: number | null
}

export interface KubeNetworkPolicy {
  apiVersion?: string
  kind?: string
  metadata: {name: string; namespace?: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; [key: string]: unknown}
  spec?: {
    podSelector?: LabelSelector | null
    ingress?: Array<{from?: NetworkPolicyPeer[] | null; ports?: NetworkPolicyPort[] | null}> | null
    egress?: Array<{to?: NetworkPolicyPeer[] | null; ports?: NetworkPolicyPort[] | null}> | null
    policyTypes?: string[] | null
  }
}

/** A rule Calico could not convert and dropped (it logs them; netctl says them). */
export interface DroppedRule {
  /** "spec.ingress[1]" */
  field: string
  reason: string
}

export interface KnpConversion {
  policy: Resource
  dropped: DroppedRule[]
}

type Port = number | string

// --- selectors ---------------------------------------------------------------------------

/**
 * k8sSelectorToCalico: matchLabels (sorted by key) then matchExpressions in order, joined by &&.
 * A pod selector always starts with the orchestrator test; an absent namespace selector is "",
 * an empty one is all().
 */
export function k8sSelectorToCalico(selector: LabelSelector | null | undefined, type: 'pod' | 'namespace'): string {
  const terms: string[] = type === 'pod' ? [`${ORCHESTRATOR_LABEL} == 'k8s'`] : []
  if (!selector) return terms.join(' && ')
  const matchLabels = selector.matchLabels ?? {}
  const expressions = selector.matchExpressions ?? []
  if (type === 'namespace' && Object.keys(matchLabels).length === 0 && expressions.length === 0) return 'all()'
  for (const key of Object.keys(matchLabels).sort(byteOrder)) terms.push(`${key} == '${matchLabels[key]}'`)
  for (const e of expressions) {
    const values = (e.values ?? []).join("', '")
    if (e.operator === 'In') terms.push(`${e.key} in { '${values}' }`)
    else if (e.operator === 'NotIn') terms.push(`${e.key} not in { '${values}' }`)
    else if (e.operator === 'Exists') terms.push(`has(${e.key})`)
    else if (e.operator === 'DoesNotExist') terms.push(`! has(${e.key})`)
  }
  return terms.join(' && ')
}

/** Go's sort.Strings: byte order, not locale order. */
const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

// --- ports -------------------------------------------------------------------------------

/** numorstring.PortFromString: "80", "80:90" or a port name; the error text is Calico's. */
export function portFromString(text: string): Port {
  if (/^\d+$/.test(text)) {
    const n = Number(text)
    if (n > 65535) throw new Error(`invalid port format (${text})`)
    return n
  }
  const range = /^(\d+):(\d+)$/.exec(text)
  if (range) {
    const [min, max] = [Number(range[1]), Number(range[2])]
    if (min > 65535) throw new Error(`invalid minimum port number in range (${text})`)
    if (max > 65535) throw new Error(`invalid maximum port number in range (${text})`)
    if (min > max) throw new Error(`minimum port number (${min}) is greater than maximum port number (${max}) in port range`)
    return min === max ? min : `${min}:${max}`
  }
  if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(text)) throw new Error(`invalid name for named port (${text})`)
  return text
}

/** The numeric span of a port (undefined for a named port). */
function span(port: Port): [number, number] | undefined {
  if (typeof port === 'number') return [port, port]
  const m = /^(\d+):(\d+)$/.exec(port)
  return m ? [Number(m[1]), Number(m[2])] : undefined
}

/**
 * SimplifyPorts: named ports pass through in order, numeric ports (expanded) are sorted and
 * merged into ranges after them; with at most one numeric port the list is left as it was.
 */
export function simplifyPorts(ports: Port[]): Port[] {
  if (ports.length <= 1) return ports
  const named: Port[] = []
  const numbers: number[] = []
  for (const port of ports) {
    const s = span(port)
    if (!s) named.push(port)
    else for (let p = s[0]; p <= s[1]; p++) numbers.push(p)
  }
  if (numbers.length <= 1) return ports
  numbers.sort((a, b) => a - b)
  const out = named
  let i = 0
  while (i < numbers.length) {
    const first = numbers[i]!
    let last = first
    i += 1
    while (i < numbers.length && numbers[i]! <= last + 1) last = numbers[i++]!
    out.push(first === last ? first : `${first}:${last}`)
  }
  return out
}

// --- rules -------------------------------------------------------------------------------

interface EntityRule {
  selector?: string
  namespaceSelector?: string
  nets?: string[]
  notNets?: string[]
  ports?: Port[]
}

interface CalicoRule {
  action: 'Allow'
  protocol?: string
  source: EntityRule
  destination: EntityRule
}

/** Go's net.ParseCIDR, masked: the network Calico writes. */
const network = (text: string): string | undefined => {
  const cidr = typeof text === 'string' ? parseCidr(text) : undefined
  return cidr ? formatCidr(cidr) : undefined
}

/**
 * k8sPeerToCalicoFields. An ipBlock wins over the selectors; a CIDR that does not parse leaves
 * the fields as far as they got (Calico logs it and goes on: an invalid cidr gives no nets).
 */
function peerFields(peer: NetworkPolicyPeer | undefined): EntityRule {
  if (!peer) return {}
  if (peer.ipBlock) {
    const net = network(peer.ipBlock.cidr)
    if (!net) return {}
    const out: EntityRule = {nets: [net]}
    for (const except of peer.ipBlock.except ?? []) {
      const notNet = network(except)
      if (!notNet) return out
      ;(out.notNets ??= []).push(notNet)
    }
    return out
  }
  return {selector: k8sSelectorToCalico(peer.podSelector, 'pod'), namespaceSelector: k8sSelectorToCalico(peer.namespaceSelector, 'namespace')}
}

/** Calico's JSON leaves empty strings and lists out (omitempty). */
function compact(rule: EntityRule): EntityRule {
  const out: EntityRule = {}
  if (rule.selector) out.selector = rule.selector
  if (rule.namespaceSelector) out.namespaceSelector = rule.namespaceSelector
  if (rule.nets?.length) out.nets = rule.nets
  if (rule.notNets?.length) out.notNets = rule.notNets
  if (rule.ports?.length) out.ports = rule.ports
  return out
}

/** k8sRuleToCalico: one rule per protocol (sorted) and peer (in order); throws when a port does not parse. */
function ruleToCalico(peers: NetworkPolicyPeer[] | null | undefined, ports: NetworkPolicyPort[] | null | undefined, ingress: boolean): CalicoRule[] {
  // No ports at all: any protocol, any port. A port without a protocol is TCP.
  const byProtocol = new Map<string, Port[] | undefined>()
  if (!ports || ports.length === 0) byProtocol.set('', undefined)
  for (const port of ports ?? []) {
    const protocol = port.protocol ? String(port.protocol) : 'TCP'
    let numbers: Port[] | undefined
    if (port.port !== undefined && port.port !== null) {
      let text = String(port.port)
      if (port.endPort !== undefined && port.endPort !== null) text = `${text}:${port.endPort}`
      try {
        numbers = [portFromString(text)]
      } catch (error) {
        throw new Error(`failed to parse k8s port: invalid port ${text}: ${(error as Error).message}`)
      }
    }
    // "All ports" of a protocol is never narrowed by another entry for it.
    if (numbers === undefined) byProtocol.set(protocol, undefined)
    else if (!byProtocol.has(protocol)) byProtocol.set(protocol, numbers)
    else if (byProtocol.get(protocol) !== undefined) byProtocol.get(protocol)!.push(...numbers)
  }
  const peerList: Array<NetworkPolicyPeer | undefined> = peers && peers.length > 0 ? peers : [undefined]
  const rules: CalicoRule[] = []
  for (const protocol of [...byProtocol.keys()].sort(byteOrder)) {
    const calicoPorts = simplifyPorts(byProtocol.get(protocol) ?? [])
    for (const peer of peerList) {
      const fields = peerFields(peer)
      const rule: CalicoRule = ingress
        ? {action: 'Allow', source: compact(fields), destination: compact({ports: calicoPorts})}
        : {action: 'Allow', source: {}, destination: compact({...fields, ports: calicoPorts})}
      if (protocol) rule.protocol = /^\d+$/.test(protocol) ? (Number(protocol) as unknown as string) : protocol
      rules.push(orderRule(rule))
    }
  }
  return rules
}

/** Key order as calicoctl prints a rule. */
const orderRule = ({action, protocol, source, destination}: CalicoRule): CalicoRule =>
  (protocol === undefined ? {action, source, destination} : {action, protocol, source, destination}) as CalicoRule

// --- policies ----------------------------------------------------------------------------

/**
 * K8sNetworkPolicyToCalico. A rule whose ports do not parse is dropped, as Calico drops it, and
 * listed in `dropped` (the caller decides whether that is an error).
 */
export function k8sNetworkPolicyToCalico(np: KubeNetworkPolicy): KnpConversion {
  const spec = np.spec ?? {}
  const dropped: DroppedRule[] = []
  const convert = (direction: 'ingress' | 'egress') => {
    const out: CalicoRule[] = []
    for (const [index, rule] of (spec[direction] ?? []).entries()) {
      try {
        out.push(...ruleToCalico(direction === 'ingress' ? (rule as {from?: NetworkPolicyPeer[]}).from : (rule as {to?: NetworkPolicyPeer[]}).to, rule?.ports, direction === 'ingress'))
      } catch (error) {
        dropped.push({field: `spec.${direction}[${index}]`, reason: `k8s rule couldn't be converted: ${(error as Error).message}`})
      }
    }
    return out
  }
  const ingress = convert('ingress')
  const egress = convert('egress')
  const listed = spec.policyTypes ?? []
  const types: string[] = []
  if (listed.includes('Ingress')) types.push('Ingress')
  if (listed.includes('Egress')) types.push('Egress')
  // A policy that names no type predates policyTypes: it is an ingress policy.
  if (types.length === 0) types.push('Ingress')

  const metadata: ObjectMeta = {name: KNP_PREFIX + np.metadata.name}
  if (np.metadata.namespace) metadata.namespace = np.metadata.namespace
  if (np.metadata.uid) metadata.uid = convertUid(np.metadata.uid)
  if (np.metadata.resourceVersion) metadata.resourceVersion = np.metadata.resourceVersion
  if (np.metadata.creationTimestamp) metadata.creationTimestamp = np.metadata.creationTimestamp
  const calicoSpec: Record<string, unknown> = {tier: DEFAULT_TIER, order: KNP_ORDER, selector: k8sSelectorToCalico(spec.podSelector, 'pod')}
  if (ingress.length > 0) calicoSpec.ingress = ingress
  if (egress.length > 0) calicoSpec.egress = egress
  calicoSpec.types = types
  return {policy: {apiVersion: API_VERSION, kind: 'NetworkPolicy', metadata, spec: calicoSpec}, dropped}
}

/** The Kubernetes name behind a converted policy name, or undefined if it is not one. */
export const kubernetesPolicyName = (calicoName: string): string | undefined => (calicoName.startsWith(KNP_PREFIX) ? calicoName.slice(KNP_PREFIX.length) : undefined)

/**
 * ConvertUID: a derived object gets a different, deterministic UID (each byte bit-reversed,
 * the version and variant bytes kept). Anything that is not a UUID is left as it is.
 */
export function convertUid(uid: string): string {
  const hex = uid.replace(/-/g, '')
  if (!/^[0-9a-fA-F]{32}$/.test(hex) || !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(uid)) return uid
  const bytes = Array.from({length: 16}, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16))
  const reversed = bytes.map((b, i) => (i === 6 || i === 8 ? b : reverseBits(b)))
  const out = reversed.map((b) => b.toString(16).padStart(2, '0')).join('')
  return `${out.slice(0, 8)}-${out.slice(8, 12)}-${out.slice(12, 16)}-${out.slice(16, 20)}-${out.slice(20)}`
}

const reverseBits = (b: number): number => {
  let r = 0
  for (let i = 0; i < 8; i++) r = (r << 1) | ((b >> i) & 1)
  return r
}

// --- namespaces → profiles ---------------------------------------------------------------

export interface KubeNamespace {
  metadata: {name: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, string>}
}

/** NamespaceToProfile: kns.<ns>, labels pcns.<key> plus pcns.projectcalico.org/name, allow all. */
export function namespaceToProfile(ns: KubeNamespace): Resource {
  const labelsToApply: Record<string, string> = {}
  for (const [key, value] of Object.entries(ns.metadata.labels ?? {})) labelsToApply[NAMESPACE_LABEL_PREFIX + key] = value
  labelsToApply[NAMESPACE_LABEL_PREFIX + NAME_LABEL] = ns.metadata.name
  const metadata: ObjectMeta = {name: NAMESPACE_PROFILE_PREFIX + ns.metadata.name}
  // JoinProfileRevisions(namespace revision, no service account revision).
  metadata.resourceVersion = `${ns.metadata.resourceVersion ?? ''}/`
  if (ns.metadata.uid) metadata.uid = convertUid(ns.metadata.uid)
  if (ns.metadata.creationTimestamp) metadata.creationTimestamp = ns.metadata.creationTimestamp
  return {apiVersion: API_VERSION, kind: 'Profile', metadata, spec: {ingress: [{action: 'Allow'}], egress: [{action: 'Allow'}], labelsToApply}}
}

export const SERVICE_ACCOUNT_PROFILE_PREFIX = 'ksa.'
export const SERVICE_ACCOUNT_LABEL_PREFIX = 'pcsa.'

export interface KubeServiceAccount {
  metadata: {name: string; namespace?: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, string>}
}

/** ServiceAccountToProfile: ksa.<ns>.<sa>, labels pcsa.<key> plus pcsa.projectcalico.org/name, no rules. */
export function serviceAccountToProfile(sa: KubeServiceAccount): Resource {
  const labelsToApply: Record<string, string> = {}
  for (const [key, value] of Object.entries(sa.metadata.labels ?? {})) labelsToApply[SERVICE_ACCOUNT_LABEL_PREFIX + key] = value
  labelsToApply[SERVICE_ACCOUNT_LABEL_PREFIX + NAME_LABEL] = sa.metadata.name
  const metadata: ObjectMeta = {name: `${SERVICE_ACCOUNT_PROFILE_PREFIX}${sa.metadata.namespace || 'default'}.${sa.metadata.name}`}
  // JoinProfileRevisions(no namespace revision, service account revision).
  metadata.resourceVersion = `/${sa.metadata.resourceVersion ?? ''}`
  if (sa.metadata.uid) metadata.uid = convertUid(sa.metadata.uid)
  if (sa.metadata.creationTimestamp) metadata.creationTimestamp = sa.metadata.creationTimestamp
  return {apiVersion: API_VERSION, kind: 'Profile', metadata, spec: {labelsToApply}}
}

/** The allow-all profile Calico's Kubernetes datastore serves for endpoints with no other. */
export const defaultAllowProfile = (): Resource => ({
  apiVersion: API_VERSION, kind: 'Profile', metadata: {name: DEFAULT_ALLOW_PROFILE, resourceVersion: '1'}, spec: {ingress: [{action: 'Allow'}], egress: [{action: 'Allow'}]},
})

// --- a NetworkPolicy document a person hands netctl ----------------------------------------

export const isKubernetesNetworkingDocument = (object: Record<string, unknown>): boolean => object.apiVersion === K8S_NETWORKING_API_VERSION

/**
 * A networking.k8s.io/v1 NetworkPolicy from a file, checked as the Kubernetes API server would
 * (the shape of every field, CIDRs, ports), converted. Nothing is dropped silently: a rule Calico
 * would drop is an error here.
 */
export function convertKubernetesDocument(object: Record<string, unknown>, origin: string): Resource {
  const fail = (problem: string, suggestion: string) => new NetctlError('usage', `${origin}: ${problem}`, suggestion)
  if (object.kind !== 'NetworkPolicy') {
    throw fail(`${K8S_NETWORKING_API_VERSION} ${JSON.stringify(object.kind)} is not a kind netctl reads`, `of ${K8S_NETWORKING_API_VERSION}, netctl takes NetworkPolicy only; other objects belong to kubectl`)
  }
  for (const key of Object.keys(object)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) throw fail(`unknown top-level field "${key}"`, 'keep apiVersion, kind, metadata and spec')
  }
  const meta = object.metadata
  if (!isObject(meta) || typeof meta.name !== 'string' || meta.name === '') throw fail('has no metadata.name', 'give the NetworkPolicy a name under metadata.name')
  if (meta.name.length > 253 - KNP_PREFIX.length || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(meta.name)) {
    throw fail(`metadata.name ${JSON.stringify(meta.name)} is not a valid NetworkPolicy name`, `use at most ${253 - KNP_PREFIX.length} lower-case letters, digits, "-" and ".", starting and ending with a letter or digit`)
  }
  if (meta.namespace !== undefined && typeof meta.namespace !== 'string') throw fail('metadata.namespace is not a string', 'write the namespace as a string')
  const spec = object.spec ?? {}
  if (!isObject(spec)) throw fail('spec is not a mapping', 'write spec: with podSelector, ingress, egress and policyTypes')
  checkSpec(spec, fail)
  const np: KubeNetworkPolicy = {metadata: {name: meta.name}, spec: spec as KubeNetworkPolicy['spec']}
  if (meta.namespace) np.metadata.namespace = meta.namespace
  const {policy, dropped} = k8sNetworkPolicyToCalico(np)
  if (dropped.length > 0) throw fail(`${dropped[0]!.field}: ${dropped[0]!.reason}`, 'fix the ports of that rule')
  // Labels and annotations of the Kubernetes object are not part of Calico's conversion.
  return policy
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

type Fail = (problem: string, suggestion: string) => NetctlError

function checkSelector(value: unknown, field: string, fail: Fail): void {
  if (value === undefined || value === null) return
  if (!isObject(value)) throw fail(`${field} is not a mapping`, `write ${field}: {} (everything) or with matchLabels / matchExpressions`)
  for (const key of Object.keys(value)) if (key !== 'matchLabels' && key !== 'matchExpressions') throw fail(`${field} has an unknown field "${key}"`, 'use matchLabels and matchExpressions')
  const labels = value.matchLabels
  if (labels !== undefined && labels !== null) {
    if (!isObject(labels)) throw fail(`${field}.matchLabels is not a mapping`, 'write key: value pairs')
    for (const [k, v] of Object.entries(labels)) {
      if (!labelKey(k)) throw fail(`${field}.matchLabels has an invalid key ${JSON.stringify(k)}`, 'a label key is [prefix/]name of letters, digits, "-", "_" and "."')
      if (typeof v !== 'string' || !labelValue(v)) throw fail(`${field}.matchLabels.${k} is not a valid label value: ${JSON.stringify(v)}`, 'a label value is at most 63 letters, digits, "-", "_" and ".", in quotes if it looks like a number')
    }
  }
  const expressions = value.matchExpressions
  if (expressions !== undefined && expressions !== null) {
    if (!Array.isArray(expressions)) throw fail(`${field}.matchExpressions is not a list`, 'list {key, operator, values} entries')
    for (const [i, e] of expressions.entries()) {
      const at = `${field}.matchExpressions[${i}]`
      if (!isObject(e) || typeof e.key !== 'string' || !labelKey(e.key)) throw fail(`${at} has no valid key`, 'give each expression a label key')
      if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator as string)) throw fail(`${at}.operator is ${JSON.stringify(e.operator)}`, 'use In, NotIn, Exists or DoesNotExist')
      const values = e.values ?? []
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' || !labelValue(v))) throw fail(`${at}.values must be a list of label values`, 'list the values as strings')
      const needsValues = e.operator === 'In' || e.operator === 'NotIn'
      if (needsValues && values.length === 0) throw fail(`${at}.values must not be empty for ${e.operator}`, 'list at least one value')
      if (!needsValues && values.length > 0) throw fail(`${at}.values must be empty for ${e.operator}`, 'remove the values')
    }
  }
}

const labelValue = (v: string) => v === '' || (v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v))
function labelKey(k: string): boolean {
  const slash = k.lastIndexOf('/')
  const name = slash >= 0 ? k.slice(slash + 1) : k
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined
  if (prefix !== undefined && (prefix.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix))) return false
  return name.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name)
}

function checkSpec(spec: Record<string, unknown>, fail: Fail): void {
  for (const key of Object.keys(spec)) {
    if (!['podSelector', 'ingress', 'egress', 'policyTypes'].includes(key)) throw fail(`spec has an unknown field "${key}"`, 'use podSelector, ingress, egress and policyTypes')
  }
  checkSelector(spec.podSelector, 'spec.podSelector', fail)
  const types = spec.policyTypes
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.some((t) => t !== 'Ingress' && t !== 'Egress')) throw fail('spec.policyTypes must list Ingress, Egress or both', 'write policyTypes: [Ingress, Egress]')
  }
  for (const [direction, peersKey] of [['ingress', 'from'], ['egress', 'to']] as const) {
    const rules = spec[direction]
    if (rules === undefined || rules === null) continue
    if (!Array.isArray(rules)) throw fail(`spec.${direction} is not a list`, `list the ${direction} rules`)
    for (const [i, rule] of rules.entries()) {
      const at = `spec.${direction}[${i}]`
      if (rule === null) continue
      if (!isObject(rule)) throw fail(`${at} is not a mapping`, `give each rule ${peersKey} and ports`)
      for (const key of Object.keys(rule)) if (key !== peersKey && key !== 'ports') throw fail(`${at} has an unknown field "${key}"`, `an ${direction} rule has ${peersKey} and ports`)
      checkPeers(rule[peersKey], `${at}.${peersKey}`, fail)
      checkPorts(rule.ports, `${at}.ports`, fail)
    }
  }
}

function checkPeers(value: unknown, field: string, fail: Fail): void {
  if (value === undefined || value === null) return
  if (!Array.isArray(value)) throw fail(`${field} is not a list`, 'list podSelector / namespaceSelector / ipBlock peers')
  for (const [i, peer] of value.entries()) {
    const at = `${field}[${i}]`
    if (!isObject(peer)) throw fail(`${at} is not a mapping`, 'give a podSelector, a namespaceSelector or an ipBlock')
    for (const key of Object.keys(peer)) if (!['podSelector', 'namespaceSelector', 'ipBlock'].includes(key)) throw fail(`${at} has an unknown field "${key}"`, 'use podSelector, namespaceSelector or ipBlock')
    const ipBlock = peer.ipBlock
    if (ipBlock !== undefined && ipBlock !== null) {
      if (peer.podSelector != null || peer.namespaceSelector != null) throw fail(`${at} has an ipBlock and a selector`, 'an ipBlock peer stands alone: make the selectors another peer')
      if (!isObject(ipBlock) || typeof ipBlock.cidr !== 'string' || !parseCidr(ipBlock.cidr)) throw fail(`${at}.ipBlock.cidr ${JSON.stringify(isObject(ipBlock) ? ipBlock.cidr : ipBlock)} is not a CIDR`, 'write a network such as 10.0.0.0/8')
      const outer = parseCidr(ipBlock.cidr)!
      const except = ipBlock.except ?? []
      if (!Array.isArray(except)) throw fail(`${at}.ipBlock.except is not a list`, 'list CIDRs inside the cidr')
      for (const [j, text] of except.entries()) {
        const inner = typeof text === 'string' ? parseCidr(text) : undefined
        if (!inner) throw fail(`${at}.ipBlock.except[${j}] ${JSON.stringify(text)} is not a CIDR`, 'write a network such as 10.1.0.0/16')
        const within = inner.family === outer.family && inner.prefix > outer.prefix && contains(outer, inner)
        if (!within) throw fail(`${at}.ipBlock.except[${j}] ${text} is not inside ${ipBlock.cidr}`, 'each except must be a smaller network inside the cidr')
      }
    } else if (peer.podSelector == null && peer.namespaceSelector == null) {
      throw fail(`${at} is empty`, 'give a podSelector, a namespaceSelector or an ipBlock')
    }
    checkSelector(peer.podSelector, `${at}.podSelector`, fail)
    checkSelector(peer.namespaceSelector, `${at}.namespaceSelector`, fail)
  }
}

/** `inner` lies inside `outer` (same family, longer prefix, same leading bits). */
function contains(outer: Cidr, inner: Cidr): boolean {
  const shift = BigInt(outer.bits - outer.prefix)
  return (inner.network >> shift) === (outer.network >> shift)
}

function checkPorts(value: unknown, field: string, fail: Fail): void {
  if (value === undefined || value === null) return
  if (!Array.isArray(value)) throw fail(`${field} is not a list`, 'list {protocol, port, endPort} entries')
  for (const [i, port] of value.entries()) {
    const at = `${field}[${i}]`
    if (!isObject(port)) throw fail(`${at} is not a mapping`, 'write {protocol: TCP, port: 80}')
    for (const key of Object.keys(port)) if (!['protocol', 'port', 'endPort'].includes(key)) throw fail(`${at} has an unknown field "${key}"`, 'use protocol, port and endPort')
    if (port.protocol != null && !['TCP', 'UDP', 'SCTP'].includes(port.protocol as string)) throw fail(`${at}.protocol is ${JSON.stringify(port.protocol)}`, 'use TCP, UDP or SCTP (upper case)')
    const p = port.port
    if (p != null) {
      const numeric = typeof p === 'number'
      if (numeric ? !Number.isInteger(p) || p < 1 || p > 65535 : typeof p !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p) || p.length > 15 || !/[a-z]/.test(p)) {
        throw fail(`${at}.port ${JSON.stringify(p)} is neither a port number (1-65535) nor a port name`, 'write a number such as 8080 (no quotes) or a container port name such as http')
      }
    }
    if (port.endPort != null) {
      if (typeof p !== 'number') throw fail(`${at}.endPort needs a numeric port`, 'set port to the first port of the range')
      if (typeof port.endPort !== 'number' || !Number.isInteger(port.endPort) || port.endPort < p || port.endPort > 65535) throw fail(`${at}.endPort ${JSON.stringify(port.endPort)} must be a port number no smaller than port ${p}`, 'write the last port of the range')
    }
  }
}

/**
 * How a converted Kubernetes policy is written into a lab's datastore: as a NetworkPolicy,
 * whose validation refuses the knp.default. prefix for a policy a person writes under Calico's
 * own apiVersion. The policy is validated under its Kubernetes name instead (a knp.default.
 * name has more dots than Calico's policy names allow).
 */
export const kubernetesNetworkPolicyWriteKind: KindInfo = {
  ...networkPolicyKind,
  validate: (resource, context) => {
    const k8sName = kubernetesPolicyName(resource.metadata.name) ?? resource.metadata.name
    networkPolicyKind.validate?.({...resource, metadata: {...resource.metadata, name: k8sName.replace(/\./g, '-')}}, context)
  },
}
