/**
 * `policy eval` with host endpoints, as Felix's chains decide (felix/rules/static.go,
 * endpoints.go): failsafe ports before any policy, a workload's traffic to its own node
 * (DefaultEndpointToHostAction after its egress policy, never the HEP's policy), the host's
 * traffic to its own workloads (not policed), doNotTrack (stateless: both ways) and preDNAT before
 * normal policy, and the applyOnForward policy of the host endpoints a forwarded flow crosses.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {hostOptionsFrom} from '../../src/policy/evaluate.js'
import {buildWorld, evaluate, type Flow} from '../../src/policy/index.js'
import type {Resource} from '../../src/resources/types.js'
import {gnp, hep, wep} from './fixtures.js'

// Two nodes: a on node1, b on node2; each node's eth0 host endpoint.
const a = wep('default', 'a', {app: 'a'}, '10.0.1.1', {node: 'node1'})
const b = wep('default', 'b', {app: 'b'}, '10.0.2.1', {node: 'node2'})
const a2 = wep('default', 'a2', {app: 'a2'}, '10.0.1.2', {node: 'node1'})
const h1 = hep('node1-eth0', {role: 'node', host: 'node1'}, ['172.17.0.32'], {node: 'node1'})
const h2 = hep('node2-eth0', {role: 'node', host: 'node2'}, ['172.17.0.40'], {node: 'node2'})
const host1 = {kind: 'HostEndpoint' as const, name: 'node1-eth0'}
const host2 = {kind: 'HostEndpoint' as const, name: 'node2-eth0'}
const ep = (name: string) => ({kind: 'WorkloadEndpoint' as const, name, namespace: 'default'})

const run = (resources: Resource[], flow: Flow, options = {}) => evaluate(flow, buildWorld({resources: [a, b, a2, h1, h2, ...resources]}), options)
const tcp = (from: Flow['from'], to: Flow['to'], port: number, srcPort?: number): Flow => ({from, to, protocol: 'TCP', port, ...(srcPort !== undefined ? {srcPort} : {})})

const hostPolicy = gnp('host', {selector: "role == 'node'", types: ['Ingress', 'Egress'], ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [8080]}}], egress: []})

describe('policy eval: host endpoints as Felix enforces them', () => {
  it('failsafe ports pass a HEP whatever its policy: inbound by destination port, outbound too; FelixConfiguration can change them', () => {
    const ssh = run([hostPolicy], tcp('172.17.0.99', host1, 22))
    assert.equal(ssh.allowed, true)
    assert.equal(ssh.ingress.decidedBy, 'failsafe-port')
    // From node2's host, 22 is no outbound failsafe port: node2's egress policy drops it first.
    const fromHost2 = run([hostPolicy], tcp(host2, host1, 22))
    assert.equal(fromHost2.allowed, false)
    assert.equal(fromHost2.egress.decidedBy, 'end-of-tier')
    const bgp = run([hostPolicy], tcp(host2, host1, 179))
    assert.deepEqual([bgp.allowed, bgp.egress.decidedBy, bgp.ingress.decidedBy], [true, 'failsafe-port', 'failsafe-port'])
    const moved = {failsafeInbound: [{protocol: 'TCP', port: 2222}], failsafeOutbound: []}
    assert.equal(run([hostPolicy], tcp('172.17.0.99', host1, 22), moved).allowed, false)
    assert.equal(run([hostPolicy], tcp('172.17.0.99', host1, 2222), moved).allowed, true)
    assert.equal(run([hostPolicy], tcp('172.17.0.99', host1, 2222), {failsafeInbound: [{protocol: 'TCP', port: 2222, net: '10.0.0.0/8'}]}).allowed, false, 'not from the failsafe net')
  })

  it('a HEP with neither policy nor profile drops all but failsafes; its normal policy decides the rest', () => {
    assert.equal(run([], tcp('172.17.0.99', host1, 8080)).ingress.decidedBy, 'no-profiles')
    assert.equal(run([], tcp('172.17.0.99', host1, 179)).allowed, true, 'BGP is failsafe')
    assert.equal(run([hostPolicy], tcp('172.17.0.99', host1, 8080)).allowed, true)
    assert.equal(run([hostPolicy], tcp('172.17.0.99', host1, 8081)).allowed, false)
    assert.equal(run([hostPolicy], tcp('172.17.0.99', host1, 8081), {felix: () => ({failsafeInbound: [{protocol: 'TCP', port: 8081}]})}).allowed, true)
    // Outbound: the host's own traffic meets its egress policy, failsafe 53/udp and 179/tcp pass.
    assert.equal(run([hostPolicy], tcp(host1, '172.17.0.99', 8080)).allowed, false)
    assert.equal(run([hostPolicy], tcp(host1, '172.17.0.99', 179)).egress.decidedBy, 'failsafe-port')
  })

  it("a workload to its own node: its egress policy, then DefaultEndpointToHostAction; never the HEP's policy", () => {
    const open = run([hostPolicy], tcp(ep('a'), host1, 8081))
    assert.equal(open.allowed, true)
    assert.equal(open.ingress.decidedBy, 'default-endpoint-to-host-action')
    assert.equal(run([hostPolicy], tcp(ep('a'), host1, 8081), {endpointToHostAction: 'Drop'}).allowed, false)
    const egress = gnp('a-out', {selector: "app == 'a'", egress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [8081]}}, {action: 'Allow'}]})
    assert.equal(run([hostPolicy, egress], tcp(ep('a'), host1, 8081)).allowed, false)
    assert.equal(run([hostPolicy, egress], tcp(ep('a'), host1, 8082)).allowed, true)
    // Another node's host: that HEP's normal policy.
    assert.equal(run([hostPolicy], tcp(ep('a'), host2, 8081)).allowed, false)
    assert.equal(run([hostPolicy], tcp(ep('a'), host2, 8080)).allowed, true)
  })

  it("the host to its own workloads is not policed (neither the HEP's egress nor the workload's ingress)", () => {
    const deny = gnp('deny-a', {selector: "app == 'a'", ingress: [{action: 'Deny'}]})
    const v = run([hostPolicy, deny], tcp(host1, ep('a'), 8081))
    assert.equal(v.allowed, true)
    assert.equal(v.ingress.decidedBy, 'host-to-local-workload')
    assert.equal(run([hostPolicy, deny], tcp(host2, ep('a'), 8081)).allowed, false, "another node's host meets both")
  })

  it('preDNAT: before normal policy; Allow skips it, Deny drops what it allows, no match falls through', () => {
    const pre = gnp('pre', {selector: "role == 'node'", preDNAT: true, applyOnForward: true, ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [8080]}}, {action: 'Allow', protocol: 'TCP', destination: {ports: [8081]}}]})
    assert.equal(run([hostPolicy, pre], tcp('172.17.0.99', host1, 8080)).allowed, false)
    assert.equal(run([hostPolicy, pre], tcp('172.17.0.99', host1, 8081)).allowed, true)
    assert.equal(run([hostPolicy, pre], tcp('172.17.0.99', host1, 8082)).allowed, false)
    assert.equal(run([hostPolicy, pre], tcp('172.17.0.99', host1, 22)).allowed, true, 'failsafe first')
    // Forwarded traffic coming in by the HEP meets it too.
    assert.equal(run([pre], tcp(ep('b'), ep('a'), 8080)).allowed, false)
  })

  it('doNotTrack: stateless, the reply must be allowed by an untracked egress rule too', () => {
    const inOnly = gnp('untracked', {selector: "role == 'node'", doNotTrack: true, applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [8082]}}]})
    const half = run([hostPolicy, inOnly], tcp('172.17.0.99', host1, 8082, 40000))
    assert.equal(half.allowed, false)
    assert.ok(half.notes.some((n) => n.includes('reply')), half.notes.join('\n'))
    // Denied for the reply, not by the Allow that let the request in.
    assert.equal(half.ingress.decidedBy, 'untracked-reply')
    const both = gnp('untracked', {selector: "role == 'node'", doNotTrack: true, applyOnForward: true, types: ['Ingress', 'Egress'], ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [8082]}}], egress: [{action: 'Allow', protocol: 'TCP', source: {ports: [8082]}}]})
    assert.equal(run([hostPolicy, both], tcp('172.17.0.99', host1, 8082, 40000)).allowed, true)
    const deny = gnp('untracked-deny', {selector: "role == 'node'", doNotTrack: true, applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [8080]}}]})
    assert.equal(run([hostPolicy, deny], tcp('172.17.0.99', host1, 8080)).allowed, false)
  })

  it('applyOnForward: a flow forwarded between nodes meets the HEPs it crosses (out of node1, into node2); without such policy it is not policed', () => {
    assert.equal(run([hostPolicy], tcp(ep('a'), ep('b'), 8081)).allowed, true, 'normal HEP policy does not police forwarded traffic')
    const fwIn = gnp('fw-in', {selector: "host == 'node2'", applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [9090]}}, {action: 'Allow'}]})
    const denied = run([hostPolicy, fwIn], tcp(ep('a'), ep('b'), 9090))
    assert.equal(denied.allowed, false)
    assert.deepEqual(denied.forwarded.map((s) => [s.endpoint.name, s.stage, s.direction, s.verdict]), [['node2-eth0', 'forward', 'ingress', 'deny']])
    assert.equal(run([hostPolicy, fwIn], tcp(ep('a'), ep('b'), 9091)).allowed, true)
    assert.equal(run([hostPolicy, fwIn], tcp(ep('b'), ep('a'), 9090)).allowed, true, 'the other way crosses node1 and node2 outwards')
    const fwOut = gnp('fw-out', {selector: "host == 'node1'", applyOnForward: true, types: ['Egress'], egress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [9091]}}]})
    assert.equal(run([fwOut], tcp(ep('a'), ep('b'), 9090)).allowed, false, 'end of tier on the way out of node1')
    assert.equal(run([fwOut], tcp(ep('a'), ep('b'), 9091)).allowed, true)
    assert.equal(run([fwOut], tcp(ep('a'), ep('a2'), 9090)).allowed, true, 'same node: eth0 is not crossed')
  })

  it('the all-interfaces HEP polices forwarded traffic only with applyOnForward policy, and then workload interfaces too', () => {
    const all = hep('node1-all', {role: 'all'}, [], {node: 'node1', interfaceName: '*'})
    const hostOnly = gnp('all-host', {selector: "role == 'all'", ingress: [{action: 'Deny'}]})
    assert.equal(run([all, hostOnly], tcp(ep('a'), ep('a2'), 9090)).allowed, true)
    const fw = gnp('all-fw', {selector: "role == 'all'", applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [9090]}}, {action: 'Allow'}]})
    const v = run([all, fw], tcp(ep('a'), ep('a2'), 9090))
    assert.equal(v.allowed, false)
    assert.equal(v.forwarded[0]?.endpoint.name, 'node1-all')
  })

  it("encapsulated pod traffic crosses the tunnel device, not eth0: eth0's applyOnForward policy does not see it (pools and nodes decide, as in a lab)", () => {
    const fwIn = gnp('fw-in', {selector: "host == 'node2'", applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [9090]}}, {action: 'Allow'}]})
    const pool = (mode: Record<string, string>): Resource => ({apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name: 'default-ipv4-ippool'}, spec: {cidr: '10.0.0.0/16', ...mode}})
    const node = (name: string, address: string): Resource => ({apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: {name}, spec: {bgp: {ipv4Address: address}}})
    const nodes = [node('node1', '172.17.0.32/24'), node('node2', '172.17.1.40/24')]
    const ipip = hostOptionsFrom({pools: [pool({ipipMode: 'Always'})], nodes})
    assert.equal(ipip.tunnel?.('node1', 'node2'), 'tunl0')
    assert.equal(run([fwIn], tcp(ep('a'), ep('b'), 9090), ipip).allowed, true, 'in by tunl0: no host endpoint there')
    const tunl = hep('node2-tunl0', {host: 'node2'}, [], {node: 'node2', interfaceName: 'tunl0'})
    assert.equal(run([fwIn, tunl], tcp(ep('a'), ep('b'), 9090), ipip).allowed, false, "the tunnel's own host endpoint")
    const crossSubnet = hostOptionsFrom({pools: [pool({vxlanMode: 'CrossSubnet'})], nodes: [...nodes, node('node3', '172.17.0.48/24')]})
    assert.equal(crossSubnet.tunnel?.('node1', 'node2'), 'vxlan.calico')
    assert.equal(crossSubnet.tunnel?.('node1', 'node3'), undefined, 'same subnet: routed by eth0')
    assert.equal(hostOptionsFrom({pools: [pool({ipipMode: 'Never', vxlanMode: 'Never'})], nodes}).tunnel?.('node1', 'node2'), undefined)
    assert.equal(run([fwIn], tcp(ep('a'), ep('b'), 9090), hostOptionsFrom({pools: [pool({})], nodes})).allowed, false)
  })

  it("FelixConfiguration per node: node.<name> over default, for that node's host endpoints and workloads", () => {
    const fc = (name: string, spec: Record<string, unknown>): Resource => ({apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: {name}, spec})
    const options = hostOptionsFrom({felixConfigurations: [fc('default', {defaultEndpointToHostAction: 'Drop'}), fc('node.node2', {defaultEndpointToHostAction: 'Return', failsafeInboundHostPorts: []})]})
    assert.equal(run([], tcp(ep('a'), host1, 8080), options).allowed, false, 'node1: the default Drop')
    assert.equal(run([], tcp(ep('b'), host2, 8080), options).allowed, true, 'node2: Return')
    assert.equal(run([], tcp('172.17.0.99', host2, 22), options).allowed, false, 'node2: no failsafe ports')
    assert.equal(run([], tcp('172.17.0.99', host1, 22), options).allowed, true)
  })

  it('doNotTrack on forwarded traffic: its Deny drops; its Allow leaves a TCP reply that conntrack never saw the request of (invalid, dropped)', () => {
    const deny = gnp('untracked', {selector: "host == 'node2'", doNotTrack: true, applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [9090]}}]})
    const v = run([deny], tcp(ep('a'), ep('b'), 9090))
    assert.equal(v.allowed, false)
    assert.deepEqual(v.forwarded.map((s) => [s.endpoint.name, s.stage, s.verdict]), [['node2-eth0', 'untracked', 'deny']])
    assert.equal(run([deny], tcp(ep('a'), ep('b'), 9091)).allowed, true)
    const allow = gnp('untracked', {selector: "host == 'node2'", doNotTrack: true, applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [9090]}}]})
    assert.equal(run([allow], tcp(ep('a'), ep('b'), 9090)).allowed, false)
    const all = hep('node2-all', {host: 'node2'}, [], {node: 'node2', interfaceName: '*'})
    const ipip = {tunnel: () => 'tunl0'}
    assert.equal(run([deny, all], tcp(ep('a'), ep('b'), 9090), ipip).allowed, true, 'in by tunl0: the all-interfaces endpoint has no untracked policy')
  })
})
