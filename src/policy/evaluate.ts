/**
 * Which policies apply to an endpoint, what a policy selects, and whether a flow is allowed,
 * with Felix's semantics (felix/rules/endpoints.go endpointIptablesChain, the same walk as
 * app-policy/checker/check.go checkTiers):
 *
 * For the endpoint and direction, tiers in order; in each tier only the policies that select the
 * endpoint and govern the direction. A tier none of whose applicable policies is enforced (none,
 * or only staged ones) is skipped entirely. Otherwise its policies' rules are tried in order: the
 * first matching Allow allows, Deny denies, Pass leaves the tier (next tier), Log goes on. When no
 * rule decided, the tier's defaultAction applies: Deny (the end-of-tier drop) or Pass.
 * After the last tier — reached when every tier was skipped or passed, so also after a Pass in the
 * last tier, not only when no policy applied — the endpoint's profiles are tried in order: Allow
 * allows, Deny denies, Pass skips the rest of that profile (the iptables profile chain only
 * returns on the accept mark), and when no profile allowed (or there is none) the packet is dropped.
 * Staged policies never enforce; the "staged" view evaluates them as if enforced
 * (checker.StagedAsEnforced), which is what Calico reports as the pending action.
 *
 * Host endpoints, as Felix's iptables/nftables chains treat them (rules/static.go, the same model
 * src/policy/nft.ts renders): the host's own traffic through a HEP meets the failsafe ports
 * first, then doNotTrack (stateless: the reply needs its own untracked Allow) and preDNAT policy
 * (ingress), then normal policy and profiles; a workload's traffic to its own node meets its
 * egress policy and DefaultEndpointToHostAction, never HEP policy; the host's traffic to its own
 * workloads is not policed; a forwarded flow meets the applyOnForward (and preDNAT, doNotTrack)
 * policy of the host endpoints of the interfaces it crosses (`forwarded` in the verdict), where
 * a node's interface is its HEP of that interface (the tunnel device when the pool encapsulates)
 * or its all-interfaces HEP. FelixConfiguration and the tunnel come in HostOptions
 * (hostOptionsFrom reads them from a datastore's objects).
 */
import {NetctlError} from '../errors.js'
import {containsIp, formatCidr, parseCidrOrIp, parseIp} from '../resources/cidr.js'
import type {Resource} from '../resources/types.js'
import {protocolNumber, type Labels, type Peer} from './endpoints.js'
import {matchRule, type CompiledEntity, type CompiledRule, type MatchNotes, type Packet} from './match.js'
import {type PolicyEntry, type TierEntry, type World} from './world.js'

export type Direction = 'ingress' | 'egress'

export interface EndpointRef {
  kind?: 'WorkloadEndpoint' | 'HostEndpoint'
  name: string
  namespace?: string
}

export interface PolicyRef {
  kind: string
  name: string
  namespace?: string
}

const peerRef = (p: Peer) => ({kind: p.kind, name: p.name, ...(p.namespace !== undefined ? {namespace: p.namespace} : {})})
const policyRef = (p: PolicyEntry) => ({kind: p.kind, name: p.name, ...(p.namespace !== undefined ? {namespace: p.namespace} : {})})
const showRef = (r: {kind?: string; name: string; namespace?: string}) => `${r.kind ?? 'endpoint'} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`

/** The WEP or HEP a reference names (or the peer itself when given a resource of the world). */
export function findEndpoint(world: World, ref: EndpointRef | Resource): Peer {
  const name = 'metadata' in ref ? (ref as Resource).metadata.name : ref.name
  const namespace = 'metadata' in ref ? (ref as Resource).metadata.namespace : ref.namespace
  const kind = ref.kind
  const found = world.endpointsNamed(name).filter((p) => (kind === undefined || p.kind === kind) && (namespace === undefined || p.kind === 'HostEndpoint' || p.namespace === namespace))
  const shown = showRef({kind, name, namespace})
  if (found.length === 0) throw new NetctlError('not-found', `no ${shown} in the policy world`, 'name a WorkloadEndpoint or HostEndpoint of the world (with its namespace)')
  if (found.length > 1) throw new NetctlError('usage', `${shown} is ambiguous: ${found.map((p) => showRef(p)).join(', ')}`, 'give the kind and the namespace')
  return found[0]!
}

/** Whether a policy selects the peer (its selector and, for namespaced policies, its namespace). */
export const policySelects = (policy: PolicyEntry, peer: Peer): boolean =>
  (peer.kind === 'WorkloadEndpoint' || peer.kind === 'HostEndpoint') && policy.selector.test(peer)

/** The policy's rules for a direction, when it governs it. */
const rulesFor = (policy: PolicyEntry, direction: Direction) => (direction === 'ingress' ? (policy.ingress ? policy.ingressRules : undefined) : policy.egress ? policy.egressRules : undefined)

/** Policies in the normal filter chain: doNotTrack and preDNAT ones live in raw/mangle (HEP only). */
const inNormalChain = (p: PolicyEntry) => !p.doNotTrack && !p.preDNAT

// ---------------------------------------------------------------- explain

export interface ExplainedPolicy {
  kind: string
  name: string
  namespace?: string
  order?: number
  staged: boolean
  /** "normal", or the host-endpoint chain it is in instead (not evaluated for flows). */
  chain: 'normal' | 'untracked' | 'preDNAT'
  rules: Array<{index: number; action: string; text: string}>
}

export interface ExplainedTier {
  tier: string
  order?: number
  valid: boolean
  defaultAction: 'Deny' | 'Pass'
  policies: ExplainedPolicy[]
  /** Whether packets reaching this tier can be dropped at its end (an enforced policy applies). */
  endOfTierDrop: boolean
}

export interface Explanation {
  endpoint: {kind: string; name: string; namespace?: string; labels: Labels; addresses: string[]; profiles: string[]}
  ingress: {tiers: ExplainedTier[]; profiles: Array<{name: string; synthesized: boolean; found: boolean; rules: Array<{index: number; action: string; text: string}>}>}
  egress: {tiers: ExplainedTier[]; profiles: Array<{name: string; synthesized: boolean; found: boolean; rules: Array<{index: number; action: string; text: string}>}>}
}

const ruleList = (rules: CompiledRule[]) => rules.map((r) => ({index: r.index, action: r.action, text: r.text}))

/** Per direction, the tiers and policies that apply to an endpoint, in evaluation order, then its profiles. */
export function explain(endpoint: EndpointRef | Resource, world: World): Explanation {
  const peer = findEndpoint(world, endpoint)
  const side = (direction: Direction) => {
    const tiers: ExplainedTier[] = []
    for (const tier of world.tiers) {
      const policies = tier.policies.filter((p) => rulesFor(p, direction) && policySelects(p, peer))
      if (policies.length === 0) continue
      tiers.push({
        tier: tier.name,
        order: tier.order,
        valid: tier.valid,
        defaultAction: tier.defaultAction,
        endOfTierDrop: tier.defaultAction === 'Deny' && policies.some((p) => !p.staged && inNormalChain(p)),
        policies: policies.map((p) => ({
          ...policyRef(p),
          order: p.order,
          staged: p.staged,
          chain: p.doNotTrack ? 'untracked' : p.preDNAT ? 'preDNAT' : 'normal',
          rules: ruleList(rulesFor(p, direction)!),
        })),
      })
    }
    const profiles = peer.profiles.map((name) => {
      const profile = world.profiles.get(name)
      return {name, synthesized: profile?.synthesized ?? false, found: profile !== undefined, rules: ruleList(profile ? (direction === 'ingress' ? profile.ingressRules : profile.egressRules) : [])}
    })
    return {tiers, profiles}
  }
  return {
    endpoint: {...peerRef(peer), labels: peer.labels, addresses: peer.addresses.map((a) => a.text), profiles: peer.profiles},
    ingress: side('ingress'),
    egress: side('egress'),
  }
}

// ---------------------------------------------------------------- selects

export interface SelectedSide {
  /** How Calico would write the positive selector (pcns:/pcsa: mark prefixed parts). */
  selector?: string
  notSelector?: string
  nets: string[]
  notNets: string[]
  /** What the positive selector selects (everything when there is none). */
  endpoints: Array<{kind: string; name: string; namespace?: string}>
  networkSets: Array<{kind: string; name: string; namespace?: string}>
  /** What notSelector (when on its own) excludes. */
  excluded: Array<{kind: string; name: string; namespace?: string}>
  /** No selector at all: any address (subject to nets). */
  any: boolean
}

export interface Selection {
  policy: {kind: string; name: string; namespace?: string; tier: string; order?: number; staged: boolean; types: Direction[]}
  selector: string
  workloadEndpoints: Array<{name: string; namespace?: string}>
  hostEndpoints: Array<{name: string}>
  ingress: Array<{index: number; action: string; text: string; source: SelectedSide; destination: SelectedSide}>
  egress: Array<{index: number; action: string; text: string; source: SelectedSide; destination: SelectedSide}>
}

export function findPolicy(world: World, ref: PolicyRef | Resource): PolicyEntry {
  const name = 'metadata' in ref ? (ref as Resource).metadata.name : ref.name
  const namespace = 'metadata' in ref ? (ref as Resource).metadata.namespace : ref.namespace
  const found = world.policies.filter((p) => p.kind === ref.kind && p.name === name && (p.namespace === undefined || namespace === undefined || p.namespace === namespace))
  const shown = showRef({kind: ref.kind, name, namespace})
  if (found.length === 0) throw new NetctlError('not-found', `no ${shown} in the policy world`, 'name a policy of the world by kind, name (and namespace)')
  if (found.length > 1) throw new NetctlError('usage', `${shown} is ambiguous: ${found.map((p) => showRef(p)).join(', ')}`, 'give the namespace')
  return found[0]!
}

function selectedSide(entity: CompiledEntity, world: World): SelectedSide {
  const endpoints: Peer[] = []
  const sets: Peer[] = []
  const excluded: Peer[] = []
  for (const p of world.peers) {
    if (entity.positive && !entity.positive(p)) continue
    if (entity.negative && entity.negative(p)) {
      excluded.push(p)
      continue
    }
    if (!entity.positive && !entity.negative) continue
    ;(p.kind === 'NetworkSet' || p.kind === 'GlobalNetworkSet' ? sets : endpoints).push(p)
  }
  return {
    selector: entity.positiveText,
    notSelector: entity.negativeText,
    nets: entity.nets.map(formatCidr),
    notNets: entity.notNets.map(formatCidr),
    endpoints: endpoints.map(peerRef),
    networkSets: sets.map(peerRef),
    excluded: excluded.map(peerRef),
    any: !entity.positive && !entity.negative,
  }
}

/** What a policy applies to, and what each rule's source and destination select. */
export function selects(policy: PolicyRef | Resource, world: World): Selection {
  const p = findPolicy(world, policy)
  const selected = world.peers.filter((peer) => policySelects(p, peer))
  const rules = (list: CompiledRule[]) => list.map((r) => ({index: r.index, action: r.action, text: r.text, source: selectedSide(r.source, world), destination: selectedSide(r.destination, world)}))
  return {
    policy: {...policyRef(p), tier: p.tier, order: p.order, staged: p.staged, types: [...(p.ingress ? ['ingress' as const] : []), ...(p.egress ? ['egress' as const] : [])]},
    selector: p.selector.text,
    workloadEndpoints: selected.filter((s) => s.kind === 'WorkloadEndpoint').map((s) => ({name: s.name, namespace: s.namespace})),
    hostEndpoints: selected.filter((s) => s.kind === 'HostEndpoint').map((s) => ({name: s.name})),
    ingress: p.ingress ? rules(p.ingressRules) : [],
    egress: p.egress ? rules(p.egressRules) : [],
  }
}

// ---------------------------------------------------------------- evaluate

/** One end of a flow: an endpoint of the world (optionally which of its addresses), or an address. */
export type FlowEnd = string | (EndpointRef & {ip?: string})

export interface Flow {
  from: FlowEnd
  to: FlowEnd
  /** TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number. */
  protocol: string | number
  /** Destination port (TCP/UDP/SCTP/UDPLite). */
  port?: number
  /** Source port; rules on source ports do not match a flow without one. */
  srcPort?: number
  /** ICMP type and code; default echo request (8, or 128 for ICMPv6), code 0. */
  icmp?: {type?: number; code?: number}
  ipVersion?: 4 | 6
}

export type DecidedBy = 'rule' | 'end-of-tier' | 'profile' | 'no-profile-allowed' | 'no-profiles' | 'not-an-endpoint' | 'failsafe-port' | 'default-endpoint-to-host-action' | 'host-to-local-workload' | 'untracked-reply'

export interface TraceStep {
  tier?: string
  policy?: {kind: string; name: string; namespace?: string}
  profile?: string
  staged?: boolean
  /** What this policy/profile/tier did with the packet. */
  outcome: 'allow' | 'deny' | 'pass' | 'no-match' | 'end-of-tier-deny' | 'end-of-tier-pass' | 'skipped-staged-only'
  ruleIndex?: number
  rule?: string
  /** Log rules that matched on the way. */
  logged?: number[]
}

export interface Decision {
  verdict: 'allow' | 'deny'
  decidedBy: DecidedBy
  tier?: string
  policy?: {kind: string; name: string; namespace?: string}
  profile?: string
  ruleIndex?: number
  action?: string
  rule?: string
  trace: TraceStep[]
  notes: string[]
}

export interface DirectionResult extends Decision {
  endpoint?: {kind: string; name: string; namespace?: string}
  /** The same walk with staged policies enforced (Calico's "pending" verdict). */
  staged: Decision
  /** Each applicable staged policy on its own: its first matching rule, or no match. */
  stagedPolicies: Array<{tier: string; policy: {kind: string; name: string; namespace?: string}; outcome: 'allow' | 'deny' | 'pass' | 'no-match'; ruleIndex?: number; rule?: string}>
}

/** A host endpoint's forward policy (applyOnForward) or preDNAT policy met by a flow forwarded through its node. */
export interface HostEndpointStep extends Decision {
  endpoint: {kind: string; name: string}
  node: string
  /** forward: applyOnForward policy (ingress = in by this interface, egress = out by it); preDNAT: before routing; untracked: doNotTrack, in raw. */
  stage: 'forward' | 'preDNAT' | 'untracked'
  direction: Direction
}

export interface FlowVerdict {
  allowed: boolean
  /** Allowed if staged policies were enforced. */
  stagedAllowed: boolean
  packet: {ipVersion: 4 | 6; source: string; destination: string; protocol: number; port?: number; srcPort?: number; icmp?: {type?: number; code?: number}}
  egress: DirectionResult
  ingress: DirectionResult
  /** Host endpoints the flow is forwarded through (their applyOnForward and preDNAT policy), in the order it meets them. */
  forwarded: HostEndpointStep[]
  notes: string[]
}

/** What Felix on a node reads from FelixConfiguration for host endpoints; Felix's defaults (and the manifest's Accept) when absent. */
export interface FelixHostSettings {
  endpointToHostAction?: 'Drop' | 'Accept' | 'Return'
  failsafeInbound?: readonly ProtoPort[]
  failsafeOutbound?: readonly ProtoPort[]
}

export interface HostOptions extends FelixHostSettings {
  /** Per node, over the settings above: its FelixConfiguration (node.<name> over default, see felixHostSettings). */
  felix?: (node: string) => FelixHostSettings
  /**
   * The tunnel device pod traffic between two nodes crosses (tunl0, vxlan.calico), or undefined
   * when it is routed unencapsulated by the node's address interface. Unknown: unencapsulated.
   */
  tunnel?: (node: string, peerNode: string) => string | undefined
}

const recordOf = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {})

/** A node's FelixConfiguration settings for host endpoints: node.<name> over "default", field by field. */
export function felixHostSettings(configs: readonly Resource[], node: string): FelixHostSettings {
  const spec = (name: string) => recordOf(configs.find((c) => c.kind === 'FelixConfiguration' && c.metadata.name === name)?.spec)
  const layered = {...spec('default'), ...spec(`node.${node}`)}
  const ports = (value: unknown): ProtoPort[] | undefined => (Array.isArray(value) ? value.map(recordOf).map((v) => ({protocol: typeof v.protocol === 'string' ? v.protocol : 'TCP', port: Number(v.port), ...(typeof v.net === 'string' ? {net: v.net} : {})})) : undefined)
  const action = layered.defaultEndpointToHostAction
  const inbound = ports(layered.failsafeInboundHostPorts)
  const outbound = ports(layered.failsafeOutboundHostPorts)
  return {
    ...(action === 'Drop' || action === 'Accept' || action === 'Return' ? {endpointToHostAction: action} : {}),
    ...(inbound ? {failsafeInbound: inbound} : {}),
    ...(outbound ? {failsafeOutbound: outbound} : {}),
  }
}

/**
 * Host options from a datastore's FelixConfigurations, IPPools and Nodes: per-node Felix settings,
 * and which tunnel pod traffic between two nodes crosses (the first enabled IPv4 pool's vxlanMode,
 * then ipipMode: Always, or CrossSubnet between nodes whose BGP addresses are in different subnets).
 */
export function hostOptionsFrom(resources: {felixConfigurations?: readonly Resource[]; pools?: readonly Resource[]; nodes?: readonly Resource[]}): HostOptions {
  const configs = resources.felixConfigurations ?? []
  const pool = (resources.pools ?? []).map((p) => recordOf(p.spec)).find((spec) => spec.disabled !== true && typeof spec.cidr === 'string' && !spec.cidr.includes(':'))
  const subnetOf = (node: string) => {
    const address = recordOf(recordOf((resources.nodes ?? []).find((n) => n.metadata.name === node)?.spec).bgp).ipv4Address
    const cidr = typeof address === 'string' ? parseCidrOrIp(address) : undefined
    return cidr ? `${cidr.network}/${cidr.prefix}` : undefined
  }
  const on = (mode: unknown, node: string, peerNode: string) => mode === 'Always' || (mode === 'CrossSubnet' && subnetOf(node) !== subnetOf(peerNode))
  return {
    felix: (node) => felixHostSettings(configs, node),
    tunnel: (node, peerNode) => (!pool ? undefined : on(pool.vxlanMode, node, peerNode) ? 'vxlan.calico' : on(pool.ipipMode, node, peerNode) ? 'tunl0' : undefined),
  }
}

export interface ProtoPort {
  protocol?: string
  port: number
  net?: string
}

const protoPorts = (text: string): ProtoPort[] => text.split(',').map((t) => ({protocol: t.split(':')[0]!.toUpperCase(), port: Number(t.split(':')[1])}))
/** Felix's FailsafeInboundHostPorts / FailsafeOutboundHostPorts defaults (felix/config/config_params.go). */
export const FAILSAFE_INBOUND: readonly ProtoPort[] = protoPorts('tcp:22,udp:68,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667')
export const FAILSAFE_OUTBOUND: readonly ProtoPort[] = protoPorts('udp:53,udp:67,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667')

/**
 * Felix's own default is Drop (config_params.go), but the calico-node manifests set
 * FELIX_DEFAULTENDPOINTTOHOSTACTION=ACCEPT (manifests/calico.yaml), so pods can reach their
 * node (kubelet, host-networked services): Accept, unless a FelixConfiguration says otherwise.
 */
export const DEFAULT_ENDPOINT_TO_HOST_ACTION = 'Accept' as const

interface ResolvedEnd {
  peer?: Peer
  address?: {family: 4 | 6; value: bigint; text: string}
  explicit?: {family: 4 | 6; value: bigint; text: string}
  note?: string
}

function resolveEnd(world: World, end: FlowEnd, which: string): ResolvedEnd {
  if (typeof end === 'string') {
    const ip = parseIp(end)
    if (!ip) throw new NetctlError('usage', `the flow's ${which} ${JSON.stringify(end)} is neither an endpoint nor an IP address`, 'give an IP address or {kind, name, namespace}')
    const owners = world.endpointsAt(ip.family, ip.value)
    const address = {family: ip.family, value: ip.value, text: end}
    if (owners.length === 1) return {peer: owners[0], explicit: address, note: `${which} ${end} is ${showRef(owners[0]!)}`}
    if (owners.length > 1) return {explicit: address, note: `${which} ${end} belongs to several endpoints (${owners.map((o) => showRef(o)).join(', ')}): treated as a bare address`}
    return {explicit: address}
  }
  const peer = findEndpoint(world, end)
  if (end.ip !== undefined) {
    const ip = parseIp(end.ip)
    const own = ip && peer.addresses.find((a) => a.family === ip.family && a.value === ip.value)
    if (!own) throw new NetctlError('usage', `${showRef(peer)} has no address ${end.ip}`, `use one of: ${peer.addresses.map((a) => a.text).join(', ') || '(none)'}`)
    return {peer, explicit: own}
  }
  return {peer}
}

function pickFamily(flow: Flow, from: ResolvedEnd, to: ResolvedEnd): 4 | 6 {
  const fixed = [from.explicit?.family, to.explicit?.family, flow.ipVersion].filter((f): f is 4 | 6 => f !== undefined)
  if (fixed.length > 0) {
    if (fixed.some((f) => f !== fixed[0])) throw new NetctlError('usage', "the flow's addresses and ipVersion are of different IP versions", 'use IPv4 or IPv6 on both ends')
    return fixed[0]!
  }
  const has = (e: ResolvedEnd, f: 4 | 6) => e.peer!.addresses.some((a) => a.family === f)
  if (has(from, 4) && has(to, 4)) return 4
  if (has(from, 6) && has(to, 6)) return 6
  throw new NetctlError('usage', `${showRef(from.peer!)} and ${showRef(to.peer!)} share no IP version`, 'give the addresses to use')
}

function addressOf(end: ResolvedEnd, family: 4 | 6, which: string) {
  if (end.explicit) return end.explicit
  const found = end.peer!.addresses.find((a) => a.family === family)
  if (!found) throw new NetctlError('usage', `the flow's ${which} ${showRef(end.peer!)} has no IPv${family} address`, 'give an address of the other IP version, or set ipVersion')
  return found
}

/** Who is at an address, as IP sets see it: endpoints owning it, network sets containing it. */
function peersAt(world: World, family: 4 | 6, value: bigint): Peer[] {
  const owners = world.endpointsAt(family, value)
  const sets = world.networkSets.filter((s) => s.nets.some((n) => containsIp(n, family, value)))
  return [...owners, ...sets]
}

interface RulesOutcome {
  outcome: 'allow' | 'deny' | 'pass' | 'no-match'
  rule?: CompiledRule
  logged: number[]
}

function runRules(rules: CompiledRule[], packet: Packet, notes: MatchNotes): RulesOutcome {
  const logged: number[] = []
  for (const rule of rules) {
    if (!matchRule(rule, packet, notes)) continue
    if (rule.action === 'Log') {
      logged.push(rule.index)
      continue
    }
    return {outcome: rule.action === 'Allow' ? 'allow' : rule.action === 'Deny' ? 'deny' : 'pass', rule, logged}
  }
  return {outcome: 'no-match', logged}
}

const applicableCache = new WeakMap<Peer, Partial<Record<Direction, Array<{tier: TierEntry; policies: PolicyEntry[]}>>>>()
/** Per tier, the normal-chain policies (staged included) that apply to the peer in a direction; memoised per peer. */
function applicableTiers(world: World, peer: Peer, direction: Direction): Array<{tier: TierEntry; policies: PolicyEntry[]}> {
  let byDirection = applicableCache.get(peer)
  if (!byDirection) applicableCache.set(peer, (byDirection = {}))
  let tiers = byDirection[direction]
  if (!tiers) {
    tiers = world.tiers.map((tier) => ({tier, policies: tier.policies.filter((p) => inNormalChain(p) && rulesFor(p, direction) && policySelects(p, peer))})).filter((t) => t.policies.length > 0)
    byDirection[direction] = tiers
  }
  return tiers
}

/** The tier walk and profiles for one endpoint and direction; `withStaged` enforces staged policies. */
function decide(world: World, peer: Peer, direction: Direction, packet: Packet, withStaged: boolean): Decision {
  const trace: TraceStep[] = []
  const notes: MatchNotes = {notes: []}
  const finish = (d: Omit<Decision, 'trace' | 'notes'>): Decision => ({...d, trace, notes: [...new Set(notes.notes)]})
  for (const {tier, policies: applicable} of applicableTiers(world, peer, direction)) {
    const inScope = applicable.filter((p) => withStaged || !p.staged)
    if (inScope.length === 0) {
      if (applicable.length > 0) trace.push({tier: tier.name, outcome: 'skipped-staged-only'})
      continue
    }
    let passed = false
    for (const policy of inScope) {
      const result = runRules(rulesFor(policy, direction)!, packet, notes)
      const step: TraceStep = {tier: tier.name, policy: policyRef(policy), staged: policy.staged, outcome: result.outcome}
      if (result.rule) Object.assign(step, {ruleIndex: result.rule.index, rule: result.rule.text})
      if (result.logged.length > 0) step.logged = result.logged
      trace.push(step)
      if (result.outcome === 'allow' || result.outcome === 'deny') {
        return finish({verdict: result.outcome, decidedBy: 'rule', tier: tier.name, policy: policyRef(policy), ruleIndex: result.rule!.index, action: result.rule!.action, rule: result.rule!.text})
      }
      if (result.outcome === 'pass') {
        passed = true
        break
      }
    }
    if (passed) continue
    if (tier.defaultAction === 'Pass') {
      trace.push({tier: tier.name, outcome: 'end-of-tier-pass'})
      continue
    }
    trace.push({tier: tier.name, outcome: 'end-of-tier-deny'})
    return finish({verdict: 'deny', decidedBy: 'end-of-tier', tier: tier.name})
  }
  if (peer.profiles.length === 0) return finish({verdict: 'deny', decidedBy: 'no-profiles'})
  for (const name of peer.profiles) {
    const profile = world.profiles.get(name)
    if (!profile) {
      notes.notes.push(`profile ${name} is not in the world: taken as having no rules`)
      trace.push({profile: name, outcome: 'no-match'})
      continue
    }
    const result = runRules(direction === 'ingress' ? profile.ingressRules : profile.egressRules, packet, notes)
    const step: TraceStep = {profile: name, outcome: result.outcome}
    if (result.rule) Object.assign(step, {ruleIndex: result.rule.index, rule: result.rule.text})
    if (result.logged.length > 0) step.logged = result.logged
    trace.push(step)
    if (result.outcome === 'allow' || result.outcome === 'deny') {
      return finish({verdict: result.outcome, decidedBy: 'profile', profile: name, ruleIndex: result.rule!.index, action: result.rule!.action, rule: result.rule!.text})
    }
  }
  return finish({verdict: 'deny', decidedBy: 'no-profile-allowed'})
}

function stagedAlone(world: World, peer: Peer, direction: Direction, packet: Packet): DirectionResult['stagedPolicies'] {
  const out: DirectionResult['stagedPolicies'] = []
  const notes: MatchNotes = {notes: []}
  for (const {tier, policies} of applicableTiers(world, peer, direction)) {
    for (const p of policies) {
      if (!p.staged) continue
      const r = runRules(rulesFor(p, direction)!, packet, notes)
      out.push({tier: tier.name, policy: policyRef(p), outcome: r.outcome, ...(r.rule ? {ruleIndex: r.rule.index, rule: r.rule.text} : {})})
    }
  }
  return out
}

function directionResult(world: World, peer: Peer | undefined, direction: Direction, packet: Packet): DirectionResult {
  if (!peer) {
    const open: Decision = {verdict: 'allow', decidedBy: 'not-an-endpoint', trace: [], notes: []}
    return {...open, staged: open, stagedPolicies: []}
  }
  return {
    endpoint: peerRef(peer),
    ...decide(world, peer, direction, packet, false),
    staged: decide(world, peer, direction, packet, true),
    stagedPolicies: stagedAlone(world, peer, direction, packet),
  }
}

const PORTED = new Set([6, 17, 132, 136])

const PORT_PROTOCOLS: Record<string, number> = {TCP: 6, UDP: 17, SCTP: 132}

/** Whether a packet matches a failsafe port: by destination port (the net on the given side), as Felix's failsafe chains. */
function failsafeMatch(ports: readonly ProtoPort[], packet: Packet, netSide: 'src' | 'dst'): ProtoPort | undefined {
  return ports.find((p) => {
    if (PORT_PROTOCOLS[String(p.protocol ?? 'TCP').toUpperCase()] !== packet.protocol || packet.dstPort !== p.port) return false
    if (p.net === undefined) return true
    const net = parseCidrOrIp(p.net)
    return net !== undefined && containsIp(net, packet.family, netSide === 'src' ? packet.src : packet.dst)
  })
}

const nodeOf = (peer: Peer | undefined) => (peer ? String((peer.resource.spec as Record<string, unknown> | undefined)?.node ?? '') : '')

const TUNNEL_DEVICES = new Set(['tunl0', 'vxlan.calico', 'vxlan-v6.calico', 'wireguard.cali', 'wg-v6.cali'])

/**
 * The host endpoints of a node as a forwarded flow meets them: the one of the interface it crosses
 * between nodes and the all-interfaces one, which also polices workload interfaces (Felix's
 * dispatch sends every other interface to it). The interface crossed is the tunnel device when
 * the flow is encapsulated; else the node's address interface, which the world does not name: the
 * host endpoint (lowest name) of an interface that is no tunnel device stands for it.
 */
function nodeHostEndpoints(world: World, node: string, tunnel: string | undefined): {uplink?: Peer; wildcard?: Peer; notes: string[]} {
  const heps = world.peers.filter((p) => p.kind === 'HostEndpoint' && nodeOf(p) === node).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const wildcard = heps.find((p) => p.interfaceName === '*')
  if (tunnel !== undefined) return {uplink: heps.find((p) => p.interfaceName === tunnel) ?? wildcard, wildcard, notes: []}
  const interfaces = heps.filter((p) => p.interfaceName !== '*' && !TUNNEL_DEVICES.has(p.interfaceName ?? ''))
  const notes = new Set(interfaces.map((p) => p.interfaceName ?? '(by address)')).size > 1 ? [`node ${node} has host endpoints on several interfaces: ${interfaces[0]!.name} is taken as the one the flow crosses`] : []
  return {uplink: interfaces[0] ?? wildcard, wildcard, notes}
}

/**
 * A host endpoint's preDNAT, untracked or forward policy for a packet (rules/endpoints.go with
 * chain types preDNAT, untracked, forward): tiers in order; forward tiers end with the end-of-tier
 * drop, preDNAT and untracked ones never do (Felix makes their default action Pass: normal policy
 * is still to come). No profiles. Undefined when nothing decided (the packet goes on).
 */
function decideHostStage(world: World, peer: Peer, direction: Direction, packet: Packet, stage: 'forward' | 'preDNAT' | 'untracked'): Decision | undefined {
  const trace: TraceStep[] = []
  const notes: MatchNotes = {notes: []}
  const wanted = (p: PolicyEntry) => !p.staged && (stage === 'untracked' ? p.doNotTrack : stage === 'preDNAT' ? p.preDNAT && !p.doNotTrack : p.applyOnForward && inNormalChain(p))
  for (const tier of world.tiers) {
    const policies = tier.policies.filter((p) => wanted(p) && rulesFor(p, direction) && policySelects(p, peer))
    if (policies.length === 0) continue
    let passed = false
    for (const policy of policies) {
      const result = runRules(rulesFor(policy, direction)!, packet, notes)
      const step: TraceStep = {tier: tier.name, policy: policyRef(policy), staged: false, outcome: result.outcome}
      if (result.rule) Object.assign(step, {ruleIndex: result.rule.index, rule: result.rule.text})
      trace.push(step)
      if (result.outcome === 'allow' || result.outcome === 'deny') {
        return {verdict: result.outcome, decidedBy: 'rule', tier: tier.name, policy: policyRef(policy), ruleIndex: result.rule!.index, action: result.rule!.action, rule: result.rule!.text, trace, notes: [...new Set(notes.notes)]}
      }
      if (result.outcome === 'pass') {
        passed = true
        break
      }
    }
    if (passed || stage !== 'forward' || tier.defaultAction === 'Pass') continue
    trace.push({tier: tier.name, outcome: 'end-of-tier-deny'})
    return {verdict: 'deny', decidedBy: 'end-of-tier', tier: tier.name, trace, notes: [...new Set(notes.notes)]}
  }
  return undefined
}

const allowDecision = (decidedBy: DecidedBy): Decision => ({verdict: 'allow', decidedBy, trace: [], notes: []})
const withStaged = (peer: Peer, d: Decision): DirectionResult => ({endpoint: peerRef(peer), ...d, staged: d, stagedPolicies: []})

/**
 * Ingress to the host through a host endpoint, in Felix's order: raw (untracked: failsafe, then
 * doNotTrack policy; an untracked Allow needs the reply allowed by the endpoint's untracked egress
 * policy too, conntrack never having seen the request), mangle (preDNAT: failsafe, policy), then
 * filter (failsafe, then normal policy and profiles).
 */
/** The settings Felix on a node works with. */
const settingsFor = (options: HostOptions, node: string): FelixHostSettings => ({...options, ...options.felix?.(node)})

function hostIngress(world: World, peer: Peer, packet: Packet, options: HostOptions, notes: string[]): DirectionResult | undefined {
  const settings = settingsFor(options, nodeOf(peer))
  const inbound = settings.failsafeInbound ?? FAILSAFE_INBOUND
  const outbound = settings.failsafeOutbound ?? FAILSAFE_OUTBOUND
  const failsafe = failsafeMatch(inbound, packet, 'src')
  if (failsafe) return withStaged(peer, allowDecision('failsafe-port'))
  const untracked = !failsafeMatch(outbound, {...packet, dstPort: packet.srcPort}, 'src') ? decideHostStage(world, peer, 'ingress', packet, 'untracked') : undefined
  if (untracked?.verdict === 'deny') return withStaged(peer, untracked)
  if (untracked?.verdict === 'allow') {
    const reply: Packet = {...packet, src: packet.dst, dst: packet.src, srcPort: packet.dstPort, dstPort: packet.srcPort, srcPeers: packet.dstPeers, dstPeers: packet.srcPeers}
    const back = decideHostStage(world, peer, 'egress', reply, 'untracked')
    if (back?.verdict === 'allow') return withStaged(peer, untracked)
    notes.push(`doNotTrack policy lets the request in untracked, but no doNotTrack egress rule of ${showRef(peer)} allows the reply${packet.srcPort === undefined ? ' (give --src-port to match rules on it)' : ''}: the connection fails`)
    // The rule named is the doNotTrack Allow that let the request in; what denies is the reply's lack of one.
    return withStaged(peer, {...untracked, verdict: 'deny', decidedBy: 'untracked-reply'})
  }
  const preDNAT = decideHostStage(world, peer, 'ingress', packet, 'preDNAT')
  if (preDNAT) return withStaged(peer, preDNAT)
  return undefined
}

/** Egress from the host through a host endpoint: raw (untracked) first, then filter (failsafe, normal policy). */
function hostEgress(world: World, peer: Peer, packet: Packet, options: HostOptions, notes: string[]): DirectionResult | undefined {
  const settings = settingsFor(options, nodeOf(peer))
  if (failsafeMatch(settings.failsafeOutbound ?? FAILSAFE_OUTBOUND, packet, 'dst')) return withStaged(peer, allowDecision('failsafe-port'))
  const untracked = !failsafeMatch(settings.failsafeInbound ?? FAILSAFE_INBOUND, {...packet, dstPort: packet.srcPort}, 'dst') ? decideHostStage(world, peer, 'egress', packet, 'untracked') : undefined
  if (untracked?.verdict === 'allow') {
    const reply: Packet = {...packet, src: packet.dst, dst: packet.src, srcPort: packet.dstPort, dstPort: packet.srcPort, srcPeers: packet.dstPeers, dstPeers: packet.srcPeers}
    if (decideHostStage(world, peer, 'ingress', reply, 'untracked')?.verdict !== 'allow') {
      notes.push(`doNotTrack policy lets the request out untracked, but no doNotTrack ingress rule of ${showRef(peer)} allows the reply: the connection fails`)
      // The rule named is the doNotTrack Allow that let the request out; what denies is the reply's lack of one.
      return withStaged(peer, {...untracked, verdict: 'deny', decidedBy: 'untracked-reply'})
    }
  }
  return untracked ? withStaged(peer, untracked) : undefined
}

/**
 * The host endpoints a flow is forwarded through: on the source's node (a workload's traffic
 * comes in by its workload interface, policed by the all-interfaces endpoint, and leaves by the
 * uplink, or by a workload interface when the destination is on the same node), then on the
 * destination's node (in by the uplink, out by the workload interface). Traffic to a pod of
 * another node crosses the tunnel device when the pool encapsulates it (options.tunnel). preDNAT policy of the
 * endpoint a packet comes in by applies first, and its Allow skips that endpoint's forward
 * ingress policy (Felix's accept mark).
 */
function forwardSteps(world: World, from: Peer | undefined, to: Peer | undefined, packet: Packet, options: HostOptions, notes: string[]): HostEndpointStep[] {
  const steps: HostEndpointStep[] = []
  const fromWorkload = from?.kind === 'WorkloadEndpoint'
  const toWorkload = to?.kind === 'WorkloadEndpoint'
  const sameNode = fromWorkload && toWorkload && nodeOf(from) === nodeOf(to)
  const hop = (node: string, inBy: Peer | undefined, outBy: Peer | undefined, wildcard: Peer | undefined) => {
    // doNotTrack policy of the interface the packet comes in by (never the all-interfaces endpoint's).
    const untracked = inBy && inBy !== wildcard ? decideHostStage(world, inBy, 'ingress', packet, 'untracked') : undefined
    if (untracked) {
      // Forwarded, the reply never meets raw policy on this endpoint: conntrack first sees it, a TCP reply as invalid (dropped).
      const stateless = untracked.verdict === 'allow' && packet.protocol === 6
      if (stateless) notes.push(`doNotTrack policy of ${showRef(inBy!)} lets the forwarded request in untracked; conntrack takes the TCP reply as invalid and it is dropped`)
      steps.push({endpoint: {kind: inBy!.kind, name: inBy!.name}, node, stage: 'untracked', direction: 'ingress', ...untracked, verdict: stateless ? 'deny' : untracked.verdict})
      if (untracked.verdict === 'deny' || stateless) return
    }
    if (inBy && !untracked) {
      const pre = decideHostStage(world, inBy, 'ingress', packet, 'preDNAT')
      if (pre) steps.push({endpoint: {kind: inBy.kind, name: inBy.name}, node, stage: 'preDNAT', direction: 'ingress', ...pre})
      if (pre?.verdict !== 'allow') {
        const fw = decideHostStage(world, inBy, 'ingress', packet, 'forward')
        if (fw) steps.push({endpoint: {kind: inBy.kind, name: inBy.name}, node, stage: 'forward', direction: 'ingress', ...fw})
      }
    }
    if (outBy) {
      const fw = decideHostStage(world, outBy, 'egress', packet, 'forward')
      if (fw) steps.push({endpoint: {kind: outBy.kind, name: outBy.name}, node, stage: 'forward', direction: 'egress', ...fw})
    }
  }
  if (fromWorkload) {
    const node = nodeOf(from)
    const heps = nodeHostEndpoints(world, node, toWorkload && nodeOf(to) !== node ? options.tunnel?.(node, nodeOf(to)) : undefined)
    notes.push(...heps.notes)
    hop(node, heps.wildcard, sameNode ? heps.wildcard : to?.kind === 'HostEndpoint' && nodeOf(to) === node ? undefined : heps.uplink, heps.wildcard)
  }
  if (toWorkload && !sameNode) {
    const node = nodeOf(to)
    const heps = nodeHostEndpoints(world, node, (fromWorkload || from?.kind === 'HostEndpoint') && nodeOf(from) !== node ? options.tunnel?.(nodeOf(from), node) : undefined)
    notes.push(...heps.notes)
    hop(node, heps.uplink, heps.wildcard, heps.wildcard)
  }
  return steps
}

/** Would the flow be allowed: egress at the source endpoint, ingress at the destination endpoint. */
export function evaluate(flow: Flow, world: World, options: HostOptions = {}): FlowVerdict {
  const protocol = protocolNumber(flow.protocol)
  if (protocol === undefined) throw new NetctlError('usage', `unknown protocol ${JSON.stringify(flow.protocol)}`, 'use TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 0-255')
  const from = resolveEnd(world, flow.from, 'source')
  const to = resolveEnd(world, flow.to, 'destination')
  const family = pickFamily(flow, from, to)
  const src = addressOf(from, family, 'source')
  const dst = addressOf(to, family, 'destination')
  const notes = [from.note, to.note].filter((n): n is string => n !== undefined)
  if (PORTED.has(protocol) && flow.port === undefined) throw new NetctlError('usage', `a ${flow.protocol} flow needs a destination port`, 'add port')
  const isIcmp = protocol === 1 || protocol === 58
  const icmp = isIcmp ? {type: flow.icmp?.type ?? (protocol === 1 ? 8 : 128), code: flow.icmp?.code ?? 0} : undefined
  const packet: Packet = {
    family,
    src: src.value,
    dst: dst.value,
    protocol,
    srcPort: PORTED.has(protocol) ? flow.srcPort : undefined,
    dstPort: PORTED.has(protocol) ? flow.port : undefined,
    icmpType: icmp?.type,
    icmpCode: icmp?.code,
    srcPeers: peersAt(world, family, src.value),
    dstPeers: peersAt(world, family, dst.value),
  }
  // Felix's hooks (rules/static.go): a workload's traffic to its own node is the workload's egress
  // policy, then DefaultEndpointToHostAction, never host endpoint policy; the host's traffic to its
  // own workloads is not policed; the host's own traffic through a host endpoint meets failsafe
  // ports, doNotTrack and preDNAT policy before normal policy; forwarded traffic meets the host
  // endpoints' applyOnForward (and preDNAT) policy.
  const sameNode = from.peer !== undefined && to.peer !== undefined && nodeOf(from.peer) === nodeOf(to.peer)
  const toOwnHost = from.peer?.kind === 'WorkloadEndpoint' && to.peer?.kind === 'HostEndpoint' && sameNode
  const fromOwnHost = from.peer?.kind === 'HostEndpoint' && to.peer?.kind === 'WorkloadEndpoint' && sameNode
  let egress: DirectionResult
  let ingress: DirectionResult
  if (fromOwnHost) {
    egress = withStaged(from.peer!, allowDecision('host-to-local-workload'))
    ingress = withStaged(to.peer!, allowDecision('host-to-local-workload'))
  } else {
    egress = (from.peer?.kind === 'HostEndpoint' ? hostEgress(world, from.peer, packet, options, notes) : undefined) ?? directionResult(world, from.peer, 'egress', packet)
    if (toOwnHost) {
      const action = settingsFor(options, nodeOf(to.peer)).endpointToHostAction ?? DEFAULT_ENDPOINT_TO_HOST_ACTION
      ingress = withStaged(to.peer!, {...allowDecision('default-endpoint-to-host-action'), verdict: action === 'Drop' ? 'deny' : 'allow'})
      notes.push(`a workload's traffic to its own node: its egress policy, then DefaultEndpointToHostAction ${action}; host endpoint policy does not apply`)
    } else {
      ingress = (to.peer?.kind === 'HostEndpoint' ? hostIngress(world, to.peer, packet, options, notes) : undefined) ?? directionResult(world, to.peer, 'ingress', packet)
    }
  }
  // Only applyOnForward, preDNAT and doNotTrack policies police forwarded traffic: without any, no host endpoint is looked for (nor every peer made).
  const forwardPolicies = world.policies.some((p) => !p.staged && (p.applyOnForward || p.preDNAT || p.doNotTrack))
  const forwarded = toOwnHost || fromOwnHost || !forwardPolicies ? [] : forwardSteps(world, from.peer, to.peer, packet, options, notes)
  for (const step of forwarded) notes.push(`forwarded through ${step.endpoint.kind} ${step.endpoint.name} on ${step.node} (${step.stage} ${step.direction}): ${step.verdict}${step.policy ? ` by ${step.policy.kind} ${step.policy.name}${step.ruleIndex !== undefined ? ` rule ${step.ruleIndex}` : ''}` : ` (${step.decidedBy})`}`)
  const forwardAllowed = !forwarded.some((s) => s.verdict === 'deny')
  return {
    allowed: egress.verdict === 'allow' && ingress.verdict === 'allow' && forwardAllowed,
    stagedAllowed: egress.staged.verdict === 'allow' && ingress.staged.verdict === 'allow' && forwardAllowed,
    packet: {ipVersion: family, source: src.text, destination: dst.text, protocol, ...(packet.dstPort !== undefined ? {port: packet.dstPort} : {}), ...(packet.srcPort !== undefined ? {srcPort: packet.srcPort} : {}), ...(icmp ? {icmp} : {})},
    egress,
    ingress,
    forwarded,
    notes,
  }
}
