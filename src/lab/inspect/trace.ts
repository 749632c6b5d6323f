/**
 * `netctl lab trace`: the path of one packet across a lab, namespace by namespace, computed
 * from the kernel's own answers (`ip route get`, `ip neigh`, `bridge fdb`, `ip -d link`) in
 * each namespace it crosses. The lab's model only says how namespaces are wired (which veth
 * leads where, which node holds an address); every decision is the kernel's.
 *
 * The walk is pure over an `Ask` function: live it runs `ip`/`bridge` through run(); in tests
 * it answers from recorded JSON. `--verify` sends one real probe and captures it with bounded
 * tcpdumps in every namespace on the way, then marks each predicted hop seen or not.
 */
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {run, type RunResult} from '../../dataplane/run.js'
import {NetctlError} from '../../errors.js'
import {parseCidr} from '../../resources/cidr.js'
import type {FlowVerdict} from '../../policy/index.js'
import {calicoHostMac} from '../plan/calico.js'
import {loadCluster, type LabCluster, type LabNode, type LabPod} from '../plan/cluster.js'
import {flannelUdp} from '../plan/flannel.js'
import {requireClusterLab, withDatastore, type Progress} from '../lab.js'
import {underlayPort} from '../topology/names.js'

export const traceProtocols = ['icmp', 'tcp', 'udp'] as const
export type TraceProtocol = (typeof traceProtocols)[number]

/** One command in one namespace: `ip -n NS ARGS` (or `bridge -n NS ARGS`). */
export type Ask = (tool: 'ip' | 'bridge', netns: string, args: string[]) => Promise<Pick<RunResult, 'stdout' | 'stderr' | 'exitCode'>>

export const askKernel: Ask = (tool, netns, args) => run(tool, ['-n', netns, ...args], {allowFailure: true})

export interface TraceEnd {
  kind: 'pod' | 'node'
  name: string
  ip: string
  netns: string
}

export interface RouteUsed {
  dst: string
  via?: string
  dev?: string
  proto: string
  onlink?: boolean
  type?: string
}

export interface Encap {
  type: 'vxlan' | 'ipip' | 'udp'
  device: string
  outerSource: string
  outerDestination: string
  /** UDP destination port (vxlan, udp). */
  port?: number
  vni?: number
  /** vxlan: the remote VTEP's MAC (from the neighbour table) and where the fdb sends it. */
  vtepMac?: string
}

export interface Hop {
  /** pod NAME, node NAME, or underlay. */
  at: string
  netns: string
  inInterface?: string
  /** Inner packet's TTL as it arrives here (at the source: as sent). */
  ttl: number
  action: 'send' | 'forward' | 'bridge' | 'deliver' | 'drop'
  route?: RouteUsed
  outInterface?: string
  /** MTU of the egress device. */
  mtu?: number
  nextHop?: {ip: string; mac?: string; how: string}
  encapsulation?: Encap
  decapsulation?: {type: Encap['type']; device: string}
  /** The lines a reader wants: which route and why. */
  why: string[]
  /** With --verify. */
  observed?: {seen: boolean; ttl?: number; interface?: string; encapsulation?: string}
}

export interface PolicyDecision {
  verdict: 'allow' | 'deny'
  tier?: string
  /** KIND/[NAMESPACE/]NAME */
  policy?: string
  rule?: number
  profile?: string
}

export interface TraceResult {
  lab: string
  flavor: string
  mode: string
  from: TraceEnd
  to: TraceEnd
  /** The packet's source address: the kernel's choice at the sender (a node's tunnel address, say), else from.ip. */
  source: string
  protocol: TraceProtocol
  port?: number
  hops: Hop[]
  result: {delivered: boolean; reason?: string; ttl?: number; smallestMtu?: number}
  /** Pod to pod: what netctl policy eval predicts (egress at the source, ingress at the destination). */
  policy?: {allowed: boolean; egress: string; ingress: string; decisions: {egress: PolicyDecision; ingress: PolicyDecision}; note: string}
  verified?: {probe: string; seen: number; of: number; agrees: boolean}
}

// ---------------------------------------------------------------------------------------------
// Resolving the ends

export function resolveEnd(cluster: LabCluster, value: string): TraceEnd {
  const pod = cluster.pods.find((p) => p.name === value || p.ip === value)
  if (pod) return {kind: 'pod', name: pod.name, ip: pod.ip, netns: pod.netns}
  const node = cluster.nodes.find((n) => n.name === value || n.ip === value)
  if (node) return {kind: 'node', name: node.name, ip: node.ip, netns: node.netns}
  throw new NetctlError('not-found', `lab "${cluster.lab}" has no pod or node "${value}" (by name or address)`, `pods: ${cluster.pods.slice(0, 6).map((p) => `${p.name} (${p.ip})`).join(', ')}${cluster.pods.length > 6 ? ', …' : ''}; nodes: ${cluster.nodes.map((n) => `${n.name} (${n.ip})`).join(', ')}`)
}

export function labMode(cluster: LabCluster): string {
  if (cluster.flavor === 'flannel') return `flannel ${cluster.backend?.type ?? 'host-gw'}`
  const spec: {vxlanMode?: string; ipipMode?: string} = cluster.pool.spec ?? {}
  const modes = [spec.vxlanMode && spec.vxlanMode !== 'Never' ? `vxlan ${spec.vxlanMode}` : '', spec.ipipMode && spec.ipipMode !== 'Never' ? `ipip ${spec.ipipMode}` : ''].filter(Boolean)
  return `calico ${modes.join(', ') || 'no encapsulation'}, ${cluster.bgp ? 'BGP (BIRD)' : 'static routes'}`
}

// ---------------------------------------------------------------------------------------------
// Kernel answers → hops

interface LinkInfo {
  ifname: string
  mtu?: number
  address?: string
  kind?: string
  vxlan?: {id?: number; port?: number; local?: string}
}

interface Carried {
  /** The packet on the wire between namespaces: the original, or an outer one around it. */
  outer?: {src: string; dst: string; encap: Encap}
  /** Next hop the sender resolved (L2 destination), for the underlay's switching. */
  nextHopIp?: string
  /** Switched by a bridge only (flannel pods on one node): no routing, no TTL change. */
  bridged?: boolean
}

const parseJson = <T>(text: string, fallback: T): T => {
  try {
    return text.trim() ? (JSON.parse(text) as T) : fallback
  } catch {
    return fallback
  }
}

const prefixLength = (dst: string): number => (dst === 'default' ? 0 : Number(dst.split('/')[1] ?? 32))

const inCidr = (ip: string, cidr: string): boolean => {
  const c = parseCidr(cidr)
  const a = parseCidr(`${ip}/32`)
  return Boolean(c && a && (a.network >> BigInt(32 - c.prefix)) === (c.network >> BigInt(32 - c.prefix)))
}

const tunnelOverhead = {vxlan: 50, ipip: 20, udp: flannelUdp.overhead}

/** The lab's namespaces, and what a device in one of them leads to. */
class Wiring {
  constructor(readonly cluster: LabCluster) {}
  nodeOf(netns: string): LabNode | undefined {
    return this.cluster.nodes.find((n) => n.netns === netns)
  }
  podOf(netns: string): LabPod | undefined {
    return this.cluster.pods.find((p) => p.netns === netns)
  }
  nodeByIp(ip: string): LabNode | undefined {
    return this.cluster.nodes.find((n) => n.ip === ip)
  }
  nodeHoldingPodIp(ip: string): LabNode | undefined {
    return this.cluster.nodes.find((n) => n.blocks.some((b) => inCidr(ip, b)))
  }
  label(netns: string): string {
    if (netns === this.cluster.underlayNetns) return 'underlay'
    const pod = this.podOf(netns)
    if (pod) return `pod ${pod.name}`
    const node = this.nodeOf(netns)
    return node ? `node ${node.name}` : netns
  }
}

class Facts {
  private links = new Map<string, Promise<Map<string, LinkInfo>>>()
  constructor(private readonly ask: Ask) {}

  async link(netns: string, dev: string): Promise<LinkInfo | undefined> {
    if (!this.links.has(netns)) {
      this.links.set(netns, this.ask('ip', netns, ['-d', '-j', 'link', 'show']).then(({stdout}) => {
        const raw = parseJson<Array<{ifname: string; mtu?: number; address?: string; linkinfo?: {info_kind?: string; info_data?: {id?: number; port?: number; local?: string}}}>>(stdout, [])
        return new Map(raw.map((l) => [l.ifname, {ifname: l.ifname, mtu: l.mtu, address: l.address, kind: l.linkinfo?.info_kind, vxlan: l.linkinfo?.info_kind === 'vxlan' ? l.linkinfo.info_data : undefined}]))
      }))
    }
    return (await this.links.get(netns)!).get(dev)
  }

  async routeGet(netns: string, dst: string, src: string | undefined, iif: string | undefined): Promise<{ok: true; route: {dst: string; gateway?: string; dev: string; type?: string; prefsrc?: string}} | {ok: false; error: string}> {
    const args = ['-j', 'route', 'get', dst, ...(src ? ['from', src] : []), ...(iif ? ['iif', iif] : [])]
    const answer = await this.ask('ip', netns, args)
    const route = parseJson<Array<{dst: string; gateway?: string; dev: string; type?: string; prefsrc?: string}>>(answer.stdout, [])[0]
    if (answer.exitCode !== 0 || !route) return {ok: false, error: answer.stderr.replace(/^RTNETLINK answers: /, '').trim() || 'no answer'}
    return {ok: true, route}
  }

  /** The FIB entry that decided (proto bird/static, onlink, blackhole): fibmatch, else the longest matching route. */
  async routeEntry(netns: string, dst: string, src: string | undefined, iif: string | undefined): Promise<RouteUsed | undefined> {
    type Entry = {dst: string; gateway?: string; dev?: string; protocol?: string; type?: string; flags?: string[]}
    const fib = await this.ask('ip', netns, ['-j', 'route', 'get', 'fibmatch', dst, ...(src ? ['from', src] : []), ...(iif ? ['iif', iif] : [])])
    let entry = fib.exitCode === 0 ? parseJson<Entry[]>(fib.stdout, [])[0] : undefined
    if (!entry) {
      const all = parseJson<Entry[]>((await this.ask('ip', netns, ['-j', 'route', 'show', 'match', dst])).stdout, [])
      entry = all.sort((a, b) => prefixLength(b.dst) - prefixLength(a.dst))[0]
    }
    if (!entry) return undefined
    // ip leaves out proto boot: a route put there by hand (or by netctl, as Felix would), i.e. static.
    return {dst: entry.dst, via: entry.gateway, dev: entry.dev, proto: entry.protocol ?? 'static', onlink: entry.flags?.includes('onlink') || undefined, type: entry.type}
  }

  async neighbour(netns: string, dev: string, ip: string): Promise<string | undefined> {
    const {stdout} = await this.ask('ip', netns, ['-j', 'neigh', 'show', ip, 'dev', dev])
    return parseJson<Array<{lladdr?: string}>>(stdout, [])[0]?.lladdr
  }

  async fdbDestination(netns: string, dev: string, mac: string): Promise<string | undefined> {
    const {stdout} = await this.ask('bridge', netns, ['-j', 'fdb', 'show', 'dev', dev])
    return parseJson<Array<{mac: string; dst?: string}>>(stdout, []).find((e) => e.mac === mac && e.dst)?.dst
  }

  async bridgePortOf(netns: string, bridge: string, mac: string): Promise<string | undefined> {
    const {stdout} = await this.ask('bridge', netns, ['-j', 'fdb', 'show', 'br', bridge])
    return parseJson<Array<{mac: string; ifname?: string; flags?: string[]}>>(stdout, []).find((e) => e.mac === mac && !e.flags?.includes('self'))?.ifname
  }
}

const describeRoute = (r: RouteUsed): string =>
  `${r.type && r.type !== 'unicast' ? `${r.type} ` : ''}${r.dst}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''} proto ${r.proto}${r.onlink ? ' onlink' : ''}`

/**
 * Walk the packet from `from` to `to`. At most 16 namespaces: a loop in the lab's routes
 * ends the walk with a drop, not a hang.
 */
export async function tracePath(cluster: LabCluster, from: TraceEnd, to: TraceEnd, ask: Ask): Promise<{hops: Hop[]; result: TraceResult['result']; source: string}> {
  const wiring = new Wiring(cluster)
  const facts = new Facts(ask)
  const hops: Hop[] = []
  let netns = from.netns
  let iif: string | undefined
  let ttl = 64
  let carried: Carried = {}
  let previousNode: LabNode | undefined
  // The source address the kernel picks at the sender (a node sending into vxlan.calico uses its tunnel address).
  let src = from.ip

  for (let step = 0; step < 16; step++) {
    const hop: Hop = {at: wiring.label(netns), netns, inInterface: iif, ttl, action: 'forward', why: []}
    hops.push(hop)
    const drop = (reason: string) => {
      hop.action = 'drop'
      hop.why.push(reason)
      return {hops, source: src, result: {delivered: false, reason: `${hop.at}: ${reason}`}}
    }

    // The underlay: a bridge per subnet, and a router between them; it carries whatever the node sent.
    if (netns === cluster.underlayNetns) {
      const sender = previousNode!
      const bridge = cluster.subnets[sender.subnet]!.bridge
      hop.inInterface = underlayPort(sender.name)
      const wireDst = carried.outer?.dst ?? to.ip
      const nextHopIp = carried.nextHopIp ?? wireDst
      const peer = wiring.nodeByIp(nextHopIp)
      if (peer && peer.subnet === sender.subnet) {
        const mac = (await facts.link(peer.netns, 'eth0'))?.address
        const port = mac ? await facts.bridgePortOf(netns, bridge, mac) : undefined
        hop.action = 'bridge'
        hop.outInterface = port ?? underlayPort(peer.name)
        hop.mtu = (await facts.link(netns, hop.outInterface))?.mtu
        hop.why.push(`${bridge} switches the frame for ${peer.name}'s eth0 (${mac ?? 'MAC unknown'}) to port ${hop.outInterface}${port ? ' (bridge fdb)' : ' (not yet learned: flooded)'}`)
        netns = peer.netns
        iif = 'eth0'
        previousNode = undefined
        continue
      }
      // Routed between subnets: the outer packet's TTL drops here, the inner one's does not.
      const wireSrc = carried.outer?.src ?? src
      const answer = await facts.routeGet(netns, wireDst, wireSrc, bridge)
      hop.route = await facts.routeEntry(netns, wireDst, wireSrc, bridge)
      if (!answer.ok) return drop(hop.route?.type && hop.route.type !== 'unicast' ? `${hop.route.type} route ${hop.route.dst}` : `no route to ${wireDst} (${answer.error})`)
      hop.why.push(`router: ${describeRoute(hop.route!)}`)
      const next = wiring.nodeByIp(answer.route.gateway ?? wireDst)
      if (!carried.outer) ttl--
      else hop.why.push('routes the outer packet; the inner TTL is untouched')
      hop.outInterface = answer.route.dev
      hop.mtu = (await facts.link(netns, answer.route.dev))?.mtu
      if (!next) return drop(`next hop ${answer.route.gateway ?? wireDst} is no lab node`)
      netns = next.netns
      iif = 'eth0'
      continue
    }

    const node = wiring.nodeOf(netns)
    const pod = wiring.podOf(netns)

    // Arriving encapsulated at the node it is addressed to: decapsulate, then route the inner packet.
    if (node && carried.outer && carried.outer.dst === node.ip) {
      const encap = carried.outer.encap
      const device = encap.type === 'udp' ? flannelUdp.name : encap.device
      hop.decapsulation = {type: encap.type, device}
      hop.why.push(
        encap.type === 'vxlan'
          ? `decapsulated: UDP ${encap.port} VNI ${encap.vni} from ${encap.outerSource} → ${device}`
          : encap.type === 'ipip'
            ? `decapsulated: IP-in-IP from ${encap.outerSource} → ${device}`
            : `decapsulated: flannel's proxy takes UDP ${encap.port} from ${encap.outerSource} and writes the packet into ${device}`,
      )
      if (encap.type === 'udp') {
        // Like flanneld's, the proxy counts as a router on each side: TTL - 1 as it writes into flannel0.
        ttl--
        hop.ttl = ttl
        hop.why.push(`the proxy lowers the TTL to ${ttl} as it writes the packet into ${device}`)
      }
      iif = device
      hop.inInterface = `eth0 → ${device}`
      carried = {}
    }

    // flannel, same subnet: cni0 switches the frame between two of its ports; nothing is routed.
    if (node && carried.bridged) {
      const target = cluster.pods.find((p) => p.node === node.name && p.ip === to.ip)
      carried = {}
      if (!target) return drop(`no pod on cni0 holds ${to.ip}`)
      hop.action = 'bridge'
      hop.inInterface = `${wiring.podOf(hops[hops.length - 2]!.netns)?.hostIf ?? 'veth'} (cni0)`
      hop.outInterface = target.hostIf
      hop.mtu = (await facts.link(netns, target.hostIf))?.mtu
      hop.why.push(`cni0 switches the frame to ${target.hostIf}, the veth of pod ${target.name} (bridge fdb)`)
      netns = target.netns
      iif = 'eth0'
      continue
    }

    const source = step === 0
    const answer = await facts.routeGet(netns, to.ip, source ? undefined : src, source ? undefined : iif)
    const entry = await facts.routeEntry(netns, to.ip, source ? undefined : src, source ? undefined : iif)
    hop.route = entry
    if (!answer.ok) {
      if (entry?.type && entry.type !== 'unicast') return drop(`${entry.type} route ${entry.dst}${entry.proto ? ` (proto ${entry.proto})` : ''}`)
      return drop(`no route to ${to.ip} (${answer.error})`)
    }
    const route = answer.route
    if (source && route.prefsrc && route.prefsrc !== from.ip) {
      src = route.prefsrc
      hop.why.push(`source address ${src}: the kernel's choice for ${route.dev}`)
    }
    if (route.type === 'local') {
      hop.action = 'deliver'
      hop.why.push(`${to.ip} is local: delivered${iif ? ` (arrived on ${iif})` : ''}`)
      return {hops, source: src, result: {delivered: true, ttl, smallestMtu: smallestMtu(hops)}}
    }
    if (route.type && route.type !== 'unicast') return drop(`${route.type} route`)
    if (source) hop.action = 'send'
    hop.outInterface = route.dev
    const link = await facts.link(netns, route.dev)
    hop.mtu = link?.mtu
    if (entry) hop.why.push(`route ${describeRoute(entry)}`)
    const gateway = route.gateway
    const outTtl = source ? ttl : ttl - 1
    if (!source && outTtl <= 0) return drop('TTL exceeded')

    if (pod) {
      // A pod's only way out: its eth0, to the node's end of the veth.
      const home = cluster.nodes.find((n) => n.name === pod.node)!
      const nextIp = gateway ?? to.ip
      const learned = await facts.neighbour(netns, route.dev, nextIp)
      if (cluster.flavor === 'calico') {
        const hostMac = (await facts.link(home.netns, pod.hostIf))?.address
        hop.nextHop = {ip: nextIp, mac: learned ?? hostMac, how: `proxy ARP on ${pod.hostIf} answers with ${hostMac ?? calicoHostMac}`}
        hop.why.push(`ARP for ${nextIp}: ${home.name}'s ${pod.hostIf} answers by proxy ARP with ${hostMac ?? calicoHostMac}${learned ? ` (neighbour table: ${learned})` : ''}`)
        iif = pod.hostIf
      } else if (gateway) {
        const bridgeMac = (await facts.link(home.netns, 'cni0'))?.address
        hop.nextHop = {ip: nextIp, mac: learned ?? bridgeMac, how: `cni0 on ${home.name} holds ${nextIp}`}
        hop.why.push(`ARP for ${nextIp}: cni0 on ${home.name} (${bridgeMac ?? 'MAC unknown'}) holds it; the frame goes through ${pod.hostIf} into the bridge`)
        iif = 'cni0'
      } else {
        // On the pod's own subnet: the neighbour answers itself, and cni0 only switches the frame.
        hop.nextHop = {ip: nextIp, mac: learned, how: `on-link: ${nextIp} answers ARP itself through cni0`}
        hop.why.push(`ARP for ${nextIp}: on-link, the pod itself answers${learned ? ` (${learned})` : ''}; cni0 switches the frame`)
        carried = {bridged: true}
        iif = 'cni0'
        netns = home.netns
        continue
      }
      ttl = outTtl
      netns = home.netns
      continue
    }

    if (!node) return drop(`${netns} is no namespace of this lab`)
    const localPod = cluster.pods.find((p) => p.node === node.name && (p.hostIf === route.dev || (route.dev === 'cni0' && p.ip === (gateway ?? to.ip))))
    if (localPod) {
      hop.nextHop = {ip: gateway ?? to.ip, how: route.dev === 'cni0' ? `cni0 bridges to ${localPod.hostIf}` : `/32 route to ${route.dev}`}
      if (route.dev === 'cni0') hop.why.push(`cni0 switches the frame to ${localPod.hostIf}, the veth of pod ${localPod.name}`)
      ttl = outTtl
      netns = localPod.netns
      iif = 'eth0'
      continue
    }

    const kind = link?.kind
    if (kind === 'vxlan' && gateway) {
      const mac = await facts.neighbour(netns, route.dev, gateway)
      const remote = mac ? await facts.fdbDestination(netns, route.dev, mac) : undefined
      if (!mac) return drop(`no neighbour entry for the VTEP ${gateway} on ${route.dev}`)
      if (!remote) return drop(`no fdb entry on ${route.dev} for ${mac}`)
      const local = link?.vxlan?.local ?? node.ip
      const encap: Encap = {type: 'vxlan', device: route.dev, outerSource: local, outerDestination: remote, port: link?.vxlan?.port, vni: link?.vxlan?.id, vtepMac: mac}
      hop.encapsulation = encap
      hop.nextHop = {ip: gateway, mac, how: `neighbour ${gateway} lladdr ${mac}; fdb ${mac} dst ${remote}`}
      hop.why.push(`neighbour ${gateway} is ${mac}; fdb sends ${mac} to ${remote}`, `encapsulated: VXLAN VNI ${encap.vni}, outer ${local} → ${remote} UDP ${encap.port}`)
      carried = {outer: {src: local, dst: remote, encap}}
    } else if (kind === 'ipip' && gateway) {
      const outer = await facts.routeGet(netns, gateway, undefined, undefined)
      const local = outer.ok ? outer.route.prefsrc ?? node.ip : node.ip
      const encap: Encap = {type: 'ipip', device: route.dev, outerSource: local, outerDestination: gateway}
      hop.encapsulation = encap
      hop.why.push(`encapsulated: IP-in-IP (protocol 4), outer ${local} → ${gateway}`)
      carried = {outer: {src: local, dst: gateway, encap}}
    } else if (kind === 'tun') {
      // flannel's udp backend: a userspace proxy reads flannel0 and sends each packet to the node holding the subnet.
      const remoteNode = wiring.nodeHoldingPodIp(to.ip)
      if (!remoteNode || remoteNode === node) return drop(`flannel's proxy knows no node holding ${to.ip}`)
      const encap: Encap = {type: 'udp', device: route.dev, outerSource: node.ip, outerDestination: remoteNode.ip, port: flannelUdp.port}
      hop.encapsulation = encap
      hop.why.push(`${route.dev} hands the packet to flannel's udp proxy, which lowers the TTL once more (to ${outTtl - 1}): outer ${node.ip} → ${remoteNode.ip} UDP ${flannelUdp.port}`)
      carried = {outer: {src: node.ip, dst: remoteNode.ip, encap}}
    } else {
      hop.nextHop = gateway ? {ip: gateway, mac: await facts.neighbour(netns, route.dev, gateway), how: `next hop ${gateway} on ${route.dev}`} : undefined
      carried = {nextHopIp: gateway}
    }
    ttl = hop.encapsulation?.type === 'udp' ? outTtl - 1 : outTtl
    if (carried.outer) {
      // The outer packet leaves as the node's own: route it like one.
      const outer = await facts.routeGet(netns, carried.outer.dst, carried.outer.src, undefined)
      if (!outer.ok) return drop(`no route for the outer packet to ${carried.outer.dst} (${outer.error})`)
      const outerEntry = await facts.routeEntry(netns, carried.outer.dst, carried.outer.src, undefined)
      hop.why.push(`outer packet: ${outerEntry ? describeRoute(outerEntry) : `dev ${outer.route.dev}`}`)
      carried.nextHopIp = outer.route.gateway ?? carried.outer.dst
    }
    previousNode = node
    netns = cluster.underlayNetns
    iif = undefined
  }
  return {hops, source: src, result: {delivered: false, reason: 'the path is longer than 16 namespaces (a routing loop?)'}}
}

/** The largest inner packet the path carries: each egress MTU, less the tunnel's overhead where an outer header rides along. */
export function smallestMtu(hops: Hop[]): number | undefined {
  let overhead = 0
  let smallest: number | undefined
  for (const hop of hops) {
    if (hop.decapsulation) overhead = 0
    if (hop.mtu !== undefined) {
      // The tunnel device's own MTU already leaves room; the devices after it carry the outer packet.
      const fits = hop.encapsulation ? hop.mtu : hop.mtu - overhead
      smallest = smallest === undefined ? fits : Math.min(smallest, fits)
    }
    if (hop.encapsulation) overhead = tunnelOverhead[hop.encapsulation.type]
  }
  return smallest
}

// ---------------------------------------------------------------------------------------------
// --verify: one probe, bounded captures

export interface Capture {
  netns: string
  /** tcpdump -i any -n -v lines. */
  lines: string[]
}

export interface SeenPacket {
  interface: string
  direction: 'In' | 'Out' | string
  ttl: number
  src: string
  dst: string
  /** Outer headers: "vxlan 4096", "udp 8472", "ipip", "udp 8285". */
  encapsulation?: string
}

/** tcpdump -i any -v prints "IFACE DIR IP (… ttl N, …)" then the addresses on the next line. */
export function parseCapture(lines: string[], ports: number[]): SeenPacket[] {
  const seen: SeenPacket[] = []
  for (let i = 0; i < lines.length; i++) {
    const head = /^\S+ (\S+)\s+(In|Out|B|M|P)\s+IP \(.*?ttl (\d+),.*?proto (\w+) \((\d+)\)/.exec(lines[i]!)
    if (!head) continue
    const body = lines[i + 1] ?? ''
    const addrs = /^\s*(\d+\.\d+\.\d+\.\d+)(?:\.(\d+))? > (\d+\.\d+\.\d+\.\d+)(?:\.(\d+))?:(.*)$/.exec(body)
    if (!addrs) continue
    const proto = Number(head[5])
    const dport = Number(addrs[4])
    let encapsulation: string | undefined
    if (proto === 4) encapsulation = 'ipip'
    else if (proto === 17 && ports.includes(dport)) {
      const vni = /(?:vni|instance) (\d+)/.exec(addrs[5]!)?.[1]
      encapsulation = `udp ${dport}${vni ? ` vni ${vni}` : ''}`
    }
    seen.push({interface: head[1]!, direction: head[2]!, ttl: Number(head[3]), src: addrs[1]!, dst: addrs[3]!, encapsulation})
  }
  return seen
}

/** Mark each hop seen where a packet of the flow (or its outer packet) was captured in its namespace. */
export function markObserved(hops: Hop[], from: TraceEnd, to: TraceEnd, captures: Map<string, SeenPacket[]>): number {
  let seenCount = 0
  for (const hop of hops) {
    const packets = captures.get(hop.netns) ?? []
    const inner = packets.filter((p) => p.src === from.ip && p.dst === to.ip && !p.encapsulation)
    const outer = packets.filter((p) => p.encapsulation)
    // At the source the packet is seen leaving; elsewhere arriving (the in-interface), else anywhere in the namespace.
    const wanted = hop.inInterface?.split(' → ')[0]
    const arriving = hop.action === 'send' ? inner.find((p) => p.direction === 'Out') : (inner.find((p) => p.interface === hop.inInterface?.split(' → ').pop()) ?? outer.find((p) => p.interface === wanted) ?? inner.find((p) => p.interface === wanted))
    const any = arriving ?? inner[0] ?? outer[0]
    const wire = outer[0]
    hop.observed = any
      ? {seen: true, ttl: arriving && !arriving.encapsulation ? arriving.ttl : inner[0]?.ttl, interface: any.interface, encapsulation: wire ? `${wire.encapsulation} ${wire.src} → ${wire.dst} ttl ${wire.ttl}` : undefined}
      : {seen: false}
    if (any) seenCount++
  }
  return seenCount
}

/**
 * The capture agrees with the prediction when every hop of a delivered packet was seen with the
 * TTL predicted there; for a dropped one, the hops up to the drop were seen and nothing reached the destination.
 */
export function verdictAgrees(hops: Hop[], result: TraceResult['result'], arrivedAtDestination: boolean): boolean {
  const ttlsMatch = hops.every((h) => h.observed?.ttl === undefined || h.observed.ttl === h.ttl)
  if (result.delivered) return ttlsMatch && hops.every((h) => h.observed?.seen)
  return ttlsMatch && !arrivedAtDestination && hops.slice(0, -1).every((h) => h.observed?.seen)
}

/** The BPF filter for the probe, one direction only (not the replies). */
function probeFilter(from: TraceEnd, to: TraceEnd, protocol: TraceProtocol, port: number, tunnelPorts: number[]): string {
  const inner = `src host ${from.ip} and dst host ${to.ip}` + (protocol === 'icmp' ? ' and icmp[icmptype] == icmp-echo' : protocol === 'tcp' ? ` and tcp dst port ${port}` : ` and udp dst port ${port}`)
  const outer = [...tunnelPorts.map((p) => `udp dst port ${p}`), 'ip proto 4'].join(' or ')
  return `(${inner}) or (${outer})`
}

const probeScript = (protocol: 'tcp' | 'udp', ip: string, port: number): string =>
  protocol === 'tcp'
    ? `import socket\ns=socket.socket()\ns.settimeout(1)\ntry: s.connect((${JSON.stringify(ip)},${port}))\nexcept OSError: pass`
    : `import socket\nsocket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b"netctl-trace",(${JSON.stringify(ip)},${port}))`

/**
 * Start a bounded tcpdump (-c, timeout) in each namespace, wait until each listens, send one
 * probe from the source, then end every capture by its pid.
 */
export async function captureProbe(namespaces: string[], from: TraceEnd, to: TraceEnd, protocol: TraceProtocol, port: number, tunnelPorts: number[], onProgress?: Progress): Promise<{probe: string; captures: Capture[]}> {
  const filter = probeFilter(from, to, protocol, port, tunnelPorts)
  const started = {done: 0, total: namespaces.length}
  onProgress?.('captures listening', undefined, started)
  const dumps = namespaces.map((netns) => {
    const child = spawn('ip', ['netns', 'exec', netns, 'timeout', '10', 'tcpdump', '-i', 'any', '-n', '-l', '-v', '-c', '20', filter], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    let heard = false
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const listening = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString()
        if (/listening on/.test(err) && !heard) {
          heard = true
          started.done++
          onProgress?.('captures listening', undefined, started)
          resolve()
        }
      })
      child.on('close', () => resolve())
    })
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
    return {netns, child, listening, closed, output: () => out, errors: () => err}
  })
  try {
    await Promise.race([Promise.all(dumps.map((d) => d.listening)), sleep(5000)])
    const probe =
      protocol === 'icmp'
        ? ['ping', '-n', '-c', '1', '-W', '1', to.ip]
        : ['python3', '-c', probeScript(protocol, to.ip, port)]
    onProgress?.(`sending one probe from ${from.ip} to ${to.ip}`)
    await run('ip', ['netns', 'exec', from.netns, ...probe], {allowFailure: true})
    await sleep(400)
    return {probe: protocol === 'icmp' ? `ping -c1 ${to.ip}` : `${protocol} ${to.ip}:${port} (python3, one packet)`, captures: dumps.map((d) => ({netns: d.netns, lines: d.output().split('\n')}))}
  } finally {
    for (const d of dumps) if (d.child.exitCode === null && d.child.pid) d.child.kill('SIGTERM')
    await Promise.all(dumps.map((d) => Promise.race([d.closed, sleep(3000)])))
  }
}

// ---------------------------------------------------------------------------------------------
// The whole thing, live

export interface TraceOptions {
  protocol?: TraceProtocol
  port?: number
  verify?: boolean
  /** --verify's steps: captures starting (n/N listening), then the probe. */
  onProgress?: Progress
}

export function policySummary(verdict: FlowVerdict): NonNullable<TraceResult['policy']> {
  const side = (d: FlowVerdict['egress']) => {
    const by = d.policy ? `${d.tier ? `tier ${d.tier}, ` : ''}${d.policy.kind} ${d.policy.namespace ? `${d.policy.namespace}/` : ''}${d.policy.name}${d.ruleIndex !== undefined ? ` rule ${d.ruleIndex}` : ''}` : d.profile ? `profile ${d.profile}` : d.decidedBy
    return `${d.verdict} (${by})`
  }
  const decision = (d: FlowVerdict['egress']): PolicyDecision => ({
    verdict: d.verdict,
    ...(d.tier ? {tier: d.tier} : {}),
    ...(d.policy ? {policy: `${d.policy.kind}/${d.policy.namespace ? `${d.policy.namespace}/` : ''}${d.policy.name}`} : {}),
    ...(d.ruleIndex !== undefined ? {rule: d.ruleIndex} : {}),
    ...(d.profile ? {profile: d.profile} : {}),
  })
  return {allowed: verdict.allowed, egress: side(verdict.egress), ingress: side(verdict.ingress), decisions: {egress: decision(verdict.egress), ingress: decision(verdict.ingress)}, note: 'predicted from the datastore\'s policies (netctl policy eval)'}
}

/**
 * Where a lab's nftables drop a denied flow (calico, and flannel as Canal enforces it): egress
 * in the source node's forward hook (the packet reached the node, it leaves no further), ingress
 * in the destination node's (it reached that node, never the pod). The path ends there.
 */
export function cutAtPolicy(trace: Pick<TraceResult, 'flavor' | 'hops' | 'result' | 'policy'>): void {
  const policy = trace.policy
  if (!policy || policy.allowed || !trace.result.delivered) return
  const direction = policy.decisions.egress.verdict === 'deny' ? 'egress' : 'ingress'
  const nodes = trace.hops.map((h, i) => (h.at.startsWith('node ') ? i : -1)).filter((i) => i >= 0)
  const at = direction === 'egress' ? nodes[0] : nodes.at(-1)
  if (at === undefined) return
  const hop = trace.hops[at]!
  trace.hops = trace.hops.slice(0, at + 1)
  hop.action = 'drop'
  hop.why.push(`nftables (table inet netctl) drops it: policy ${direction} deny, ${policy[direction]}`)
  trace.result = {delivered: false, reason: `${hop.at}: policy ${direction} deny (${policy[direction]})`, smallestMtu: trace.result.smallestMtu}
}

/** Asking a namespace's kernel (ip -n) means entering it: CAP_SYS_ADMIN. */
function checkCanEnter(): void {
  const effective = BigInt('0x' + (/^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'))
  if (!((effective >> 21n) & 1n)) throw new NetctlError('unsupported', 'tracing a lab needs root: netctl asks the kernel inside each of its network namespaces', 'run it as root: sudo netctl lab trace …')
}

const onPath = (command: string): boolean => (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((dir) => existsSync(join(dir, command)))

export async function labTrace(stateDir: string, name: string, fromValue: string, toValue: string, options: TraceOptions = {}): Promise<TraceResult> {
  const protocol = options.protocol ?? 'icmp'
  if (protocol !== 'icmp' && options.port === undefined) throw new NetctlError('usage', `a ${protocol} trace needs a destination port`, `add --port, e.g. --port 80`)
  if (protocol === 'icmp' && options.port !== undefined) throw new NetctlError('usage', 'an icmp trace has no port', `leave out --port, or trace tcp or udp: --protocol tcp --port ${options.port}`)
  const record = requireClusterLab(stateDir, name)
  checkCanEnter()
  if (options.verify) {
    const missing = ['tcpdump', 'timeout', ...(protocol === 'icmp' ? ['ping'] : ['python3'])].filter((c) => !onPath(c))
    if (missing.length) throw new NetctlError('unsupported', `--verify needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed; nothing was sent`, 'install them (apt-get install tcpdump iputils-ping python3 coreutils), or trace without --verify')
  }
  const {cluster, verdict} = await withDatastore(stateDir, record, async (ds) => {
    const cluster = await loadCluster(ds, name, record.topology)
    const from = resolveEnd(cluster, fromValue)
    const to = resolveEnd(cluster, toValue)
    let verdict: FlowVerdict | undefined
    if (from.kind === 'pod' && to.kind === 'pod') {
      const {evaluateFlow} = await import('../../services/policy.js')
      verdict = await evaluateFlow(ds, {from: from.name, to: to.name, protocol: protocol.toUpperCase(), port: options.port})
    }
    return {cluster, verdict}
  })
  const from = resolveEnd(cluster, fromValue)
  const to = resolveEnd(cluster, toValue)
  if (from.netns === to.netns) throw new NetctlError('usage', `${fromValue} and ${toValue} are the same namespace: nothing to trace`, 'trace between two pods, two nodes, or a pod and a node')
  const {hops, result, source} = await tracePath(cluster, from, to, askKernel)
  const trace: TraceResult = {lab: name, flavor: cluster.flavor, mode: labMode(cluster), from, to, source, protocol, ...(options.port !== undefined ? {port: options.port} : {}), hops, result}
  if (verdict) trace.policy = policySummary(verdict)
  cutAtPolicy(trace)
  if (options.verify) {
    const tunnelPorts = [4789, 8472, flannelUdp.port]
    // The destination is listened to even when the prediction is a drop: a packet there would contradict it.
    const namespaces = [...new Set([...trace.hops.map((h) => h.netns), to.netns])]
    const sender = {...from, ip: source}
    const {probe, captures} = await captureProbe(namespaces, sender, to, protocol, options.port ?? 0, tunnelPorts, options.onProgress)
    const seen = new Map(captures.map((c) => [c.netns, parseCapture(c.lines, tunnelPorts)]))
    const count = markObserved(trace.hops, sender, to, seen)
    const arrived = (seen.get(to.netns) ?? []).some((p) => p.src === source && p.dst === to.ip && !p.encapsulation)
    trace.verified = {probe, seen: count, of: trace.hops.length, agrees: verdictAgrees(trace.hops, trace.result, arrived)}
  }
  return trace
}

/** The short decision for the table; the reasons go beneath it. */
function decisionCell(hop: Hop): string {
  if (hop.action === 'deliver') return 'delivered'
  if (hop.action === 'drop') return 'DROPPED'
  if (hop.action === 'bridge') return `switched → ${hop.outInterface}`
  const route = hop.route ? `${hop.route.dst}${hop.route.via ? ` via ${hop.route.via}` : ''} (${hop.route.proto}${hop.route.onlink ? ', onlink' : ''})` : ''
  const wrap = hop.encapsulation ? `; encap ${hop.encapsulation.type}${hop.encapsulation.vni !== undefined ? ` vni ${hop.encapsulation.vni}` : ''}${hop.encapsulation.port ? ` udp ${hop.encapsulation.port}` : ''} → ${hop.encapsulation.outerDestination}` : ''
  return `${hop.decapsulation ? `decap ${hop.decapsulation.type}; ` : ''}${route}${wrap}`
}

/** Terminal table rows (the seeds' vocabulary). */
export function traceRows(trace: TraceResult): string[][] {
  const rows = [['#', 'WHERE', 'IN', 'TTL', 'OUT', 'MTU', 'DECISION', ...(trace.verified ? ['SEEN'] : [])]]
  trace.hops.forEach((hop, i) => {
    const seen = hop.observed ? (hop.observed.seen ? `yes${hop.observed.ttl !== undefined ? ` ttl=${hop.observed.ttl}` : ''}${hop.observed.encapsulation ? ` (${hop.observed.encapsulation})` : ''}` : 'NO') : ''
    rows.push([String(i + 1), hop.at, hop.inInterface ?? '-', String(hop.ttl), hop.outInterface ?? '-', hop.mtu !== undefined ? String(hop.mtu) : '-', decisionCell(hop), ...(trace.verified ? [seen] : [])])
  })
  return rows
}

/** Why, hop by hop: the lines under the table. */
export function traceReasons(trace: TraceResult): string[] {
  return trace.hops.flatMap((hop, i) => [`${i + 1}. ${hop.at} (netns ${hop.netns})`, ...hop.why.map((line) => `     ${line}`)])
}
