/**
 * What Calico's CNI plugin, Felix and (for now, statically) BIRD program on a node and in
 * its pods (REFERENCE.md §3): cali veths with MAC ee:ee:ee:ee:ee:ee and proxy ARP, a /32
 * route per local pod, a blackhole per own block, and routes to the other nodes' blocks.
 */
import {createHash} from 'node:crypto'

import {emptyNetns, type NetnsSpec, type RouteSpec} from '../../dataplane/model.js'
import {formatIp, parseCidr} from '../../resources/cidr.js'
import type {Datastore} from '../../datastore/datastore.js'
import {programClusterRoutesValues} from '../../resources/bgp.js'
import {nodeKind} from '../../resources/node.js'
import type {EncapMode, NodeSpec} from '../../resources/types.js'
import type {LabCluster, LabNode, LabPod} from './cluster.js'
import {planNodeUplink} from './underlay.js'
import {sysctlKey} from '../../render/sysctl.js'
import {NetctlError} from '../../errors.js'
import {ownerOf} from '../stored.js'
import {writeClusterIpam} from '../../ipam/lab.js'

export const calicoHostMac = 'ee:ee:ee:ee:ee:ee'
export const calicoGateway = '169.254.1.1'
/** Calico's VXLAN device: VNI 4096 on UDP 4789. */
export const vxlanDevice = {name: 'vxlan.calico', vni: 4096, port: 4789, overhead: 50}
export const ipipDevice = {name: 'tunl0', overhead: 20}

const sameSubnet = (a: LabNode, b: LabNode) => a.subnet === b.subnet

/** The tunnel address Calico takes from the node's first block: its first address. */
export const tunnelAddress = (node: LabNode): string => formatIp(4, parseCidr(node.blocks[0]!)!.network)

/** A stable, locally administered unicast MAC for a node's VTEP. */
export const vtepMac = (node: LabNode): string =>
  `66:${createHash('sha1').update(`vtep.${node.name}`).digest('hex').slice(0, 10).match(/../g)!.join(':')}`

export interface Encapsulation {
  ipip: EncapMode
  vxlan: EncapMode
}

export const encapsulationOf = (cluster: LabCluster): Encapsulation => ({
  ipip: (cluster.pool.spec?.ipipMode as EncapMode | undefined) ?? 'Never',
  vxlan: (cluster.pool.spec?.vxlanMode as EncapMode | undefined) ?? 'Never',
})

/** Whether traffic from `from` to `to` is encapsulated, and how (CrossSubnet: only across subnets). */
export function tunnelBetween(encap: Encapsulation, from: LabNode, to: LabNode): 'vxlan' | 'ipip' | undefined {
  const on = (mode: EncapMode) => mode === 'Always' || (mode === 'CrossSubnet' && !sameSubnet(from, to))
  if (on(encap.vxlan)) return 'vxlan'
  if (on(encap.ipip)) return 'ipip'
  return undefined
}

/** Pod MTU: the underlay's, less the tunnel's overhead whenever the pool may encapsulate. */
export function podMtu(cluster: LabCluster): number {
  const encap = encapsulationOf(cluster)
  if (encap.vxlan !== 'Never') return cluster.mtu - vxlanDevice.overhead
  if (encap.ipip !== 'Never') return cluster.mtu - ipipDevice.overhead
  return cluster.mtu
}

/** Routes to another node's blocks without encapsulation: direct on one segment, else via the router. */
const plainRoutes = (cluster: LabCluster, node: LabNode, other: LabNode): RouteSpec[] =>
  other.blocks.map((block) => ({dst: block, via: sameSubnet(node, other) ? other.ip : cluster.subnets[node.subnet]!.gateway, dev: 'eth0'}))

/** The router must know pod blocks of other subnets when packets cross it unencapsulated. */
export function calicoUnderlayRoutes(cluster: LabCluster): RouteSpec[] {
  if (cluster.subnets.length < 2) return []
  const encap = encapsulationOf(cluster)
  // Blocks that every other-subnet peer reaches through a tunnel never cross the router bare.
  if (encap.vxlan === 'Always' || encap.ipip === 'Always' || encap.vxlan === 'CrossSubnet' || encap.ipip === 'CrossSubnet') return []
  return cluster.nodes.flatMap((node) => node.blocks.map((block) => ({dst: block, via: node.ip, dev: cluster.subnets[node.subnet]!.bridge})))
}

/** Blocks of `node`'s peers that it reaches through a tunnel (a CrossSubnet pool: only those on other subnets). */
export function tunnelledBlocks(cluster: LabCluster, node: LabNode): string[] {
  const encap = encapsulationOf(cluster)
  return cluster.nodes.filter((o) => o !== node && tunnelBetween(encap, node, o)).flatMap((o) => o.blocks)
}

/**
 * Whether BIRD programs the pool's cluster routes (the routes to other nodes' blocks, and the
 * blackholes of the node's own), or Felix does: Calico's ownership matrix
 * (design/cluster-route-programming). VXLAN pools are always Felix's; an IPIP pool is BIRD's
 * only where BGPConfiguration's programClusterRoutes is Enabled or EnabledIPIPOnly (as before
 * Calico 3.33, and in seed 000: `proto bird` via tunl0), a pool without encapsulation unless it
 * is Disabled or EnabledIPIPOnly. Like confd, an unset or unknown value means the default,
 * EnabledNoEncapOnly. Felix takes what BIRD does not: the lab keeps the two
 * programClusterRoutes fields complementary, as Calico's operator does. Without BGP, Felix.
 */
export function birdProgramsPool(cluster: LabCluster): boolean {
  if (!cluster.bgp) return false
  const encap = encapsulationOf(cluster)
  if (encap.vxlan !== 'Never') return false
  const value = (programClusterRoutesValues as readonly string[]).includes(cluster.programClusterRoutes ?? '') ? cluster.programClusterRoutes : 'EnabledNoEncapOnly'
  return encap.ipip !== 'Never' ? value === 'Enabled' || value === 'EnabledIPIPOnly' : value === 'Enabled' || value === 'EnabledNoEncapOnly'
}

/** Felix's routes carry its protocol 80 (route_mgr.go), except VXLAN ones, which its device identifies. */
const felixProto = '80'

/** A calico node: its pods' veths, its tunnel devices, and Felix's routes where BIRD does not program the pool's (birdProgramsPool). */
export function planCalicoNode(cluster: LabCluster, node: LabNode): NetnsSpec {
  const spec = emptyNetns(node.netns)
  planNodeUplink(cluster, node, spec)
  const mtu = podMtu(cluster)
  for (const pod of cluster.pods.filter((p) => p.node === node.name)) {
    spec.links.push({name: pod.hostIf, kind: 'veth', peer: {name: 'eth0', netns: pod.netns}, mac: calicoHostMac, mtu, txqueuelen: 0})
    spec.routes.push({dst: `${pod.ip}/32`, dev: pod.hostIf, scope: 'link'})
    spec.sysctls[sysctlKey('net', 'ipv4', 'conf', pod.hostIf, 'proxy_arp')] = '1'
    spec.sysctls[sysctlKey('net', 'ipv4', 'neigh', pod.hostIf, 'proxy_delay')] = '0'
    spec.sysctls[sysctlKey('net', 'ipv4', 'conf', pod.hostIf, 'route_localnet')] = '1'
    spec.sysctls[sysctlKey('net', 'ipv4', 'conf', pod.hostIf, 'forwarding')] = '1'
  }
  // Whoever programs the pool's routes blackholes the node's own blocks, so a stray address in
  // one is dropped rather than sent upstream: Felix with its protocol 80, or BIRD (proto bird).
  const felix = !birdProgramsPool(cluster)
  if (felix) for (const block of node.blocks) spec.routes.push({dst: block, type: 'blackhole', proto: felixProto})
  const encap = encapsulationOf(cluster)
  if (encap.vxlan !== 'Never') {
    spec.links.push({name: vxlanDevice.name, kind: 'vxlan', vxlan: {id: vxlanDevice.vni, port: vxlanDevice.port, local: node.ip, dev: 'eth0', learning: false}, mac: vtepMac(node), mtu: cluster.mtu - vxlanDevice.overhead, txqueuelen: 0})
    spec.addresses.push({dev: vxlanDevice.name, cidr: `${tunnelAddress(node)}/32`})
  }
  if (encap.ipip !== 'Never') {
    spec.links.push({name: ipipDevice.name, kind: 'ipip', mtu: cluster.mtu - ipipDevice.overhead})
    spec.addresses.push({dev: ipipDevice.name, cidr: `${tunnelAddress(node)}/32`})
  }
  for (const other of cluster.nodes) {
    if (other === node) continue
    const tunnel = tunnelBetween(encap, node, other)
    if (tunnel === 'vxlan') {
      // Felix's order: the neighbour, then the fdb entry, then the route.
      const remoteVtep = tunnelAddress(other)
      spec.neighbours.push({dev: vxlanDevice.name, ip: remoteVtep, lladdr: vtepMac(other)})
      spec.fdb.push({dev: vxlanDevice.name, mac: vtepMac(other), dst: other.ip})
      for (const block of other.blocks) spec.routes.push({dst: block, via: remoteVtep, dev: vxlanDevice.name, onlink: true})
    } else if (!felix) {
      // BIRD's, tunnelled or not (bird.conf's kernel filter sends IPIP ones through tunl0).
    } else if (tunnel === 'ipip') {
      for (const block of other.blocks) spec.routes.push({dst: block, via: other.ip, dev: ipipDevice.name, onlink: true, proto: felixProto})
    } else {
      // A peer on this subnet (or any peer, without encapsulation): straight to it, as Felix's no-encap routes go.
      spec.routes.push(...plainRoutes(cluster, node, other).map((r) => ({...r, proto: felixProto})))
    }
  }
  return spec
}

export function planCalicoPod(cluster: LabCluster, pod: LabPod): NetnsSpec {
  const spec = emptyNetns(pod.netns)
  const node = cluster.nodes.find((n) => n.name === pod.node)!
  spec.links.push({name: 'eth0', kind: 'veth', createdIn: node.netns, mtu: podMtu(cluster)})
  spec.addresses.push({dev: 'eth0', cidr: `${pod.ip}/32`})
  spec.routes.push({dst: `${calicoGateway}/32`, dev: 'eth0', scope: 'link'}, {dst: 'default', via: calicoGateway, dev: 'eth0'})
  return spec
}

/**
 * What calico-node writes on its Node when the pool encapsulates: the VXLAN tunnel address
 * and VTEP MAC, or the IPIP tunnel address; removed again when it stops.
 */
export async function recordTunnelAddresses(ds: Datastore, cluster: LabCluster): Promise<void> {
  const encap = encapsulationOf(cluster)
  const write = async (store: Datastore) => {
    for (const node of cluster.nodes) {
      const current = await store.get(nodeKind, node.name)
      if (ownerOf(current) !== cluster.lab) throw new NetctlError('already-exists', `Node "${node.name}" in ${store.location} is not lab "${cluster.lab}"'s any more; the lab leaves it alone`, `netctl lab up --name ${cluster.lab} rebuilds the lab's own objects where nobody else's stand`)
      const spec = {...(current.spec as NodeSpec)}
      const bgp = {...spec.bgp}
      delete spec.ipv4VXLANTunnelAddr
      delete spec.vxlanTunnelMACAddr
      delete bgp.ipv4IPIPTunnelAddr
      if (encap.vxlan !== 'Never') Object.assign(spec, {ipv4VXLANTunnelAddr: tunnelAddress(node), vxlanTunnelMACAddr: vtepMac(node)})
      if (encap.ipip !== 'Never') bgp.ipv4IPIPTunnelAddr = tunnelAddress(node)
      spec.bgp = bgp
      if (JSON.stringify(spec) !== JSON.stringify(current.spec)) await store.update(nodeKind, {...current, spec})
    }
    // The tunnel addresses are IPAM allocations too (handle <ipip|vxlan>-tunnel-addr-<node>).
    if (cluster.ipam) await writeClusterIpam(store, cluster.lab, cluster.nodes.map((n) => n.name), cluster.ipam)
  }
  await (ds.transaction ? ds.transaction(write) : write(ds))
}
