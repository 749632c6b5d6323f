/**
 * A "world": every policy object, tier, profile, endpoint and network set, indexed once so that
 * one flow evaluates without scanning everything. Pure: no datastore, no printing.
 */
import {NetctlError} from '../errors.js'
import type {Resource} from '../resources/types.js'
import {formatIp, parseCidrOrIp, parseIp} from '../resources/cidr.js'
import {
  makePeer,
  profileIndex,
  referencedProfiles,
  type Labels,
  type Peer,
  type ProfileInfo,
} from './endpoints.js'
import {compileRule, policySelector, type CompiledRule, type PolicySelector} from './match.js'

export const POLICY_KINDS = ['NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy'] as const
export type PolicyKind = (typeof POLICY_KINDS)[number]

export const DEFAULT_TIER = 'default'
/** api/pkg/apis/projectcalico/v3/tier.go: the default tier's order, fixed by validation. */
export const DEFAULT_TIER_ORDER = 1_000_000

export interface PolicyEntry {
  kind: PolicyKind
  name: string
  namespace?: string
  tier: string
  /** spec.order; undefined is "infinite" (applied last). */
  order?: number
  staged: boolean
  /** After Calico's defaulting of an empty spec.types. */
  ingress: boolean
  egress: boolean
  /** Host-endpoint-only chains that are not the normal filter chain. */
  doNotTrack: boolean
  preDNAT: boolean
  applyOnForward: boolean
  selector: PolicySelector
  ingressRules: CompiledRule[]
  egressRules: CompiledRule[]
  resource: Resource
}

export interface TierEntry {
  name: string
  order?: number
  /** A Tier object exists (or it is the implicit default tier); Felix sorts invalid tiers last. */
  valid: boolean
  defaultAction: 'Deny' | 'Pass'
  /** Policy order, then name (Felix's PolKVLess), staged ones included. */
  policies: PolicyEntry[]
}

export interface CompiledProfile extends ProfileInfo {
  ingressRules: CompiledRule[]
  egressRules: CompiledRule[]
}

export interface World {
  tiers: TierEntry[]
  policies: PolicyEntry[]
  /** Every WEP, HEP and network set, in input order (made on first use: one flow needs only a few). */
  readonly peers: Peer[]
  /** WEPs and HEPs by "<family>:<address>" (made on first use). */
  readonly endpointsByAddress: Map<string, Peer[]>
  /** The WEPs and HEPs named `name`, in input order; makes only those peers. */
  endpointsNamed(name: string): Peer[]
  /** The WEPs and HEPs owning an address, in input order; makes only those peers. */
  endpointsAt(family: 4 | 6, value: bigint): Peer[]
  networkSets: Peer[]
  profiles: Map<string, CompiledProfile>
  /** Objects that could not be used (bad selector, unknown action, ...), and why. */
  warnings: string[]
}

export interface WorldInput {
  resources: Resource[]
  /** Namespace name → its labels (what the kns.<ns> profiles carry as pcns.<key>). */
  namespaces?: Record<string, Labels>
}

export const addressKey = (family: 4 | 6, value: bigint) => `${family}:${value}`

const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {})

/**
 * The v3 defaulting of an empty types list (api/pkg/defaults/networkpolicy.go): no egress rules →
 * Ingress (even with no rules at all); egress but no ingress rules → Egress; both → both.
 */
export function defaultTypes(spec: Record<string, unknown>): {ingress: boolean; egress: boolean} {
  const types = Array.isArray(spec.types) ? spec.types.map((t) => String(t).toLowerCase()) : []
  if (types.length > 0) return {ingress: types.includes('ingress'), egress: types.includes('egress')}
  const ingressRules = Array.isArray(spec.ingress) ? spec.ingress.length : 0
  const egressRules = Array.isArray(spec.egress) ? spec.egress.length : 0
  if (egressRules === 0) return {ingress: true, egress: false}
  if (ingressRules === 0) return {ingress: false, egress: true}
  return {ingress: true, egress: true}
}

/** Felix's PolKVLess: order (nil = +Inf), then "<name>/<namespace>/<kind>" compared bytewise. */
export function comparePolicies(a: PolicyEntry, b: PolicyEntry): number {
  const ao = a.order ?? Infinity
  const bo = b.order ?? Infinity
  if (ao !== bo) return ao < bo ? -1 : 1
  const ak = `${a.name}/${a.namespace ?? ''}/${a.kind}`
  const bk = `${b.name}/${b.namespace ?? ''}/${b.kind}`
  return ak < bk ? -1 : ak > bk ? 1 : 0
}

/** Felix's TierLess: valid before invalid, then order (nil last), then name. */
export function compareTiers(a: TierEntry, b: TierEntry): number {
  if (a.valid !== b.valid) return a.valid ? -1 : 1
  if ((a.order === undefined) !== (b.order === undefined)) return a.order === undefined ? 1 : -1
  if (a.order !== undefined && b.order !== undefined && a.order !== b.order) return a.order < b.order ? -1 : 1
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

function compileRules(value: unknown, namespace: string | undefined): CompiledRule[] {
  return (Array.isArray(value) ? value : []).map((rule, i) => compileRule(rule, i, namespace))
}

function describe(r: Resource): string {
  return `${r.kind} ${r.metadata?.namespace ? `${r.metadata.namespace}/` : ''}${r.metadata?.name ?? '(no name)'}`
}

function compilePolicy(r: Resource): PolicyEntry | undefined {
  const spec = record(r.spec)
  const kind = r.kind as PolicyKind
  const staged = kind.startsWith('Staged')
  // A staged Delete never reaches Felix (stagednetworkpolicyprocessor.go returns nil for it).
  if (staged && spec.stagedAction === 'Delete') return undefined
  const namespaced = kind === 'NetworkPolicy' || kind === 'StagedNetworkPolicy'
  const namespace = namespaced ? (r.metadata.namespace ?? 'default') : undefined
  const types = defaultTypes(spec)
  return {
    kind,
    name: r.metadata.name,
    namespace,
    tier: typeof spec.tier === 'string' && spec.tier !== '' ? spec.tier : DEFAULT_TIER,
    order: typeof spec.order === 'number' ? spec.order : undefined,
    staged,
    ingress: types.ingress,
    egress: types.egress,
    doNotTrack: spec.doNotTrack === true,
    preDNAT: spec.preDNAT === true,
    applyOnForward: spec.applyOnForward === true,
    selector: policySelector(spec, namespace),
    ingressRules: compileRules(spec.ingress, namespace),
    egressRules: compileRules(spec.egress, namespace),
    resource: r,
  }
}

/** Index a set of Calico v3 objects. Objects Felix would never see are left out with a warning. */
export function buildWorld(input: WorldInput): World {
  if (!input || !Array.isArray(input.resources)) throw new NetctlError('usage', 'the policy world needs a list of resources', 'pass {resources: [...], namespaces: {...}}')
  const warnings: string[] = []
  const resources = input.resources.filter((r) => {
    const ok = r && typeof r === 'object' && typeof r.kind === 'string' && typeof r.metadata?.name === 'string'
    if (!ok) warnings.push(`skipped an object without kind or metadata.name: ${JSON.stringify(r).slice(0, 80)}`)
    return ok
  })
  const namespaces: Record<string, Labels> = {...(input.namespaces ?? {})}
  for (const r of resources) {
    if (r.kind === 'Namespace') namespaces[r.metadata.name] = {...(r.metadata.labels ?? {})}
  }
  const profileInfos = profileIndex(resources.filter((r) => r.kind === 'Profile'), namespaces, referencedProfiles(resources))
  const profiles = new Map<string, CompiledProfile>()
  for (const info of profileInfos.values()) {
    try {
      profiles.set(info.name, {...info, ingressRules: compileRules(info.ingress, undefined), egressRules: compileRules(info.egress, undefined)})
    } catch (error) {
      warnings.push(`Profile ${info.name}: ${(error as Error).message}; its rules are left out`)
      profiles.set(info.name, {...info, ingressRules: [], egressRules: []})
    }
  }

  // Peers are made lazily and memoised per resource, so every view (all peers, by name, by
  // address) hands out the same objects, and a flow between two endpoints of a 10,000-endpoint
  // world makes a handful of them instead of all.
  const peerOf = new Map<Resource, Peer | undefined>()
  const profileInfo = (name: string) => profileInfos.get(name)
  const peer = (r: Resource): Peer | undefined => {
    if (peerOf.has(r)) return peerOf.get(r)
    const made = makePeer(r, profileInfo)
    peerOf.set(r, made)
    return made
  }
  const endpointResources = resources.filter((r) => r.kind === 'WorkloadEndpoint' || r.kind === 'HostEndpoint')
  const networkSets = resources.filter((r) => r.kind === 'NetworkSet' || r.kind === 'GlobalNetworkSet').map((r) => peer(r)!)
  let allPeers: Peer[] | undefined
  let byAddress: Map<string, Peer[]> | undefined
  // An endpoint's addresses as makePeer reads them (a repeated address counts twice, as the eager index listed it).
  const addressTexts = (r: Resource): unknown[] => {
    const texts = record(r.spec)[r.kind === 'WorkloadEndpoint' ? 'ipNetworks' : 'expectedIPs']
    return Array.isArray(texts) ? texts : []
  }
  const parseAddress = (text: unknown) => {
    if (typeof text !== 'string') return undefined
    const cidr = text.includes('/') ? parseCidrOrIp(text) : undefined
    return cidr ? {family: cidr.family, value: cidr.address} : parseIp(text)
  }
  /**
   * The endpoints at one address without parsing every endpoint's: an IPv4 address has one text
   * (parseIp refuses leading zeros), so an index by the text before the "/" finds the only
   * candidates, parsed to be sure; IPv6 texts (with a colon) are parsed on the first IPv6 question.
   */
  let byText: Map<string, Array<{r: Resource; text: string}>> | undefined
  let byIpv6: Map<bigint, Resource[]> | undefined
  const endpointsAt = (family: 4 | 6, value: bigint): Peer[] => {
    if (!byText) {
      byText = new Map()
      for (const r of endpointResources) {
        for (const text of addressTexts(r)) {
          if (typeof text !== 'string' || text.includes(':')) continue
          const key = text.split('/', 1)[0]!
          const list = byText.get(key)
          if (list) list.push({r, text})
          else byText.set(key, [{r, text}])
        }
      }
    }
    if (family === 4) {
      return (byText.get(formatIp(4, value)) ?? []).filter(({text}) => {
        const ip = parseAddress(text)
        return ip !== undefined && ip.family === 4 && ip.value === value
      }).map(({r}) => peer(r)!)
    }
    if (!byIpv6) {
      byIpv6 = new Map()
      for (const r of endpointResources) {
        for (const text of addressTexts(r)) {
          if (typeof text !== 'string' || !text.includes(':')) continue
          const ip = parseAddress(text)
          if (ip?.family !== 6) continue
          const list = byIpv6.get(ip.value)
          if (list) list.push(r)
          else byIpv6.set(ip.value, [r])
        }
      }
    }
    return (byIpv6.get(value) ?? []).map((r) => peer(r)!)
  }

  const tiers = new Map<string, TierEntry>()
  for (const r of resources) {
    if (r.kind !== 'Tier') continue
    const spec = record(r.spec)
    tiers.set(r.metadata.name, {
      name: r.metadata.name,
      order: typeof spec.order === 'number' ? spec.order : undefined,
      valid: true,
      defaultAction: spec.defaultAction === 'Pass' ? 'Pass' : 'Deny',
      policies: [],
    })
  }
  // Calico always creates the default tier; a world read from files may not list it.
  if (!tiers.has(DEFAULT_TIER)) tiers.set(DEFAULT_TIER, {name: DEFAULT_TIER, order: DEFAULT_TIER_ORDER, valid: true, defaultAction: 'Deny', policies: []})

  const policies: PolicyEntry[] = []
  for (const r of resources) {
    if (!(POLICY_KINDS as readonly string[]).includes(r.kind)) continue
    let entry: PolicyEntry | undefined
    try {
      entry = compilePolicy(r)
    } catch (error) {
      warnings.push(`${describe(r)} is left out: ${(error as Error).message}`)
      continue
    }
    if (!entry) {
      warnings.push(`${describe(r)} has stagedAction Delete: Felix never sees it`)
      continue
    }
    let tier = tiers.get(entry.tier)
    if (!tier) {
      // Felix keeps policies of a tier it has no Tier object for, sorted after every valid tier.
      warnings.push(`${describe(r)} is in tier ${entry.tier}, which has no Tier object: applied after every other tier`)
      tier = {name: entry.tier, valid: false, defaultAction: 'Deny', policies: []}
      tiers.set(entry.tier, tier)
    }
    tier.policies.push(entry)
    policies.push(entry)
  }
  for (const tier of tiers.values()) tier.policies.sort(comparePolicies)
  return {
    tiers: [...tiers.values()].sort(compareTiers),
    policies,
    get peers() {
      allPeers ??= resources.map(peer).filter((p): p is Peer => p !== undefined)
      return allPeers
    },
    get endpointsByAddress() {
      if (!byAddress) {
        byAddress = new Map()
        for (const r of endpointResources) {
          for (const text of addressTexts(r)) {
            const ip = parseAddress(text)
            if (!ip) continue
            const key = addressKey(ip.family, ip.value)
            const list = byAddress.get(key)
            if (list) list.push(peer(r)!)
            else byAddress.set(key, [peer(r)!])
          }
        }
      }
      return byAddress
    },
    endpointsNamed: (name) => endpointResources.filter((r) => r.metadata.name === name).map((r) => peer(r)!),
    endpointsAt,
    networkSets,
    profiles,
    warnings,
  }
}
