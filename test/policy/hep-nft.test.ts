/**
 * Host endpoints in the policy → nft compiler, as Felix renders them (felix/rules/static.go,
 * endpoints.go, dispatch.go): which HEP polices which interface, failsafe ports before any policy,
 * normal policy on the host's own traffic, applyOnForward on forwarded traffic, preDNAT in mangle
 * prerouting, doNotTrack in raw, the all-interfaces HEP, and workload → host traffic through the
 * workload's egress policy and DefaultEndpointToHostAction. Every script is checked by nft itself
 * (`nft -c`) in a throwaway namespace.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {after, before, describe, it} from 'node:test'

import {felixSettings} from '../../src/lab/daemons/policy.js'
import {compileNodePolicy, FAILSAFE_INBOUND, FAILSAFE_OUTBOUND, type NodePolicyInput} from '../../src/policy/nft.js'
import {buildWorld} from '../../src/policy/world.js'
import type {Resource} from '../../src/resources/types.js'
import {kernelSkipReason} from '../helpers/kernel.js'
import {gnp, hep, wep} from './fixtures.js'

const skip = kernelSkipReason()
const netns = `hepc${process.pid % 10000}`
const a = wep('default', 'a', {app: 'web'}, '10.0.0.1')
const workloads: NodePolicyInput['workloads'] = [{interfaceName: 'calia', name: 'a', namespace: 'default'}]
const eth0 = {hostInterfaces: [{name: 'eth0', addresses: ['192.168.0.1']}]}

function compile(resources: Resource[], input: Partial<NodePolicyInput> = {}): string {
  const script = compileNodePolicy(buildWorld({resources: [a, ...resources]}), {node: 'host1', workloads, ...eth0, ...input})
  nftCheck(script)
  return script
}

function chain(script: string, name: string): string[] {
  const start = script.indexOf(`\tchain ${name} {\n`)
  assert.ok(start >= 0, `no chain ${name} in\n${script}`)
  const body = script.slice(start).split('\n').slice(1)
  return body.slice(0, body.indexOf('\t}')).map((l) => l.trim())
}
const hasChain = (script: string, name: string) => script.includes(`\tchain ${name} {\n`)

function nftCheck(script: string): void {
  if (skip) return
  const r = spawnSync('ip', ['netns', 'exec', netns, 'nft', '-c', '-f', '-'], {input: script, encoding: 'utf8'})
  assert.equal(r.status, 0, `nft -c refused the script: ${r.stderr}\n${script}`)
}

const denyAllHost = gnp('host-deny', {selector: "role == 'node'", ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [8080]}}], egress: [{action: 'Allow'}]})
const nodeHep = hep('node1-eth0', {role: 'node'}, ['192.168.0.1'])

describe('policy → nft: host endpoints', () => {
  before(() => {
    if (!skip) assert.equal(spawnSync('ip', ['netns', 'add', netns]).status, 0)
  })
  after(() => {
    if (!skip) spawnSync('ip', ['netns', 'del', netns])
  })

  it("workload → own host: the workload's egress chain, then DefaultEndpointToHostAction (Accept by default, Drop when configured)", () => {
    const script = compile([])
    const hostIn = chain(script, 'host-in')
    assert.equal(hostIn[0], 'type filter hook input priority filter; policy accept;')
    assert.ok(hostIn.includes('iifname vmap { "calia" : jump from-wl0 } comment "workload egress policy, then DefaultEndpointToHostAction Accept"'), hostIn.join('\n'))
    // Without host endpoints nothing else is policed: no output, raw or mangle hooks.
    for (const name of ['host-out', 'raw-pre', 'raw-out', 'mangle-pre', 'fw-from-hep', 'fw-to-hep']) assert.equal(hasChain(script, name), false, name)
    const dropped = chain(compile([], {endpointToHostAction: 'Drop'}), 'host-in')
    assert.ok(dropped.includes('iifname "calia" drop comment "DefaultEndpointToHostAction Drop"'), dropped.join('\n'))
    assert.ok(!dropped.some((l) => l.includes('jump from-wl0')))
    // ICMPv6 a router needs comes first, as in Felix's cali-wl-to-host.
    assert.ok(dropped.findIndex((l) => l.includes('icmpv6 type')) < dropped.findIndex((l) => l.includes('drop comment')))
  })

  it('a HEP on eth0: failsafe first, then its normal policy, then drop; host → local workloads unpoliced; other nodes\' HEPs ignored', () => {
    const other = hep('node2-eth0', {role: 'node'}, ['192.168.0.2'], {node: 'node2'})
    const script = compile([nodeHep, other, denyAllHost])
    const hostIn = chain(script, 'host-in')
    const accepted = hostIn.indexOf('meta mark and 0x00001000 != 0 accept comment "accepted by untracked or preDNAT policy"')
    assert.ok(accepted > hostIn.findIndex((l) => l.includes('jump from-wl0')), 'workload traffic goes to its egress chain before host endpoint policy')
    assert.equal(hostIn[accepted + 1], 'iifname vmap { "eth0" : jump from-hep0 }')
    assert.equal(hostIn.length, accepted + 2, 'one host endpoint on this node')
    assert.deepEqual(chain(script, 'from-hep0'), ['ct state invalid drop', 'jump failsafe-in', 'jump from-hep0-t0', 'drop comment "no profiles"'])
    assert.deepEqual(chain(script, 'from-hep0-t0'), ['meta l4proto 6 th dport 8080 accept comment "default/host-deny/ingress/0"', 'drop comment "end of tier default"'])
    assert.deepEqual(chain(script, 'host-out').slice(2, 5), ['ct state established,related accept', 'oifname "calia" accept comment "host to local workloads: not policed"', 'oifname vmap { "eth0" : jump to-hep0 }'])
    assert.deepEqual(chain(script, 'to-hep0').slice(0, 2), ['ct state invalid drop', 'jump failsafe-out'])
    // Felix's default failsafe ports, inbound by destination port.
    assert.equal(chain(script, 'failsafe-in').length, FAILSAFE_INBOUND.length)
    assert.ok(chain(script, 'failsafe-in').includes('meta l4proto 6 th dport 22 accept comment "failsafe tcp:22"'))
    assert.ok(chain(script, 'failsafe-in').includes('meta l4proto 6 th dport 179 accept comment "failsafe tcp:179"'))
    assert.ok(chain(script, 'failsafe-out').includes('meta l4proto 17 th dport 53 accept comment "failsafe udp:53"'))
    assert.equal(chain(script, 'failsafe-out').length, FAILSAFE_OUTBOUND.length)
    // No applyOnForward/preDNAT/doNotTrack policy: forwarded traffic is not policed, nothing in mangle; raw only clears the accept bit.
    assert.equal(hasChain(script, 'fw-from-hep') || hasChain(script, 'fw-to-hep') || hasChain(script, 'mangle-pre'), false)
    assert.deepEqual(chain(script, 'raw-pre'), ['type filter hook prerouting priority raw; policy accept;', 'meta mark set meta mark and 0xffffefff'])
  })

  it('a HEP with no policy and no profile allows nothing but failsafes; a profile is tried after policy', () => {
    const script = compile([nodeHep])
    assert.deepEqual(chain(script, 'from-hep0'), ['ct state invalid drop', 'jump failsafe-in', 'drop comment "no profiles"'])
    assert.deepEqual(chain(script, 'to-hep0'), ['ct state invalid drop', 'jump failsafe-out', 'drop comment "no profiles"'])
    const allowed = compile([hep('node1-eth0', {role: 'node'}, ['192.168.0.1'], {profiles: ['projectcalico-default-allow']})])
    assert.deepEqual(chain(allowed, 'from-hep0').slice(2), ['jump from-hep0-p0', 'drop comment "no profile allowed"'])
  })

  it('which HEP polices an interface: by interfaceName or by an expectedIP on it, the lowest name winning', () => {
    const byAddress = hep('b-by-ip', {role: 'node'}, ['192.168.0.1'], {interfaceName: undefined})
    const named = hep('c-named', {role: 'other'}, [], {interfaceName: 'eth0'})
    const elsewhere = hep('a-other-if', {role: 'node'}, ['192.168.9.9'], {interfaceName: undefined})
    const script = compile([named, byAddress, elsewhere, gnp('p', {selector: "role == 'node'", ingress: [{action: 'Deny'}]})])
    // b-by-ip (expectedIP on eth0) beats c-named; a-other-if holds no address of this node.
    assert.deepEqual(chain(script, 'from-hep0').slice(2), ['jump from-hep0-t0', 'drop comment "no profiles"'])
    assert.deepEqual(chain(script, 'host-in').slice(-1), ['iifname vmap { "eth0" : jump from-hep0 }'])
  })

  it('failsafe ports from FelixConfiguration: node.<name> over default, with nets', () => {
    const fc = (name: string, spec: Record<string, unknown>): Resource => ({apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: {name}, spec})
    const settings = felixSettings([fc('default', {failsafeInboundHostPorts: [{protocol: 'TCP', port: 2222}], defaultEndpointToHostAction: 'Drop'}), fc('node.host1', {failsafeOutboundHostPorts: [{protocol: 'UDP', port: 53, net: '10.96.0.10/32'}]})], 'host1')
    assert.deepEqual(settings, {endpointToHostAction: 'Drop', failsafeInbound: [{protocol: 'TCP', port: 2222}], failsafeOutbound: [{protocol: 'UDP', port: 53, net: '10.96.0.10/32'}]})
    const script = compile([nodeHep], settings)
    assert.deepEqual(chain(script, 'failsafe-in'), ['meta l4proto 6 th dport 2222 accept comment "failsafe tcp:2222"'])
    assert.deepEqual(chain(script, 'failsafe-out'), ['ip daddr 10.96.0.10 meta l4proto 17 th dport 53 accept comment "failsafe udp:53"'])
  })

  it('applyOnForward: forwarded traffic through the HEP meets only applyOnForward policies, in and out, with the end-of-tier drop', () => {
    const forward = gnp('fw', {selector: "role == 'node'", applyOnForward: true, ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [9090]}}], egress: [{action: 'Allow', protocol: 'TCP'}]})
    const script = compile([nodeHep, denyAllHost, forward])
    assert.deepEqual(chain(script, 'fw-from-hep'), [
      'type filter hook forward priority filter - 1; policy accept;',
      'ct state established,related accept',
      'meta mark and 0x00001000 != 0 accept comment "accepted by untracked or preDNAT policy"',
      'iifname vmap { "eth0" : jump from-hep-fw0 }',
    ])
    assert.deepEqual(chain(script, 'from-hep-fw0'), ['ct state invalid drop', 'jump from-hep-fw0-t0'])
    assert.deepEqual(chain(script, 'from-hep-fw0-t0'), ['meta l4proto 6 th dport 9090 drop comment "default/fw/ingress/0"', 'drop comment "end of tier default"'])
    assert.deepEqual(chain(script, 'fw-to-hep').slice(0, 1), ['type filter hook forward priority filter + 2; policy accept;'])
    assert.deepEqual(chain(script, 'to-hep-fw0-t0'), ['meta l4proto 6 accept comment "default/fw/egress/0"', 'drop comment "end of tier default"'])
    // The host's own traffic meets both policies (applyOnForward ones too).
    assert.ok(chain(script, 'from-hep0-t0').includes('meta l4proto 6 th dport 9090 drop comment "default/fw/ingress/0"'))
  })

  it('preDNAT: ingress only, in mangle prerouting after conntrack, no end-of-tier drop, Allow marks the packet for filter', () => {
    const pre = gnp('pre', {selector: "role == 'node'", preDNAT: true, applyOnForward: true, ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [8081]}}, {action: 'Deny', protocol: 'TCP', destination: {ports: [8082]}}]})
    const script = compile([nodeHep, denyAllHost, pre])
    assert.deepEqual(chain(script, 'mangle-pre'), [
      'type filter hook prerouting priority mangle; policy accept;',
      'ct state established,related accept',
      'meta mark and 0x00001000 != 0 accept comment "accepted by untracked policy"',
      'iifname vmap { "eth0" : jump from-hep-pre0 }',
    ])
    assert.deepEqual(chain(script, 'from-hep-pre0'), ['ct state invalid drop', 'jump failsafe-in', 'jump from-hep-pre0-t0'])
    assert.deepEqual(chain(script, 'from-hep-pre0-t0'), [
      'meta l4proto 6 th dport 8081 meta mark set meta mark or 0x00001000 accept comment "default/pre/ingress/0"',
      'meta l4proto 6 th dport 8082 drop comment "default/pre/ingress/1"',
      'return comment "end of tier default"',
    ])
    // Not in the normal chains, nor on egress.
    assert.ok(!chain(script, 'from-hep0-t0').some((l) => l.includes('default/pre/')))
    assert.ok(!script.includes('to-hep-pre'))
  })

  it('doNotTrack: raw prerouting and output, NOTRACK on Allow, replies by failsafe source port, never the all-interfaces HEP', () => {
    const untracked = gnp('untracked', {selector: 'has(role)', doNotTrack: true, applyOnForward: true, ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [7070]}}], egress: [{action: 'Allow', protocol: 'TCP', source: {ports: [7070]}}]})
    const script = compile([nodeHep, hep('all', {role: 'all'}, [], {interfaceName: '*'}), untracked])
    assert.deepEqual(chain(script, 'raw-pre'), ['type filter hook prerouting priority raw; policy accept;', 'meta mark set meta mark and 0xffffefff', 'iifname vmap { "eth0" : jump from-hep-untr0 }'])
    assert.deepEqual(chain(script, 'raw-out'), ['type filter hook output priority raw; policy accept;', 'meta mark set meta mark and 0xffffefff', 'oifname vmap { "eth0" : jump to-hep-untr0 }'])
    assert.deepEqual(chain(script, 'from-hep-untr0'), ['jump failsafe-raw-in', 'jump from-hep-untr0-t0'])
    assert.deepEqual(chain(script, 'from-hep-untr0-t0'), ['meta l4proto 6 th dport 7070 meta mark set meta mark or 0x00001000 notrack accept comment "default/untracked/ingress/0"', 'return comment "end of tier default"'])
    assert.deepEqual(chain(script, 'to-hep-untr0-t0'), ['meta l4proto 6 th sport 7070 meta mark set meta mark or 0x00001000 notrack accept comment "default/untracked/egress/0"', 'return comment "end of tier default"'])
    assert.ok(chain(script, 'failsafe-raw-in').includes('meta l4proto 6 th sport 179 accept comment "failsafe tcp:179"'), 'replies from an outbound failsafe port')
    assert.ok(chain(script, 'failsafe-raw-out').includes('meta l4proto 6 th sport 22 accept comment "failsafe tcp:22"'), 'replies to an inbound failsafe port')
    // Untracked policy is not in the normal chains.
    assert.ok(!script.includes('from-hep0-t0'))
  })

  it('the all-interfaces HEP: after the named ones, for any other interface; forwarded traffic only with applyOnForward policy', () => {
    const all = hep('all', {role: 'all'}, [], {interfaceName: '*'})
    const hostOnly = gnp('host-only', {selector: "role == 'all'", ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [8080]}}]})
    const script = compile([nodeHep, all, hostOnly])
    assert.deepEqual(chain(script, 'host-in').slice(-2), ['iifname vmap { "eth0" : jump from-hep0 }', 'jump from-hep1 comment "all-interfaces host endpoint"'])
    // Neither has egress policy: they share one chain.
    assert.deepEqual(chain(script, 'host-out').slice(-2), ['oifname vmap { "eth0" : jump to-hep0 }', 'jump to-hep0 comment "all-interfaces host endpoint"'])
    assert.equal(hasChain(script, 'fw-from-hep'), false, 'no applyOnForward policy: forwarded traffic is not policed')
    const forwarded = compile([all, gnp('fw-all', {selector: "role == 'all'", applyOnForward: true, ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [9090]}}]})])
    assert.deepEqual(chain(forwarded, 'fw-from-hep').slice(-1), ['jump from-hep-fw0 comment "all-interfaces host endpoint"'])
  })

  it('IPIP and VXLAN between the hosts pass host endpoint policy, as Felix lets them', () => {
    const script = compile([nodeHep], {tunnels: {vxlan: true, ipip: true, hosts: ['192.168.0.1', '192.168.0.2']}})
    const hostIn = chain(script, 'host-in')
    assert.ok(hostIn.includes('meta nfproto ipv4 udp dport 4789 ip saddr { 192.168.0.1, 192.168.0.2 } fib daddr type local accept comment "VXLAN from allowed hosts"'))
    assert.ok(hostIn.includes('meta l4proto 4 drop comment "IPIP from non-Calico hosts"'))
    assert.ok(chain(script, 'host-out').includes('meta nfproto ipv4 udp dport 4789 ip daddr { 192.168.0.1, 192.168.0.2 } fib saddr type local accept comment "VXLAN to allowed hosts"'))
  })

  it('a hostile or impossible interfaceName never reaches the script (that endpoint polices nothing)', () => {
    const script = compile([hep('evil', {role: 'node'}, [], {interfaceName: 'eth0" } drop; #'}), hep('long', {role: 'node'}, [], {interfaceName: 'a-very-long-interface-name'}), denyAllHost])
    assert.ok(!script.includes('eth0"') && !script.includes('a-very-long'))
    assert.equal(hasChain(script, 'host-out'), false, 'no host endpoint on this node')
  })

  it('a flannel node (Canal): workloads reach the host through cni0, told apart by their port mark; the host reaches them by cni0 unpoliced', () => {
    const script = compile([nodeHep, denyAllHost], {bridge: 'cni0', workloads: [{interfaceName: 'vetha', address: '10.0.0.1', name: 'a', namespace: 'default'}]})
    const hostIn = chain(script, 'host-in')
    assert.ok(hostIn.includes('iifname "cni0" meta mark and 0xffff0000 vmap { 0x00010000 : jump from-wl0 } comment "workload egress policy, then DefaultEndpointToHostAction Accept"'), hostIn.join('\n'))
    assert.ok(chain(script, 'host-out').includes('oifname "cni0" accept comment "host to local workloads: not policed"'))
    const dropped = chain(compile([], {bridge: 'cni0', endpointToHostAction: 'Drop', workloads: [{interfaceName: 'vetha', address: '10.0.0.1', name: 'a', namespace: 'default'}]}), 'host-in')
    assert.ok(dropped.includes('iifname "cni0" drop comment "DefaultEndpointToHostAction Drop"'), dropped.join('\n'))
  })
})
