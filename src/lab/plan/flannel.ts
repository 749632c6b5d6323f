/**
 * flannel's layouts (REFERENCE.md §4): a cni0 bridge per node holding the subnet's .1,
 * pods on it with hairpin on and a default route via .1; then per backend, host-gw: a
 * route per other node's subnet via that node; vxlan: flannel.1 with a neighbour, fdb
 * entry and onlink route per peer; udp: the TUN flannel0 holding the whole network, fed
 * to a userspace proxy (libexec/flannel-udp-proxy.py). subnet.env says what flanneld
 * would have written.
 */
import {createHash} from 'node:crypto'

import {emptyNetns, type NetnsSpec} from '../../dataplane/model.js'
import {formatIp, parseCidr} from '../../resources/cidr.js'
import type {LabCluster, LabNode, LabPod} from './cluster.js'
import {planNodeUplink} from './underlay.js'
import {sysctlKey} from '../../render/sysctl.js'

const gatewayOf = (subnet: string) => formatIp(4, parseCidr(subnet)!.network + 1n)
const prefixOf = (subnet: string) => parseCidr(subnet)!.prefix
/** flannel.1 holds the subnet's .0 address (10.244.1.0/32). */
const vtepAddress = (node: LabNode) => formatIp(4, parseCidr(node.blocks[0]!)!.network)
export const flannelVxlan = {name: 'flannel.1', vni: 1, port: 8472, overhead: 50}
/** The udp backend's TUN device and port; its overhead is an outer IP and UDP header. */
export const flannelUdp = {name: 'flannel0', port: 8285, overhead: 28}

const nodeMac = (prefix: string, what: string, node: LabNode): string =>
  `${prefix}:${createHash('sha1').update(`${what}.${node.name}`).digest('hex').slice(0, 10).match(/../g)!.join(':')}`
export const flannelVtepMac = (node: LabNode): string => nodeMac('6a', 'flannel', node)
/** cni0's MAC, set when it is made: a bridge otherwise takes its lowest port's MAC, and changes as pods come and go. */
export const cni0Mac = (node: LabNode): string => nodeMac('0a', 'cni0', node)

/** The MTU flanneld gives pods: the underlay's, less what the backend wraps around a packet. */
export function flannelMtu(cluster: LabCluster): number {
  const type = cluster.backend?.type
  return cluster.mtu - (type === 'vxlan' ? flannelVxlan.overhead : type === 'udp' ? flannelUdp.overhead : 0)
}

export function planFlannelNode(cluster: LabCluster, node: LabNode): NetnsSpec {
  const spec = emptyNetns(node.netns)
  planNodeUplink(cluster, node, spec)
  const subnet = node.blocks[0]!
  const mtu = flannelMtu(cluster)
  spec.links.push({name: 'cni0', kind: 'bridge', mtu, mac: cni0Mac(node)})
  spec.addresses.push({dev: 'cni0', cidr: `${gatewayOf(subnet)}/${prefixOf(subnet)}`, broadcast: true})
  for (const pod of cluster.pods.filter((p) => p.node === node.name)) {
    spec.links.push({name: pod.hostIf, kind: 'veth', peer: {name: 'eth0', netns: pod.netns}, mtu, txqueuelen: 0, master: 'cni0', hairpin: true})
  }
  if (cluster.backend?.type === 'udp') {
    // flannel0 holds the node's subnet address with the network's prefix: one route for the whole network.
    spec.links.push({name: flannelUdp.name, kind: 'tun', mtu})
    spec.addresses.push({dev: flannelUdp.name, cidr: `${vtepAddress(node)}/${prefixOf(cluster.pool.spec!.cidr as string)}`})
    return spec
  }
  const vxlan = cluster.backend?.type === 'vxlan'
  if (vxlan) {
    spec.links.push({name: flannelVxlan.name, kind: 'vxlan', vxlan: {id: flannelVxlan.vni, port: flannelVxlan.port, local: node.ip, dev: 'eth0', learning: false}, mac: flannelVtepMac(node), mtu, txqueuelen: 0})
    spec.addresses.push({dev: flannelVxlan.name, cidr: `${vtepAddress(node)}/32`})
  }
  for (const other of cluster.nodes) {
    if (other.name === node.name) continue
    const direct = other.subnet === node.subnet && (!vxlan || cluster.backend?.directRouting)
    if (direct) {
      spec.routes.push({dst: other.blocks[0]!, via: other.ip, dev: 'eth0'})
      continue
    }
    // flanneld's order for a peer: neighbour, fdb entry, then the route.
    spec.neighbours.push({dev: flannelVxlan.name, ip: vtepAddress(other), lladdr: flannelVtepMac(other)})
    spec.fdb.push({dev: flannelVxlan.name, mac: flannelVtepMac(other), dst: other.ip})
    spec.routes.push({dst: other.blocks[0]!, via: vtepAddress(other), dev: flannelVxlan.name, onlink: true})
  }
  return spec
}

export function planFlannelPod(cluster: LabCluster, pod: LabPod): NetnsSpec {
  const node = cluster.nodes.find((n) => n.name === pod.node)!
  const subnet = node.blocks[0]!
  const spec = emptyNetns(pod.netns)
  spec.links.push({name: 'eth0', kind: 'veth', createdIn: node.netns, mtu: flannelMtu(cluster)})
  spec.addresses.push({dev: 'eth0', cidr: `${pod.ip}/${prefixOf(subnet)}`, broadcast: true})
  // What flannel's CNI asks host-local for: a default route, and the whole network, via cni0.
  spec.routes.push({dst: 'default', via: gatewayOf(subnet), dev: 'eth0'}, {dst: String(cluster.pool.spec!.cidr), via: gatewayOf(subnet), dev: 'eth0'})
  // As the bridge plugin does: announce the pod's address when eth0 comes up, and no IPv6
  // duplicate address detection (hairpin echoes of its probes would fail it).
  spec.sysctls[sysctlKey('net', 'ipv4', 'conf', 'eth0', 'arp_notify')] = '1'
  spec.sysctls[sysctlKey('net', 'ipv6', 'conf', 'eth0', 'accept_dad')] = '0'
  return spec
}

/** The file flanneld writes to /run/flannel/subnet.env on each node. */
export function flannelSubnetEnv(cluster: LabCluster, node: LabNode): string {
  const subnet = node.blocks[0]!
  return [
    `FLANNEL_NETWORK=${cluster.pool.spec!.cidr}`,
    `FLANNEL_SUBNET=${gatewayOf(subnet)}/${prefixOf(subnet)}`,
    `FLANNEL_MTU=${flannelMtu(cluster)}`,
    'FLANNEL_IPMASQ=true',
    '',
  ].join('\n')
}

/** What a node's udp proxy reads (and re-reads on SIGHUP): every other node's subnet and where to send it. */
export function udpProxyConfig(cluster: LabCluster, node: LabNode, ready: string): object {
  return {
    tun: flannelUdp.name,
    listen: node.ip,
    port: flannelUdp.port,
    routes: cluster.nodes.filter((other) => other !== node).map((other) => ({subnet: other.blocks[0]!, node: other.ip})),
    ready,
  }
}
