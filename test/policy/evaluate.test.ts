/**
 * Flow verdicts against Calico's documented and implemented semantics (felix/rules/endpoints.go,
 * felix/calc/policy_sorter.go, libcalico-go updateprocessors/rules.go): each case names the
 * deciding tier, policy and rule (or end of tier / profile / no profiles) for each direction.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {buildWorld, evaluate, type DirectionResult, type Flow} from '../../src/policy/index.js'
import type {Resource} from '../../src/resources/types.js'
import {gnetset, gnp, hep, netset, np, profile, sgnp, tier, wep} from './fixtures.js'

const namespaces = {prod: {env: 'prod'}, dev: {env: 'dev'}}
const base: Resource[] = [
  wep('prod', 'web', {app: 'web'}, ['10.0.1.1', 'fd00::1:1'], {
    serviceAccountName: 'web-sa',
    ports: [{name: 'http', protocol: 'TCP', port: 8080}, {name: 'metrics', protocol: 'TCP', port: 9100}],
  }),
  wep('prod', 'db', {app: 'db'}, '10.0.1.2', {ports: [{name: 'pg', protocol: 'TCP', port: 5432}]}),
  wep('dev', 'client', {app: 'client'}, ['10.0.2.1', 'fd00::2:1']),
  hep('node1-eth0', {host: 'node1'}, ['192.168.0.1']),
  netset('prod', 'partners', {role: 'partner'}, ['203.0.113.0/24']),
  netset('dev', 'dev-partners', {role: 'partner'}, ['198.51.100.0/24']),
  gnetset('lab', {role: 'lab'}, ['10.0.2.0/24']),
  profile('ksa.prod.web-sa', {'pcsa.team': 'payments', 'pcsa.projectcalico.org/name': 'web-sa'}),
]

const web = {kind: 'WorkloadEndpoint' as const, name: 'web', namespace: 'prod'}
const db = {kind: 'WorkloadEndpoint' as const, name: 'db', namespace: 'prod'}
const client = {kind: 'WorkloadEndpoint' as const, name: 'client', namespace: 'dev'}
const node = {kind: 'HostEndpoint' as const, name: 'node1-eth0'}

interface Expect {
  decidedBy: DirectionResult['decidedBy']
  policy?: string
  tier?: string
  ruleIndex?: number
  profile?: string
}
interface Case {
  name: string
  add: Resource[]
  flow: Flow
  allowed: boolean
  ingress?: Expect
  egress?: Expect
  stagedAllowed?: boolean
  check?: (v: ReturnType<typeof evaluate>) => void
}

const tcp = (from: Flow['from'], to: Flow['to'], port: number, extra: Partial<Flow> = {}): Flow => ({from, to, protocol: 'TCP', port, ...extra})
const node2 = hep('node2-eth0', {host: 'node2'}, ['192.168.0.2'], {profiles: ['projectcalico-default-allow']})
const allowAll = np('prod', 'allow-all', {selector: 'all()', ingress: [{action: 'Allow'}]})
const allowDev = np('prod', 'allow-dev', {selector: "app == 'web'", ingress: [{action: 'Allow', protocol: 'TCP', source: {namespaceSelector: "env == 'dev'"}, destination: {ports: [80]}}]})
const ingressTo = (name: string, rules: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) => gnp(name, {selector: 'all()', ingress: rules, ...extra})
const endOfTier = (tierName = 'default'): Expect => ({decidedBy: 'end-of-tier', tier: tierName})
const rule = (policy: string, ruleIndex: number, tierName = 'default'): Expect => ({decidedBy: 'rule', policy, ruleIndex, tier: tierName})

const cases: Case[] = [
  {name: 'no policy: the namespace profiles (kns.*) allow', add: [], flow: tcp(client, web, 80), allowed: true, egress: {decidedBy: 'profile', profile: 'kns.dev', ruleIndex: 0}, ingress: {decidedBy: 'profile', profile: 'kns.prod', ruleIndex: 0}},
  {name: 'an endpoint with no profile and no policy is denied', add: [wep('prod', 'bare', {}, '10.0.1.9', {profiles: []})], flow: tcp(client, {name: 'bare', namespace: 'prod'}, 80), allowed: false, ingress: {decidedBy: 'no-profiles'}},
  {name: 'NetworkPolicy allows from a namespaceSelector', add: [allowDev], flow: tcp(client, web, 80), allowed: true, ingress: rule('allow-dev', 0), egress: {decidedBy: 'profile', profile: 'kns.dev'}},
  {name: 'a policy applied but no rule matched: end-of-tier deny', add: [allowDev], flow: tcp(client, web, 81), allowed: false, ingress: endOfTier()},
  {name: "a NetworkPolicy rule selector stays in the policy's namespace", add: [np('prod', 'same-ns', {selector: "app == 'web'", ingress: [{action: 'Allow', source: {selector: "app == 'client'"}}]})], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier()},
  {name: 'a GlobalNetworkPolicy rule selector spans namespaces', add: [gnp('g-client', {selector: "app == 'web'", ingress: [{action: 'Allow', source: {selector: "app == 'client'"}}]})], flow: tcp(client, web, 80), allowed: true, ingress: rule('g-client', 0)},
  {name: 'Pass skips to the next tier, where the default tier decides', add: [tier('security', 100), ingressTo('sec-pass', [{action: 'Pass'}], {tier: 'security'}), allowDev], flow: tcp(client, web, 80), allowed: true, ingress: rule('allow-dev', 0),
    check: (v) => assert.deepEqual(v.ingress.trace.map((s) => s.outcome), ['pass', 'allow'])},
  {name: 'Pass in the last applicable tier falls through to the profiles', add: [tier('security', 100), ingressTo('sec-pass', [{action: 'Pass'}], {tier: 'security'})], flow: tcp(client, web, 80), allowed: true, ingress: {decidedBy: 'profile', profile: 'kns.prod'}},
  {name: "an earlier tier's Deny wins over a later Allow", add: [tier('security', 100), gnp('sec-deny', {tier: 'security', selector: "app == 'web'", ingress: [{action: 'Deny', source: {namespaceSelector: "env == 'dev'"}}]}), allowDev], flow: tcp(client, web, 80), allowed: false, ingress: rule('sec-deny', 0, 'security')},
  {name: 'a tier with defaultAction Pass has no end-of-tier drop', add: [tier('platform', 50, 'Pass'), ingressTo('plat', [{action: 'Allow', source: {selector: "app == 'nobody'"}}], {tier: 'platform'})], flow: tcp(client, web, 80), allowed: true, ingress: {decidedBy: 'profile', profile: 'kns.prod'},
    check: (v) => assert.equal(v.ingress.trace[1]?.outcome, 'end-of-tier-pass')},
  {name: 'the same tier with defaultAction Deny drops at its end', add: [tier('platform', 50), ingressTo('plat', [{action: 'Allow', source: {selector: "app == 'nobody'"}}], {tier: 'platform'})], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier('platform')},
  {name: 'tiers by order, lower first', add: [tier('b', 10), tier('a', 20), ingressTo('a-allow', [{action: 'Allow'}], {tier: 'a'}), ingressTo('b-deny', [{action: 'Deny'}], {tier: 'b'})], flow: tcp(client, web, 80), allowed: false, ingress: rule('b-deny', 0, 'b')},
  {name: 'a tier without order comes after ordered tiers, the default tier (1000000) included', add: [tier('z-last'), ingressTo('last-deny', [{action: 'Deny'}], {tier: 'z-last'}), allowAll], flow: tcp(client, web, 80), allowed: true, ingress: rule('allow-all', 0)},
  {name: 'tiers of equal order: by name', add: [tier('y', 10), tier('x', 10), ingressTo('y-allow', [{action: 'Allow'}], {tier: 'y'}), ingressTo('x-deny', [{action: 'Deny'}], {tier: 'x'})], flow: tcp(client, web, 80), allowed: false, ingress: rule('x-deny', 0, 'x')},
  {name: 'policies of equal order: by name', add: [ingressTo('b-allow', [{action: 'Allow'}], {order: 10}), ingressTo('a-deny', [{action: 'Deny'}], {order: 10})], flow: tcp(client, web, 80), allowed: false, ingress: rule('a-deny', 0)},
  {name: 'lower policy order first; no order is last', add: [ingressTo('a-deny', [{action: 'Deny'}]), ingressTo('z-allow', [{action: 'Allow'}], {order: 1000})], flow: tcp(client, web, 80), allowed: true, ingress: rule('z-allow', 0)},
  {name: 'a staged policy never enforces; its verdict is reported beside', add: [sgnp('deny-all', {selector: 'all()', ingress: [{action: 'Deny'}]})], flow: tcp(client, web, 80), allowed: true, stagedAllowed: false, ingress: {decidedBy: 'profile', profile: 'kns.prod'},
    check: (v) => {
      assert.equal(v.ingress.staged.decidedBy, 'rule')
      assert.deepEqual(v.ingress.staged.policy, {kind: 'StagedGlobalNetworkPolicy', name: 'deny-all'})
      assert.deepEqual(v.ingress.stagedPolicies.map((s) => [s.policy.name, s.outcome]), [['deny-all', 'deny']])
    }},
  {name: 'a tier holding only staged policies has no end-of-tier drop (the staged view has)', add: [tier('t', 10), sgnp('s-nomatch', {tier: 't', selector: 'all()', ingress: [{action: 'Allow', source: {selector: "app == 'nobody'"}}]})], flow: tcp(client, web, 80), allowed: true, stagedAllowed: false, ingress: {decidedBy: 'profile', profile: 'kns.prod'},
    check: (v) => assert.deepEqual([v.ingress.staged.decidedBy, v.ingress.staged.tier], ['end-of-tier', 't'])},
  {name: 'port range matches inside', add: [ingressTo('range', [{action: 'Allow', protocol: 'TCP', destination: {ports: ['8000:9000']}}])], flow: tcp(client, web, 9000), allowed: true, ingress: rule('range', 0)},
  {name: 'port range does not match outside', add: [ingressTo('range', [{action: 'Allow', protocol: 'TCP', destination: {ports: ['8000:9000']}}])], flow: tcp(client, web, 9001), allowed: false, ingress: endOfTier()},
  {name: 'notPorts excludes', add: [ingressTo('not22', [{action: 'Allow', protocol: 'TCP', destination: {notPorts: [22]}}])], flow: tcp(client, web, 22), allowed: false, ingress: endOfTier()},
  {name: 'notPorts lets others through', add: [ingressTo('not22', [{action: 'Allow', protocol: 'TCP', destination: {notPorts: [22]}}])], flow: tcp(client, web, 23), allowed: true, ingress: rule('not22', 0)},
  {name: "a named port resolves on the destination endpoint's ports", add: [ingressTo('named', [{action: 'Allow', protocol: 'TCP', destination: {ports: ['http']}}])], flow: tcp(client, web, 8080), allowed: true, ingress: rule('named', 0)},
  {name: 'a named port does not match another port number', add: [ingressTo('named', [{action: 'Allow', protocol: 'TCP', destination: {ports: ['http']}}])], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier()},
  {name: 'a named port does not match an endpoint without that port', add: [ingressTo('named', [{action: 'Allow', protocol: 'TCP', destination: {ports: ['http']}}])], flow: tcp(client, db, 8080), allowed: false, ingress: endOfTier()},
  {name: "a named port of another protocol does not match", add: [ingressTo('named-udp', [{action: 'Allow', protocol: 'UDP', destination: {ports: ['http']}}])], flow: {from: client, to: web, protocol: 'UDP', port: 8080}, allowed: false, ingress: endOfTier()},
  {name: 'numeric and named ports are OR-ed (numeric)', add: [ingressTo('mixed', [{action: 'Allow', protocol: 'TCP', destination: {ports: [80, 'http']}}])], flow: tcp(client, web, 80), allowed: true, ingress: rule('mixed', 0)},
  {name: 'numeric and named ports are OR-ed (named)', add: [ingressTo('mixed', [{action: 'Allow', protocol: 'TCP', destination: {ports: [80, 'http']}}])], flow: tcp(client, web, 8080), allowed: true, ingress: rule('mixed', 0)},
  {name: 'a named port in notPorts excludes it', add: [ingressTo('not-http', [{action: 'Allow', protocol: 'TCP', destination: {notPorts: ['http']}}])], flow: tcp(client, web, 8080), allowed: false, ingress: endOfTier()},
  {name: 'ICMP type and code (echo request by default)', add: [ingressTo('ping', [{action: 'Allow', protocol: 'ICMP', icmp: {type: 8, code: 0}}])], flow: {from: client, to: web, protocol: 'ICMP'}, allowed: true, ingress: rule('ping', 0)},
  {name: 'ICMP of another type does not match', add: [ingressTo('ping', [{action: 'Allow', protocol: 'ICMP', icmp: {type: 8, code: 0}}])], flow: {from: client, to: web, protocol: 'ICMP', icmp: {type: 13}}, allowed: false, ingress: endOfTier()},
  {name: 'notICMP excludes a type', add: [ingressTo('not-ping', [{action: 'Allow', protocol: 'ICMP', notICMP: {type: 8}}])], flow: {from: client, to: web, protocol: 'ICMP'}, allowed: false, ingress: endOfTier()},
  {name: 'ICMP (1) does not match ICMPv6', add: [ingressTo('ping', [{action: 'Allow', protocol: 'ICMP'}])], flow: {from: client, to: web, protocol: 'ICMPv6', ipVersion: 6}, allowed: false, ingress: endOfTier()},
  {name: 'a protocol number matches the named protocol', add: [ingressTo('p17', [{action: 'Allow', protocol: 17}])], flow: {from: client, to: web, protocol: 'UDP', port: 53}, allowed: true, ingress: rule('p17', 0)},
  {name: 'notProtocol excludes', add: [ingressTo('not-tcp', [{action: 'Allow', notProtocol: 'TCP'}])], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier()},
  {name: 'nets match a bare address; no egress check for a non-endpoint', add: [ingressTo('from-net', [{action: 'Allow', source: {nets: ['203.0.113.0/24']}}])], flow: tcp('203.0.113.5', web, 443), allowed: true, ingress: rule('from-net', 0), egress: {decidedBy: 'not-an-endpoint'}},
  {name: 'notNets excludes', add: [ingressTo('not-lab', [{action: 'Allow', source: {notNets: ['10.0.2.0/24']}}])], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier()},
  {name: 'notNets lets other addresses through', add: [ingressTo('not-lab', [{action: 'Allow', source: {notNets: ['10.0.2.0/24']}}])], flow: tcp('10.9.9.9', web, 80), allowed: true, ingress: rule('not-lab', 0)},
  {name: 'a rule whose notNets are all IPv6 is not rendered for IPv4 (FilterRuleToIPVersion)', add: [ingressTo('v6-not', [{action: 'Allow', source: {notNets: ['fd00::/8']}}])], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier()},
  {name: 'a rule whose nets are all IPv4 is not rendered for IPv6', add: [ingressTo('v4-nets', [{action: 'Allow', source: {nets: ['0.0.0.0/0']}}])], flow: tcp(client, web, 80, {ipVersion: 6}), allowed: false, ingress: endOfTier()},
  {name: 'notNets holding the catch-all drops the rule', add: [ingressTo('catch-all', [{action: 'Allow', source: {notNets: ['0.0.0.0/0']}}])], flow: tcp('10.9.9.9', web, 80), allowed: false, ingress: endOfTier()},
  {name: 'ipVersion 6 does not match IPv4', add: [ingressTo('v6', [{action: 'Allow', ipVersion: 6}])], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier()},
  {name: 'ipVersion 6 matches IPv6', add: [ingressTo('v6', [{action: 'Allow', ipVersion: 6}])], flow: tcp(client, web, 80, {ipVersion: 6}), allowed: true, ingress: rule('v6', 0)},
  {name: "a NetworkSet in the policy's namespace matches by its nets", add: [np('prod', 'partners', {selector: "app == 'web'", ingress: [{action: 'Allow', source: {selector: "role == 'partner'"}}]})], flow: tcp('203.0.113.9', web, 443), allowed: true, ingress: rule('partners', 0)},
  {name: "a NetworkSet of another namespace is not seen by a NetworkPolicy", add: [np('prod', 'partners', {selector: "app == 'web'", ingress: [{action: 'Allow', source: {selector: "role == 'partner'"}}]})], flow: tcp('198.51.100.9', web, 443), allowed: false, ingress: endOfTier()},
  {name: 'selectors match addresses: an endpoint inside a selected GlobalNetworkSet matches', add: [ingressTo('lab', [{action: 'Allow', source: {selector: "role == 'lab'"}}])], flow: tcp(client, web, 80), allowed: true, ingress: rule('lab', 0)},
  {name: 'namespaceSelector global() selects non-namespaced endpoints', add: [ingressTo('global', [{action: 'Allow', source: {namespaceSelector: 'global()'}}]), hep('node2-eth0', {host: 'node2'}, ['192.168.0.2'], {profiles: ['projectcalico-default-allow']})], flow: tcp({kind: 'HostEndpoint', name: 'node2-eth0'}, web, 80), allowed: true, ingress: rule('global', 0), egress: {decidedBy: 'profile', profile: 'projectcalico-default-allow'}},
  {name: 'namespaceSelector global() does not select workloads', add: [ingressTo('global', [{action: 'Allow', source: {namespaceSelector: 'global()'}}])], flow: tcp(db, web, 80), allowed: false, ingress: endOfTier()},
  {name: "namespaceSelector global() selects a workload's address inside a GlobalNetworkSet (IP-set semantics)", add: [ingressTo('global', [{action: 'Allow', source: {namespaceSelector: 'global()'}}])], flow: tcp(client, web, 80), allowed: true, ingress: rule('global', 0)},
  {name: 'namespaceSelector all() selects workloads in any namespace', add: [ingressTo('all-ns', [{action: 'Allow', source: {namespaceSelector: 'all()'}}])], flow: tcp(client, web, 80), allowed: true, ingress: rule('all-ns', 0)},
  {name: 'namespaceSelector all() does not select bare addresses', add: [ingressTo('all-ns', [{action: 'Allow', source: {namespaceSelector: 'all()'}}])], flow: tcp('10.9.9.9', web, 80), allowed: false, ingress: endOfTier()},
  {name: 'serviceAccounts names', add: [gnp('sa', {selector: "app == 'db'", ingress: [{action: 'Allow', source: {serviceAccounts: {names: ['web-sa']}}}]})], flow: tcp(web, db, 5432), allowed: true, ingress: rule('sa', 0)},
  {name: 'serviceAccounts names exclude other accounts', add: [gnp('sa', {selector: "app == 'db'", ingress: [{action: 'Allow', source: {serviceAccounts: {names: ['web-sa']}}}]})], flow: tcp(client, db, 5432), allowed: false, ingress: endOfTier()},
  {name: 'serviceAccounts selector reads the ksa profile labels (pcsa.*)', add: [gnp('sa-sel', {selector: "app == 'db'", ingress: [{action: 'Allow', source: {serviceAccounts: {selector: "team == 'payments'"}}}]})], flow: tcp(web, db, 5432), allowed: true, ingress: rule('sa-sel', 0)},
  {name: 'egress is evaluated at the source endpoint', add: [np('dev', 'no-egress', {selector: "app == 'client'", types: ['Egress'], egress: [{action: 'Deny', destination: {nets: ['10.0.1.0/24']}}]})], flow: tcp(client, web, 80), allowed: false, egress: rule('no-egress', 0), ingress: {decidedBy: 'profile', profile: 'kns.prod'}},
  {name: 'types defaulting: egress rules only → egress only', add: [gnp('eg-only', {selector: 'all()', egress: [{action: 'Allow', destination: {selector: "app == 'nobody'"}}]})], flow: tcp(client, web, 80), allowed: false, egress: endOfTier(), ingress: {decidedBy: 'profile', profile: 'kns.prod'}},
  {name: 'types defaulting: no rules at all → ingress only', add: [gnp('empty', {selector: "app == 'web'"})], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier(), egress: {decidedBy: 'profile', profile: 'kns.dev'}},
  {name: 'explicit types: Ingress only ignores egress rules', add: [gnp('in-only', {selector: 'all()', types: ['Ingress'], ingress: [{action: 'Allow'}], egress: [{action: 'Deny'}]})], flow: tcp(client, web, 80), allowed: true, egress: {decidedBy: 'profile', profile: 'kns.dev'}, ingress: rule('in-only', 0)},
  {name: 'Log matches and goes on', add: [ingressTo('log-then-allow', [{action: 'Log'}, {action: 'Allow'}])], flow: tcp(client, web, 80), allowed: true, ingress: rule('log-then-allow', 1),
    check: (v) => assert.deepEqual(v.ingress.trace[0]?.logged, [0])},
  {name: 'a policy-level namespaceSelector limits what a GlobalNetworkPolicy applies to', add: [gnp('prod-only', {namespaceSelector: "env == 'prod'", ingress: [{action: 'Deny'}]})], flow: tcp(client, web, 80), allowed: false, ingress: rule('prod-only', 0)},
  {name: 'a policy-level namespaceSelector: other namespaces untouched', add: [gnp('prod-only', {namespaceSelector: "env == 'prod'", ingress: [{action: 'Deny'}]})], flow: tcp(web, client, 80), allowed: true, ingress: {decidedBy: 'profile', profile: 'kns.dev'}},
  {name: "GNP selector all() with namespaceSelector global(): Calico's all() rewrite leaves host endpoints out", add: [node2, gnp('quirk', {selector: 'all()', namespaceSelector: 'global()', ingress: [{action: 'Deny'}]})], flow: tcp(client, {kind: 'HostEndpoint', name: 'node2-eth0'}, 2222), allowed: true, ingress: {decidedBy: 'profile', profile: 'projectcalico-default-allow'}},
  {name: 'GNP selector all() with namespaceSelector global(): workloads are selected', add: [node2, gnp('quirk', {selector: 'all()', namespaceSelector: 'global()', ingress: [{action: 'Deny'}]})], flow: tcp(client, web, 22), allowed: false, ingress: rule('quirk', 0)},
  {name: 'GNP selector all() with a serviceAccountSelector: only endpoints with a service account', add: [node2, gnp('sa-quirk', {selector: 'all()', serviceAccountSelector: '!has(team)', ingress: [{action: 'Deny'}]})], flow: tcp(client, {kind: 'HostEndpoint', name: 'node2-eth0'}, 2222), allowed: true, ingress: {decidedBy: 'profile', profile: 'projectcalico-default-allow'}},
  {name: 'GNP serviceAccountSelector reads the ksa profile labels', add: [gnp('sa-quirk', {selector: 'all()', serviceAccountSelector: '!has(team)', ingress: [{action: 'Deny'}]})], flow: tcp(client, db, 22), allowed: false, ingress: rule('sa-quirk', 0)},
  {name: 'GNP serviceAccountSelector: an account with the label is not selected', add: [gnp('sa-quirk', {selector: 'all()', serviceAccountSelector: '!has(team)', ingress: [{action: 'Deny'}]})], flow: tcp(client, web, 22), allowed: true, ingress: {decidedBy: 'profile', profile: 'kns.prod'}},
  {name: 'a host endpoint with no profile and no policy denies', add: [], flow: tcp(client, node, 2222), allowed: false, ingress: {decidedBy: 'no-profiles'}},
  {name: 'a policy selects a host endpoint', add: [gnp('host-ssh', {selector: "host == 'node1'", ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [2222]}}]})], flow: tcp(client, node, 2222), allowed: true, ingress: rule('host-ssh', 0)},
  {name: 'a NetworkPolicy never selects a host endpoint', add: [np('prod', 'np-all', {selector: 'all()', ingress: [{action: 'Allow'}]})], flow: tcp(client, node, 2222), allowed: false, ingress: {decidedBy: 'no-profiles'}},
  {name: 'a tier without a Tier object comes last', add: [ingressTo('ghost-deny', [{action: 'Deny'}], {tier: 'ghost'}), allowAll], flow: tcp(client, web, 80), allowed: true, ingress: rule('allow-all', 0)},
  {name: 'a tier without a Tier object still enforces', add: [ingressTo('ghost-deny', [{action: 'Deny'}], {tier: 'ghost'})], flow: tcp(client, web, 80), allowed: false, ingress: rule('ghost-deny', 0, 'ghost')},
  {name: 'notSelector alone excludes matching endpoints', add: [ingressTo('not-client', [{action: 'Allow', source: {notSelector: "app == 'client'"}}])], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier()},
  {name: 'notSelector alone lets bare addresses through', add: [ingressTo('not-client', [{action: 'Allow', source: {notSelector: "app == 'client'"}}])], flow: tcp('10.9.9.9', web, 80), allowed: true, ingress: rule('not-client', 0)},
  {name: "notSelector in a NetworkPolicy limits the rule to the policy's namespace", add: [np('prod', 'np-not', {selector: 'all()', ingress: [{action: 'Allow', source: {notSelector: "app == 'client'"}}]})], flow: tcp('10.9.9.9', web, 80), allowed: false, ingress: endOfTier()},
  {name: "notSelector in a NetworkPolicy: same-namespace endpoints match", add: [np('prod', 'np-not', {selector: 'all()', ingress: [{action: 'Allow', source: {notSelector: "app == 'client'"}}]})], flow: tcp(db, web, 80), allowed: true, ingress: rule('np-not', 0)},
  {name: 'source ports: a flow without a source port does not match', add: [ingressTo('sport', [{action: 'Allow', protocol: 'TCP', source: {ports: [1234]}}])], flow: tcp(client, web, 80), allowed: false, ingress: endOfTier(),
    check: (v) => assert.match(v.ingress.notes.join('\n'), /no source port/)},
  {name: 'source ports: a flow with that source port matches', add: [ingressTo('sport', [{action: 'Allow', protocol: 'TCP', source: {ports: [1234]}}])], flow: tcp(client, web, 80, {srcPort: 1234}), allowed: true, ingress: rule('sport', 0)},
  {name: 'a bare address of an endpoint is that endpoint', add: [np('dev', 'deny-out', {selector: 'all()', egress: [{action: 'Deny'}]})], flow: tcp('10.0.2.1', web, 80), allowed: false, egress: rule('deny-out', 0)},
  {name: 'a profile Pass skips the rest of that profile; no later profile allowing → drop', add: [profile('kns.prod', {'pcns.env': 'prod'}, [{action: 'Pass'}, {action: 'Allow'}])], flow: tcp(client, web, 80), allowed: false, ingress: {decidedBy: 'no-profile-allowed'},
    check: (v) => assert.deepEqual(v.ingress.trace.map((s) => [s.profile, s.outcome]), [['kns.prod', 'pass'], ['ksa.prod.web-sa', 'no-match']])},
  {name: 'a profile Deny denies; profiles run in order', add: [profile('kns.prod', {'pcns.env': 'prod'}, [{action: 'Deny', source: {nets: ['10.0.2.0/24']}}, {action: 'Allow'}])], flow: tcp(client, web, 80), allowed: false, ingress: {decidedBy: 'profile', profile: 'kns.prod', ruleIndex: 0}},
]

function checkSide(result: DirectionResult, expected: Expect, label: string) {
  assert.equal(result.decidedBy, expected.decidedBy, `${label}: decided by ${result.decidedBy} (${JSON.stringify(result.trace)})`)
  if (expected.policy !== undefined) assert.equal(result.policy?.name, expected.policy, `${label} policy`)
  if (expected.tier !== undefined) assert.equal(result.tier, expected.tier, `${label} tier`)
  if (expected.ruleIndex !== undefined) assert.equal(result.ruleIndex, expected.ruleIndex, `${label} rule`)
  if (expected.profile !== undefined) assert.equal(result.profile, expected.profile, `${label} profile`)
}

describe('policy evaluation: Calico semantics, case by case', () => {
  for (const c of cases) {
    it(c.name, () => {
      const world = buildWorld({resources: [...base, ...c.add], namespaces})
      assert.deepEqual(world.warnings.filter((w) => !/no Tier object/.test(w)), [])
      const verdict = evaluate(c.flow, world)
      assert.equal(verdict.allowed, c.allowed, `allowed: ${JSON.stringify({egress: verdict.egress.trace, ingress: verdict.ingress.trace})}`)
      if (c.ingress) checkSide(verdict.ingress, c.ingress, 'ingress')
      if (c.egress) checkSide(verdict.egress, c.egress, 'egress')
      assert.equal(verdict.stagedAllowed, c.stagedAllowed ?? c.allowed, 'staged view')
      c.check?.(verdict)
    })
  }

  it('names the deciding rule text', () => {
    const world = buildWorld({resources: [...base, allowDev], namespaces})
    const verdict = evaluate(tcp(client, web, 80), world)
    assert.equal(verdict.ingress.rule, `Allow TCP from {"namespaceSelector":"env == 'dev'"} to {"ports":[80]}`)
    assert.equal(verdict.ingress.action, 'Allow')
  })

  it('refuses flows it cannot place', () => {
    const world = buildWorld({resources: base, namespaces})
    assert.throws(() => evaluate(tcp({name: 'nope'}, web, 80), world), /no endpoint nope/)
    assert.throws(() => evaluate(tcp('not-an-ip', web, 80), world), /neither an endpoint nor an IP/)
    assert.throws(() => evaluate({from: client, to: web, protocol: 'TCP'}, world), /needs a destination port/)
    assert.throws(() => evaluate(tcp(db, web, 80, {ipVersion: 6}), world), /has no IPv6 address/)
    assert.throws(() => evaluate({from: client, to: web, protocol: 'GRE-ish', port: 1}, world), /unknown protocol/)
  })

  it('leaves out a policy with a bad selector, saying so', () => {
    const world = buildWorld({resources: [...base, gnp('broken', {selector: "app == 'web", ingress: [{action: 'Deny'}]})], namespaces})
    assert.match(world.warnings.join('\n'), /GlobalNetworkPolicy broken is left out: cannot read the selector/)
    assert.equal(evaluate(tcp(client, web, 80), world).allowed, true)
  })

  it('ignores a staged Delete (Felix never sees it)', () => {
    const world = buildWorld({resources: [...base, sgnp('gone', {stagedAction: 'Delete', selector: 'all()', ingress: [{action: 'Deny'}]})], namespaces})
    assert.equal(evaluate(tcp(client, web, 80), world).stagedAllowed, true)
    assert.match(world.warnings.join('\n'), /stagedAction Delete/)
  })
})
