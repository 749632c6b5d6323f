/**
 * What Calico's confd does: turn the datastore (Nodes, BGPConfiguration, BGPPeers, the
 * node's blocks and the pools) into one node's BGP peers and bird.conf (BIRD 2 syntax).
 */
import type {Resource} from '../resources/types.js'
import {peerAddress} from '../resources/bgp.js'
import {parseSelector} from '../resources/selector.js'
import {birdIp, birdNumber, birdPrefix, birdString, birdSymbol} from '../render/bird.js'

export const defaultASNumber = 64512

export interface BgpNode {
  name: string
  /** Address without prefix. */
  ip: string
  labels: Record<string, string>
  asNumber?: number
  routeReflectorClusterID?: string
}

export interface BgpSession {
  /** Mesh_172_17_0_40, Node_…, Global_…: the names calicoctl node status reads back. */
  name: string
  peerIp: string
  peerAs: number
  /** This node reflects routes to that peer. */
  rrClient: boolean
}

const protocolName = (kind: 'Mesh' | 'Node' | 'Global', ip: string) => `${kind}_${ip.replaceAll('.', '_').replaceAll(':', '_')}`

export function nodeFromResource(resource: Resource): BgpNode {
  const bgp = (resource.spec?.bgp ?? {}) as {ipv4Address?: string; asNumber?: number; routeReflectorClusterID?: string}
  return {
    name: resource.metadata.name,
    ip: String(bgp.ipv4Address ?? '').split('/')[0]!,
    labels: resource.metadata.labels ?? {},
    asNumber: bgp.asNumber,
    routeReflectorClusterID: bgp.routeReflectorClusterID,
  }
}

/** The BGP sessions one node has, as Calico computes them. */
export function bgpSessions(self: BgpNode, nodes: BgpNode[], config: Resource | undefined, peers: Resource[]): BgpSession[] {
  const clusterAs = (config?.spec?.asNumber as number | undefined) ?? defaultASNumber
  const asOf = (n: BgpNode) => n.asNumber ?? clusterAs
  const others = nodes.filter((n) => n.name !== self.name && n.ip)
  const sessions = new Map<string, BgpSession>()
  const add = (kind: 'Mesh' | 'Node' | 'Global', ip: string, peerAs: number, peerNode?: BgpNode) => {
    if (sessions.has(ip) || ip === self.ip) return
    // A route reflector treats every peer outside its cluster as its client (mesh sessions never).
    const rrClient = kind !== 'Mesh' && Boolean(self.routeReflectorClusterID) && peerNode?.routeReflectorClusterID !== self.routeReflectorClusterID
    sessions.set(ip, {name: protocolName(kind, ip), peerIp: ip, peerAs, rrClient})
  }
  if (config?.spec?.nodeToNodeMeshEnabled !== false) for (const n of others) add('Mesh', n.ip, asOf(n), n)
  const matches = (peer: Resource, field: 'nodeSelector' | 'peerSelector', node: BgpNode) => {
    const selector = peer.spec?.[field]
    return typeof selector === 'string' && parseSelector(selector)({...node.labels, 'projectcalico.org/name': node.name})
  }
  const selectsSelf = (peer: Resource) => peer.spec?.node === self.name || matches(peer, 'nodeSelector', self)
  for (const peer of peers) {
    const spec = peer.spec ?? {}
    if (typeof spec.peerIP === 'string') {
      const global = spec.node === undefined && spec.nodeSelector === undefined
      if (global || selectsSelf(peer)) add(global ? 'Global' : 'Node', peerAddress(spec.peerIP), (spec.asNumber as number | undefined) ?? clusterAs)
    }
    if (typeof spec.peerSelector === 'string') {
      // Peerings by selector go both ways: the selected peers peer back.
      if (selectsSelf(peer)) for (const n of others) if (matches(peer, 'peerSelector', n)) add('Node', n.ip, asOf(n), n)
      if (matches(peer, 'peerSelector', self)) for (const n of others) if (peer.spec?.node === n.name || matches(peer, 'nodeSelector', n)) add('Node', n.ip, asOf(n), n)
    }
  }
  return [...sessions.values()]
}

export interface BirdConfigInput {
  node: BgpNode
  asNumber: number
  sessions: BgpSession[]
  /** This node's blocks: announced, and blackholed locally. */
  blocks: string[]
  /** IP pools: only their routes go into the kernel, and only where BIRD programs them. */
  pools: BirdPool[]
  /** The node's own subnet: a CrossSubnet IPIP pool's next hops in it need no tunnel. */
  localSubnet?: string
  logFile: string
}

export interface BirdPool {
  cidr: string
  /** Felix programs the pool's cluster routes (and blackholes): BIRD keeps them out of the kernel, as confd has it. */
  felix?: boolean
  /** BIRD sends the pool's routes through tunl0: always, or (CrossSubnet) to next hops off the local subnet. */
  ipip?: 'Always' | 'CrossSubnet'
}

const felixPoolMark = '# Cluster routes are handled by Felix.'

/** How many pools a rendered bird.conf leaves to Felix (fewer in a new config: BIRD takes routes over). */
export const poolsLeftToFelix = (config: string): number => config.split('\n').filter((line) => line.endsWith(felixPoolMark)).length

/**
 * One pool's statement in calico_kernel_programming, as confd's processIPPool writes it, but for
 * stock BIRD 2: where Calico's BIRD fork sets krt_tunnel="tunl0", an onlink next hop on tunl0
 * does the same (route via <node> dev tunl0 proto bird onlink). Blackholes stay blackholes.
 */
function kernelStatement(pool: BirdPool, localSubnet: string | undefined): string {
  const net = `net ~ ${birdPrefix(pool.cidr)}`
  if (pool.felix) return `  if ( ${net} ) then { reject; } ${felixPoolMark}`
  if (!pool.ipip) return `  if ( ${net} ) then { accept; }`
  const direct = pool.ipip === 'CrossSubnet' && localSubnet ? `if ( defined(bgp_next_hop) && bgp_next_hop ~ ${birdPrefix(localSubnet)} ) then accept; ` : ''
  return `  if ( ${net} ) then { if ( dest = RTD_BLACKHOLE ) then accept; ${direct}onlink = true; ifname = "tunl0"; gw = bgp_next_hop; accept; }`
}

export function renderBirdConfig(input: BirdConfigInput): string {
  // Every value goes through a bird.conf renderer: parsed and written back, or refused.
  const routerId = birdIp(input.node.ip, 4)
  const poolMatch = input.pools.map((p) => `net ~ ${birdPrefix(p.cidr)}`).join(' || ') || 'false'
  const lines = [
    '# Rendered by netctl from the lab datastore (Calico confd\'s job). Edits are overwritten.',
    `router id ${routerId};`,
    `log ${birdString(input.logFile)} { warning, error, fatal };`,
    '',
    '# Only pool routes (and their blackholes) go into the kernel, and only of pools whose cluster routes BIRD programs.',
    'filter calico_kernel_programming {',
    ...input.pools.map((pool) => kernelStatement(pool, input.localSubnet)),
    '  reject;',
    '}',
    '',
    '# Announce this node\'s blocks, and (as a route reflector) other nodes\' blocks; never pod /32s or device routes.',
    `filter calico_export_to_bgp_peers { if ( proto = "static_blocks" ) then accept; if ( source = RTS_BGP && ( ${poolMatch} ) ) then accept; reject; }`,
    '',
    'protocol device { scan time 2; }',
    '',
    '# Connected subnets, so a peer\'s next hop resolves to the peer and not to the default route.',
    'protocol direct { ipv4; interface -"cali*", -"tunl0", -"vxlan.calico", "*"; }',
    '',
    'protocol kernel {',
    '  learn;',
    '  persist;',
    '  scan time 2;',
    '  merge paths on;',
    '  metric 0;',
    '  ipv4 { import all; export filter calico_kernel_programming; };',
    '}',
    '',
    'protocol static static_blocks {',
    '  ipv4;',
    ...input.blocks.map((b) => `  route ${birdPrefix(b)} blackhole;`),
    '}',
    '',
    '# Timers short enough for a lab mesh to converge in seconds.',
    'template bgp bgp_template {',
    `  local ${routerId} as ${birdNumber(input.asNumber)};`,
    '  ipv4 { import all; export filter calico_export_to_bgp_peers; };',
    '  graceful restart;',
    '  connect delay time 1;',
    '  connect retry time 1;',
    '  error wait time 1, 5;',
    '  hold time 9;',
    '  keepalive time 3;',
    '}',
  ]
  for (const s of input.sessions) {
    lines.push('', `protocol bgp ${birdSymbol(s.name)} from bgp_template {`, `  neighbor ${birdIp(s.peerIp)} as ${birdNumber(s.peerAs)};`)
    if (s.rrClient) lines.push('  rr client;', `  rr cluster id ${birdIp(input.node.routeReflectorClusterID, 4)};`)
    lines.push('}')
  }
  return lines.join('\n') + '\n'
}
