/** explain (what applies to an endpoint, in order) and selects (what a policy and its rules select). */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {buildWorld, explain, selects} from '../../src/policy/index.js'
import {gnetset, gnp, hep, netset, np, profile, sgnp, tier, wep} from './fixtures.js'

const namespaces = {prod: {env: 'prod'}, dev: {env: 'dev'}}
const resources = [
  wep('prod', 'web', {app: 'web', 'pcns.env': 'forged'}, '10.0.1.1', {serviceAccountName: 'web-sa'}),
  wep('prod', 'db', {app: 'db'}, '10.0.1.2'),
  wep('dev', 'client', {app: 'client'}, '10.0.2.1'),
  hep('node1-eth0', {host: 'node1', app: 'web'}, ['192.168.0.1'], {profiles: ['projectcalico-default-allow']}),
  netset('prod', 'partners', {role: 'partner'}, ['203.0.113.0/24']),
  gnetset('lab', {role: 'lab', app: 'client'}, ['10.0.2.0/24']),
  profile('ksa.prod.web-sa', {'pcsa.team': 'payments'}),
  tier('security', 100),
  tier('platform', 50, 'Pass'),
  gnp('sec-b', {tier: 'security', order: 10, selector: "app == 'web'", ingress: [{action: 'Pass'}], egress: [{action: 'Allow'}]}),
  gnp('sec-a', {tier: 'security', order: 10, selector: 'all()', ingress: [{action: 'Deny', source: {nets: ['198.51.100.0/24']}}]}),
  gnp('plat', {tier: 'platform', selector: "app == 'web'", types: ['Egress'], egress: [{action: 'Log'}]}),
  np('prod', 'web-in', {selector: "app == 'web'", ingress: [{action: 'Allow', protocol: 'TCP', source: {selector: "app == 'client'", namespaceSelector: "env == 'dev'"}, destination: {ports: [80]}}]}),
  np('prod', 'db-in', {order: 5, selector: "app == 'db'", ingress: [{action: 'Allow', source: {selector: "role == 'partner'"}}]}),
  sgnp('maybe', {selector: "app == 'web'", ingress: [{action: 'Deny'}]}),
  gnp('raw', {selector: 'has(host)', doNotTrack: true, applyOnForward: true, ingress: [{action: 'Allow'}]}),
]
const world = buildWorld({resources, namespaces})

describe('explain', () => {
  it('lists applicable tiers and policies per direction in evaluation order', () => {
    const e = explain({kind: 'WorkloadEndpoint', name: 'web', namespace: 'prod'}, world)
    assert.deepEqual(
      e.ingress.tiers.map((t) => [t.tier, t.policies.map((p) => `${p.kind}/${p.name}${p.staged ? ' (staged)' : ''}`)]),
      [
        ['security', ['GlobalNetworkPolicy/sec-a', 'GlobalNetworkPolicy/sec-b']],
        ['default', ['StagedGlobalNetworkPolicy/maybe (staged)', 'NetworkPolicy/web-in']],
      ],
    )
    assert.deepEqual(e.egress.tiers.map((t) => [t.tier, t.defaultAction, t.endOfTierDrop, t.policies.map((p) => p.name)]), [
      ['platform', 'Pass', false, ['plat']],
      ['security', 'Deny', true, ['sec-b']],
    ])
    assert.deepEqual(e.ingress.profiles.map((p) => [p.name, p.synthesized, p.rules.map((r) => r.action)]), [
      ['kns.prod', true, ['Allow']],
      ['ksa.prod.web-sa', false, []],
    ])
    assert.equal(e.ingress.tiers[1]!.policies[1]!.rules[0]!.text, `Allow TCP from {"selector":"app == 'client'","namespaceSelector":"env == 'dev'"} to {"ports":[80]}`)
  })

  it('computes effective labels: own, Calico-added, then inherited; own pcns.* dropped', () => {
    const e = explain({name: 'web', namespace: 'prod'}, world)
    assert.deepEqual(e.endpoint.labels, {
      app: 'web',
      'projectcalico.org/namespace': 'prod',
      'projectcalico.org/orchestrator': 'k8s',
      'projectcalico.org/serviceaccount': 'web-sa',
      'pcns.env': 'prod',
      'pcns.projectcalico.org/name': 'prod',
      'pcsa.team': 'payments',
    })
  })

  it('marks host-endpoint policies that live outside the normal chain', () => {
    const e = explain({kind: 'HostEndpoint', name: 'node1-eth0'}, world)
    const raw = e.ingress.tiers.flatMap((t) => t.policies).find((p) => p.name === 'raw')
    assert.equal(raw?.chain, 'untracked')
    // The HEP has app=web, so GlobalNetworkPolicies on app=web apply; NetworkPolicies never do.
    assert.ok(!e.ingress.tiers.flatMap((t) => t.policies).some((p) => p.kind === 'NetworkPolicy'))
    assert.deepEqual(e.ingress.profiles.map((p) => p.name), ['projectcalico-default-allow'])
  })
})

describe('selects', () => {
  it('lists the endpoints a policy applies to and what each rule side selects', () => {
    const s = selects({kind: 'NetworkPolicy', name: 'web-in', namespace: 'prod'}, world)
    assert.deepEqual(s.workloadEndpoints, [{name: 'web', namespace: 'prod'}])
    assert.deepEqual(s.hostEndpoints, [])
    assert.deepEqual(s.policy.types, ['ingress'])
    const src = s.ingress[0]!.source
    assert.deepEqual(src.endpoints, [{kind: 'WorkloadEndpoint', name: 'client', namespace: 'dev'}])
    assert.deepEqual(src.networkSets, [])
    assert.equal(src.selector, "(pcns:(env == 'dev')) && (app == 'client')")
    assert.equal(s.ingress[0]!.destination.any, true)
  })

  it('a GlobalNetworkPolicy selects workload and host endpoints alike', () => {
    const s = selects({kind: 'GlobalNetworkPolicy', name: 'sec-b'}, world)
    assert.deepEqual(s.workloadEndpoints, [{name: 'web', namespace: 'prod'}])
    assert.deepEqual(s.hostEndpoints, [{name: 'node1-eth0'}])
  })

  it("a NetworkPolicy's rule selector selects network sets of its namespace only", () => {
    const s = selects({kind: 'NetworkPolicy', name: 'db-in'}, world)
    assert.deepEqual(s.ingress[0]!.source.networkSets, [{kind: 'NetworkSet', name: 'partners', namespace: 'prod'}])
    assert.equal(s.ingress[0]!.source.selector, "(projectcalico.org/namespace == 'prod') && (role == 'partner')")
  })

  it('reports nets as written, normalised', () => {
    const s = selects({kind: 'GlobalNetworkPolicy', name: 'sec-a'}, world)
    assert.deepEqual(s.ingress[0]!.source.nets, ['198.51.100.0/24'])
    assert.equal(s.ingress[0]!.source.any, true)
  })

  it('names a missing policy', () => {
    assert.throws(() => selects({kind: 'NetworkPolicy', name: 'nope'}, world), /no NetworkPolicy nope in the policy world/)
  })
})

describe('namespace labels', () => {
  it('come from Namespace objects as well as from the namespaces map', () => {
    const w = buildWorld({
      resources: [
        {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'shop', labels: {tier: 'gold'}}},
        wep('shop', 'cart', {app: 'cart'}, '10.5.0.1'),
        gnp('gold', {selector: "app == 'nobody'", ingress: [{action: 'Allow', source: {namespaceSelector: "tier == 'gold'"}}]}),
      ],
    })
    assert.deepEqual(selects({kind: 'GlobalNetworkPolicy', name: 'gold'}, w).ingress[0]!.source.endpoints, [{kind: 'WorkloadEndpoint', name: 'cart', namespace: 'shop'}])
    assert.equal(explain({name: 'cart'}, w).endpoint.labels['pcns.tier'], 'gold')
  })
})
