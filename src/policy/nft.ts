/**
 * Felix's job on one node, as an nft script: the policy of the node's workload and host endpoints,
 * and natOutgoing. Pure: a world (src/policy/world.ts) in, one script out, loaded with `nft -f`.
 *
 * The script replaces `table inet netctl` in one transaction (declare, delete, define). Two base
 * chains on the forward hook: `from-wl` (priority 0) sends packets coming from a workload
 * interface (iifname) to its egress chain, `to-wl` (priority 1) sends packets leaving towards one
 * (oifname) to its ingress chain. Being separate base chains, an `accept` in the egress chain only
 * ends that hook's first pass and the packet still meets the destination's ingress chain (Felix
 * gets the same with its accept mark).
 *
 * Per endpoint and direction (the same walk as evaluate.ts decide(), on the same compiled world):
 * a chain that jumps to one chain per tier with an enforced policy for the endpoint, then to one
 * per profile, then drops. In a tier chain, the applicable policies' rules in order: Allow →
 * accept, Deny → drop, Pass → return (on to the next tier), Log → log and go on; the tier ends with
 * drop (defaultAction Deny) or return (Pass). A profile chain: Allow → accept, Deny → drop, Pass →
 * return (next profile). Staged policies are not rendered; a tier holding only staged ones is
 * skipped, as Felix does.
 *
 * The host (hostHooks): Felix's cali-INPUT/OUTPUT/FORWARD, raw and mangle chains for host
 * endpoints (rules/static.go, endpoints.go, dispatch.go). The node's HostEndpoints (spec.node) are
 * matched to interfaces as Felix does: by interfaceName, or by an expectedIP on the interface,
 * the lowest name winning; interfaceName "*" is the all-interfaces endpoint, whose chains every
 * other interface meets (workload interfaces too, on forward and preDNAT). Each endpoint has up to
 * four kinds of chains, each with the policies event_sequencer.go gives it:
 * - normal (`host-in`/`host-out` on the input/output hooks: the host's own traffic): conntrack,
 *   the failsafe chain (FelixConfiguration failsafeInbound/OutboundHostPorts, Felix's defaults
 *   tcp 22, 179, 2379, 2380, 5473, 6443, 6666, 6667, udp 68 in and udp 53, 67 out), then every
 *   policy that is neither preDNAT nor doNotTrack, profiles, drop: a HEP with no policy and no
 *   profile allows only failsafes. IPIP/VXLAN between the cluster's hosts pass first, as Felix
 *   lets them; the host's traffic to its own workloads is not policed;
 * - forward (`fw-from-hep` before from-wl, `fw-to-hep` after to-wl): applyOnForward policies only,
 *   with the end-of-tier drop and no profiles; an endpoint without any polices nothing forwarded;
 * - preDNAT (`mangle-pre`, prerouting at mangle priority, ingress only, after conntrack's
 *   established accept): failsafe, then policy; tiers never drop at their end (Felix gives them
 *   defaultAction Pass, normal policy still to come);
 * - untracked (`raw-pre`/`raw-out`, raw priority, both directions; not for the all-interfaces
 *   endpoint, which Felix ignores there): doNotTrack policy; Allow is NOTRACK and accept, so the
 *   reply needs an untracked Allow of its own (stateless); the raw failsafe chains also accept
 *   the other direction's failsafe replies by source port.
 * An untracked or preDNAT Allow sets HEP_ACCEPT_MARK (cleared in raw first): host-in then
 * accepts without normal policy and fw-from-hep skips the forward ingress policy, as Felix's
 * accept mark does. A workload's traffic to its own node (input hook, from a workload interface)
 * never meets host endpoint policy: its egress chain, then DefaultEndpointToHostAction (Accept
 * and Return accept, Drop drops; Felix's own default is Drop but calico-node's manifest sets
 * Accept, and so does a lab unless a FelixConfiguration says otherwise: evaluate.ts
 * DEFAULT_ENDPOINT_TO_HOST_ACTION). Every base chain has policy accept: a packet no endpoint owns
 * passes, as in Felix.
 *
 * Flannel labs get the same policy, as Canal gives Calico policy on flannel networking. Felix knows
 * a workload by its interface (iifname/oifname cali+ in its FORWARD chains), and so does this
 * script on a calico node. In a flannel lab the workload interfaces are veths enslaved to cni0:
 * the IP hooks see cni0, never the veth, for routed and (through br_netfilter,
 * bridge-nf-call-iptables=1, which flannel needs as kube-proxy does) bridged traffic alike. So:
 * - `table bridge netctl` has a prerouting chain keyed by bridge port (the pod's veth name): it
 *   drops frames whose IP or ARP sender is not the pod's address (Felix's anti-spoofing for
 *   workloads), then marks the packet with the port's workload;
 * - `from-wl` dispatches on that mark where calico dispatches on iifname: the egress identity
 *   stays the interface, as Felix has it;
 * - `to-wl` dispatches on the destination address leaving by cni0: the port a routed packet
 *   leaves by is only chosen after the bridge's FDB lookup, past the IP hooks, and the
 *   anti-spoofing above pins each pod address to its port.
 * Conntrack lives in the IP hooks (there is no bridge conntrack), so the stateful part (replies
 * allowed, an established connection surviving a policy change) is the calico node's. flanneld's
 * IPMASQ is a nat postrouting chain of its own rules (flannelMasqChain).
 *
 * Every token from the datastore goes through src/render/nft.ts; chain names are made from
 * indexes, never from names; comments are sanitised.
 */
import {formatIp, parseCidr, parseIp, type Cidr} from '../resources/cidr.js'
import {nftAddress, nftComment, nftInteger, nftName, nftPort, nftString} from '../render/nft.js'
import type {Peer} from './endpoints.js'
import {DEFAULT_ENDPOINT_TO_HOST_ACTION, FAILSAFE_INBOUND, FAILSAFE_OUTBOUND, findEndpoint, policySelects, type Direction, type ProtoPort} from './evaluate.js'
import type {CompiledEntity, CompiledRule, PeerTest, PortRange} from './match.js'
import type {PolicyEntry, World} from './world.js'

export const NFT_TABLE = 'netctl'

export interface NodeWorkload {
  /** The host side of the pod's veth (cali…, or a port of the bridge in a flannel lab). */
  interfaceName: string
  /** The pod's address: a bridged workload's traffic towards it is told apart by it. */
  address?: string
  /** Its WorkloadEndpoint in the world; without one (or not found) the interface is dropped, as Felix does. */
  name?: string
  namespace?: string
}

export interface NatPool {
  cidr: string
  natOutgoing: boolean
  disabled?: boolean
}

export interface NodePolicyInput {
  node: string
  workloads: NodeWorkload[]
  /** Every IPPool: natOutgoing masquerades from the NAT pools to destinations outside all pools. */
  pools?: NatPool[]
  /** The node's uplink, where masqueraded traffic leaves. */
  uplink?: string
  /** The workloads are ports of this bridge (flannel's cni0), not routed interfaces. */
  bridge?: string
  /** flanneld's IPMASQ: the flannel network and this node's subnet. */
  flannelMasq?: {network: string; subnet: string}
  /**
   * The node's interfaces and their addresses: a HostEndpoint of this node without an
   * interfaceName polices the interface holding one of its expectedIPs (Felix's match on address).
   */
  hostInterfaces?: Array<{name: string; addresses: string[]}>
  /** FelixConfiguration defaultEndpointToHostAction; DEFAULT_ENDPOINT_TO_HOST_ACTION when absent. */
  endpointToHostAction?: EndpointToHostAction
  /** FelixConfiguration failsafeInboundHostPorts / failsafeOutboundHostPorts; Felix's defaults when absent. */
  failsafeInbound?: readonly ProtoPort[]
  failsafeOutbound?: readonly ProtoPort[]
  /** Encapsulation Felix lets through host endpoint policy: IPIP and VXLAN between the cluster's hosts (their addresses). */
  tunnels?: {ipip?: boolean; vxlan?: boolean; vxlanPort?: number; hosts: string[]}
}

export type {ProtoPort} from './evaluate.js'
export {DEFAULT_ENDPOINT_TO_HOST_ACTION, FAILSAFE_INBOUND, FAILSAFE_OUTBOUND} from './evaluate.js'
export type EndpointToHostAction = 'Drop' | 'Accept' | 'Return'

/**
 * The packet mark bit meaning "accepted by untracked or preDNAT policy" (Felix's accept mark
 * carried from raw and mangle to filter): outside the bridged-workload marks (0xffff0000) and
 * kube-proxy's 0x4000/0x8000.
 */
export const HEP_ACCEPT_MARK = 0x1000
const acceptMark = `0x${HEP_ACCEPT_MARK.toString(16).padStart(8, '0')}`
const markAccepted = `meta mark and ${acceptMark} != 0`

/**
 * A bridged workload's mark: its index + 1 in the upper 16 bits (Felix's default mark mask is
 * 0xffff0000; flanneld's kube-proxy mark 0x4000 stays clear).
 */
const WORKLOAD_MARK_MASK = 0xffff0000
const workloadMark = (i: number) => `0x${((i + 1) * 0x10000).toString(16).padStart(8, '0')}`

const PORTED = [6, 17, 132, 136]

const rulesFor = (policy: PolicyEntry, direction: Direction) => (direction === 'ingress' ? (policy.ingress ? policy.ingressRules : undefined) : policy.egress ? policy.egressRules : undefined)
const inNormalChain = (p: PolicyEntry) => !p.doNotTrack && !p.preDNAT

/**
 * Where an endpoint chain sits, as Felix's chain types (rules/endpoints.go): normal (workloads;
 * host endpoints for the host's own traffic), forward (a host endpoint's forwarded traffic:
 * applyOnForward policies only, allowed when none applies), untracked (doNotTrack, raw) and
 * preDNAT (mangle prerouting, ingress only). Which policies each takes is event_sequencer.go's
 * tierInfoToProtoTierInfo.
 */
type ChainKind = 'normal' | 'forward' | 'untracked' | 'preDNAT'
const inChain: Record<ChainKind, (p: PolicyEntry) => boolean> = {
  normal: inNormalChain,
  forward: (p) => inNormalChain(p) && p.applyOnForward,
  untracked: (p) => p.doNotTrack,
  preDNAT: (p) => p.preDNAT && !p.doNotTrack,
}

/** Drop prefixes contained in others (and duplicates): an nft interval set refuses overlaps. */
export function collapseCidrs(cidrs: Cidr[]): Cidr[] {
  const sorted = [...cidrs].sort((a, b) => a.prefix - b.prefix || (a.network < b.network ? -1 : a.network > b.network ? 1 : 0))
  const kept: Cidr[] = []
  for (const c of sorted) {
    const inside = kept.some((k) => k.family === c.family && k.prefix <= c.prefix && c.network >> BigInt(c.bits - k.prefix) === k.network >> BigInt(k.bits - k.prefix))
    if (!inside) kept.push(c)
  }
  return kept.sort((a, b) => a.family - b.family || (a.network < b.network ? -1 : a.network > b.network ? 1 : a.prefix - b.prefix))
}

const isPort = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535
const isByte = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 0 && n <= 255)

/**
 * Merge overlapping or touching port ranges (an interval set refuses overlaps). Ports no packet
 * can carry (a hostile 70000) are cut off: they never match, in the evaluator either.
 */
export function mergeRanges(ranges: PortRange[]): PortRange[] {
  const clipped = ranges.filter((r) => Number.isInteger(r.min) && Number.isInteger(r.max)).map((r) => ({min: Math.max(r.min, 0), max: Math.min(r.max, 65535)}))
  const sorted = clipped.filter((r) => r.min <= r.max).sort((a, b) => a.min - b.min)
  const out: PortRange[] = []
  for (const r of sorted) {
    const last = out.at(-1)
    if (last && r.min <= last.max + 1) last.max = Math.max(last.max, r.max)
    else out.push({...r})
  }
  return out
}

const hostCidr = (family: 4 | 6, value: bigint): Cidr => {
  const bits = family === 4 ? 32 : 128
  return {family, address: value, network: value, prefix: bits, bits}
}

const renderCidr = (c: Cidr) => nftAddress(c.prefix === c.bits ? formatIp(c.family, c.network) : `${formatIp(c.family, c.network)}/${c.prefix}`)
const set = (items: string[]) => (items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`)
/** Concatenations need a set even for one element. */
const concatSet = (items: string[]) => `{ ${items.join(', ')} }`
const portSet = (ranges: PortRange[]) => set(mergeRanges(ranges).map((r) => (r.min === r.max ? nftPort(r.min) : `${nftPort(r.min)}-${nftPort(r.max)}`)))

/** What a selector selects, as addresses of one family: endpoint addresses and network-set nets (IP-set members). */
class AddressIndex {
  private cache = new Map<PeerTest, Map<4 | 6, Cidr[]>>()
  /** Named sets, by their elements: a selector used by many rules and endpoints is written once. */
  readonly sets = new Map<string, {name: string; family: 4 | 6; elements: string[]}>()
  constructor(private readonly world: World) {}

  /** One address: itself; more: a named set holding them (the same members share one set). */
  ref(members: Cidr[], family: 4 | 6): string {
    const elements = members.map(renderCidr)
    if (elements.length === 1) return elements[0]!
    const key = `${family} ${elements.join(',')}`
    let found = this.sets.get(key)
    if (!found) {
      found = {name: nftName(`sel${family}_${this.sets.size}`), family, elements}
      this.sets.set(key, found)
    }
    return `@${found.name}`
  }

  of(test: PeerTest, family: 4 | 6): Cidr[] {
    let byFamily = this.cache.get(test)
    if (!byFamily) {
      const all: Cidr[] = []
      for (const p of this.world.peers) {
        if (!test(p)) continue
        for (const a of p.addresses) all.push(hostCidr(a.family, a.value))
        all.push(...p.nets)
      }
      byFamily = new Map([4, 6].map((f) => [f as 4 | 6, collapseCidrs(all.filter((c) => c.family === f))]))
      this.cache.set(test, byFamily)
    }
    return byFamily.get(family)!
  }

  /** Named-port IP-set members: (address, protocol, port) of endpoints with that port name. */
  namedPort(filter: PeerTest | undefined, name: string, ruleProtocol: number | undefined, family: 4 | 6): string[] {
    const out = new Set<string>()
    for (const p of this.world.peers) {
      if (p.kind !== 'WorkloadEndpoint' && p.kind !== 'HostEndpoint') continue
      if (filter && !filter(p)) continue
      for (const np of p.ports) {
        if (np.name !== name || (ruleProtocol !== undefined && np.protocol !== ruleProtocol) || !isPort(np.port)) continue
        for (const a of p.addresses) if (a.family === family) out.add(`${nftAddress(formatIp(family, a.value))} . ${nftInteger(np.protocol, 0, 255)} . ${nftPort(np.port)}`)
      }
    }
    return [...out].sort()
  }
}

/** Felix's FilterRuleToIPVersion on nets: those of the family, or null when the rule is not rendered for it. */
function netsForFamily(nets: Cidr[], family: 4 | 6, negated: boolean): Cidr[] | null {
  if (nets.length === 0) return []
  const kept = nets.filter((n) => n.family === family)
  if (negated && kept.some((n) => n.prefix === 0)) return null
  return kept.length === 0 ? null : kept
}

/** Alternatives (OR'd) of match lists (AND'd); [] means the rule never matches. */
type Alternatives = string[][]
const product = (a: Alternatives, b: Alternatives): Alternatives => a.flatMap((x) => b.map((y) => [...x, ...y]))

function entityMatches(entity: CompiledEntity, rule: CompiledRule, family: 4 | 6 | undefined, side: 'source' | 'destination', index: AddressIndex): Alternatives {
  const ip = family === 6 ? 'ip6' : 'ip'
  const addr = `${ip} ${side === 'source' ? 'saddr' : 'daddr'}`
  const port = `th ${side === 'source' ? 'sport' : 'dport'}`
  const base: string[] = []
  if (entity.service) return [] // services are not in the world: the evaluator takes them as no match
  if (family !== undefined) {
    const nets = netsForFamily(entity.nets, family, false)
    const notNets = netsForFamily(entity.notNets, family, true)
    if (nets === null || notNets === null) return []
    if (nets.length > 0) base.push(`${addr} ${set(collapseCidrs(nets).map(renderCidr))}`)
    if (notNets.length > 0) base.push(`${addr} != ${set(collapseCidrs(notNets).map(renderCidr))}`)
    // With named ports only, the named-port set (filtered by the selector) replaces the selector's.
    if (entity.positive && (entity.ports.length > 0 || entity.namedPorts.length === 0)) {
      const members = index.of(entity.positive, family)
      if (members.length === 0) return []
      base.push(`${addr} ${index.ref(members, family)}`)
    }
    if (entity.negative) {
      const members = index.of(entity.negative, family)
      if (members.length > 0) base.push(`${addr} != ${index.ref(members, family)}`)
    }
  }
  const ports = mergeRanges(entity.ports)
  const notPorts = mergeRanges(entity.notPorts)
  if (notPorts.length > 0) base.push(`${port} != ${portSet(notPorts)}`)
  if (family !== undefined) {
    for (const name of entity.notNamedPorts) {
      const members = index.namedPort(entity.positive, name, rule.protocol, family)
      if (members.length > 0) base.push(`${addr} . meta l4proto . ${port} != ${concatSet(members)}`)
    }
  }
  if (entity.ports.length + entity.namedPorts.length === 0) return [base]
  const alternatives: Alternatives = []
  if (ports.length > 0) alternatives.push([...base, `${port} ${portSet(ports)}`])
  if (family !== undefined) {
    for (const name of entity.namedPorts) {
      const members = index.namedPort(entity.positive, name, rule.protocol, family)
      if (members.length > 0) alternatives.push([...base, `${addr} . meta l4proto . ${port} ${concatSet(members)}`])
    }
  }
  return alternatives
}

const hasAddressMatch = (e: CompiledEntity) => e.nets.length + e.notNets.length + e.namedPorts.length + e.notNamedPorts.length > 0 || e.positive !== undefined || e.negative !== undefined
const hasPortMatch = (e: CompiledEntity) => e.ports.length + e.namedPorts.length + e.notPorts.length + e.notNamedPorts.length > 0

function icmpMatch(icmp: {type?: number; code?: number}, family: 4 | 6, negated: boolean): string | undefined {
  const word = family === 4 ? 'icmp' : 'icmpv6'
  if (icmp.type === undefined && icmp.code === undefined) return undefined
  const not = negated ? '!= ' : ''
  if (icmp.type !== undefined && icmp.code !== undefined) return `${word} type . ${word} code ${not}{ ${nftInteger(icmp.type, 0, 255)} . ${nftInteger(icmp.code, 0, 255)} }`
  if (icmp.type !== undefined) return `${word} type ${not}${nftInteger(icmp.type, 0, 255)}`
  return `${word} code ${not}${nftInteger(icmp.code, 0, 255)}`
}

/** The match lists of one rule (several when it needs an OR nft cannot write in one rule). */
function ruleMatches(rule: CompiledRule, index: AddressIndex): Alternatives {
  const perFamily = rule.ipVersion !== undefined || rule.icmp !== undefined || rule.notICMP !== undefined || hasAddressMatch(rule.source) || hasAddressMatch(rule.destination)
  const families: Array<4 | 6 | undefined> = perFamily ? ([4, 6] as const).filter((f) => rule.ipVersion === undefined || rule.ipVersion === f) : [undefined]
  const out: Alternatives = []
  for (const family of families) {
    const base: string[] = []
    if (family !== undefined) base.push(`meta nfproto ${family === 4 ? 'ipv4' : 'ipv6'}`)
    if (rule.protocol !== undefined) base.push(`meta l4proto ${nftInteger(rule.protocol, 0, 255)}`)
    if (rule.notProtocol !== undefined) base.push(`meta l4proto != ${nftInteger(rule.notProtocol, 0, 255)}`)
    if (hasPortMatch(rule.source) || hasPortMatch(rule.destination)) {
      // Ports only exist for TCP, UDP, SCTP and UDPLite: a flow without them never matches a port match.
      if (rule.protocol !== undefined && !PORTED.includes(rule.protocol)) continue
      if (rule.protocol === undefined) base.push(`meta l4proto { ${PORTED.filter((p) => p !== rule.notProtocol).join(', ')} }`)
    }
    if (rule.icmp || rule.notICMP) {
      if (family === undefined) continue
      // A type or code no packet carries: icmp never matches, notICMP always does.
      if (rule.icmp && !(isByte(rule.icmp.type) && isByte(rule.icmp.code))) continue
      const wanted = family === 4 ? 1 : 58
      if (rule.protocol !== undefined && rule.protocol !== wanted) continue
      const m = rule.icmp && icmpMatch(rule.icmp, family, false)
      if (m) base.push(m)
      const n = rule.notICMP && isByte(rule.notICMP.type) && isByte(rule.notICMP.code) && icmpMatch(rule.notICMP, family, true)
      if (n) base.push(n)
    }
    const src = entityMatches(rule.source, rule, family, 'source', index)
    const dst = entityMatches(rule.destination, rule, family, 'destination', index)
    out.push(...product(product([base], src), dst))
  }
  return out
}

const VERDICTS: Record<string, string> = {Allow: 'accept', Deny: 'drop', Pass: 'return'}

/** Untracked Allow: NOTRACK and accept (both ways must be allowed); untracked and preDNAT Allow mark the packet so filter accepts it too. */
const KIND_VERDICTS: Record<ChainKind, Record<string, string>> = {
  normal: VERDICTS,
  forward: VERDICTS,
  untracked: {...VERDICTS, Allow: `meta mark set meta mark or ${acceptMark} notrack accept`},
  preDNAT: {...VERDICTS, Allow: `meta mark set meta mark or ${acceptMark} accept`},
}

function renderRules(rules: CompiledRule[], label: string, index: AddressIndex, verdicts: Record<string, string> = VERDICTS): string[] {
  const lines: string[] = []
  for (const rule of rules) {
    const comment = `comment ${nftComment(`${label}/${rule.index}`)}`
    for (const matches of ruleMatches(rule, index)) {
      const verdict = rule.action === 'Log' ? `log prefix ${nftString('calico-packet: ')}` : verdicts[rule.action]!
      lines.push([...matches, verdict, comment].join(' '))
    }
  }
  return lines
}

interface Chain {
  name: string
  lines: string[]
}

/** The chains of one endpoint and direction: the dispatch target first. */
interface ChainBuilder {
  world: World
  index: AddressIndex
  /** Policy identities for the sharing key. */
  ids: Map<PolicyEntry, number>
  /** Sharing key → the top chain already made for it. */
  made: Map<string, string>
  count: Record<string, number>
  chains: Chain[]
}

/**
 * The chains of one endpoint and direction; returns the name of its top chain. Their text depends
 * only on the applicable policies and the profiles (selectors and named ports are resolved over
 * the whole world, not the endpoint), so endpoints alike share one set of chains.
 *
 * A host endpoint's chains start with its failsafe chain (Felix: after conntrack, before any
 * policy). Normal and forward chains end a tier with the end-of-tier drop; untracked and preDNAT
 * tiers never drop at their end (Felix gives them defaultAction Pass: the filter table's policy
 * is still to come). Only normal chains try profiles and drop at the end; a forward chain with
 * no applyOnForward policy allows, and untracked/preDNAT chains return undecided.
 */
function endpointChains(b: ChainBuilder, peer: Peer, direction: Direction, kind: ChainKind = 'normal', failsafe?: string): string {
  const {world, index} = b
  const tiers = world.tiers
    .map((tier) => ({tier, policies: tier.policies.filter((p) => !p.staged && inChain[kind](p) && rulesFor(p, direction) && policySelects(p, peer))}))
    .filter((t) => t.policies.length > 0)
  const profiles = kind === 'normal' ? peer.profiles : []
  const key = JSON.stringify([direction, kind, failsafe ?? '', tiers.map((t) => t.policies.map((p) => b.ids.get(p))), profiles])
  const known = b.made.get(key)
  if (known) return known
  const stem = peer.kind === 'HostEndpoint' ? `${direction === 'ingress' ? 'from' : 'to'}-hep${kind === 'normal' ? '' : kind === 'forward' ? '-fw' : kind === 'untracked' ? '-untr' : '-pre'}` : `${direction === 'ingress' ? 'to' : 'from'}-wl`
  const prefix = nftName(`${stem}${(b.count[stem] = (b.count[stem] ?? -1) + 1)}`)
  b.made.set(key, prefix)
  const top: Chain = {name: prefix, lines: []}
  if (kind !== 'untracked' && peer.kind === 'HostEndpoint') top.lines.push('ct state invalid drop')
  if (failsafe) top.lines.push(`jump ${failsafe}`)
  const chains: Chain[] = [top]
  const verdicts = KIND_VERDICTS[kind]
  const dropsAtTierEnd = kind === 'normal' || kind === 'forward'
  let t = 0
  for (const {tier, policies} of tiers) {
    const chain: Chain = {name: `${prefix}-t${t++}`, lines: []}
    for (const policy of policies) {
      const label = `${tier.name}/${policy.namespace ? `${policy.namespace}/` : ''}${policy.name}/${direction}`
      chain.lines.push(...renderRules(rulesFor(policy, direction)!, label, index, verdicts))
    }
    chain.lines.push(`${dropsAtTierEnd && tier.defaultAction !== 'Pass' ? 'drop' : 'return'} comment ${nftComment(`end of tier ${tier.name}`)}`)
    top.lines.push(`jump ${chain.name}`)
    chains.push(chain)
  }
  if (kind === 'normal') {
    profiles.forEach((name, i) => {
      const profile = world.profiles.get(name)
      const rules = profile ? (direction === 'ingress' ? profile.ingressRules : profile.egressRules) : []
      if (rules.length === 0) return
      const chain: Chain = {name: `${prefix}-p${i}`, lines: renderRules(rules, `profile/${name}/${direction}`, index)}
      top.lines.push(`jump ${chain.name}`)
      chains.push(chain)
    })
    top.lines.push(`drop comment ${nftComment(profiles.length === 0 ? 'no profiles' : 'no profile allowed')}`)
  } else if (kind === 'forward' && tiers.length === 0) {
    top.lines.push(`accept comment ${nftComment('no applyOnForward policy: forwarded traffic allowed')}`)
  }
  b.chains.push(...chains)
  return prefix
}

const findPeer = (world: World, w: NodeWorkload): Peer | undefined => {
  if (w.name === undefined) return undefined
  try {
    return findEndpoint(world, {kind: 'WorkloadEndpoint', name: w.name, namespace: w.namespace})
  } catch {
    return undefined
  }
}

function natChain(pools: NatPool[], uplink: string): Chain | undefined {
  const active = pools.map((p) => ({...p, parsed: parseCidr(p.cidr)})).filter((p) => p.parsed !== undefined)
  const lines: string[] = []
  for (const family of [4, 6] as const) {
    const all = collapseCidrs(active.filter((p) => p.parsed!.family === family).map((p) => p.parsed!))
    const masq = collapseCidrs(active.filter((p) => p.parsed!.family === family && p.natOutgoing && !p.disabled).map((p) => p.parsed!))
    if (masq.length === 0) continue
    const ip = family === 4 ? 'ip' : 'ip6'
    // Calico's cali-nat-outgoing: from a NAT pool, to outside every pool.
    lines.push(`oifname ${nftString(uplink, 15)} ${ip} saddr ${set(masq.map(renderCidr))} ${ip} daddr != ${set(all.map(renderCidr))} masquerade comment ${nftComment('natOutgoing')}`)
  }
  return lines.length === 0 ? undefined : {name: 'nat-outgoing', lines}
}

/**
 * flanneld's IPMASQ rules (pkg/trafficmngr/nftables addMasqRules): leave the kube-proxy-marked
 * traffic alone, never NAT within the flannel network, nor traffic arriving from elsewhere for this
 * node's pods; masquerade the network's traffic to anywhere else (multicast excepted), and the
 * host's traffic into the network.
 */
function flannelMasqChain(masq: {network: string; subnet: string}): Chain | undefined {
  const network = parseCidr(masq.network)
  const subnet = parseCidr(masq.subnet)
  if (!network || !subnet || network.family !== subnet.family) return undefined
  const ip = network.family === 4 ? 'ip' : 'ip6'
  const net = renderCidr(network)
  const sub = renderCidr(subnet)
  const multicast = network.family === 4 ? '224.0.0.0/4' : 'ff00::/8'
  const c = `comment ${nftComment('flanneld masq')}`
  return {
    name: 'flannel-postrtg',
    lines: [
      `meta mark 0x00004000 return ${c}`,
      `${ip} saddr ${sub} ${ip} daddr ${net} return ${c}`,
      `${ip} saddr ${net} ${ip} daddr ${sub} return ${c}`,
      `${ip} saddr != ${sub} ${ip} daddr ${net} return ${c}`,
      `${ip} saddr ${net} ${ip} daddr != ${multicast} masquerade fully-random ${c}`,
      `${ip} saddr != ${net} ${ip} daddr ${net} masquerade fully-random ${c}`,
    ],
  }
}

const PROTOCOLS: Record<string, number> = {TCP: 6, UDP: 17, SCTP: 132}

/**
 * A failsafe chain (rules/static.go failsafeInChain / failsafeOutChain): each port (on a source
 * net for inbound, to a destination net for outbound) is accepted; the raw table's chains also
 * accept the other direction's replies by source port, as Felix's do (before conntrack, a reply
 * must not fall into an untracked policy).
 */
function failsafeChain(name: string, ports: readonly ProtoPort[], netSide: 'saddr' | 'daddr', replies: readonly ProtoPort[] = []): Chain {
  const lines: string[] = []
  const add = (p: ProtoPort, portSide: 'dport' | 'sport') => {
    const protocol = PROTOCOLS[String(p.protocol ?? 'TCP').toUpperCase()]
    if (protocol === undefined || !isPort(p.port)) return
    const net = p.net === undefined ? undefined : parseCidr(p.net) ?? (parseIp(p.net) && parseCidr(`${p.net}/${p.net.includes(':') ? 128 : 32}`))
    if (p.net !== undefined && !net) return
    const where = net ? `${net.family === 4 ? 'ip' : 'ip6'} ${netSide} ${renderCidr(net)} ` : ''
    lines.push(`${where}meta l4proto ${protocol} th ${portSide} ${nftPort(p.port)} accept comment ${nftComment(`failsafe ${String(p.protocol ?? 'TCP').toLowerCase()}:${p.port}`)}`)
  }
  for (const p of ports) add(p, 'dport')
  for (const p of replies) add(p, 'sport')
  return {name, lines}
}

interface NodeHostEndpoints {
  /** Per interface, the host endpoint Felix would pick: the lowest name among those naming it or holding one of its addresses. */
  byInterface: Array<{ifname: string; peer: Peer}>
  /** The all-interfaces (interfaceName "*") host endpoint with the lowest name. */
  wildcard?: Peer
}

function nodeHostEndpoints(world: World, input: NodePolicyInput): NodeHostEndpoints {
  const best = new Map<string, Peer>()
  let wildcard: Peer | undefined
  const consider = (ifname: string, peer: Peer) => {
    const current = best.get(ifname)
    if (!current || peer.name < current.name) best.set(ifname, peer)
  }
  const interfaces = (input.hostInterfaces ?? []).map((i) => ({name: i.name, addresses: i.addresses.map((a) => parseIp(a)).filter((a) => a !== undefined)}))
  for (const peer of world.peers) {
    if (peer.kind !== 'HostEndpoint' || String(record(peer.resource.spec).node ?? '') !== input.node) continue
    if (peer.interfaceName === '*') {
      if (!wildcard || peer.name < wildcard.name) wildcard = peer
    } else if (peer.interfaceName) {
      // No interface has a name nft cannot write (over 15 bytes, quotes, control characters): such an endpoint polices nothing.
      if (validInterfaceName(peer.interfaceName)) consider(peer.interfaceName, peer)
    } else {
      for (const i of interfaces) if (i.addresses.some((a) => peer.addresses.some((b) => b.family === a!.family && b.value === a!.value))) consider(i.name, peer)
    }
  }
  const byInterface = [...best].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([ifname, peer]) => ({ifname, peer}))
  return {byInterface, wildcard}
}

const validInterfaceName = (name: string) => {
  try {
    nftString(name, 15)
    return true
  } catch {
    return false
  }
}

const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {})

/** Whether any enforced policy of a chain kind applies to the endpoint in a direction. */
const hasPolicy = (world: World, peer: Peer, direction: Direction, kind: ChainKind) => world.policies.some((p) => !p.staged && inChain[kind](p) && rulesFor(p, direction) && policySelects(p, peer))

/** A dispatch on interface names (a vmap of jumps), then the all-interfaces endpoint's chain for any other interface. */
function dispatch(match: 'iifname' | 'oifname', entries: Array<{ifname: string; chain: string}>, wildcard?: string): string[] {
  const lines: string[] = []
  if (entries.length > 0) lines.push(`${match} vmap { ${entries.map((e) => `${nftString(e.ifname, 15)} : jump ${e.chain}`).join(', ')} }`)
  if (wildcard) lines.push(`jump ${wildcard} comment ${nftComment('all-interfaces host endpoint')}`)
  return lines
}

interface Hook {
  name: string
  hook: string
  lines: string[]
}

/**
 * The host's own hooks, as Felix's static chains (rules/static.go) and dispatch (rules/dispatch.go):
 * - input (cali-INPUT): IPIP/VXLAN from the cluster's hosts allowed (from others dropped);
 *   workload traffic to the host runs the workload's egress chain, then
 *   DefaultEndpointToHostAction (cali-wl-to-host: host endpoint policy never applies to it);
 *   then what raw or mangle already accepted is accepted, and the rest meets the ingress chain
 *   of the interface's host endpoint (or of the all-interfaces one): failsafe, normal policy,
 *   profiles, drop;
 * - output (cali-OUTPUT): traffic to local workloads is not policed; IPIP/VXLAN to the hosts
 *   allowed; the rest meets the egress chain of the out-interface's host endpoint;
 * - forward: two more base chains around from-wl/to-wl (cali-from-hep-forward before them,
 *   cali-to-hep-forward after): applyOnForward policy of the in- and out-interface's host
 *   endpoint, skipped on ingress when raw or mangle accepted the packet;
 * - raw prerouting/output: doNotTrack policy (untracked: NOTRACK and accept, marked so filter
 *   accepts too; not for the all-interfaces endpoint, as Felix ignores it there);
 * - mangle prerouting: preDNAT policy, ingress only, after conntrack's established accept.
 * Every base chain has policy accept: a packet no endpoint owns passes, as in Felix.
 */
function hostHooks(b: ChainBuilder, input: NodePolicyInput, wl: {fromMatch: string; fromDispatch: string[]; workloadInterfaces: string[]}): Hook[] {
  const {world} = b
  const heps = nodeHostEndpoints(world, input)
  const all = [...heps.byInterface, ...(heps.wildcard ? [{ifname: '*', peer: heps.wildcard}] : [])]
  const hooks: Hook[] = []
  const hasWorkloads = wl.fromDispatch.length > 0
  const failsafes = new Set<string>()
  const inbound = input.failsafeInbound ?? FAILSAFE_INBOUND
  const outbound = input.failsafeOutbound ?? FAILSAFE_OUTBOUND
  const action = input.endpointToHostAction ?? DEFAULT_ENDPOINT_TO_HOST_ACTION
  const chainsOf = (direction: Direction, kind: ChainKind, failsafe: string | undefined, only: (peer: Peer) => boolean = () => true) => {
    const entries: Array<{ifname: string; chain: string}> = []
    let wildcard: string | undefined
    for (const {ifname, peer} of all) {
      if (!only(peer)) continue
      if (failsafe) failsafes.add(failsafe)
      const chain = endpointChains(b, peer, direction, kind, failsafe)
      if (ifname === '*') wildcard = chain
      else entries.push({ifname, chain})
    }
    return {entries, wildcard}
  }
  const tunnels = input.tunnels
  const hosts = (tunnels?.hosts ?? []).map((h) => parseIp(h)).filter((h) => h?.family === 4).map((h) => nftAddress(formatIp(4, h!.value)))
  const hostSet = hosts.length > 0 ? set(hosts) : undefined
  const vxlanPort = nftPort(tunnels?.vxlanPort ?? 4789)

  // input
  const inLines = ['type filter hook input priority filter; policy accept;', 'ct state established,related accept']
  if (all.length > 0 && tunnels?.ipip) {
    if (hostSet) inLines.push(`meta l4proto 4 ip saddr ${hostSet} fib daddr type local accept comment ${nftComment('IPIP from Calico hosts')}`)
    inLines.push(`meta l4proto 4 drop comment ${nftComment('IPIP from non-Calico hosts')}`)
  }
  if (all.length > 0 && tunnels?.vxlan) {
    if (hostSet) inLines.push(`meta nfproto ipv4 udp dport ${vxlanPort} ip saddr ${hostSet} fib daddr type local accept comment ${nftComment('VXLAN from allowed hosts')}`)
    inLines.push(`meta nfproto ipv4 udp dport ${vxlanPort} fib daddr type local drop comment ${nftComment('VXLAN from non-allowed hosts')}`)
  }
  if (hasWorkloads) {
    const fromWorkload = wl.fromMatch === 'iifname' ? `iifname ${set(wl.workloadInterfaces)}` : wl.fromMatch.replace(/ meta mark and .*/, '')
    inLines.push(`${fromWorkload} icmpv6 type { 130, 131, 132, 133, 135, 136 } accept comment ${nftComment('workload to host: ICMPv6 a router needs')}`)
    if (action === 'Drop') inLines.push(`${fromWorkload} drop comment ${nftComment('DefaultEndpointToHostAction Drop')}`)
    // Accept and Return alike: the egress chain accepts what it allows (Return would hand it to rules this namespace has none of).
    else inLines.push(`${wl.fromMatch} vmap { ${wl.fromDispatch.join(', ')} } comment ${nftComment(`workload egress policy, then DefaultEndpointToHostAction ${action}`)}`)
  }
  if (all.length > 0) {
    inLines.push(`${markAccepted} accept comment ${nftComment('accepted by untracked or preDNAT policy')}`)
    const {entries, wildcard} = chainsOf('ingress', 'normal', 'failsafe-in')
    inLines.push(...dispatch('iifname', entries, wildcard))
  }
  if (inLines.length > 2) hooks.push({name: 'host-in', hook: inLines[0]!, lines: inLines.slice(1)})
  if (all.length === 0) return hooks

  // output
  const outLines = [`${markAccepted} accept comment ${nftComment('accepted by untracked policy')}`, 'ct state established,related accept']
  if (wl.workloadInterfaces.length > 0) outLines.push(`oifname ${set(wl.workloadInterfaces)} accept comment ${nftComment('host to local workloads: not policed')}`)
  if (tunnels?.ipip && hostSet) outLines.push(`meta l4proto 4 ip daddr ${hostSet} fib saddr type local accept comment ${nftComment('IPIP to Calico hosts')}`)
  if (tunnels?.vxlan && hostSet) outLines.push(`meta nfproto ipv4 udp dport ${vxlanPort} ip daddr ${hostSet} fib saddr type local accept comment ${nftComment('VXLAN to allowed hosts')}`)
  {
    const {entries, wildcard} = chainsOf('egress', 'normal', 'failsafe-out')
    outLines.push(...dispatch('oifname', entries, wildcard))
  }
  hooks.push({name: 'host-out', hook: 'type filter hook output priority filter; policy accept;', lines: outLines})

  // forward: only endpoints with applyOnForward policy in the direction (without, Felix allows forwarded traffic)
  const fwIn = chainsOf('ingress', 'forward', undefined, (peer) => hasPolicy(world, peer, 'ingress', 'forward'))
  if (fwIn.entries.length > 0 || fwIn.wildcard) {
    hooks.push({name: 'fw-from-hep', hook: 'type filter hook forward priority filter - 1; policy accept;', lines: ['ct state established,related accept', `${markAccepted} accept comment ${nftComment('accepted by untracked or preDNAT policy')}`, ...dispatch('iifname', fwIn.entries, fwIn.wildcard)]})
  }
  const fwOut = chainsOf('egress', 'forward', undefined, (peer) => hasPolicy(world, peer, 'egress', 'forward'))
  if (fwOut.entries.length > 0 || fwOut.wildcard) {
    hooks.push({name: 'fw-to-hep', hook: 'type filter hook forward priority filter + 2; policy accept;', lines: ['ct state established,related accept', ...dispatch('oifname', fwOut.entries, fwOut.wildcard)]})
  }

  // raw: clear the accept bit, then untracked policy (interface host endpoints only)
  const clear = `meta mark set meta mark and 0x${(~HEP_ACCEPT_MARK >>> 0).toString(16).padStart(8, '0')}`
  const untracked = (peer: Peer) => peer !== heps.wildcard && (hasPolicy(world, peer, 'ingress', 'untracked') || hasPolicy(world, peer, 'egress', 'untracked'))
  const rawIn = chainsOf('ingress', 'untracked', 'failsafe-raw-in', untracked)
  const rawOut = chainsOf('egress', 'untracked', 'failsafe-raw-out', untracked)
  hooks.push({name: 'raw-pre', hook: 'type filter hook prerouting priority raw; policy accept;', lines: [clear, ...dispatch('iifname', rawIn.entries)]})
  hooks.push({name: 'raw-out', hook: 'type filter hook output priority raw; policy accept;', lines: [clear, ...dispatch('oifname', rawOut.entries)]})

  // mangle: preDNAT policy
  const pre = chainsOf('ingress', 'preDNAT', 'failsafe-in', (peer) => hasPolicy(world, peer, 'ingress', 'preDNAT'))
  if (pre.entries.length > 0 || pre.wildcard) {
    hooks.push({name: 'mangle-pre', hook: 'type filter hook prerouting priority mangle; policy accept;', lines: ['ct state established,related accept', `${markAccepted} accept comment ${nftComment('accepted by untracked policy')}`, ...dispatch('iifname', pre.entries, pre.wildcard)]})
  }

  if (failsafes.has('failsafe-in')) b.chains.push(failsafeChain('failsafe-in', inbound, 'saddr'))
  if (failsafes.has('failsafe-out')) b.chains.push(failsafeChain('failsafe-out', outbound, 'daddr'))
  if (failsafes.has('failsafe-raw-in')) b.chains.push(failsafeChain('failsafe-raw-in', inbound, 'saddr', outbound))
  if (failsafes.has('failsafe-raw-out')) b.chains.push(failsafeChain('failsafe-raw-out', outbound, 'daddr', inbound))
  return hooks
}

/** The whole nft script for one node (deterministic: the same world gives the same text). */
export function compileNodePolicy(world: World, input: NodePolicyInput): string {
  const index = new AddressIndex(world)
  const table = `inet ${nftName(NFT_TABLE)}`
  const workloads = [...input.workloads].sort((a, b) => (a.interfaceName < b.interfaceName ? -1 : a.interfaceName > b.interfaceName ? 1 : 0))
  const chains: Chain[] = []
  const builder: ChainBuilder = {world, index, ids: new Map(world.policies.map((p, i) => [p, i])), made: new Map(), count: {}, chains}
  const bridge = input.bridge === undefined ? undefined : nftString(input.bridge, 15)
  const fromDispatch: string[] = []
  const toDispatch: string[] = []
  const toDispatch6: string[] = []
  /** Bridged workloads: the bridge-family chain of each port (anti-spoofing, then its mark). */
  const ports: Array<{ifname: string; lines: string[]}> = []
  workloads.forEach((w, i) => {
    const ifname = nftString(w.interfaceName, 15)
    const peer = findPeer(world, w)
    const from = peer ? `jump ${endpointChains(builder, peer, 'egress')}` : 'drop'
    const to = peer ? `jump ${endpointChains(builder, peer, 'ingress')}` : 'drop'
    if (bridge === undefined) {
      fromDispatch.push(`${ifname} : ${from}`)
      toDispatch.push(`${ifname} : ${to}`)
      return
    }
    const address = w.address === undefined ? undefined : parseIp(w.address)
    const lines: string[] = []
    if (address?.family === 4) {
      const own = nftAddress(formatIp(4, address.value))
      lines.push(`ether type ip ip saddr != ${own} drop comment ${nftComment('not the pod address')}`, `ether type arp arp saddr ip != ${own} drop comment ${nftComment('not the pod address')}`)
      toDispatch.push(`${own} : ${to}`)
    } else if (address?.family === 6) {
      lines.push(`ether type ip6 ip6 saddr != { fe80::/10, ${nftAddress(formatIp(6, address.value))} } drop comment ${nftComment('not the pod address')}`)
      toDispatch6.push(`${nftAddress(formatIp(6, address.value))} : ${to}`)
    }
    lines.push(`meta mark set ${workloadMark(i)}`)
    ports.push({ifname, lines})
    fromDispatch.push(`${workloadMark(i)} : ${from}`)
  })
  const conntrack = ['ct state established,related accept', 'ct state invalid drop']
  const bridgeTable = `bridge ${nftName(NFT_TABLE)}`
  const out: string[] = [`table ${table} {}`, `delete table ${table}`]
  // A calico node made before flannel support, or a flannel lab's, has no bridge table: declare it, then delete or keep it.
  if (bridge !== undefined) out.push(`table ${bridgeTable} {}`, `delete table ${bridgeTable}`)
  out.push(`table ${table} {`)
  const base = (name: string, hook: string, lines: string[]) => {
    out.push(`\tchain ${name} {`, `\t\t${hook}`, ...lines.map((l) => `\t\t${l}`), '\t}')
  }
  const fromMatch = bridge === undefined ? 'iifname' : `iifname ${bridge} meta mark and 0x${WORKLOAD_MARK_MASK.toString(16)}`
  const toLines: string[] = []
  if (bridge === undefined) {
    if (toDispatch.length > 0) toLines.push(`oifname vmap { ${toDispatch.join(', ')} }`)
  } else {
    if (toDispatch.length > 0) toLines.push(`oifname ${bridge} ip daddr vmap { ${toDispatch.join(', ')} }`)
    if (toDispatch6.length > 0) toLines.push(`oifname ${bridge} ip6 daddr vmap { ${toDispatch6.join(', ')} }`)
  }
  base('from-wl', 'type filter hook forward priority filter; policy accept;', [...conntrack, ...(fromDispatch.length > 0 ? [`${fromMatch} vmap { ${fromDispatch.join(', ')} }`] : [])])
  base('to-wl', 'type filter hook forward priority filter + 1; policy accept;', [...conntrack, ...toLines])
  for (const hook of hostHooks(builder, input, {fromMatch, fromDispatch, workloadInterfaces: bridge === undefined ? workloads.map((w) => nftString(w.interfaceName, 15)) : [bridge]})) base(hook.name, hook.hook, hook.lines)
  for (const named of index.sets.values()) {
    out.push(`\tset ${named.name} {`, `\t\ttype ${named.family === 4 ? 'ipv4_addr' : 'ipv6_addr'}`, '\t\tflags interval', `\t\telements = { ${named.elements.join(', ')} }`, '\t}')
  }
  const nat = natChain(input.pools ?? [], input.uplink ?? 'eth0')
  if (nat) base(nat.name, 'type nat hook postrouting priority srcnat; policy accept;', nat.lines)
  const masq = input.flannelMasq && flannelMasqChain(input.flannelMasq)
  if (masq) base(masq.name, 'type nat hook postrouting priority srcnat; policy accept;', masq.lines)
  for (const chain of chains) {
    out.push(`\tchain ${chain.name} {`, ...chain.lines.map((l) => `\t\t${l}`), '\t}')
  }
  out.push('}')
  if (bridge !== undefined) {
    out.push(`table ${bridgeTable} {`)
    base('ports', 'type filter hook prerouting priority filter; policy accept;', ports.length > 0 ? [`iifname vmap { ${ports.map((p, i) => `${p.ifname} : jump port${i}`).join(', ')} }`] : [])
    ports.forEach((p, i) => out.push(`\tchain port${i} {`, ...p.lines.map((l) => `\t\t${l}`), '\t}'))
    out.push('}')
  }
  return `${out.join('\n')}\n`
}
