/**
 * Calico's policy Rule and EntityRule (api/pkg/apis/projectcalico/v3/policy_common.go), checked
 * as libcalico-go's validator (validateRule, validateEntityRule, validatePort, validateProtocol)
 * and the CRDs' CEL rules check them. Shared by every policy kind and by Profile.
 */
import {parseCidr} from './cidr.js'
import {network, name, protocol, selector} from './formats.js'
import {annotations} from './metadata.js'
import type {Resource} from './types.js'
import {integer, invalid, list, object, oneOf, show, string, text, type Rule} from './validate.js'

export const actions = ['Allow', 'Deny', 'Log', 'Pass'] as const
export const policyTypes = ['Ingress', 'Egress'] as const

// numorstring.Port's forms: digits are a port, digits:digits a range, anything else a name
// (^[a-zA-Z0-9_.-]{1,128}$, as numorstring.NamedPort checks it).
const portRange = /^(\d+):(\d+)$/
const namedPort = /^[a-zA-Z0-9_.-]{1,128}$/
const isNamedPort = (p: string | number): boolean => typeof p === 'string' && !/^\d+$/.test(p) && !portRange.test(p)

/** numorstring.Port in a rule: 1-65535, "min:max" (1 <= min <= max <= 65535) or a port name. */
export const rulePort: Rule = (resource, field, value) => {
  if (typeof value === 'number') return integer(1, 65535)(resource, field, value)
  string({
    max: 128,
    test: (v) => {
      const range = portRange.exec(v)
      if (range) return Number(range[1]) >= 1 && Number(range[1]) <= Number(range[2]) && Number(range[2]) <= 65535
      return /^\d+$/.test(v) ? Number(v) >= 1 && Number(v) <= 65535 : namedPort.test(v)
    },
    what: 'a port, a port range or a port name',
    fix: 'write a number from 1 to 65535, a range like 8000:8080 (low:high) or a port name (letters, digits, "_", "." and "-")',
  })(resource, field, value)
}

const ipVersion: Rule = (resource, field, value) => {
  if (value !== 4 && value !== 6) throw invalid(resource, field, `${show(value)} is not 4 or 6`, `set ${field} to 4 or 6, without quotes`)
}

const icmpFields = object({type: integer(0, 254), code: integer(0, 255)})

const entityRuleFields = {
  nets: list(network(), {max: 256}),
  selector,
  namespaceSelector: selector,
  services: object({name, namespace: name}),
  ports: list(rulePort, {max: 50}),
  notNets: list(network(), {max: 256}),
  notSelector: selector,
  notPorts: list(rulePort, {max: 50}),
  serviceAccounts: object({names: list(name, {max: 1000}), selector}),
}

const httpPath = object({exact: string({max: 1024}), prefix: string({max: 1024})})

export const ruleFields = {
  action: oneOf(actions),
  ipVersion,
  protocol,
  icmp: icmpFields,
  notProtocol: protocol,
  notICMP: icmpFields,
  source: object(entityRuleFields),
  destination: object(entityRuleFields),
  http: object({methods: list(text(64), {max: 20}), paths: list(httpPath, {max: 20})}),
  metadata: object({annotations}),
}

/** One rule: its fields, then Calico's checks across them. */
export const rule: Rule = (resource, field, value) => {
  object(ruleFields, {required: ['action']})(resource, field, value)
  checkRule(resource, field, value as RuleShape)
}

export const rules = (max = 1024): Rule => list(rule, {max})

type Proto = string | number | undefined
interface EntityShape {
  nets?: string[]
  notNets?: string[]
  selector?: string
  notSelector?: string
  namespaceSelector?: string
  ports?: Array<string | number>
  notPorts?: Array<string | number>
  services?: {name?: string; namespace?: string}
  serviceAccounts?: unknown
}
export interface RuleShape {
  action: string
  ipVersion?: number
  protocol?: Proto
  notProtocol?: Proto
  icmp?: {type?: number; code?: number}
  notICMP?: {type?: number; code?: number}
  source?: EntityShape
  destination?: EntityShape
  http?: {methods?: string[]; paths?: Array<{exact?: string; prefix?: string}>}
}

/** numorstring.Protocol.SupportsPorts: TCP, UDP, SCTP by name or number. */
export const supportsPorts = (p: Proto): boolean => ['TCP', 'UDP', 'SCTP', 6, 17, 132, '6', '17', '132'].includes(p as string)
const isIcmp = (p: Proto) => p === 'ICMP' || p === 1 || p === '1'
const isIcmpv6 = (p: Proto) => p === 'ICMPv6' || p === 58 || p === '58'

function checkRule(resource: Resource, field: string, r: RuleShape): void {
  const sides = [['source', r.source ?? {}], ['destination', r.destination ?? {}]] as const
  // Ports: numbers and ranges need a protocol that has ports; named ports need none, but a
  // protocol without ports takes no ports at all.
  for (const [side, entity] of sides) {
    for (const key of ['ports', 'notPorts'] as const) {
      const ports = entity[key] ?? []
      if (ports.length === 0) continue
      const at = `${field}.${side}.${key}`
      if (r.protocol === undefined) {
        const i = ports.findIndex((p) => !isNamedPort(p))
        if (i >= 0) throw invalid(resource, `${at}[${i}]`, `${show(ports[i])} is a port number or range, but the rule has no protocol`, `set ${field}.protocol to TCP, UDP or SCTP`)
      } else if (!supportsPorts(r.protocol)) {
        throw invalid(resource, at, `is set, but protocol ${show(r.protocol)} has no ports`, `set ${field}.protocol to TCP, UDP or SCTP, or remove ${at}`)
      }
    }
  }
  // ICMP: only with an ICMP protocol, a code only with a type, and the family must match.
  if (r.icmp !== undefined && !isIcmp(r.protocol) && !isIcmpv6(r.protocol)) {
    throw invalid(resource, `${field}.icmp`, `is set, but protocol is ${r.protocol === undefined ? 'not set' : show(r.protocol)}`, `set ${field}.protocol to ICMP or ICMPv6`)
  }
  for (const key of ['icmp', 'notICMP'] as const) {
    const icmp = r[key]
    if (icmp && icmp.code !== undefined && icmp.type === undefined) throw invalid(resource, `${field}.${key}.code`, 'is set without a type', `set ${field}.${key}.type too, or remove the code`)
  }
  for (const key of ['protocol', 'notProtocol'] as const) {
    if (isIcmp(r[key]) && r.ipVersion === 6) throw invalid(resource, `${field}.${key}`, `${show(r[key])} is IPv4's ICMP, but ipVersion is 6`, 'use ICMPv6 for IPv6, or set ipVersion: 4')
    if (isIcmpv6(r[key]) && r.ipVersion === 4) throw invalid(resource, `${field}.${key}`, `${show(r[key])} is IPv6's ICMP, but ipVersion is 4`, 'use ICMP for IPv4, or set ipVersion: 6')
  }
  // Nets: one family per rule, the rule's ipVersion if it has one, and no negated catch-all.
  let family: 4 | 6 | undefined
  let familyField = ''
  for (const [side, entity] of sides) {
    for (const key of ['nets', 'notNets'] as const) {
      for (const [i, net] of (entity[key] ?? []).entries()) {
        const at = `${field}.${side}.${key}[${i}]`
        const cidr = parseCidr(net)
        // Calico's validateRule parses nets with ParseCIDR: a bare address is refused there.
        if (!cidr) throw invalid(resource, at, `${show(net)} has no prefix length`, `write it as a CIDR, e.g. ${net}/${net.includes(':') ? 128 : 32}`)
        if (r.ipVersion !== undefined && cidr.family !== r.ipVersion) throw invalid(resource, at, `${show(net)} is IPv${cidr.family}, but the rule's ipVersion is ${r.ipVersion}`, `use an IPv${r.ipVersion} network, or change ipVersion`)
        if (family !== undefined && cidr.family !== family) throw invalid(resource, at, `${show(net)} is IPv${cidr.family}, but ${familyField} is IPv${family}: a rule holds one family`, 'split the rule into an IPv4 rule and an IPv6 rule')
        if (key === 'notNets' && cidr.prefix === 0) throw invalid(resource, at, `${show(net)} negates every address: the rule would match nothing`, `remove it from ${field}.${side}.notNets`)
        family ??= cidr.family
        familyField ||= at
      }
    }
  }
  for (const [side, entity] of sides) checkEntityRule(resource, `${field}.${side}`, entity)
  if (r.destination?.services && ((r.destination.ports?.length ?? 0) > 0 || (r.destination.notPorts?.length ?? 0) > 0)) {
    throw invalid(resource, `${field}.destination.services`, 'is set with destination ports', 'remove the ports: a service brings its own')
  }
  if (r.http) checkHttp(resource, field, r)
}

function checkEntityRule(resource: Resource, field: string, e: EntityShape): void {
  if (e.selector?.includes('global(')) throw invalid(resource, `${field}.selector`, 'uses global(), which only a namespaceSelector may use', `move global() to ${field}.namespaceSelector`)
  const ns = e.namespaceSelector
  if (ns !== undefined && ns.includes('global(') && ns.trim() !== 'global()') {
    throw invalid(resource, `${field}.namespaceSelector`, `${show(ns)} combines global() with other terms`, 'write namespaceSelector: global() alone')
  }
  if (e.services) {
    const conflicts = [
      ['namespaceSelector', Boolean(e.namespaceSelector)],
      ['serviceAccounts', e.serviceAccounts !== undefined],
      ['selector', Boolean(e.selector)],
      ['notSelector', Boolean(e.notSelector)],
      ['nets', (e.nets?.length ?? 0) > 0],
      ['notNets', (e.notNets?.length ?? 0) > 0],
    ] as const
    const clash = conflicts.find(([, set]) => set)
    if (clash) throw invalid(resource, `${field}.services`, `cannot be combined with ${field}.${clash[0]}`, `keep services or ${clash[0]}, not both`)
    if (!e.services.name) throw invalid(resource, `${field}.services.name`, 'is required', 'name the Kubernetes Service')
  }
}

function checkHttp(resource: Resource, field: string, r: RuleShape): void {
  if (r.action !== 'Allow') throw invalid(resource, `${field}.http`, `is set on a ${r.action} rule; only Allow rules may match HTTP`, 'set action: Allow, or remove http')
  if (r.protocol !== undefined && r.protocol !== 'TCP' && r.protocol !== 6) throw invalid(resource, `${field}.protocol`, `${show(r.protocol)} cannot carry an HTTP match`, 'set protocol: TCP, or remove it')
  const methods = r.http!.methods ?? []
  const dup = methods.find((m, i) => methods.indexOf(m) !== i)
  if (dup !== undefined) throw invalid(resource, `${field}.http.methods`, `lists ${show(dup)} twice`, 'list each method once')
  for (const [i, path] of (r.http!.paths ?? []).entries()) {
    const at = `${field}.http.paths[${i}]`
    if (path.exact && path.prefix) throw invalid(resource, at, 'sets both exact and prefix', 'keep one of them')
    const value = path.exact || path.prefix
    if (!value) throw invalid(resource, at, 'sets neither exact nor prefix', 'set exact: /path or prefix: /path')
    if (!value.startsWith('/') || /[? #]/.test(value)) throw invalid(resource, at, `${show(value)} is not a path`, 'start it with "/" and leave out "?", "#" and spaces')
  }
}

/**
 * Calico's defaulting of types: Ingress when there are no egress rules (also when there are no
 * rules at all), Egress when there are only egress rules, both when there are both.
 */
export function defaultTypes(spec: Record<string, unknown>): string[] {
  const has = (key: string) => Array.isArray(spec[key]) && (spec[key] as unknown[]).length > 0
  if (!has('egress')) return ['Ingress']
  if (!has('ingress')) return ['Egress']
  return ['Ingress', 'Egress']
}
