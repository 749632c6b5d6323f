/**
 * What Calico's CNI plugin, Felix and (for now, statically) BIRD program on a node and in
 * its pods (REFERENCE.md §3): cali veths with MAC ee:ee:ee:ee:ee:ee and proxy ARP, a /32
 * route per local pod, a blackhole per own block, and routes to the other nodes' blocks.
 */
import {emptyNetns, type NetnsSpec, type RouteSpec} from '../dataplane/model.js'
import type {LabCluster, LabNode, LabPod} from './cluster.js'
import {planNodeUplink} from './underlay.js'

export const calicoHostMac = 'ee:ee:ee:ee:ee:ee'
export const calicoGateway = '169.254.1.1'

const sameSubnet = (a: LabNode, b: LabNode) => a.subnet === b.subnet

/** Routes to another node's blocks without encapsulation: direct on one segment, else via the router. */
function remoteBlockRoutes(cluster: LabCluster, node: LabNode): RouteSpec[] {
  return cluster.nodes
    .filter((other) => other.name !== node.name)
    .flatMap((other) => {
      const via = sameSubnet(node, other) ? other.ip : cluster.subnets[node.subnet]!.gateway
      return other.blocks.map((block) => ({dst: block, via, dev: 'eth0'}))
    })
}

/** The router must know pod blocks of other subnets when packets cross it unencapsulated. */
export function calicoUnderlayRoutes(cluster: LabCluster): RouteSpec[] {
  if (cluster.subnets.length < 2) return []
  return cluster.nodes.flatMap((node) => node.blocks.map((block) => ({dst: block, via: node.ip, dev: cluster.subnets[node.subnet]!.bridge})))
}

/** With BGP on, BIRD installs the blackholes and the routes to other blocks (proto bird). */
export function planCalicoNode(cluster: LabCluster, node: LabNode): NetnsSpec {
  const spec = emptyNetns(node.netns)
  planNodeUplink(cluster, node, spec)
  for (const pod of cluster.pods.filter((p) => p.node === node.name)) {
    spec.links.push({name: pod.hostIf, kind: 'veth', peer: {name: 'eth0', netns: pod.netns}, mac: calicoHostMac, mtu: cluster.mtu})
    spec.routes.push({dst: `${pod.ip}/32`, dev: pod.hostIf, scope: 'link'})
    spec.sysctls[`net.ipv4.conf.${pod.hostIf}.proxy_arp`] = '1'
    spec.sysctls[`net.ipv4.neigh.${pod.hostIf}.proxy_delay`] = '0'
    spec.sysctls[`net.ipv4.conf.${pod.hostIf}.route_localnet`] = '1'
    spec.sysctls[`net.ipv4.conf.${pod.hostIf}.forwarding`] = '1'
  }
  if (!cluster.bgp) {
    for (const block of node.blocks) spec.routes.push({dst: block, type: 'blackhole'})
    spec.routes.push(...remoteBlockRoutes(cluster, node))
  }
  return spec
}

export function planCalicoPod(cluster: LabCluster, pod: LabPod): NetnsSpec {
  const spec = emptyNetns(pod.netns)
  const node = cluster.nodes.find((n) => n.name === pod.node)!
  spec.links.push({name: 'eth0', kind: 'veth', createdIn: node.netns, mtu: cluster.mtu})
  spec.addresses.push({dev: 'eth0', cidr: `${pod.ip}/32`})
  spec.routes.push({dst: `${calicoGateway}/32`, dev: 'eth0', scope: 'link'}, {dst: 'default', via: calicoGateway, dev: 'eth0'})
  return spec
}
