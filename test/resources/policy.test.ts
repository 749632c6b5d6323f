/**
 * Calico's policy kinds: aliases, columns, defaulting and validation. Each rule has a case that
 * Calico rejects and one it accepts (libcalico-go validator.go / validator_test.go, the CRDs'
 * CEL rules, api/pkg/defaults).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {NetctlError} from '../../src/errors.js'
import {goFloat} from '../../src/resources/policy.js'
import {findKind, kindInfo} from '../../src/resources/registry.js'
import {API_VERSION, type Resource} from '../../src/resources/types.js'

const object = (kind: string, name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Resource => ({apiVersion: API_VERSION, kind, metadata: {name, ...metadata}, spec})
const np = (spec: Record<string, unknown>, name = 'allow-web') => object('NetworkPolicy', name, spec, {namespace: 'default'})
const gnp = (spec: Record<string, unknown>, name = 'deny-all') => object('GlobalNetworkPolicy', name, spec)
const ingress = (rule: Record<string, unknown>) => np({selector: 'app == "web"', ingress: [{action: 'Allow', ...rule}]})

function ready(resource: Resource): Resource {
  const info = kindInfo(resource.kind)
  const filled = info.withDefaults ? info.withDefaults(resource) : resource
  info.validate!(filled, {others: []})
  return filled
}

/** Refused with an invalid error that names the object, the field, and a fix. */
function rejects(resource: Resource, field: string, pattern?: RegExp): void {
  let caught: unknown
  try {
    ready(resource)
  } catch (error) {
    caught = error
  }
  const where = `${resource.kind} ${JSON.stringify(resource.spec)}`
  assert.ok(caught instanceof NetctlError, `${where}: expected a NetctlError, got ${String(caught)}`)
  assert.equal(caught.kind, 'invalid', where)
  assert.ok(caught.message.startsWith(`${resource.kind} "${resource.metadata.name}"`), caught.message)
  assert.ok(caught.message.includes(field), `${where}: the message does not name ${field}: ${caught.message}`)
  assert.ok(caught.suggestion, `${where}: no suggestion`)
  if (pattern) assert.match(caught.message, pattern)
}

const accepts = (resource: Resource): Resource => {
  try {
    return ready(resource)
  } catch (error) {
    assert.fail(`${resource.kind} ${JSON.stringify(resource.spec)}: ${(error as Error).message}`)
  }
}

describe('policy kinds: calicoctl aliases and columns', () => {
  it('finds every kind by each calicoctl alias', () => {
    const aliases: Record<string, string[]> = {
      NetworkPolicy: ['networkpolicy', 'networkpolicies', 'policy', 'policies', 'np', 'pol', 'pols'],
      GlobalNetworkPolicy: ['globalnetworkpolicy', 'globalnetworkpolicies', 'gnp', 'gnps'],
      StagedNetworkPolicy: ['stagednetworkpolicy', 'stagednetworkpolicies', 'stagedpolicy', 'snp', 'stagedpolicies', 'spol', 'spols'],
      StagedGlobalNetworkPolicy: ['stagedglobalnetworkpolicy', 'stagedglobalnetworkpolicies', 'sgnp', 'sgnps'],
      StagedKubernetesNetworkPolicy: ['stagedkubernetesnetworkpolicy', 'stagedkubernetesnetworkpolicies', 'stagedkubernetespolicy', 'sknp', 'stagedkubernetespolicies', 'skpol', 'skpols'],
      Tier: ['tier', 'tiers'],
      NetworkSet: ['networkset', 'networksets', 'netsets'],
      GlobalNetworkSet: ['globalnetworkset', 'globalnetworksets', 'gnetsets'],
      Profile: ['profile', 'profiles', 'pro', 'pros'],
      HostEndpoint: ['hostendpoint', 'hostendpoints', 'hep', 'heps'],
    }
    for (const [kind, names] of Object.entries(aliases)) {
      for (const alias of [kind, ...names]) assert.equal(findKind(alias)?.kind, kind, alias)
    }
    assert.equal(findKind('NetworkPolicy')!.namespaced, true)
    assert.equal(findKind('NetworkSet')!.namespaced, true)
    assert.equal(findKind('GlobalNetworkPolicy')!.namespaced, false)
    assert.equal(findKind('NetworkPolicy')!.plural, 'networkpolicies')
    assert.equal(findKind('GlobalNetworkSet')!.plural, 'globalnetworksets')
  })

  it('has calicoctl\'s ps and wide columns', () => {
    const columns = (kind: string) => findKind(kind)!.columns
    assert.deepEqual(columns('NetworkPolicy'), {ps: ['NAME', 'TIER'], wide: ['NAME', 'TIER', 'ORDER', 'SELECTOR']})
    assert.deepEqual(columns('GlobalNetworkPolicy'), {ps: ['NAME', 'TIER'], wide: ['NAME', 'TIER', 'ORDER', 'SELECTOR']})
    assert.deepEqual(columns('StagedKubernetesNetworkPolicy'), {ps: ['NAME'], wide: ['NAME', 'PODSELECTOR']})
    assert.deepEqual(columns('Tier'), {ps: ['NAME', 'ORDER'], wide: ['NAME', 'ORDER']})
    assert.deepEqual(columns('NetworkSet'), {ps: ['NAME'], wide: ['NAME', 'NETS']})
    assert.deepEqual(columns('Profile'), {ps: ['NAME'], wide: ['NAME', 'LABELS']})
    assert.deepEqual(columns('HostEndpoint'), {ps: ['NAME', 'NODE'], wide: ['NAME', 'NODE', 'INTERFACE', 'IPS', 'PROFILES']})
  })

  it('prints orders as Go prints a float64, nets cut at 80 characters, labels as sorted k=v', () => {
    assert.equal(goFloat(100), '100')
    assert.equal(goFloat(10.5), '10.5')
    assert.equal(goFloat(1_000_000), '1e+06')
    assert.equal(goFloat(1234567), '1.234567e+06')
    assert.equal(goFloat(0.00001), '1e-05')
    const cell = (kind: string, column: string, r: Resource) => findKind(kind)!.cells[column]!(r, {})
    assert.equal(cell('GlobalNetworkPolicy', 'ORDER', gnp({})), '<nil>')
    assert.equal(cell('Tier', 'ORDER', ready(object('Tier', 'default', {}))), '1e+06')
    const nets = Array.from({length: 10}, (_, i) => `10.${i}.0.0/16`)
    const shown = cell('GlobalNetworkSet', 'NETS', object('GlobalNetworkSet', 'n', {nets}))
    assert.equal(shown.length, 80)
    assert.ok(shown.endsWith('...'))
    assert.equal(
      cell('StagedKubernetesNetworkPolicy', 'PODSELECTOR', object('StagedKubernetesNetworkPolicy', 's', {podSelector: {matchLabels: {tier: 'db', app: 'web'}, matchExpressions: [{key: 'env', operator: 'In', values: ['a', 'b']}]}})),
      '&LabelSelector{MatchLabels:map[string]string{app: web,tier: db,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:env,Operator:In,Values:[a b],},},}',
    )
    assert.equal(cell('Profile', 'LABELS', object('Profile', 'p', {labelsToApply: {b: '2', a: '1'}})), 'a=1,b=2')
  })
})

describe('policy defaulting (Calico api/pkg/defaults)', () => {
  it('defaults types from the rules, the tier to "default", and labels the tier', () => {
    assert.deepEqual(accepts(np({})).spec!.types, ['Ingress'])
    assert.deepEqual(accepts(np({ingress: [{action: 'Allow'}]})).spec!.types, ['Ingress'])
    assert.deepEqual(accepts(np({egress: [{action: 'Allow'}]})).spec!.types, ['Egress'])
    assert.deepEqual(accepts(np({ingress: [{action: 'Allow'}], egress: [{action: 'Deny'}]})).spec!.types, ['Ingress', 'Egress'])
    assert.deepEqual(accepts(np({types: ['Egress']})).spec!.types, ['Egress'])
    const filled = accepts(gnp({}))
    assert.equal(filled.spec!.tier, 'default')
    assert.equal(filled.metadata.labels!['projectcalico.org/tier'], 'default')
    assert.equal(accepts(gnp({tier: 'security'}, 'allow-dns')).metadata.labels!['projectcalico.org/tier'], 'security')
  })

  it('stages as Set by default; a staged Delete carries no types and no other fields', () => {
    assert.equal(accepts(object('StagedNetworkPolicy', 'p', {}, {namespace: 'default'})).spec!.stagedAction, 'Set')
    const deletion = accepts(object('StagedGlobalNetworkPolicy', 'p', {stagedAction: 'Delete'}))
    assert.equal(deletion.spec!.types, undefined)
    rejects(object('StagedGlobalNetworkPolicy', 'p', {stagedAction: 'Delete', selector: 'all()'}), 'spec.selector', /stagedAction is Delete/)
    rejects(object('StagedNetworkPolicy', 'p', {stagedAction: 'Remove'}, {namespace: 'default'}), 'spec.stagedAction')
    assert.equal(accepts(object('StagedKubernetesNetworkPolicy', 'p', {podSelector: {matchLabels: {app: 'web'}}}, {namespace: 'default'})).spec!.stagedAction, 'Set')
    rejects(object('StagedKubernetesNetworkPolicy', 'p', {stagedAction: 'Delete', policyTypes: ['Ingress']}, {namespace: 'default'}), 'spec.policyTypes')
  })
})

describe('policy validation (libcalico-go validator and CEL rules)', () => {
  it('selectors must parse, in the spec and in rules', () => {
    rejects(np({selector: 'app == '}), 'spec.selector')
    rejects(np({serviceAccountSelector: 'role in {'}), 'spec.serviceAccountSelector')
    rejects(gnp({namespaceSelector: 'has('}), 'spec.namespaceSelector')
    rejects(ingress({source: {selector: 'a ='}}), 'spec.ingress[0].source.selector')
    rejects(ingress({source: {namespaceSelector: '!!'}}), 'spec.ingress[0].source.namespaceSelector')
    rejects(ingress({source: {serviceAccounts: {selector: 'x ==='}}}), 'spec.ingress[0].source.serviceAccounts.selector')
    accepts(np({selector: "app == 'web' && tier in {'a','b'}", serviceAccountSelector: 'has(sa)'}))
    accepts(ingress({source: {selector: 'role == "db"', namespaceSelector: 'all()', serviceAccounts: {names: ['api'], selector: 'x == "y"'}}}))
  })

  it('global() only in a rule\'s namespaceSelector, and alone', () => {
    rejects(gnp({selector: 'global()'}), 'spec.selector', /global\(\)/)
    rejects(ingress({source: {selector: 'global()'}}), 'spec.ingress[0].source.selector')
    rejects(ingress({source: {namespaceSelector: 'global() && a == "b"'}}), 'spec.ingress[0].source.namespaceSelector')
    accepts(ingress({source: {namespaceSelector: 'global()'}}))
  })

  it('actions are Allow, Deny, Log or Pass, and required', () => {
    for (const action of ['Allow', 'Deny', 'Log', 'Pass']) accepts(ingress({action}))
    rejects(ingress({action: 'Reject'}), 'spec.ingress[0].action')
    rejects(np({ingress: [{protocol: 'TCP'}]}), 'spec.ingress[0].action', /required/)
  })

  it('protocols by name or as 1-255', () => {
    for (const protocol of ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite', 1, 132, 255]) accepts(ingress({protocol}))
    rejects(ingress({protocol: 'HTTP'}), 'spec.ingress[0].protocol')
    rejects(ingress({protocol: 0}), 'spec.ingress[0].protocol')
    rejects(ingress({protocol: 256}), 'spec.ingress[0].protocol')
    rejects(ingress({notProtocol: 'GRE'}), 'spec.ingress[0].notProtocol')
  })

  it('ports: numbers, ranges and names; numbers only with TCP, UDP or SCTP', () => {
    accepts(ingress({protocol: 'TCP', destination: {ports: [80, '8000:8080', 'http']}}))
    accepts(ingress({protocol: 6, destination: {notPorts: [22]}}))
    accepts(ingress({protocol: 'SCTP', source: {ports: ['1:65535']}}))
    // A named port needs no protocol (Calico's AllPortsAreNamed).
    accepts(ingress({destination: {ports: ['http', 'metrics']}}))
    rejects(ingress({destination: {ports: [80]}}), 'spec.ingress[0].destination.ports[0]', /no protocol/)
    rejects(ingress({source: {notPorts: ['http', '1000:2000']}}), 'spec.ingress[0].source.notPorts[1]')
    rejects(ingress({protocol: 'ICMP', destination: {ports: ['http']}}), 'spec.ingress[0].destination.ports', /has no ports/)
    rejects(ingress({protocol: 'UDPLite', destination: {ports: [53]}}), 'spec.ingress[0].destination.ports')
    rejects(ingress({protocol: 'TCP', destination: {ports: [0]}}), 'spec.ingress[0].destination.ports[0]')
    rejects(ingress({protocol: 'TCP', destination: {ports: [65536]}}), 'spec.ingress[0].destination.ports[0]')
    rejects(ingress({protocol: 'TCP', destination: {ports: ['90:80']}}), 'spec.ingress[0].destination.ports[0]')
    // A name is what numorstring.NamedPort takes: ^[a-zA-Z0-9_.-]{1,128}$.
    accepts(ingress({protocol: 'TCP', destination: {ports: ['Http_Port']}}))
    rejects(ingress({protocol: 'TCP', destination: {ports: ['http port']}}), 'spec.ingress[0].destination.ports[0]')
    rejects(ingress({protocol: 'TCP', destination: {ports: ['p'.repeat(129)]}}), 'spec.ingress[0].destination.ports[0]')
  })

  it('ICMP: type 0-254, code 0-255, a code only with a type, only with an ICMP protocol of the rule\'s family', () => {
    accepts(ingress({protocol: 'ICMP', icmp: {type: 8, code: 0}}))
    accepts(ingress({protocol: 'ICMPv6', icmp: {type: 254, code: 255}}))
    accepts(ingress({protocol: 'ICMP', notICMP: {type: 0}}))
    rejects(ingress({protocol: 'ICMP', icmp: {type: 255}}), 'spec.ingress[0].icmp.type')
    rejects(ingress({protocol: 'ICMP', icmp: {type: 8, code: 256}}), 'spec.ingress[0].icmp.code')
    rejects(ingress({protocol: 'ICMP', icmp: {code: 0}}), 'spec.ingress[0].icmp.code', /without a type/)
    rejects(ingress({protocol: 'TCP', icmp: {type: 8}}), 'spec.ingress[0].icmp', /protocol/)
    rejects(ingress({icmp: {type: 8}}), 'spec.ingress[0].icmp')
    rejects(ingress({protocol: 'ICMP', ipVersion: 6}), 'spec.ingress[0].protocol', /ipVersion is 6/)
    rejects(ingress({protocol: 'ICMPv6', ipVersion: 4}), 'spec.ingress[0].protocol')
    accepts(ingress({protocol: 'ICMPv6', ipVersion: 6}))
  })

  it('ipVersion is 4 or 6, and nets are masked CIDRs of one family', () => {
    accepts(ingress({ipVersion: 4, source: {nets: ['10.0.0.0/8']}, destination: {notNets: ['10.1.0.0/16']}}))
    accepts(ingress({ipVersion: 6, source: {nets: ['fd00::/64']}}))
    rejects(ingress({ipVersion: 5}), 'spec.ingress[0].ipVersion')
    rejects(ingress({ipVersion: 6, source: {nets: ['10.0.0.0/8']}}), 'spec.ingress[0].source.nets[0]', /ipVersion is 6/)
    rejects(ingress({source: {nets: ['10.0.0.0/8']}, destination: {nets: ['fd00::/64']}}), 'spec.ingress[0].destination.nets[0]', /one family/)
    rejects(ingress({source: {nets: ['10.0.0.1/8']}}), 'spec.ingress[0].source.nets[0]')
    rejects(ingress({source: {nets: ['10.0.0.1']}}), 'spec.ingress[0].source.nets[0]', /prefix/)
    rejects(ingress({source: {notNets: ['0.0.0.0/0']}}), 'spec.ingress[0].source.notNets[0]', /nothing/)
    rejects(ingress({source: {nets: ['not-a-net']}}), 'spec.ingress[0].source.nets[0]')
  })

  it('services: in the source of ingress rules and destination of egress rules, without ports or selectors', () => {
    accepts(np({egress: [{action: 'Allow', destination: {services: {name: 'kubernetes', namespace: 'default'}}}]}))
    rejects(np({ingress: [{action: 'Allow', destination: {services: {name: 'web'}}}]}), 'spec.ingress[0].destination.services')
    rejects(np({egress: [{action: 'Allow', source: {services: {name: 'web'}}}]}), 'spec.egress[0].source.services')
    rejects(np({egress: [{action: 'Allow', protocol: 'TCP', destination: {services: {name: 'web'}, ports: [80]}}]}), 'spec.egress[0].destination.services')
    rejects(np({ingress: [{action: 'Allow', source: {services: {name: 'web'}, selector: 'a == "b"'}}]}), 'spec.ingress[0].source.services', /selector/)
    rejects(gnp({egress: [{action: 'Allow', destination: {services: {name: 'web'}}}]}), 'spec.egress[0].destination.services.namespace')
    accepts(gnp({egress: [{action: 'Allow', destination: {services: {name: 'web', namespace: 'prod'}}}]}))
  })

  it('http matches only on Allow ingress rules over TCP, with paths that are paths', () => {
    accepts(ingress({protocol: 'TCP', http: {methods: ['GET'], paths: [{exact: '/health'}, {prefix: '/api'}]}}))
    rejects(ingress({action: 'Deny', http: {methods: ['GET']}}), 'spec.ingress[0].http')
    rejects(ingress({protocol: 'UDP', http: {methods: ['GET']}}), 'spec.ingress[0].protocol')
    rejects(ingress({http: {methods: ['GET', 'GET']}}), 'spec.ingress[0].http.methods')
    rejects(ingress({http: {paths: [{exact: '/a', prefix: '/b'}]}}), 'spec.ingress[0].http.paths[0]')
    rejects(ingress({http: {paths: [{exact: 'health?x'}]}}), 'spec.ingress[0].http.paths[0]')
    rejects(np({egress: [{action: 'Allow', http: {methods: ['GET']}}]}), 'spec.egress[0].http')
  })

  it('types: Ingress and Egress, each once; order is a number; unknown fields are named', () => {
    accepts(np({types: ['Ingress', 'Egress'], order: 10.5}))
    rejects(np({types: ['Ingress', 'Ingress']}), 'spec.types', /twice/)
    rejects(np({types: ['Forward']}), 'spec.types[0]')
    rejects(np({order: '100'}), 'spec.order')
    rejects(np({selectr: 'all()'}), 'spec.selectr', /not a known field/)
    rejects(ingress({source: {nest: ['10.0.0.0/8']}}), 'spec.ingress[0].source.nest')
    rejects(np({performanceHints: ['Fast']}), 'spec.performanceHints[0]')
    accepts(np({performanceHints: ['AssumeNeededOnEveryNode']}))
  })

  it('names: a DNS label or label.label, no tier prefix needed (Calico v3.32+), no knp.default.', () => {
    accepts(gnp({tier: 'security'}, 'allow-dns'))
    accepts(gnp({tier: 'security'}, 'security.allow-dns'))
    accepts(np({tier: 'security'}, 'allow-dns'))
    rejects(gnp({}, 'a.b.c'), 'metadata.name')
    rejects(np({}, 'knp.default.allow'), 'metadata.name', /Kubernetes/)
    rejects(np({tier: 'Security'}), 'spec.tier')
  })

  it('preDNAT and doNotTrack (GlobalNetworkPolicy): exclusive, need applyOnForward, preDNAT has no egress', () => {
    accepts(gnp({preDNAT: true, applyOnForward: true, ingress: [{action: 'Deny'}]}))
    accepts(gnp({doNotTrack: true, applyOnForward: true, egress: [{action: 'Allow'}]}))
    rejects(gnp({preDNAT: true, doNotTrack: true, applyOnForward: true}), 'spec', /both preDNAT and doNotTrack/)
    rejects(gnp({preDNAT: true}), 'spec.applyOnForward', /preDNAT/)
    rejects(gnp({doNotTrack: true}), 'spec.applyOnForward', /doNotTrack/)
    rejects(gnp({preDNAT: true, applyOnForward: true, egress: [{action: 'Allow'}]}), 'spec.egress')
    rejects(gnp({preDNAT: true, applyOnForward: true, types: ['Ingress', 'Egress']}), 'spec.types')
    rejects(np({preDNAT: true}), 'spec.preDNAT', /not a known field/)
    rejects(gnp({applyOnForward: 'yes'}), 'spec.applyOnForward')
  })
})

describe('Tier, NetworkSet, Profile, HostEndpoint validation', () => {
  it('Tier: one DNS label, order a number (default 1000000), defaultAction Deny or Pass, well-known tiers fixed', () => {
    const filled = accepts(object('Tier', 'security', {order: 100}))
    assert.equal(filled.spec!.defaultAction, 'Deny')
    assert.equal(accepts(object('Tier', 'ops', {})).spec!.order, 1_000_000)
    accepts(object('Tier', 'kube-admin', {order: 1000, defaultAction: 'Pass'}))
    rejects(object('Tier', 'sec.ops', {}), 'metadata.name', /tier name/)
    rejects(object('Tier', 'security', {order: 'first'}), 'spec.order')
    rejects(object('Tier', 'security', {defaultAction: 'Allow'}), 'spec.defaultAction')
    rejects(object('Tier', 'default', {order: 5}), 'spec.order', /1e\+06/)
    rejects(object('Tier', 'kube-admin', {order: 1000}), 'spec.defaultAction', /Pass/)
  })

  it('NetworkSet and GlobalNetworkSet: nets are addresses or CIDRs; the namespace label is Calico\'s', () => {
    accepts(object('NetworkSet', 'ext', {nets: ['10.0.0.0/8', '192.168.1.1', 'fd00::/64']}, {namespace: 'default'}))
    accepts(object('GlobalNetworkSet', 'ext', {nets: ['1.2.3.4/32']}, {labels: {role: 'external'}}))
    rejects(object('GlobalNetworkSet', 'ext', {nets: ['10.0.0.0/33']}), 'spec.nets[0]')
    rejects(object('NetworkSet', 'ext', {nets: ['example.com']}, {namespace: 'default'}), 'spec.nets[0]')
    rejects(object('GlobalNetworkSet', 'ext', {nets: []}, {labels: {'projectcalico.org/namespace': 'x'}}), 'metadata.labels.projectcalico.org/namespace')
    rejects(object('GlobalNetworkSet', 'ext', {}, {namespace: 'default'}), 'metadata.namespace')
  })

  it('Profile: rules are policy rules, labelsToApply are labels', () => {
    accepts(object('Profile', 'kns.default', {ingress: [{action: 'Allow'}], egress: [{action: 'Allow'}], labelsToApply: {'pcns.projectcalico.org/name': 'default'}}))
    rejects(object('Profile', 'p', {ingress: [{action: 'Allow', protocol: 'ICMP', destination: {ports: [80]}}]}), 'spec.ingress[0].destination.ports')
    rejects(object('Profile', 'p', {labelsToApply: {'bad key!': 'x'}}), 'spec.labelsToApply')
  })

  it('HostEndpoint: node required, interfaceName or expectedIPs required, profiles are names', () => {
    accepts(object('HostEndpoint', 'node01-eth0', {node: 'node01', interfaceName: 'eth0', expectedIPs: ['172.17.0.40'], profiles: ['kns.default']}))
    accepts(object('HostEndpoint', 'node01-all', {node: 'node01', interfaceName: '*'}))
    accepts(object('HostEndpoint', 'node01-ip', {node: 'node01', expectedIPs: ['fd00::40'], ports: [{name: 'https', protocol: 'TCP', port: 443}]}))
    rejects(object('HostEndpoint', 'h', {interfaceName: 'eth0'}), 'spec.node', /required/)
    rejects(object('HostEndpoint', 'h', {node: 'node01'}), 'spec', /interfaceName nor expectedIPs/)
    rejects(object('HostEndpoint', 'h', {node: 'node01', interfaceName: 'a-very-long-interface'}), 'spec.interfaceName')
    rejects(object('HostEndpoint', 'h', {node: 'node01', expectedIPs: ['10.0.0.0/8']}), 'spec.expectedIPs[0]')
    rejects(object('HostEndpoint', 'h', {node: 'node01', interfaceName: 'eth0', profiles: ['Bad_Profile']}), 'spec.profiles[0]')
    rejects(object('HostEndpoint', 'h', {node: 'node01', interfaceName: 'eth0', ports: [{name: 'ping', protocol: 'ICMP', port: 1}]}), 'spec.ports[0].protocol')
    // A policy's field put on the host endpoint it is about: said so, not "unknown field".
    rejects(object('HostEndpoint', 'h', {node: 'node01', interfaceName: 'eth0', applyOnForward: true}), 'spec.applyOnForward', /field of a GlobalNetworkPolicy/)
  })
})
