/**
 * Rule matching, as Calico renders a v3 rule into the dataplane:
 * - libcalico-go updateprocessors/rules.go turns the entity's selector, namespaceSelector and
 *   serviceAccounts into one selector (namespaced for a NetworkPolicy as soon as any selector field
 *   is used; notSelector itself is never namespaced);
 * - felix/calc/rule_scanner.go folds notSelector into a positive selector when there is one, and
 *   turns named ports into (ip, protocol, port) IP sets filtered by the positive selector;
 * - felix/rules/policy.go drops a rule for an IP version when its nets (or notNets) have none of
 *   that version, or when notNets holds the catch-all CIDR; ports within a list are OR'd, the
 *   match fields AND'd.
 * Selectors match *addresses*, as IP sets do: a peer address matches a selector when it is an
 * address of an endpoint the selector selects or lies in a net of a network set it selects.
 */
import {containsIp, formatCidr, parseCidrOrIp, type Cidr} from '../resources/cidr.js'
import {parseSelector} from '../resources/selector.js'
import {
  LABEL_NAMESPACE,
  LABEL_SERVICE_ACCOUNT,
  VIEW_HAS_NAMESPACE,
  VIEW_HAS_SERVICE_ACCOUNT,
  protocolName,
  protocolNumber,
  type Labels,
  type Peer,
} from './endpoints.js'

export type PeerTest = (peer: Peer) => boolean
type LabelTest = (labels: Labels) => boolean

const selectorCache = new Map<string, LabelTest>()
/** parseSelector, memoised: the same selector text recurs across policies and rules. */
export function compileSelector(text: string): LabelTest {
  let test = selectorCache.get(text)
  if (!test) {
    test = parseSelector(text)
    if (selectorCache.size > 50_000) selectorCache.clear()
    selectorCache.set(text, test)
  }
  return test
}

/** Calico's textual all() → replacement (strings.Replace on the selector text). */
const replaceAll = (text: string, replacement: string) => text.replace(/all\([ \t]*\)/g, replacement)
const replaceGlobal = (text: string, replacement: string) => text.replace(/global\([ \t]*\)/g, replacement)

/** A selector written for pcns.-prefixed labels: evaluated on the peer's namespace view. */
export function namespaceSelectorTest(text: string, rewriteGlobal: boolean): PeerTest {
  let rewritten = replaceAll(text, `has(${VIEW_HAS_NAMESPACE})`)
  if (rewriteGlobal) rewritten = replaceGlobal(rewritten, `!has(${VIEW_HAS_NAMESPACE})`)
  const test = compileSelector(rewritten)
  return (p) => test(p.namespaceView)
}

/** A selector written for pcsa.-prefixed labels: evaluated on the service-account view. */
export function serviceAccountSelectorTest(text: string, allMeans?: 'has-serviceaccount'): PeerTest {
  const rewritten = allMeans ? replaceAll(text, `has(${VIEW_HAS_SERVICE_ACCOUNT})`) : text
  const test = compileSelector(rewritten)
  return (p) => test(p.serviceAccountView)
}

export const labelTest = (text: string): PeerTest => {
  const test = compileSelector(text)
  return (p) => test(p.labels)
}

const and = (tests: PeerTest[]): PeerTest => (tests.length === 1 ? tests[0]! : (p) => tests.every((t) => t(p)))

export interface PolicySelector {
  test: PeerTest
  /** How Calico would write it (prefixing shown as pcns:(…) / pcsa:(…)). */
  text: string
}

/**
 * The selector a policy applies with (networkpolicyprocessor.go / globalnetworkpolicyprocessor.go):
 * NetworkPolicy: (selector) && projectcalico.org/namespace == '<ns>', then && pcsa.(serviceAccountSelector).
 * GlobalNetworkPolicy: (selector) && pcns.(namespaceSelector) with every all() then read as
 * has(projectcalico.org/namespace); then && pcsa.(serviceAccountSelector) with every remaining
 * all() read as has(projectcalico.org/serviceaccount).
 */
export function policySelector(spec: Record<string, unknown>, namespace: string | undefined): PolicySelector {
  const str = (v: unknown) => (typeof v === 'string' ? v : '')
  let selector = str(spec.selector)
  const tests: PeerTest[] = []
  const parts: string[] = []
  const nsSel = str(spec.namespaceSelector)
  const saSel = str(spec.serviceAccountSelector)
  if (namespace !== undefined) {
    if (selector !== '') {
      tests.push(labelTest(selector))
      parts.push(`(${selector})`)
    }
    tests.push((p) => p.labels[LABEL_NAMESPACE] === namespace)
    parts.push(`${LABEL_NAMESPACE} == '${namespace}'`)
    if (saSel !== '') {
      tests.push(serviceAccountSelectorTest(saSel))
      parts.push(`pcsa:(${saSel})`)
    }
  } else {
    // The textual all() replacements run over the whole combined selector, the policy's own
    // selector included (so `all()` with a namespaceSelector no longer selects host endpoints).
    if (nsSel !== '') selector = selector.replaceAll('all()', `has(${LABEL_NAMESPACE})`)
    if (saSel !== '') selector = selector.replaceAll('all()', `has(${LABEL_SERVICE_ACCOUNT})`)
    if (selector !== '') {
      tests.push(labelTest(selector))
      parts.push(`(${selector})`)
    }
    if (nsSel !== '') {
      tests.push(namespaceSelectorTest(nsSel, false))
      parts.push(`pcns:(${nsSel})`)
    }
    if (saSel !== '') {
      tests.push(serviceAccountSelectorTest(saSel, 'has-serviceaccount'))
      parts.push(`pcsa:(${saSel})`)
    }
  }
  if (tests.length === 0) return {test: () => true, text: 'all()'}
  return {test: and(tests), text: parts.join(' && ')}
}

export interface PortRange {
  min: number
  max: number
}

export interface CompiledEntity {
  nets: Cidr[]
  notNets: Cidr[]
  /** The positive selector (selector/namespaceSelector/serviceAccounts, notSelector folded in). */
  positive?: PeerTest
  positiveText?: string
  /** notSelector on its own, when there is no positive selector. */
  negative?: PeerTest
  negativeText?: string
  ports: PortRange[]
  namedPorts: string[]
  notPorts: PortRange[]
  notNamedPorts: string[]
  service?: string
}

export type RuleAction = 'Allow' | 'Deny' | 'Pass' | 'Log'

export interface CompiledRule {
  index: number
  action: RuleAction
  /** The rule as written, one line. */
  text: string
  rule: Record<string, unknown>
  ipVersion?: 4 | 6
  protocol?: number
  notProtocol?: number
  icmp?: {type?: number; code?: number}
  notICMP?: {type?: number; code?: number}
  source: CompiledEntity
  destination: CompiledEntity
  /** Calico leaves HTTP matches to the application layer; the L3/L4 part is all we check. */
  hasHTTP: boolean
}

const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {})
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [])

function parsePorts(value: unknown): {numeric: PortRange[]; named: string[]} {
  const numeric: PortRange[] = []
  const named: string[] = []
  for (const p of Array.isArray(value) ? value : []) {
    if (typeof p === 'number') numeric.push({min: p, max: p})
    else if (typeof p === 'string') {
      const range = /^(\d+):(\d+)$/.exec(p)
      if (range) numeric.push({min: Number(range[1]), max: Number(range[2])})
      else if (/^\d+$/.test(p)) numeric.push({min: Number(p), max: Number(p)})
      else named.push(p)
    }
  }
  return {numeric, named}
}

/** getEndpointSelector in rules.go, as a test (and its text for display). */
function entitySelector(entity: Record<string, unknown>, namespace: string | undefined): {test?: PeerTest; text?: string} {
  const str = (v: unknown) => (typeof v === 'string' ? v : '')
  const nsSel = str(entity.namespaceSelector)
  const sel = str(entity.selector)
  const notSel = str(entity.notSelector)
  const selectors: Array<{test: PeerTest; text: string}> = []
  const sa = entity.serviceAccounts === undefined ? undefined : record(entity.serviceAccounts)
  if (sa) {
    const saParts: Array<{test: PeerTest; text: string}> = []
    const saSelector = str(sa.selector)
    if (saSelector !== '') saParts.push({test: serviceAccountSelectorTest(saSelector), text: `pcsa:(${saSelector})`})
    const names = strings(sa.names)
    if (names.length > 0) {
      const set = new Set(names)
      saParts.push({test: (p) => Object.hasOwn(p.labels, LABEL_SERVICE_ACCOUNT) && set.has(p.labels[LABEL_SERVICE_ACCOUNT]!), text: `${LABEL_SERVICE_ACCOUNT} in {${names.map((n) => `'${n}'`).join(', ')}}`})
    }
    if (saParts.length > 0) selectors.push({test: and(saParts.map((s) => s.test)), text: saParts.map((s) => `(${s.text})`).join(' && ')})
  }
  if (sel !== '') selectors.push({test: labelTest(sel), text: sel})
  let nsPart: {test: PeerTest; text: string} | undefined
  if (nsSel !== '') nsPart = {test: namespaceSelectorTest(nsSel, true), text: `pcns:(${nsSel})`}
  else if (namespace !== undefined) nsPart = {test: (p) => p.labels[LABEL_NAMESPACE] === namespace, text: `${LABEL_NAMESPACE} == '${namespace}'`}
  let selector = selectors.length === 0 ? undefined : {test: and(selectors.map((s) => s.test)), text: selectors.map((s) => `(${s.text})`).join(' && ')}
  if (nsPart && (selector || notSel !== '' || nsSel !== '')) {
    selector = selector ? {test: and([nsPart.test, selector.test]), text: `(${nsPart.text}) && ${selector.text}`} : nsPart
  }
  return selector ?? {}
}

function compileEntity(value: unknown, namespace: string | undefined): CompiledEntity {
  const entity = record(value)
  const nets = (list: unknown) => strings(list).map((n) => parseCidrOrIp(n)).filter((c): c is Cidr => c !== undefined)
  const {test, text} = entitySelector(entity, namespace)
  const notSel = typeof entity.notSelector === 'string' ? entity.notSelector : ''
  const out: CompiledEntity = {
    nets: nets(entity.nets),
    notNets: nets(entity.notNets),
    ports: [],
    namedPorts: [],
    notPorts: [],
    notNamedPorts: [],
  }
  // combineMatchesIfPossible: with a positive selector, notSelector filters it.
  if (test) {
    if (notSel !== '') {
      const neg = labelTest(notSel)
      out.positive = (p) => test(p) && !neg(p)
      out.positiveText = `(${text}) && !(${notSel})`
    } else {
      out.positive = test
      out.positiveText = text
    }
  } else if (notSel !== '') {
    out.negative = labelTest(notSel)
    out.negativeText = notSel
  }
  const ports = parsePorts(entity.ports)
  const notPorts = parsePorts(entity.notPorts)
  out.ports = ports.numeric
  out.namedPorts = ports.named
  out.notPorts = notPorts.numeric
  out.notNamedPorts = notPorts.named
  const services = record(entity.services)
  if (typeof services.name === 'string' && services.name !== '') out.service = `${typeof services.namespace === 'string' ? services.namespace : namespace ?? ''}/${services.name}`
  return out
}

function icmpOf(value: unknown): {type?: number; code?: number} | undefined {
  if (value === undefined || value === null) return undefined
  const v = record(value)
  return {type: typeof v.type === 'number' ? v.type : undefined, code: typeof v.code === 'number' ? v.code : undefined}
}

const ACTIONS: Record<string, RuleAction> = {allow: 'Allow', deny: 'Deny', pass: 'Pass', 'next-tier': 'Pass', log: 'Log'}

/** Compile one v3 rule of a policy in `namespace` (undefined for global policies and profiles). */
export function compileRule(value: unknown, index: number, namespace: string | undefined): CompiledRule {
  const rule = record(value)
  const action = ACTIONS[String(rule.action ?? '').toLowerCase()]
  if (!action) throw new Error(`rule ${index} has action ${JSON.stringify(rule.action)}: expected Allow, Deny, Pass or Log`)
  const protocol = rule.protocol === undefined ? undefined : protocolNumber(rule.protocol)
  if (rule.protocol !== undefined && protocol === undefined) throw new Error(`rule ${index} has protocol ${JSON.stringify(rule.protocol)}`)
  const notProtocol = rule.notProtocol === undefined ? undefined : protocolNumber(rule.notProtocol)
  const ipVersion = rule.ipVersion === 4 || rule.ipVersion === 6 ? rule.ipVersion : undefined
  return {
    index,
    action,
    text: ruleText(rule),
    rule,
    ipVersion,
    protocol,
    notProtocol,
    icmp: icmpOf(rule.icmp),
    notICMP: icmpOf(rule.notICMP),
    source: compileEntity(rule.source, namespace),
    destination: compileEntity(rule.destination, namespace),
    hasHTTP: rule.http !== undefined && rule.http !== null,
  }
}

/** One line: `Allow TCP from {...} to {"ports":[80]}`. */
export function ruleText(rule: Record<string, unknown>): string {
  const parts = [String(rule.action ?? '?')]
  for (const key of ['ipVersion', 'protocol', 'notProtocol', 'icmp', 'notICMP', 'http'] as const) {
    if (rule[key] === undefined) continue
    parts.push(key === 'protocol' ? String(rule[key]) : `${key}=${JSON.stringify(rule[key])}`)
  }
  for (const [key, word] of [['source', 'from'], ['destination', 'to']] as const) {
    const entity = record(rule[key])
    if (Object.keys(entity).length > 0) parts.push(`${word} ${JSON.stringify(entity)}`)
  }
  return parts.join(' ')
}

/** A packet as the dataplane sees it, with what each address is. */
export interface Packet {
  family: 4 | 6
  src: bigint
  dst: bigint
  protocol: number
  srcPort?: number
  dstPort?: number
  icmpType?: number
  icmpCode?: number
  /** Endpoints owning the address, and network sets whose nets contain it. */
  srcPeers: Peer[]
  dstPeers: Peer[]
}

export interface MatchNotes {
  /** Things we could not check exactly (reported beside the verdict). */
  notes: string[]
}

const inRanges = (port: number, ranges: PortRange[]) => ranges.some((r) => port >= r.min && port <= r.max)
const inNets = (family: 4 | 6, ip: bigint, nets: Cidr[]) => nets.some((n) => containsIp(n, family, ip))

/** Felix's FilterRuleToIPVersion: the nets of this family, or null when the rule is not rendered. */
function netsForFamily(nets: Cidr[], family: 4 | 6, negated: boolean): Cidr[] | null {
  if (nets.length === 0) return []
  const kept = nets.filter((n) => n.family === family)
  if (negated && kept.some((n) => n.prefix === 0)) return null
  return kept.length === 0 ? null : kept
}

/** Whether (address, protocol, port) is in the named-port IP set for `name`. */
function inNamedPortSet(peers: Peer[], filter: PeerTest | undefined, name: string, ruleProtocol: number | undefined, protocol: number, port: number): boolean {
  return peers.some(
    (p) =>
      (p.kind === 'WorkloadEndpoint' || p.kind === 'HostEndpoint') &&
      (!filter || filter(p)) &&
      p.ports.some((np) => np.name === name && (ruleProtocol === undefined || np.protocol === ruleProtocol) && np.protocol === protocol && np.port === port),
  )
}

function matchEntity(entity: CompiledEntity, rule: CompiledRule, family: 4 | 6, ip: bigint, peers: Peer[], port: number | undefined, protocol: number, side: string, notes: MatchNotes): boolean {
  const nets = netsForFamily(entity.nets, family, false)
  const notNets = netsForFamily(entity.notNets, family, true)
  if (nets === null || notNets === null) return false
  if (nets.length > 0 && !inNets(family, ip, nets)) return false
  if (notNets.length > 0 && inNets(family, ip, notNets)) return false
  const selected = (test: PeerTest) => peers.some(test)
  // With named ports only, the named-port set (filtered by the selector) replaces the selector set.
  if (entity.positive && (entity.ports.length > 0 || entity.namedPorts.length === 0) && !selected(entity.positive)) return false
  if (entity.negative && selected(entity.negative)) return false
  const hasPorts = entity.ports.length + entity.namedPorts.length + entity.notPorts.length + entity.notNamedPorts.length > 0
  if (hasPorts) {
    if (port === undefined) {
      notes.notes.push(`rule ${rule.index} matches ${side} ports but the flow has no ${side} port: taken as no match`)
      return false
    }
    if (entity.ports.length + entity.namedPorts.length > 0) {
      const numeric = inRanges(port, entity.ports)
      const named = entity.namedPorts.some((n) => inNamedPortSet(peers, entity.positive, n, rule.protocol, protocol, port))
      if (!numeric && !named) return false
    }
    if (inRanges(port, entity.notPorts)) return false
    if (entity.notNamedPorts.some((n) => inNamedPortSet(peers, entity.positive, n, rule.protocol, protocol, port))) return false
  }
  if (entity.service) {
    notes.notes.push(`rule ${rule.index} matches ${side} service ${entity.service}: services are not in the world, taken as no match`)
    return false
  }
  return true
}

function matchIcmp(icmp: {type?: number; code?: number}, packet: Packet): boolean {
  if (icmp.type !== undefined && packet.icmpType !== icmp.type) return false
  if (icmp.code !== undefined && packet.icmpCode !== icmp.code) return false
  return true
}

/** Whether a compiled rule matches the packet (all its fields AND'd). */
export function matchRule(rule: CompiledRule, packet: Packet, notes: MatchNotes): boolean {
  if (rule.ipVersion !== undefined && rule.ipVersion !== packet.family) return false
  if (rule.protocol !== undefined && rule.protocol !== packet.protocol) return false
  if (rule.notProtocol !== undefined && rule.notProtocol === packet.protocol) return false
  if (rule.icmp && !matchIcmp(rule.icmp, packet)) return false
  if (rule.notICMP && (rule.notICMP.type !== undefined || rule.notICMP.code !== undefined) && matchIcmp(rule.notICMP, packet)) return false
  if (!matchEntity(rule.source, rule, packet.family, packet.src, packet.srcPeers, packet.srcPort, packet.protocol, 'source', notes)) return false
  if (!matchEntity(rule.destination, rule, packet.family, packet.dst, packet.dstPeers, packet.dstPort, packet.protocol, 'destination', notes)) return false
  if (rule.hasHTTP) notes.notes.push(`rule ${rule.index} has an HTTP match: only its L3/L4 part is checked (Felix leaves HTTP to the application layer)`)
  return true
}

export const describeNets = (nets: Cidr[]) => nets.map(formatCidr)
export {protocolName}
