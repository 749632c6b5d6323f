/**
 * flannel's host-gw layout (REFERENCE.md §4): a cni0 bridge per node holding the subnet's
 * .1, pods on it with hairpin on and a default route via .1, and a route per other node's
 * subnet via that node. subnet.env says what flanneld would have written.
 */
import {emptyNetns, type NetnsSpec} from '../dataplane/model.js'
import {formatIp, parseCidr} from '../resources/cidr.js'
import type {LabCluster, LabNode, LabPod} from './cluster.js'
import {planNodeUplink} from './underlay.js'

const gatewayOf = (subnet: string) => formatIp(4, parseCidr(subnet)!.network + 1n)
const prefixOf = (subnet: string) => parseCidr(subnet)!.prefix

export function planFlannelNode(cluster: LabCluster, node: LabNode): NetnsSpec {
  const spec = emptyNetns(node.netns)
  planNodeUplink(cluster, node, spec)
  const subnet = node.blocks[0]!
  spec.links.push({name: 'cni0', kind: 'bridge', mtu: cluster.mtu})
  spec.addresses.push({dev: 'cni0', cidr: `${gatewayOf(subnet)}/${prefixOf(subnet)}`})
  for (const pod of cluster.pods.filter((p) => p.node === node.name)) {
    spec.links.push({name: pod.hostIf, kind: 'veth', peer: {name: 'eth0', netns: pod.netns}, mtu: cluster.mtu, master: 'cni0', hairpin: true})
  }
  for (const other of cluster.nodes) {
    if (other.name !== node.name) spec.routes.push({dst: other.blocks[0]!, via: other.ip, dev: 'eth0'})
  }
  return spec
}

export function planFlannelPod(cluster: LabCluster, pod: LabPod): NetnsSpec {
  const node = cluster.nodes.find((n) => n.name === pod.node)!
  const subnet = node.blocks[0]!
  const spec = emptyNetns(pod.netns)
  spec.links.push({name: 'eth0', kind: 'veth', createdIn: node.netns, mtu: cluster.mtu})
  spec.addresses.push({dev: 'eth0', cidr: `${pod.ip}/${prefixOf(subnet)}`})
  spec.routes.push({dst: 'default', via: gatewayOf(subnet), dev: 'eth0'})
  return spec
}

/** The file flanneld writes to /run/flannel/subnet.env on each node. */
export function flannelSubnetEnv(cluster: LabCluster, node: LabNode): string {
  const subnet = node.blocks[0]!
  return [
    `FLANNEL_NETWORK=${cluster.pool.spec!.cidr}`,
    `FLANNEL_SUBNET=${gatewayOf(subnet)}/${prefixOf(subnet)}`,
    `FLANNEL_MTU=${cluster.mtu}`,
    'FLANNEL_IPMASQ=true',
    '',
  ].join('\n')
}
