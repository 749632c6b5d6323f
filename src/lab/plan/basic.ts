/**
 * The small labs of the netns article (seed 001): two namespaces on a veth pair, on a
 * bridge, behind proxy ARP, on macvlan (and ipvlan where the kernel has it).
 */
import {emptyNetns, type LinkKind, type NetnsSpec} from '../../dataplane/model.js'
import {netnsPrefix} from '../topology/names.js'

export const basicLabKinds = ['veth', 'bridge', 'proxy-arp', 'macvlan', 'ipvlan'] as const
export type BasicLabKind = (typeof basicLabKinds)[number]

export interface BasicLabPlan {
  specs: NetnsSpec[]
  /** Short names (ns1, ns2, host, upstream) → namespace. */
  targets: Record<string, string>
  linkKinds: LinkKind[]
  description: string
  tryCommand: string
}

export function planBasicLab(lab: string, kind: BasicLabKind): BasicLabPlan {
  const ns = (short: string) => `${netnsPrefix(lab)}${short}`
  const ns1 = emptyNetns(ns('ns1'))
  const ns2 = emptyNetns(ns('ns2'))
  const targets: Record<string, string> = {ns1: ns1.netns, ns2: ns2.netns}
  const tryIt = (ip: string) => `netctl lab exec --lab ${lab} ns1 -- ping -c1 ${ip}`
  switch (kind) {
    case 'veth': {
      ns1.links.push({name: 'veth-ns1', kind: 'veth', peer: {name: 'veth-ns2', netns: ns2.netns}})
      ns2.links.push({name: 'veth-ns2', kind: 'veth', createdIn: ns1.netns})
      ns1.addresses.push({dev: 'veth-ns1', cidr: '1.1.1.1/24'})
      ns2.addresses.push({dev: 'veth-ns2', cidr: '1.1.1.2/24'})
      return {specs: [ns1, ns2], targets, linkKinds: ['veth'], description: 'ns1 (1.1.1.1/24) and ns2 (1.1.1.2/24) joined by one veth pair', tryCommand: tryIt('1.1.1.2')}
    }
    case 'bridge': {
      const host = emptyNetns(ns('host'))
      targets.host = host.netns
      host.links.push(
        {name: 'br0', kind: 'bridge'},
        {name: 'veth1', kind: 'veth', peer: {name: 'veth1-ns1', netns: ns1.netns}, master: 'br0'},
        {name: 'veth2', kind: 'veth', peer: {name: 'veth2-ns2', netns: ns2.netns}, master: 'br0'},
      )
      ns1.links.push({name: 'veth1-ns1', kind: 'veth', createdIn: host.netns})
      ns2.links.push({name: 'veth2-ns2', kind: 'veth', createdIn: host.netns})
      ns1.addresses.push({dev: 'veth1-ns1', cidr: '1.1.1.1/24'})
      ns2.addresses.push({dev: 'veth2-ns2', cidr: '1.1.1.2/24'})
      return {specs: [host, ns1, ns2], targets, linkKinds: ['veth', 'bridge'], description: 'ns1 (1.1.1.1/24) and ns2 (1.1.1.2/24) on bridge br0 in "host", each through a veth pair', tryCommand: tryIt('1.1.1.2')}
    }
    case 'proxy-arp': {
      const host = emptyNetns(ns('host'))
      const upstream = emptyNetns(ns('upstream'))
      Object.assign(targets, {host: host.netns, upstream: upstream.netns})
      // Proxy ARP answers only if "host" routes 169.254.1.1 out another interface: give it an uplink and a default route.
      host.links.push(
        {name: 'uplink', kind: 'veth', peer: {name: 'uplink', netns: upstream.netns}},
        {name: 'veth1', kind: 'veth', peer: {name: 'veth1-ns1', netns: ns1.netns}},
        {name: 'veth2', kind: 'veth', peer: {name: 'veth2-ns2', netns: ns2.netns}},
      )
      upstream.links.push({name: 'uplink', kind: 'veth', createdIn: host.netns})
      upstream.addresses.push({dev: 'uplink', cidr: '10.255.0.254/24'})
      host.addresses.push({dev: 'uplink', cidr: '10.255.0.1/24'})
      host.routes.push({dst: 'default', via: '10.255.0.254', dev: 'uplink'}, {dst: '192.168.100.1/32', dev: 'veth1'}, {dst: '192.168.100.2/32', dev: 'veth2'})
      // proxy_delay 0 as Calico sets it: otherwise the kernel may wait up to 0.8 s before answering.
      Object.assign(host.sysctls, {
        'net.ipv4.ip_forward': '1',
        'net.ipv4.conf.veth1.proxy_arp': '1', 'net.ipv4.neigh.veth1.proxy_delay': '0',
        'net.ipv4.conf.veth2.proxy_arp': '1', 'net.ipv4.neigh.veth2.proxy_delay': '0',
      })
      for (const [spec, dev, ip] of [[ns1, 'veth1-ns1', '192.168.100.1'], [ns2, 'veth2-ns2', '192.168.100.2']] as const) {
        spec.links.push({name: dev, kind: 'veth', createdIn: host.netns})
        spec.addresses.push({dev, cidr: `${ip}/32`})
        spec.routes.push({dst: '169.254.1.1/32', dev, scope: 'link'}, {dst: 'default', via: '169.254.1.1', dev})
      }
      return {
        specs: [host, upstream, ns1, ns2],
        targets,
        linkKinds: ['veth'],
        description: 'ns1 (192.168.100.1/32) and ns2 (192.168.100.2/32), default via 169.254.1.1, answered by proxy ARP on "host"',
        tryCommand: tryIt('192.168.100.2'),
      }
    }
    case 'macvlan':
    case 'ipvlan': {
      const host = emptyNetns(ns('host'))
      const upstream = emptyNetns(ns('upstream'))
      Object.assign(targets, {host: host.netns, upstream: upstream.netns})
      const mode = kind === 'macvlan' ? 'bridge' : 'l2'
      host.links.push(
        {name: 'eth0', kind: 'veth', peer: {name: 'eth0', netns: upstream.netns}},
        {name: `${kind === 'macvlan' ? 'mv' : 'iv'}1`, kind, lower: {parent: 'eth0', mode}, netns: ns1.netns},
        {name: `${kind === 'macvlan' ? 'mv' : 'iv'}2`, kind, lower: {parent: 'eth0', mode}, netns: ns2.netns},
      )
      upstream.links.push({name: 'eth0', kind: 'veth', createdIn: host.netns})
      for (const [spec, index, ip] of [[ns1, 1, '1.1.1.1'], [ns2, 2, '1.1.1.2']] as const) {
        const dev = `${kind === 'macvlan' ? 'mv' : 'iv'}${index}`
        spec.links.push({name: dev, kind, createdIn: host.netns})
        spec.addresses.push({dev, cidr: `${ip}/24`})
      }
      return {
        specs: [host, upstream, ns1, ns2],
        targets,
        linkKinds: ['veth', kind],
        description: `ns1 (1.1.1.1/24) and ns2 (1.1.1.2/24) on ${kind} (${mode} mode) devices of "host"'s eth0`,
        tryCommand: tryIt('1.1.1.2'),
      }
    }
  }
}
