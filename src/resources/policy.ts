/**
 * Calico's policy kinds: NetworkPolicy, GlobalNetworkPolicy, their staged forms and
 * StagedKubernetesNetworkPolicy, with calicoctl's aliases and columns, Calico's defaulting
 * (api/pkg/defaults: types from the rules, the tier label; the CRDs' tier "default" and
 * stagedAction "Set") and libcalico-go's validator plus the CRDs' CEL rules.
 *
 * Names follow Calico v3.32+ (projectcalico/calico#11232): a policy in a non-default tier no
 * longer needs a "<tier>." prefix (v3.30 and v3.31 still required it); a name is a DNS label,
 * or two labels joined by one dot, and Kubernetes stores it unchanged.
 */
import {name, selector} from './formats.js'
import {name as nameCell, text, type Cell, type KindInfo} from './kind.js'
import {checkResource, labels as labelsRule} from './metadata.js'
import {defaultTypes, policyTypes, rules, type RuleShape} from './rule.js'
import type {Resource} from './types.js'
import {boolean, dnsLabel, integer, invalid, isPlainObject, list, object, oneOf, show, string, type Rule} from './validate.js'

export const DEFAULT_TIER = 'default'
/** The label Calico puts on every policy: the tier it is in. */
export const TIER_LABEL = 'projectcalico.org/tier'
/** calicoctl refuses Calico policies named like the Kubernetes NetworkPolicies it multiplexes in etcd. */
export const KNP_PREFIX = 'knp.default.'

type Spec = Record<string, unknown>
const specOf = (r: Resource): Spec => (isPlainObject(r.spec) ? r.spec : {})

/** A policy's order: any number (Calico's *float64). */
export const order: Rule = (resource, field, value) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(resource, field, `${show(value)} is not a number`, `set ${field} to a number such as 100 or 10.5, without quotes`)
}

/** Go's %v of a float64 (what calicoctl's table templates print): 100, 10.5, 1e+06. */
export function goFloat(value: number): string {
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string]
  const exp = Number(exponent)
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
  return String(value)
}

/** How calicoctl's {{.Spec.Order}} shows an order: a Go float, or <nil> when unset. */
export const orderCell: Cell = (r) => (typeof specOf(r).order === 'number' ? goFloat(specOf(r).order as number) : '<nil>')

const types: Rule = (resource, field, value) => {
  list(oneOf(policyTypes), {max: 2})(resource, field, value)
  const values = value as string[]
  if (values.length === 0) throw invalid(resource, field, 'is empty', `list Ingress, Egress or both, or remove ${field} to let Calico choose from the rules`)
  const twice = values.find((t, i) => values.indexOf(t) !== i)
  if (twice) throw invalid(resource, field, `lists ${twice} twice`, 'list each type once')
}

const performanceHints: Rule = (resource, field, value) => {
  list(oneOf(['AssumeNeededOnEveryNode']), {max: 1})(resource, field, value)
}

const policySpecFields = {
  tier: name,
  order,
  ingress: rules(),
  egress: rules(),
  selector,
  types,
  serviceAccountSelector: selector,
  performanceHints,
}
const globalPolicySpecFields = {...policySpecFields, doNotTrack: boolean, preDNAT: boolean, applyOnForward: boolean, namespaceSelector: selector}
const stagedAction = oneOf(['Set', 'Delete', 'Learn', 'Ignore'])

interface PolicyFlavour {
  kind: string
  plural: string
  aliases: readonly string[]
  namespaced: boolean
  global: boolean
  staged: boolean
}

const flavours: Record<string, PolicyFlavour> = {
  NetworkPolicy: {kind: 'NetworkPolicy', plural: 'networkpolicies', aliases: ['networkpolicy', 'networkpolicies', 'policy', 'np', 'policies', 'pol', 'pols'], namespaced: true, global: false, staged: false},
  GlobalNetworkPolicy: {kind: 'GlobalNetworkPolicy', plural: 'globalnetworkpolicies', aliases: ['globalnetworkpolicy', 'globalnetworkpolicies', 'gnp', 'gnps'], namespaced: false, global: true, staged: false},
  StagedNetworkPolicy: {kind: 'StagedNetworkPolicy', plural: 'stagednetworkpolicies', aliases: ['stagednetworkpolicy', 'stagednetworkpolicies', 'stagedpolicy', 'snp', 'stagedpolicies', 'spol', 'spols'], namespaced: true, global: false, staged: true},
  StagedGlobalNetworkPolicy: {kind: 'StagedGlobalNetworkPolicy', plural: 'stagedglobalnetworkpolicies', aliases: ['stagedglobalnetworkpolicy', 'stagedglobalnetworkpolicies', 'sgnp', 'sgnps'], namespaced: false, global: true, staged: true},
}

/** Calico's defaults: tier "default", the tier label, types from the rules; stagedAction Set. */
function policyDefaults(flavour: PolicyFlavour) {
  return (resource: Resource): Resource => {
    if (!isPlainObject(resource.spec ?? {})) return resource
    const spec: Spec = {...(resource.spec ?? {})}
    if (spec.tier === undefined || spec.tier === '') spec.tier = DEFAULT_TIER
    if (flavour.staged && (spec.stagedAction === undefined || spec.stagedAction === '')) spec.stagedAction = 'Set'
    if (spec.types === undefined || (Array.isArray(spec.types) && spec.types.length === 0)) spec.types = defaultTypes(spec)
    // A staged deletion carries no types (Calico clears them after defaulting).
    if (flavour.staged && spec.stagedAction === 'Delete') delete spec.types
    const metadata = {...resource.metadata}
    if (typeof spec.tier === 'string' && (metadata.labels === undefined || isPlainObject(metadata.labels))) metadata.labels = {...metadata.labels, [TIER_LABEL]: spec.tier}
    return {...resource, metadata, spec}
  }
}

/** NetworkPolicy names: a DNS label, or label.label; GlobalNetworkPolicy names the same. */
function checkPolicyName(resource: Resource, flavour: PolicyFlavour): void {
  const policyName = resource.metadata.name
  if (!flavour.global && policyName.startsWith(KNP_PREFIX)) {
    throw invalid(resource, 'metadata.name', `starts with "${KNP_PREFIX}", the prefix of Kubernetes NetworkPolicies`, 'manage Kubernetes network policies through the Kubernetes API, or rename the Calico policy')
  }
  const parts = policyName.split('.')
  if (parts.length > 2 || !parts.every((p) => p.length <= 63 && dnsLabel.test(p))) {
    throw invalid(resource, 'metadata.name', `${show(policyName)} is not a valid policy name`, 'use lower-case letters, digits and "-" (at most 63), optionally two such parts joined by one "."')
  }
}

function checkPolicy(resource: Resource, flavour: PolicyFlavour): void {
  const fields = {...(flavour.global ? globalPolicySpecFields : policySpecFields), ...(flavour.staged ? {stagedAction} : {})}
  checkResource(resource, {kind: flavour.kind, namespaced: flavour.namespaced, spec: fields})
  checkPolicyName(resource, flavour)
  const spec = specOf(resource)
  if (flavour.staged && spec.stagedAction === 'Delete') {
    const extra = Object.keys(spec).find((key) => key !== 'tier' && key !== 'stagedAction')
    if (extra) throw invalid(resource, `spec.${extra}`, 'is set, but stagedAction is Delete', 'a staged deletion names only the policy (and its tier): remove the other spec fields')
    return
  }
  for (const key of ['selector', 'serviceAccountSelector', 'namespaceSelector']) {
    if (typeof spec[key] === 'string' && (spec[key] as string).includes('global(')) {
      throw invalid(resource, `spec.${key}`, 'uses global(), which only a rule\'s namespaceSelector may use', 'remove global(); all() selects every endpoint')
    }
  }
  const ingress = (spec.ingress ?? []) as RuleShape[]
  const egress = (spec.egress ?? []) as RuleShape[]
  egress.forEach((r, i) => {
    if (r.source?.services) throw invalid(resource, `spec.egress[${i}].source.services`, 'is not allowed in an egress rule\'s source', 'match services in destination for egress rules')
    if (r.http) throw invalid(resource, `spec.egress[${i}].http`, 'is not allowed in an egress rule', 'match HTTP in ingress rules only')
  })
  ingress.forEach((r, i) => {
    if (r.destination?.services) throw invalid(resource, `spec.ingress[${i}].destination.services`, 'is not allowed in an ingress rule\'s destination', 'match services in source for ingress rules')
  })
  if (flavour.global) {
    egress.forEach((r, i) => {
      if (r.destination?.services && !r.destination.services.namespace) throw invalid(resource, `spec.egress[${i}].destination.services.namespace`, 'is required in a global policy', 'name the service\'s namespace')
    })
    ingress.forEach((r, i) => {
      if (r.source?.services && !r.source.services.namespace) throw invalid(resource, `spec.ingress[${i}].source.services.namespace`, 'is required in a global policy', 'name the service\'s namespace')
    })
    checkUntracked(resource, spec, egress)
  }
}

/** preDNAT and doNotTrack policies, as the GlobalNetworkPolicy CRD's CEL rules check them. */
function checkUntracked(resource: Resource, spec: Spec, egress: RuleShape[]): void {
  if (spec.doNotTrack === true && spec.preDNAT === true) throw invalid(resource, 'spec', 'sets both preDNAT and doNotTrack', 'keep one of them: preDNAT and doNotTrack cannot both be true')
  if (spec.preDNAT === true && egress.length > 0) throw invalid(resource, 'spec.egress', 'is set on a preDNAT policy', 'remove the egress rules: a preDNAT policy has ingress rules only')
  if (spec.preDNAT === true && Array.isArray(spec.types) && spec.types.includes('Egress')) throw invalid(resource, 'spec.types', 'includes Egress on a preDNAT policy', 'set types: [Ingress]')
  if ((spec.preDNAT === true || spec.doNotTrack === true) && spec.applyOnForward !== true) {
    throw invalid(resource, 'spec.applyOnForward', `must be true when ${spec.preDNAT === true ? 'preDNAT' : 'doNotTrack'} is true`, 'set applyOnForward: true')
  }
}

function policyKind(flavour: PolicyFlavour): KindInfo {
  return {
    kind: flavour.kind,
    plural: flavour.plural,
    aliases: flavour.aliases,
    namespaced: flavour.namespaced,
    columns: {ps: ['NAME', 'TIER'], wide: ['NAME', 'TIER', 'ORDER', 'SELECTOR']},
    cells: {
      NAME: nameCell,
      NAMESPACE: (r) => text(r.metadata.namespace),
      TIER: (r) => text(specOf(r).tier),
      ORDER: orderCell,
      SELECTOR: (r) => text(specOf(r).selector),
    },
    withDefaults: policyDefaults(flavour),
    validate: (resource) => checkPolicy(resource, flavour),
  }
}

export const networkPolicyKind = policyKind(flavours.NetworkPolicy!)
export const globalNetworkPolicyKind = policyKind(flavours.GlobalNetworkPolicy!)
export const stagedNetworkPolicyKind = policyKind(flavours.StagedNetworkPolicy!)
export const stagedGlobalNetworkPolicyKind = policyKind(flavours.StagedGlobalNetworkPolicy!)

// --- StagedKubernetesNetworkPolicy: a Kubernetes NetworkPolicy spec, staged -----------------

const labelSelector = object({
  matchLabels: labelsRule,
  matchExpressions: list(object({key: string({max: 316}), operator: oneOf(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: list(string({max: 63, allowEmpty: true}), {max: 1000})}, {required: ['key', 'operator']}), {max: 100}),
})
const k8sPort = object({
  protocol: oneOf(['TCP', 'UDP', 'SCTP']),
  port: (r, f, v) => (typeof v === 'number' ? integer(1, 65535)(r, f, v) : string({max: 15, test: (s) => /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s), what: 'a port number or name'})(r, f, v)),
  endPort: integer(1, 65535),
})
const k8sPeer = object({
  podSelector: labelSelector,
  namespaceSelector: labelSelector,
  ipBlock: object({cidr: string({max: 49}), except: list(string({max: 49}), {max: 256})}, {required: ['cidr']}),
})
const stagedKubernetesSpecFields = {
  stagedAction,
  podSelector: labelSelector,
  ingress: list(object({from: list(k8sPeer, {max: 1024}), ports: list(k8sPort, {max: 1024})}), {max: 1024}),
  egress: list(object({to: list(k8sPeer, {max: 1024}), ports: list(k8sPort, {max: 1024})}), {max: 1024}),
  policyTypes: list(oneOf(policyTypes), {max: 2}),
}

/**
 * calicoctl's {{.Spec.PodSelector}}: the String() Kubernetes generates for a LabelSelector,
 * e.g. &LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}
 */
export function labelSelectorString(value: unknown): string {
  const selector = (isPlainObject(value) ? value : {}) as {matchLabels?: Record<string, string>; matchExpressions?: Array<{key?: string; operator?: string; values?: string[]}>}
  const labels = Object.keys(selector.matchLabels ?? {}).sort().map((k) => `${k}: ${selector.matchLabels![k]},`).join('')
  const expressions = (selector.matchExpressions ?? []).map((e) => `LabelSelectorRequirement{Key:${e.key ?? ''},Operator:${e.operator ?? ''},Values:[${(e.values ?? []).join(' ')}],},`).join('')
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{${expressions}},}`
}

export const stagedKubernetesNetworkPolicyKind: KindInfo = {
  kind: 'StagedKubernetesNetworkPolicy',
  plural: 'stagedkubernetesnetworkpolicies',
  aliases: ['stagedkubernetesnetworkpolicy', 'stagedkubernetesnetworkpolicies', 'stagedkubernetespolicy', 'sknp', 'stagedkubernetespolicies', 'skpol', 'skpols'],
  namespaced: true,
  columns: {ps: ['NAME'], wide: ['NAME', 'PODSELECTOR']},
  cells: {
    NAME: nameCell,
    NAMESPACE: (r) => text(r.metadata.namespace),
    PODSELECTOR: (r) => labelSelectorString(specOf(r).podSelector),
  },
  withDefaults: (resource) => (isPlainObject(resource.spec ?? {}) && !resource.spec?.stagedAction ? {...resource, spec: {...resource.spec, stagedAction: 'Set'}} : resource),
  validate: (resource) => {
    checkResource(resource, {kind: 'StagedKubernetesNetworkPolicy', namespaced: true, spec: stagedKubernetesSpecFields})
    const spec = specOf(resource)
    if (spec.stagedAction === 'Delete') {
      const extra = Object.keys(spec).find((key) => key !== 'stagedAction' && !(key === 'podSelector' && isPlainObject(spec.podSelector) && Object.keys(spec.podSelector).length === 0))
      if (extra) throw invalid(resource, `spec.${extra}`, 'is set, but stagedAction is Delete', 'a staged deletion names only the policy: remove the other spec fields')
    }
  },
}
