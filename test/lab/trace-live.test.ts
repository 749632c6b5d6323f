/**
 * netctl lab trace on real labs (root): calico with BGP, then VXLAN; BGP off; VXLAN CrossSubnet
 * over two subnets; flannel host-gw, then vxlan, udp and vxlan with DirectRouting. The predicted hops (namespaces in order, devices, encapsulation, TTL 64 → 62) and
 * what --verify captures on the wire agree; a route taken away is a predicted drop the wire confirms.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {load} from 'js-yaml'

import type {TraceResult} from '../../src/lab/inspect/trace.js'
import {repoRoot, runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const tag = `t${process.pid % 10000}x`
const ns = (lab: string, what: string) => `nc-${lab}.${what}`

describe('netctl lab trace (network namespaces, tcpdump)', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const trace = async (lab: string, ...args: string[]): Promise<{trace: TraceResult; code: number}> => {
    const run = await netctl(['lab', 'trace', '--lab', lab, ...args, '-o', 'json'])
    assert.ok(run.stdout.trim().startsWith('{'), run.stderr)
    return {trace: JSON.parse(run.stdout) as TraceResult, code: run.code}
  }

  before(() => {
    state = tempDir()
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
  })

  /** The shape every cross-node pod-to-pod trace has, and --verify seeing all of it. */
  function assertAcrossNodes(t: TraceResult, lab: string, devices: Array<string | null>) {
    assert.deepEqual(t.hops.map((h) => h.netns), [ns(lab, 'p-busybox-controlplane-0'), ns(lab, 'n-controlplane'), ns(lab, 'underlay'), ns(lab, 'n-node01'), ns(lab, 'p-busybox-node01-0')])
    assert.deepEqual(t.hops.map((h) => h.outInterface ?? null), devices)
    assert.deepEqual(t.hops.map((h) => h.ttl), [64, 64, 63, 63, 62])
    assert.deepEqual({delivered: t.result.delivered, ttl: t.result.ttl}, {delivered: true, ttl: 62})
    assert.ok(t.verified, 'verified')
    assert.deepEqual(t.hops.map((h) => h.observed?.seen), [true, true, true, true, true])
    assert.equal(t.hops[4]!.observed?.ttl, 62, 'the wire shows ttl=62 arriving in the destination pod')
    assert.equal(t.verified.agrees, true)
  }

  describe('calico', () => {
    const lab = `${tag}c`
    before(async () => {
      const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '2', '--pods-per-node', '1', '--encapsulation', 'None'])
      assert.equal(up.code, 0, up.stderr)
    })

    it('BGP, no encapsulation: proxy ARP, the route BIRD installed (proto bird), the /32 to the cali interface; the wire agrees', async () => {
      const {trace: t, code} = await trace(lab, 'busybox-controlplane-0', 'busybox-node01-0', '--verify')
      assert.equal(code, 0)
      assertAcrossNodes(t, lab, ['eth0', 'eth0', t.hops[2]!.outInterface!, t.hops[3]!.outInterface!, null])
      assert.match(t.hops[3]!.outInterface!, /^cali/)
      assert.equal(t.hops[0]!.nextHop?.mac, 'ee:ee:ee:ee:ee:ee')
      assert.equal(t.hops[1]!.route?.proto, 'bird')
      assert.equal(t.hops.some((h) => h.encapsulation), false)
      assert.equal(t.policy?.allowed, true)
      const text = await netctl(['lab', 'trace', '--lab', lab, 'busybox-controlplane-0', '192.168.0.65'])
      assert.equal(text.code, 0, text.stderr)
      assert.match(text.stdout, /proxy ARP with ee:ee:ee:ee:ee:ee/)
      assert.match(text.stdout, /delivered with ttl=62/)
    })

    it('VXLAN: outer header node → node on UDP 4789 VNI 4096, decapsulated on vxlan.calico, seen so on the wire (tcp probe)', async () => {
      const set = await netctl(['encap', 'set', 'vxlan', '--yes', '--lab', lab])
      assert.equal(set.code, 0, set.stderr)
      const {trace: t} = await trace(lab, 'busybox-controlplane-0', 'busybox-node01-0', '--protocol', 'tcp', '--port', '80', '--verify')
      assertAcrossNodes(t, lab, ['eth0', 'vxlan.calico', t.hops[2]!.outInterface!, t.hops[3]!.outInterface!, null])
      const encap = t.hops[1]!.encapsulation!
      assert.deepEqual([encap.type, encap.outerSource, encap.outerDestination, encap.port, encap.vni], ['vxlan', '172.17.0.32', '172.17.0.40', 4789, 4096])
      assert.equal(t.hops[3]!.decapsulation?.device, 'vxlan.calico')
      assert.match(t.hops[1]!.observed!.encapsulation!, /^udp 4789 vni 4096 172\.17\.0\.32 → 172\.17\.0\.40/)
      assert.equal(t.result.smallestMtu, 1450)
      // json and yaml say the same (verify off: nothing observed differs between runs).
      const json = await netctl(['lab', 'trace', '--lab', lab, 'busybox-controlplane-0', 'busybox-node01-0', '-o', 'json'])
      const yaml = await netctl(['lab', 'trace', '--lab', lab, 'busybox-controlplane-0', 'busybox-node01-0', '-o', 'yaml'])
      assert.deepEqual(load(yaml.stdout), JSON.parse(json.stdout))
    })

    it('a policy denying the flow: the trace ends where the lab\'s nftables drop it, names tier, policy and rule, and the probe agrees', async () => {
      const file = join(state.path, 'deny.yaml')
      writeFileSync(file, [
        'apiVersion: projectcalico.org/v3', 'kind: GlobalNetworkPolicy', 'metadata: {name: deny-icmp-in}',
        'spec: {selector: "projectcalico.org/orchestrator == \'k8s\'", types: [Ingress], ingress: [{action: Deny, protocol: ICMP}]}', '',
      ].join('\n'))
      const applied = await netctl(['apply', '-f', file, '--lab', lab])
      assert.equal(applied.code, 0, applied.stderr)
      const {trace: icmp, code} = await trace(lab, 'busybox-controlplane-0', 'busybox-node01-0', '--verify')
      assert.equal(code, 1)
      assert.equal(icmp.result.delivered, false)
      assert.match(icmp.result.reason!, /^node node01: policy ingress deny \(deny \(tier default, GlobalNetworkPolicy deny-icmp-in rule 0\)\)/)
      assert.equal(icmp.hops.at(-1)!.at, 'node node01')
      assert.equal(icmp.verified?.agrees, true, JSON.stringify(icmp.hops.map((h) => [h.at, h.observed])))
      assert.deepEqual(icmp.policy?.decisions, {egress: {verdict: 'allow', profile: 'kns.default', rule: 0}, ingress: {verdict: 'deny', tier: 'default', policy: 'GlobalNetworkPolicy/deny-icmp-in', rule: 0}})
      const {trace: tcp} = await trace(lab, 'busybox-controlplane-0', 'busybox-node01-0', '--protocol', 'tcp', '--port', '80')
      // Calico's end of tier: a policy applied and no rule matched TCP, so the default tier drops it.
      assert.equal(tcp.policy?.allowed, false)
      assert.equal(tcp.policy?.decisions.ingress.tier, 'default')
      assert.equal(tcp.policy?.decisions.ingress.rule, undefined)
    })

    it('a route taken away: a predicted drop (exit 1), and the probe indeed never arrives', async () => {
      const removed = spawnSync('ip', ['-n', ns(lab, 'n-controlplane'), 'route', 'del', '192.168.0.64/26'], {encoding: 'utf8'})
      assert.equal(removed.status, 0, removed.stderr)
      const {trace: t, code} = await trace(lab, 'busybox-controlplane-0', 'busybox-node01-0', '--verify')
      assert.equal(code, 1)
      assert.equal(t.result.delivered, false)
      assert.match(t.result.reason!, /^underlay: no route to 192\.168\.0\.65/)
      assert.equal(t.hops[1]!.route?.dst, 'default')
      assert.equal(t.verified?.agrees, true)
    })
  })

  describe('calico, BGP off', () => {
    const lab = `${tag}s`
    before(async () => {
      const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '2', '--pods-per-node', '1', '--bgp', 'off', '--encapsulation', 'None'])
      assert.equal(up.code, 0, up.stderr)
    })

    it('static routes (Felix\'s role, no BIRD): via the peer node on eth0, not proto bird; the wire agrees', async () => {
      const {trace: t} = await trace(lab, 'busybox-controlplane-0', 'busybox-node01-0', '--verify')
      assertAcrossNodes(t, lab, ['eth0', 'eth0', t.hops[2]!.outInterface!, t.hops[3]!.outInterface!, null])
      assert.equal(t.mode, 'calico no encapsulation, static routes')
      assert.deepEqual([t.hops[1]!.route?.dst, t.hops[1]!.route?.via], ['192.168.0.64/26', '172.17.0.40'])
      assert.notEqual(t.hops[1]!.route?.proto, 'bird')
    })
  })

  describe('calico, VXLAN CrossSubnet over two underlay subnets', () => {
    const lab = `${tag}x`
    before(async () => {
      const up = await netctl(['lab', 'up', '--name', lab, '-f', join(repoRoot, 'examples/cross-subnet-lab.yaml')])
      assert.equal(up.code, 0, up.stderr)
    })

    it('the same subnet: Felix\'s plain route (proto 80); across the router: VXLAN to the far node; the wire agrees on both', async () => {
      const {trace: near} = await trace(lab, 'busybox-a', 'busybox-node01-0', '--verify')
      assert.equal(near.hops[1]!.route?.proto, '80')
      assert.equal(near.hops.some((h) => h.encapsulation), false)
      assert.deepEqual({delivered: near.result.delivered, ttl: near.result.ttl}, {delivered: true, ttl: 62})
      assert.equal(near.verified?.agrees, true, JSON.stringify(near.hops.map((h) => [h.at, h.ttl, h.observed])))
      const {trace: far} = await trace(lab, 'busybox-a', 'busybox-node02-0', '--verify')
      const encap = far.hops[1]!.encapsulation!
      assert.deepEqual([encap.type, encap.port, encap.vni, encap.outerDestination], ['vxlan', 4789, 4096, '172.18.0.32'])
      // The router between the subnets lives in the underlay namespace: the outer packet crosses it.
      assert.deepEqual(far.hops.map((h) => h.at), ['pod busybox-a', 'node controlplane', 'underlay', 'node node02', 'pod busybox-node02-0'])
      assert.equal(far.result.delivered, true)
      assert.equal(far.verified?.agrees, true, JSON.stringify(far.hops.map((h) => [h.at, h.ttl, h.observed])))
    })
  })

  describe('flannel', () => {
    const lab = `${tag}f`
    before(async () => {
      const up = await netctl(['lab', 'up', '--name', lab, '--flavor', 'flannel', '--nodes', '2', '--pods-per-node', '1'])
      assert.equal(up.code, 0, up.stderr)
    })

    it('host-gw: cni0, the route to the peer subnet via the peer node, cni0 on the far side; the wire agrees (udp probe)', async () => {
      const {trace: t} = await trace(lab, 'busybox-controlplane-0', 'busybox-node01-0', '--protocol', 'udp', '--port', '53', '--verify')
      assertAcrossNodes(t, lab, ['eth0', 'eth0', t.hops[2]!.outInterface!, 'cni0', null])
      assert.equal(t.hops[1]!.inInterface, 'cni0')
      assert.equal(t.hops[1]!.route?.via, '172.17.0.40')
    })

    it('vxlan: flannel.1, UDP 8472, VNI 1, seen so on the wire', async () => {
      const set = await netctl(['lab', 'set-backend', 'vxlan', '--lab', lab])
      assert.equal(set.code, 0, set.stderr)
      const {trace: t} = await trace(lab, 'busybox-controlplane-0', '10.244.1.2', '--verify')
      assertAcrossNodes(t, lab, ['eth0', 'flannel.1', t.hops[2]!.outInterface!, 'cni0', null])
      const encap = t.hops[1]!.encapsulation!
      assert.deepEqual([encap.type, encap.port, encap.vni], ['vxlan', 8472, 1])
      assert.match(t.hops[1]!.observed!.encapsulation!, /^udp 8472 vni 1 /)
    })

    it('udp: flannel0 and the proxy to UDP 8285, a router hop each way (ttl 60); the wire agrees', async () => {
      const set = await netctl(['lab', 'set-backend', 'udp', '--lab', lab])
      assert.equal(set.code, 0, set.stderr)
      const {trace: t} = await trace(lab, 'busybox-controlplane-0', 'busybox-node01-0', '--verify')
      assert.deepEqual(t.hops.map((h) => h.netns), [ns(lab, 'p-busybox-controlplane-0'), ns(lab, 'n-controlplane'), ns(lab, 'underlay'), ns(lab, 'n-node01'), ns(lab, 'p-busybox-node01-0')])
      const encap = t.hops[1]!.encapsulation!
      assert.deepEqual([encap.type, encap.port, encap.outerDestination], ['udp', 8285, '172.17.0.40'])
      assert.equal(t.hops[1]!.outInterface, 'flannel0')
      assert.deepEqual({delivered: t.result.delivered, ttl: t.result.ttl}, {delivered: true, ttl: 60})
      assert.deepEqual(t.hops.map((h) => h.observed?.seen), [true, true, true, true, true])
      assert.match(t.hops[1]!.observed!.encapsulation!, /^udp 8285 /)
      assert.equal(t.hops[4]!.observed?.ttl, 60, 'the wire shows ttl=60 arriving in the destination pod')
      assert.equal(t.verified?.agrees, true, JSON.stringify(t.hops.map((h) => [h.at, h.ttl, h.observed])))
    })

    it('vxlan with DirectRouting: a peer on the same subnet gets the host-gw route, no flannel.1; the wire agrees', async () => {
      const set = await netctl(['lab', 'set-backend', 'vxlan', '--direct-routing', '--lab', lab])
      assert.equal(set.code, 0, set.stderr)
      const {trace: t} = await trace(lab, 'busybox-controlplane-0', 'busybox-node01-0', '--verify')
      assertAcrossNodes(t, lab, ['eth0', 'eth0', t.hops[2]!.outInterface!, 'cni0', null])
      assert.equal(t.hops[1]!.route?.via, '172.17.0.40')
      assert.equal(t.hops.some((h) => h.encapsulation), false)
    })
  })
})
