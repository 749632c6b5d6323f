/**
 * netctl lab trace without a kernel: the walk over answers recorded from real labs
 * (test/fixtures/lab-trace/*.json: `ip route get`, `ip neigh`, `bridge fdb`, `ip -d link`
 * in each namespace), drops made by editing those answers, and the --verify capture parser.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import type {LabCluster} from '../../src/lab/plan/cluster.js'
import {
  labMode, markObserved, parseCapture, resolveEnd, smallestMtu, tracePath, traceRows, verdictAgrees, type Ask, type Hop,
} from '../../src/lab/inspect/trace.js'
import {isNetctlError} from '../../src/errors.js'
import {repoRoot, runCli, tempDir} from '../helpers/cli.js'

interface Recording {
  cluster: LabCluster
  from: string
  to: string
  answers: Record<string, {stdout: string; stderr: string; exitCode: number}>
}

const load = (name: string): Recording => JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'lab-trace', `${name}.json`), 'utf8')) as Recording

/** Answers only what was recorded: a question the walk did not ask live fails the test. */
const replay = (answers: Recording['answers']): Ask => async (tool, netns, args) => {
  const answer = answers[`${tool} ${netns} ${args.join(' ')}`]
  if (!answer) throw new Error(`not recorded: ${tool} -n ${netns} ${args.join(' ')}`)
  return answer
}

async function walk(recording: Recording) {
  const from = resolveEnd(recording.cluster, recording.from)
  const to = resolveEnd(recording.cluster, recording.to)
  return {from, to, ...(await tracePath(recording.cluster, from, to, replay(recording.answers)))}
}

const column = <K extends keyof Hop>(hops: Hop[], key: K) => hops.map((h) => h[key])
const key = (_rec: Recording, netns: string, ...args: string[]) => `ip ${netns} ${args.join(' ')}`

describe('lab trace: the path from recorded kernel answers', () => {
  it('calico with BGP: proxy ARP on caliX, proto bird route to the peer, the /32 route to the cali interface, TTL 64 → 62', async () => {
    const rec = load('calico-bgp')
    const {hops, result} = await walk(rec)
    const [cp, n1] = rec.cluster.nodes
    const [podA, podB] = rec.cluster.pods
    assert.deepEqual(column(hops, 'netns'), [podA!.netns, cp!.netns, rec.cluster.underlayNetns, n1!.netns, podB!.netns])
    assert.deepEqual(column(hops, 'action'), ['send', 'forward', 'bridge', 'forward', 'deliver'])
    assert.deepEqual(column(hops, 'inInterface'), [undefined, podA!.hostIf, 'un-a5ccc18697', 'eth0', 'eth0'])
    assert.deepEqual(column(hops, 'ttl'), [64, 64, 63, 63, 62])
    assert.deepEqual(hops[0]!.route, {dst: 'default', via: '169.254.1.1', dev: 'eth0', proto: 'static', onlink: undefined, type: undefined})
    assert.equal(hops[0]!.nextHop?.mac, 'ee:ee:ee:ee:ee:ee')
    assert.match(hops[0]!.nextHop!.how, new RegExp(`proxy ARP on ${podA!.hostIf} answers with ee:ee:ee:ee:ee:ee`))
    assert.equal(hops[1]!.route?.proto, 'bird')
    assert.equal(hops[1]!.route?.via, n1!.ip)
    assert.equal(hops[3]!.route?.dst, podB!.ip)
    assert.equal(hops[3]!.outInterface, podB!.hostIf)
    assert.deepEqual(result, {delivered: true, ttl: 62, smallestMtu: 1500})
    assert.equal(labMode(rec.cluster), 'calico no encapsulation, BGP (BIRD)')
  })

  it('calico VXLAN: neighbour and fdb give the outer header (node IPs, UDP 4789, VNI 4096), decapsulated on vxlan.calico', async () => {
    const rec = load('calico-vxlan')
    const {hops, result} = await walk(rec)
    const [cp, n1] = rec.cluster.nodes
    assert.equal(hops[1]!.outInterface, 'vxlan.calico')
    assert.equal(hops[1]!.route?.onlink, true)
    assert.deepEqual({...hops[1]!.encapsulation, vtepMac: undefined}, {type: 'vxlan', device: 'vxlan.calico', outerSource: cp!.ip, outerDestination: n1!.ip, port: 4789, vni: 4096, vtepMac: undefined})
    assert.match(hops[1]!.encapsulation!.vtepMac!, /^66:/)
    assert.deepEqual(hops[3]!.decapsulation, {type: 'vxlan', device: 'vxlan.calico'})
    assert.equal(hops[3]!.inInterface, 'eth0 → vxlan.calico')
    assert.deepEqual(column(hops, 'ttl'), [64, 64, 63, 63, 62])
    assert.deepEqual(result, {delivered: true, ttl: 62, smallestMtu: 1450})
  })

  it('flannel host-gw: via cni0, a route per peer subnet via the peer node, TTL 62', async () => {
    const {hops, result} = await walk(load('flannel-host-gw'))
    assert.deepEqual(column(hops, 'inInterface'), [undefined, 'cni0', 'un-a5ccc18697', 'eth0', 'eth0'])
    assert.equal(hops[1]!.route?.dst, '10.244.1.0/24')
    assert.equal(hops[1]!.route?.via, '172.17.0.40')
    assert.equal(hops[3]!.outInterface, 'cni0')
    assert.equal(hops.some((h) => h.encapsulation), false)
    assert.deepEqual(result, {delivered: true, ttl: 62, smallestMtu: 1500})
  })

  it('flannel vxlan: flannel.1, UDP 8472, VNI 1', async () => {
    const {hops, result} = await walk(load('flannel-vxlan'))
    assert.deepEqual({port: hops[1]!.encapsulation?.port, vni: hops[1]!.encapsulation?.vni, device: hops[1]!.encapsulation?.device}, {port: 8472, vni: 1, device: 'flannel.1'})
    assert.deepEqual(hops[3]!.decapsulation, {type: 'vxlan', device: 'flannel.1'})
    assert.deepEqual(result, {delivered: true, ttl: 62, smallestMtu: 1450})
  })

  it('flannel udp: flannel0 and the proxy on UDP 8285, which lowers the TTL on each side (64 → 60)', async () => {
    const {hops, result} = await walk(load('flannel-udp'))
    assert.deepEqual({...hops[1]!.encapsulation}, {type: 'udp', device: 'flannel0', outerSource: '172.17.0.32', outerDestination: '172.17.0.40', port: 8285})
    assert.equal(hops[3]!.inInterface, 'eth0 → flannel0')
    assert.deepEqual(column(hops, 'ttl'), [64, 64, 62, 61, 60])
    assert.deepEqual(result, {delivered: true, ttl: 60, smallestMtu: 1472})
  })

  it('flannel pods on one node: cni0 only switches the frame, nothing routes it, TTL stays 64', async () => {
    const {hops, result} = await walk(load('flannel-same-node'))
    assert.deepEqual(column(hops, 'action'), ['send', 'bridge', 'deliver'])
    assert.equal(hops[0]!.route?.via, undefined)
    assert.deepEqual(result, {delivered: true, ttl: 64, smallestMtu: 1500})
  })

  it('across subnets without encapsulation: the underlay router routes the packet (TTL 64 → 61)', async () => {
    const rec = load('calico-bgp-router')
    const {hops, result} = await walk(rec)
    assert.deepEqual(column(hops, 'action'), ['send', 'forward', 'forward', 'forward', 'deliver'])
    assert.equal(hops[1]!.route?.via, '172.17.0.1')
    assert.equal(hops[1]!.route?.proto, 'bird')
    assert.deepEqual([hops[2]!.route?.dst, hops[2]!.route?.via, hops[2]!.outInterface], ['192.168.0.128/26', '172.18.0.32', 'br1'])
    assert.equal(hops[3]!.netns, rec.cluster.nodes[2]!.netns)
    assert.deepEqual(column(hops, 'ttl'), [64, 64, 63, 62, 61])
    assert.deepEqual(result, {delivered: true, ttl: 61, smallestMtu: 1500})
  })

  it('VXLAN CrossSubnet: the router routes the outer packet, the inner TTL is untouched (64 → 62)', async () => {
    const rec = load('calico-vxlan-cross-subnet')
    const {hops, result} = await walk(rec)
    assert.equal(hops[1]!.encapsulation?.outerDestination, rec.cluster.nodes[2]!.ip)
    assert.deepEqual([hops[2]!.action, hops[2]!.route?.dst, hops[2]!.outInterface], ['forward', '172.18.0.0/24', 'br1'])
    assert.deepEqual(column(hops, 'ttl'), [64, 64, 63, 63, 62])
    assert.equal(labMode(rec.cluster), 'calico vxlan CrossSubnet, BGP (BIRD)')
    assert.deepEqual(result, {delivered: true, ttl: 62, smallestMtu: 1450})
  })

  it('a node sending into vxlan.calico: the source is its tunnel address, the kernel\'s choice, and later hops route from it', async () => {
    const rec = load('calico-node-to-pod-vxlan')
    const from = resolveEnd(rec.cluster, rec.from)
    const to = resolveEnd(rec.cluster, rec.to)
    const {hops, result, source} = await tracePath(rec.cluster, from, to, replay(rec.answers))
    assert.equal(from.ip, '172.18.0.32')
    assert.equal(source, '192.168.0.128')
    assert.deepEqual(column(hops, 'action'), ['send', 'forward', 'forward', 'deliver'])
    assert.deepEqual(column(hops, 'ttl'), [64, 64, 64, 63])
    assert.deepEqual(result, {delivered: true, ttl: 63, smallestMtu: 1450})
  })

  it('a blackhole route on the way: dropped, and why (the route, its proto)', async () => {
    const rec = load('calico-bgp')
    const n1 = rec.cluster.nodes[1]!
    const to = rec.cluster.pods[1]!.ip
    const from = rec.cluster.pods[0]!.ip
    const answers = {...rec.answers}
    answers[key(rec, n1.netns, '-j', 'route', 'get', to, 'from', from, 'iif', 'eth0')] = {stdout: '', stderr: 'RTNETLINK answers: Invalid argument', exitCode: 2}
    answers[key(rec, n1.netns, '-j', 'route', 'get', 'fibmatch', to, 'from', from, 'iif', 'eth0')] = {stdout: '', stderr: 'RTNETLINK answers: Invalid argument', exitCode: 2}
    answers[key(rec, n1.netns, '-j', 'route', 'show', 'match', to)] = {stdout: JSON.stringify([{dst: 'default', gateway: '172.17.0.1', dev: 'eth0', flags: []}, {type: 'blackhole', dst: '192.168.0.64/26', protocol: 'bird', flags: []}]), stderr: '', exitCode: 0}
    const {hops, result} = await tracePath(rec.cluster, resolveEnd(rec.cluster, rec.from), resolveEnd(rec.cluster, rec.to), replay(answers))
    assert.equal(hops.length, 4)
    assert.equal(hops[3]!.action, 'drop')
    assert.deepEqual(result, {delivered: false, reason: 'node node01: blackhole route 192.168.0.64/26 (proto bird)'})
  })

  it('no route at the source node: dropped with the kernel\'s reason', async () => {
    const rec = load('calico-bgp')
    const cp = rec.cluster.nodes[0]!
    const pod = rec.cluster.pods[0]!
    const to = rec.cluster.pods[1]!.ip
    const answers = {...rec.answers}
    answers[key(rec, cp.netns, '-j', 'route', 'get', to, 'from', pod.ip, 'iif', pod.hostIf)] = {stdout: '', stderr: 'RTNETLINK answers: Network is unreachable', exitCode: 2}
    answers[key(rec, cp.netns, '-j', 'route', 'get', 'fibmatch', to, 'from', pod.ip, 'iif', pod.hostIf)] = {stdout: '', stderr: 'RTNETLINK answers: Network is unreachable', exitCode: 2}
    answers[key(rec, cp.netns, '-j', 'route', 'show', 'match', to)] = {stdout: '[]', stderr: '', exitCode: 0}
    const {result} = await tracePath(rec.cluster, resolveEnd(rec.cluster, rec.from), resolveEnd(rec.cluster, rec.to), replay(answers))
    assert.deepEqual(result, {delivered: false, reason: `node controlplane: no route to ${to} (Network is unreachable)`})
  })

  it('ends by name or address; an unknown one is not-found and lists what there is', () => {
    const {cluster} = load('calico-bgp')
    assert.deepEqual(resolveEnd(cluster, cluster.pods[1]!.ip), {kind: 'pod', name: cluster.pods[1]!.name, ip: cluster.pods[1]!.ip, netns: cluster.pods[1]!.netns})
    assert.equal(resolveEnd(cluster, 'node01').ip, cluster.nodes[1]!.ip)
    assert.equal(resolveEnd(cluster, cluster.nodes[0]!.ip).name, 'controlplane')
    assert.throws(() => resolveEnd(cluster, '10.9.9.9'), (e: unknown) => isNetctlError(e, 'not-found') && /busybox-controlplane-0 \(192\.168\.0\.1\)/.test(e.suggestion ?? ''))
  })

  it('smallest MTU: the outer packet\'s devices count less the tunnel overhead', () => {
    const hops = [{mtu: 1500}, {mtu: 1500, encapsulation: {type: 'vxlan'}}, {mtu: 1400}, {mtu: 1500, decapsulation: {}}] as unknown as Hop[]
    assert.equal(smallestMtu(hops), 1350)
  })
})

/** What tcpdump -i any -n -v printed in node01 of a calico VXLAN lab while one ping crossed it. */
const capturedVxlan = `23:45:23.533408 eth0  In  IP (tos 0x0, ttl 64, id 45714, offset 0, flags [none], proto UDP (17), length 134)
    172.17.0.32.52407 > 172.17.0.40.4789: VXLAN, flags [I] (0x08), vni 4096
IP (tos 0x0, ttl 63, id 1520, offset 0, flags [DF], proto ICMP (1), length 84)
    192.168.0.1 > 192.168.0.65: ICMP echo request, id 24419, seq 1, length 64
23:45:23.533418 vxlan.calico In  IP (tos 0x0, ttl 63, id 1520, offset 0, flags [DF], proto ICMP (1), length 84)
    192.168.0.1 > 192.168.0.65: ICMP echo request, id 24419, seq 1, length 64
23:45:23.533437 calibfba8370e3f Out IP (tos 0x0, ttl 62, id 1520, offset 0, flags [DF], proto ICMP (1), length 84)
    192.168.0.1 > 192.168.0.65: ICMP echo request, id 24419, seq 1, length 64`.split('\n')

describe('lab trace --verify: what the wire showed', () => {
  it('parses interface, direction, TTL and the outer VXLAN header', () => {
    assert.deepEqual(parseCapture(capturedVxlan, [4789, 8472, 8285]), [
      {interface: 'eth0', direction: 'In', ttl: 64, src: '172.17.0.32', dst: '172.17.0.40', encapsulation: 'udp 4789 vni 4096'},
      {interface: 'vxlan.calico', direction: 'In', ttl: 63, src: '192.168.0.1', dst: '192.168.0.65', encapsulation: undefined},
      {interface: 'calibfba8370e3f', direction: 'Out', ttl: 62, src: '192.168.0.1', dst: '192.168.0.65', encapsulation: undefined},
    ])
  })

  it('marks hops seen with the TTL on their in-interface; a wrong TTL or a missing hop disagrees', async () => {
    const rec = load('calico-vxlan')
    const {hops, result, from, to} = await walk(rec)
    const n1 = rec.cluster.nodes[1]!
    const seen = new Map(hops.map((h) => [h.netns, h.netns === n1.netns ? parseCapture(capturedVxlan, [4789]) : [{interface: h.inInterface ?? 'eth0', direction: h.action === 'send' ? 'Out' : 'In', ttl: h.ttl, src: from.ip, dst: to.ip}]]))
    assert.equal(markObserved(hops, from, to, seen), 5)
    assert.deepEqual(hops[3]!.observed, {seen: true, ttl: 63, interface: 'vxlan.calico', encapsulation: 'udp 4789 vni 4096 172.17.0.32 → 172.17.0.40 ttl 64'})
    assert.equal(verdictAgrees(hops, result, true), true)
    assert.deepEqual(traceRows({lab: 'x', flavor: 'calico', mode: '', from, to, source: from.ip, protocol: 'icmp', hops, result, verified: {probe: '', seen: 5, of: 5, agrees: true}})[4]!.slice(6), ['decap vxlan; 192.168.0.65 (static)', 'yes ttl=63 (udp 4789 vni 4096 172.17.0.32 → 172.17.0.40 ttl 64)'])

    hops[4]!.observed = {seen: true, ttl: 61}
    assert.equal(verdictAgrees(hops, result, true), false, 'a TTL other than predicted')
    hops[4]!.observed = {seen: false}
    assert.equal(verdictAgrees(hops, result, false), false, 'the destination did not see it')
    assert.equal(verdictAgrees(hops.slice(0, 3).map((h) => ({...h, observed: {seen: true}})), {delivered: false, reason: 'x'}, true), false, 'predicted a drop, but the packet arrived')
  })
})

describe('netctl lab trace: usage', () => {
  it('tcp and udp need a port, icmp has none: usage errors (exit 2) before any lab is read', async () => {
    const state = tempDir()
    try {
      const tcp = await runCli(['lab', 'trace', 'a', 'b', '--protocol', 'tcp', '--lab', 'nolab'], {stateDir: state.path})
      assert.equal(tcp.code, 2)
      assert.match(tcp.stderr, /a tcp trace needs a destination port/)
      const icmp = await runCli(['lab', 'trace', 'a', 'b', '--port', '80', '--lab', 'nolab'], {stateDir: state.path})
      assert.equal(icmp.code, 2)
      assert.match(icmp.stderr, /an icmp trace has no port/)
      const none = await runCli(['lab', 'trace', 'a', 'b', '--lab', 'nolab'], {stateDir: state.path})
      assert.equal(none.code, 1)
      assert.match(none.stderr, /nolab/)
    } finally {
      state.cleanup()
    }
  })
})
