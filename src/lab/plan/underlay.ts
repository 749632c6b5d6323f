/** The lab's "physical" network: one bridge per subnet, and a router (gateway .1) between them. */
import {createHash} from 'node:crypto'

import {emptyNetns, type NetnsSpec, type RouteSpec} from '../../dataplane/model.js'
import type {LabCluster, LabNode} from './cluster.js'
import {outsideNetns, underlayPort} from '../topology/names.js'

const labMac = (prefix: string, what: string): string =>
  `${prefix}:${createHash('sha1').update(what).digest('hex').slice(0, 10).match(/../g)!.join(':')}`
/** A node's eth0 MAC and its subnet bridge's (the router's side): fixed, so that each side can know the other's. */
export const uplinkMac = (cluster: LabCluster, node: LabNode): string => labMac('5a', `uplink.${cluster.lab}.${node.name}`)
export const bridgeMac = (cluster: LabCluster, subnet: number): string => labMac('5e', `bridge.${cluster.lab}.${subnet}`)

/**
 * Permanent ARP entries on the underlay: every node knows every node of its subnet and its
 * gateway, and the router knows every node. The kernel's neighbour table is one for all
 * namespaces, and learned entries count against the host's gc_thresh3 (1,024 by default):
 * a 50-node BGP mesh needs 2,450 and overflowed it ("neighbor table overflow", sessions stuck in
 * Connect). Permanent entries do not count, and the host's settings stay as they are.
 */
export function addUnderlayNeighbours(cluster: LabCluster, specs: NetnsSpec[]): void {
  const byNetns = new Map(specs.map((s) => [s.netns, s]))
  const underlay = byNetns.get(cluster.underlayNetns)
  for (const node of cluster.nodes) {
    const spec = byNetns.get(node.netns)
    if (!spec) continue
    const eth0 = spec.links.find((l) => l.name === 'eth0')
    if (eth0) eth0.mac = uplinkMac(cluster, node)
    const subnet = cluster.subnets[node.subnet]!
    spec.neighbours.push({dev: 'eth0', ip: subnet.gateway, lladdr: bridgeMac(cluster, node.subnet)})
    for (const other of cluster.nodes) if (other !== node && other.subnet === node.subnet) spec.neighbours.push({dev: 'eth0', ip: other.ip, lladdr: uplinkMac(cluster, other)})
    underlay?.neighbours.push({dev: subnet.bridge, ip: node.ip, lladdr: uplinkMac(cluster, node)})
  }
  cluster.subnets.forEach((subnet, i) => {
    const bridge = underlay?.links.find((l) => l.name === subnet.bridge)
    if (bridge) bridge.mac = bridgeMac(cluster, i)
  })
}

/** Node side of its underlay link: eth0 with the node address and a default route (proxy ARP needs one). */
export function planNodeUplink(cluster: LabCluster, node: LabNode, spec: NetnsSpec): void {
  const subnet = cluster.subnets[node.subnet]!
  spec.links.push({name: 'eth0', kind: 'veth', createdIn: cluster.underlayNetns, mtu: cluster.mtu})
  spec.addresses.push({dev: 'eth0', cidr: `${node.ip}/${subnet.prefix}`})
  spec.routes.push({dst: 'default', via: subnet.gateway, dev: 'eth0'})
  spec.sysctls['net.ipv4.ip_forward'] = '1'
}

/** `extraRoutes`: routes the router needs, e.g. pod blocks of other subnets when nothing encapsulates. */
export function planUnderlay(cluster: LabCluster, extraRoutes: RouteSpec[] = []): NetnsSpec {
  const spec = emptyNetns(cluster.underlayNetns)
  cluster.subnets.forEach((subnet) => {
    spec.links.push({name: subnet.bridge, kind: 'bridge', mtu: cluster.mtu})
    spec.addresses.push({dev: subnet.bridge, cidr: `${subnet.gateway}/${subnet.prefix}`})
  })
  for (const node of cluster.nodes) {
    spec.links.push({name: underlayPort(node.name), kind: 'veth', peer: {name: 'eth0', netns: node.netns}, mtu: cluster.mtu, master: cluster.subnets[node.subnet]!.bridge})
  }
  // The router's side of the link to the outside host (TEST-NET-2: never a real address).
  spec.links.push({name: OUTSIDE.port, kind: 'veth', peer: {name: 'eth0', netns: outsideNetns(cluster.lab)}, mtu: cluster.mtu})
  spec.addresses.push({dev: OUTSIDE.port, cidr: `${OUTSIDE.router}/${OUTSIDE.prefix}`})
  spec.routes.push(...extraRoutes)
  spec.sysctls['net.ipv4.ip_forward'] = '1'
  return spec
}

/** The outside host: 198.51.100.1 on a /24 shared with the router (.254), which it routes everything back through. */
export const OUTSIDE = {port: 'outside', host: '198.51.100.1', router: '198.51.100.254', prefix: 24} as const

export function planOutside(cluster: LabCluster): NetnsSpec {
  const spec = emptyNetns(outsideNetns(cluster.lab))
  spec.links.push({name: 'eth0', kind: 'veth', createdIn: cluster.underlayNetns, mtu: cluster.mtu})
  spec.addresses.push({dev: 'eth0', cidr: `${OUTSIDE.host}/${OUTSIDE.prefix}`})
  spec.routes.push({dst: 'default', via: OUTSIDE.router, dev: 'eth0'})
  return spec
}
