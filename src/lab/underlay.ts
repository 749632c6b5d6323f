/** The lab's "physical" network: one bridge per subnet, and a router (gateway .1) between them. */
import {emptyNetns, type NetnsSpec, type RouteSpec} from '../dataplane/model.js'
import type {LabCluster, LabNode} from './cluster.js'
import {outsideNetns, underlayPort} from './names.js'

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
