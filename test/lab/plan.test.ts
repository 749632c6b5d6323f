/** The lab planners without a kernel: topology, allocation, and the specs per namespace. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {diffNetns, planLines} from '../../src/dataplane/diff.js'
import {planCalicoNode, planCalicoPod} from '../../src/lab/plan/calico.js'
import {clusterResources, planCluster, type LabNode} from '../../src/lab/plan/cluster.js'
import {flannelSubnetEnv, planFlannelNode, planFlannelPod, udpProxyConfig, cni0Mac} from '../../src/lab/plan/flannel.js'
import {planLab} from '../../src/lab/plan/plan.js'
import {checkLabName} from '../../src/lab/topology/names.js'
import {defaultTopology, flannelBackends, parseTopology, poolModes, resolveTopology, topologyFields} from '../../src/lab/topology/topology.js'
import {NetctlError} from '../../src/errors.js'

const none = {nodes: [], affinities: [], weps: []}

describe('lab topology', () => {
  it('defaults to seed 000: calico, controlplane and node01, two pods each, 172.17.0.0/16', () => {
    const t = defaultTopology({})
    assert.deepEqual(t.nodes.map((n) => [n.name, n.pods.length]), [['controlplane', 2], ['node01', 2]])
    assert.deepEqual(t.pool, {cidr: '192.168.0.0/16', blockSize: 26})
    assert.deepEqual(t.underlay, {subnets: ['172.17.0.0/16'], mtu: 1500})
  })

  it('reads a topology file and names what is wrong in it', () => {
    const t = parseTopology({kind: 'LabTopology', flavor: 'calico', underlay: {subnets: ['172.17.0.0/24', '172.18.0.0/24']}, nodes: [{name: 'a', pods: ['web-0']}, {name: 'b', subnet: 1, pods: 1}]})
    assert.deepEqual(t.nodes, [{name: 'a', subnet: 0, pods: ['web-0']}, {name: 'b', subnet: 1, pods: ['busybox-b-0']}])
    const bad = (doc: unknown, pattern: RegExp) => assert.throws(() => parseTopology(doc), (e: unknown) => e instanceof NetctlError && e.kind === 'usage' && pattern.test(e.message))
    bad({nodes: [{name: 'a', subnet: 2}]}, /nodes\[0\]\.subnet 2 is not an index into underlay\.subnets/)
    bad({nodes: [{name: 'A_b'}]}, /"A_b" is not a valid node name/)
    bad({nodes: [{name: 'a', pods: ['x']}, {name: 'b', pods: ['x']}]}, /repeats the name "x"/)
    bad({underlay: {subnets: ['172.17.0.1/24']}, nodes: [{name: 'a'}]}, /is not a masked IPv4 subnet/)
    bad({flavor: 'cilium', nodes: [{name: 'a'}]}, /flavor "cilium" is not one of calico, flannel/)
    bad({flavor: 'flannel', underlay: {subnets: ['10.1.0.0/24', '10.2.0.0/24']}, nodes: [{name: 'a'}]}, /flannel host-gw needs every node on one L2 segment/)
    bad({nodes: [{name: 'a'}], extra: 1}, /topology: extra is not a known field/)
    bad({nodes: [{name: 'a', subnett: 1}]}, /topology: nodes\[0\]\.subnett is not a known field/)
    bad({underlay: {subnet: ['172.17.0.0/16']}, nodes: [{name: 'a'}]}, /topology: underlay\.subnet is not a known field/)
    bad({pool: {cidr: '192.168.0.0/16', blocksize: 24}, nodes: [{name: 'a'}]}, /topology: pool\.blocksize is not a known field/)
    bad({flavor: 'flannel', backend: {type: 'vxlan', directrouting: true}, nodes: [{name: 'a'}]}, /topology: backend\.directrouting is not a known field/)
    bad({pool: {cidr: '172.17.0.0/16'}, nodes: [{name: 'a'}]}, /topology: pool\.cidr 172\.17\.0\.0\/16 overlaps the underlay subnet 172\.17\.0\.0\/16/)
    bad({name: 'Bad Name', nodes: [{name: 'a'}]}, /"Bad Name" is not a valid lab name/)
  })

  it('reads the example topology, and the schema describes the same fields', async () => {
    const {readFileSync} = await import('node:fs')
    const {load} = await import('js-yaml')
    const {repoRoot} = await import('../helpers/cli.js')
    const t = parseTopology(load(readFileSync(`${repoRoot}/examples/cross-subnet-lab.yaml`, 'utf8')))
    assert.deepEqual(t.nodes.map((n) => [n.name, n.subnet, n.pods.length]), [['controlplane', 0, 2], ['node01', 0, 2], ['node02', 1, 2]])
    const schema = JSON.parse(readFileSync(`${repoRoot}/schemas/lab-topology.schema.json`, 'utf8'))
    assert.deepEqual(Object.keys(schema.properties).sort(), [...topologyFields].sort())
    assert.deepEqual(schema.properties.backend.properties.type.enum, [...flannelBackends])
  })

  it('takes the pool encapsulation in the operator\'s words, for a new calico lab only', () => {
    assert.deepEqual(poolModes('IPIP'), {ipipMode: 'Always', vxlanMode: 'Never'})
    assert.deepEqual(poolModes('VXLANCrossSubnet'), {ipipMode: 'Never', vxlanMode: 'CrossSubnet'})
    assert.deepEqual(poolModes('None'), {ipipMode: 'Never', vxlanMode: 'Never'})
    assert.equal(parseTopology({encapsulation: 'VXLAN', nodes: [{name: 'a'}]}).encapsulation, 'VXLAN')
    assert.equal(defaultTopology({}).encapsulation, undefined, 'unset: the build picks IPIP, or VXLAN without the ipip module')
    const bad = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => e instanceof NetctlError && e.kind === 'usage' && pattern.test(e.message))
    bad(() => parseTopology({encapsulation: 'vxlan', nodes: [{name: 'a'}]}), /topology: encapsulation "vxlan" is not one of IPIP, VXLAN, IPIPCrossSubnet, VXLANCrossSubnet, None/)
    bad(() => parseTopology({flavor: 'flannel', encapsulation: 'VXLAN', nodes: [{name: 'a'}]}), /topology: encapsulation is a calico setting/)
    bad(() => resolveTopology({flavor: 'flannel', encapsulation: 'IPIP'}), /encapsulation is a calico setting/)
    // A running lab keeps its pool: a new encapsulation is a live switch, not a rebuild.
    const recorded = {...defaultTopology({}), encapsulation: 'VXLAN' as const}
    assert.equal(resolveTopology({nodes: 3}, recorded).encapsulation, 'VXLAN')
    assert.equal(resolveTopology({encapsulation: 'VXLAN'}, recorded).encapsulation, 'VXLAN')
    assert.throws(() => resolveTopology({encapsulation: 'None'}, recorded), (e: unknown) => e instanceof NetctlError && /lab up sets the encapsulation of a new lab only/.test(e.message) && /netctl encap set none/.test(e.suggestion ?? ''))
    // The pool a new lab writes.
    assert.deepEqual(planCluster('demo', {...defaultTopology({}), encapsulation: 'IPIP'}, none).pool.spec, {cidr: '192.168.0.0/16', blockSize: 26, ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'})
  })

  it('validates lab names before they reach a command line', () => {
    assert.equal(checkLabName('demo-1'), 'demo-1')
    for (const bad of ['', 'Demo', '1lab', 'a;rm', 'a-very-long-lab-name', 'x-']) assert.throws(() => checkLabName(bad), /not a valid lab name/)
  })
})

describe('lab allocation', () => {
  it('places nodes at .32, .40, … and gives each a /26 with the first address kept for its tunnel', () => {
    const cluster = planCluster('demo', defaultTopology({}), none)
    assert.deepEqual(cluster.nodes.map((n) => [n.name, n.ip, n.blocks]), [['controlplane', '172.17.0.32', ['192.168.0.0/26']], ['node01', '172.17.0.40', ['192.168.0.64/26']]])
    assert.deepEqual(cluster.pods.map((p) => [p.name, p.ip, p.hostIf.length]), [
      ['busybox-controlplane-0', '192.168.0.1', 15], ['busybox-controlplane-1', '192.168.0.2', 15], ['busybox-node01-0', '192.168.0.65', 15], ['busybox-node01-1', '192.168.0.66', 15],
    ])
  })

  it('keeps addresses, blocks and pod IPs across a reconcile, and takes a second block when one is full', () => {
    const first = planCluster('demo', defaultTopology({nodes: 2, podsPerNode: 2}), none)
    const stored = clusterResources(first)
    const grown = defaultTopology({nodes: 3, podsPerNode: 70})
    grown.nodes[0]!.pods = ['busybox-controlplane-1', ...grown.nodes[0]!.pods.slice(2)]
    const second = planCluster('demo', grown, {nodes: stored.nodes, affinities: stored.affinities, weps: stored.weps, pool: first.pool})
    assert.equal(second.pods.find((p) => p.name === 'busybox-controlplane-1')!.ip, '192.168.0.2')
    assert.equal(second.pods.find((p) => p.name === 'busybox-node01-0')!.ip, '192.168.0.65')
    assert.deepEqual(second.nodes.map((n) => n.ip), ['172.17.0.32', '172.17.0.40', '172.17.0.48'])
    assert.deepEqual(second.nodes[1]!.blocks, ['192.168.0.64/26', '192.168.0.192/26'])
    assert.deepEqual(second.nodes[0]!.blocks, ['192.168.0.0/26', '192.168.0.128/26'])
    assert.deepEqual(second.nodes[2]!.blocks, ['192.168.1.0/26', '192.168.1.64/26'])
    const ips = second.pods.map((p) => p.ip)
    assert.equal(new Set(ips).size, ips.length, 'no address handed out twice')
  })

  it('gives flannel nodes a /24 each, pods from .2', () => {
    const cluster = planCluster('f', defaultTopology({flavor: 'flannel', nodes: 2, podsPerNode: 2}), none)
    assert.deepEqual(cluster.nodes.map((n) => n.blocks), [['10.244.0.0/24'], ['10.244.1.0/24']])
    assert.deepEqual(cluster.pods.map((p) => p.ip), ['10.244.0.2', '10.244.0.3', '10.244.1.2', '10.244.1.3'])
    assert.equal(flannelSubnetEnv(cluster, cluster.nodes[1]!), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=true\n')
  })
})

describe('lab dataplane plans', () => {
  it('wires a calico node and pod as REFERENCE.md §3 says', () => {
    const cluster = planCluster('demo', defaultTopology({bgp: false}), none)
    const node = planCalicoNode(cluster, cluster.nodes[0]!)
    const pod = cluster.pods[0]!
    const cali = node.links.find((l) => l.name === pod.hostIf)!
    assert.deepEqual(cali, {name: pod.hostIf, kind: 'veth', peer: {name: 'eth0', netns: pod.netns}, mac: 'ee:ee:ee:ee:ee:ee', mtu: 1500, txqueuelen: 0})
    assert.deepEqual(
      Object.keys(node.sysctls).filter((k) => k.includes(pod.hostIf)).sort(),
      [`net.ipv4.conf.${pod.hostIf}.forwarding`, `net.ipv4.conf.${pod.hostIf}.proxy_arp`, `net.ipv4.conf.${pod.hostIf}.route_localnet`, `net.ipv4.neigh.${pod.hostIf}.proxy_delay`],
    )
    assert.deepEqual(node.routes, [
      {dst: 'default', via: '172.17.0.1', dev: 'eth0'},
      {dst: '192.168.0.1/32', dev: cluster.pods[0]!.hostIf, scope: 'link'},
      {dst: '192.168.0.2/32', dev: cluster.pods[1]!.hostIf, scope: 'link'},
      // Felix's blackhole for a local block (route_mgr.go), with its own protocol (80) as Felix marks it.
      {dst: '192.168.0.0/26', type: 'blackhole', proto: '80'},
      // And its route to the other node's block (noEncapRoute), marked the same way.
      {dst: '192.168.0.64/26', via: '172.17.0.40', dev: 'eth0', proto: '80'},
    ])
    assert.deepEqual(planCalicoPod(cluster, pod).routes, [{dst: '169.254.1.1/32', dev: 'eth0', scope: 'link'}, {dst: 'default', via: '169.254.1.1', dev: 'eth0'}])
    // With BGP on and no encapsulation, BIRD installs the blackhole and the other nodes' blocks.
    const withBgp = planCluster('demo', defaultTopology({encapsulation: 'None'}), none)
    assert.deepEqual(planCalicoNode(withBgp, withBgp.nodes[0]!).routes.map((r) => r.dst), ['default', '192.168.0.1/32', '192.168.0.2/32'])
  })

  it('routes other subnets\' blocks through the router when nothing encapsulates', () => {
    const topology = parseTopology({bgp: false, underlay: {subnets: ['172.17.0.0/24', '172.18.0.0/24']}, nodes: [{name: 'a', pods: 1}, {name: 'b', subnet: 1, pods: 1}]})
    const cluster = planCluster('x', topology, none)
    const [underlay] = planLab(cluster)
    assert.deepEqual(planCalicoNode(cluster, cluster.nodes[0]!).routes.at(-1), {dst: '192.168.0.64/26', via: '172.17.0.1', dev: 'eth0', proto: '80'})
    assert.deepEqual(underlay!.routes, [{dst: '192.168.0.0/26', via: '172.17.0.32', dev: 'br0'}, {dst: '192.168.0.64/26', via: '172.18.0.32', dev: 'br1'}])
  })

  it('wires flannel pods on cni0 with hairpin and host-gw routes', () => {
    const cluster = planCluster('f', defaultTopology({flavor: 'flannel'}), none)
    const node = planFlannelNode(cluster, cluster.nodes[0]!)
    // cni0's MAC is fixed when it is made, never the lowest port's (which changes as pods come and go).
    assert.deepEqual(node.links.find((l) => l.name === 'cni0'), {name: 'cni0', kind: 'bridge', mtu: 1500, mac: cni0Mac(cluster.nodes[0]!)})
    assert.match(cni0Mac(cluster.nodes[0]!), /^0a(:[0-9a-f]{2}){5}$/)
    assert.equal(node.links.find((l) => l.name === cluster.pods[0]!.hostIf)?.hairpin, true)
    assert.deepEqual(node.addresses.find((a) => a.dev === 'cni0'), {dev: 'cni0', cidr: '10.244.0.1/24', broadcast: true})
    assert.deepEqual(node.routes.at(-1), {dst: '10.244.1.0/24', via: '172.17.0.40', dev: 'eth0'})
    const pod = planFlannelPod(cluster, cluster.pods[0]!)
    // As flannel's CNI sets them up (checked against /usr/lib/cni/bridge): the default route and the
    // whole network via cni0, arp_notify on and IPv6 duplicate address detection off.
    assert.deepEqual(pod.routes, [{dst: 'default', via: '10.244.0.1', dev: 'eth0'}, {dst: '10.244.0.0/16', via: '10.244.0.1', dev: 'eth0'}])
    assert.deepEqual(pod.sysctls, {'net.ipv4.conf.eth0.arp_notify': '1', 'net.ipv6.conf.eth0.accept_dad': '0'})
  })
})

describe('lab ping pairs', () => {
  it('pings every pair in a small lab and samples a large one across all nodes', async () => {
    const {pingPairs} = await import('../../src/lab/inspect/ping.js')
    const small = Array.from({length: 4}, (_, i) => ({name: `p${i}`, node: `n${i % 2}`}))
    assert.equal(pingPairs(small, false).length, 12)
    const large = Array.from({length: 100}, (_, i) => ({name: `p${i}`, node: `n${i % 10}`}))
    const sample = pingPairs(large, false)
    assert.equal(sample.length, 500)
    const nodePairs = new Set(sample.filter((p) => p.a.node !== p.b.node).map((p) => `${p.a.node}>${p.b.node}`))
    assert.equal(nodePairs.size, 90, 'every ordered pair of nodes is covered')
    assert.equal(pingPairs(large, true).length, 9900)
  })
})

describe('calico encapsulation plans (REFERENCE.md §3)', () => {
  const twoSubnets = () => planCluster('x', parseTopology({underlay: {subnets: ['172.17.0.0/24', '172.18.0.0/24']}, nodes: [{name: 'a', pods: 1}, {name: 'b', pods: 1}, {name: 'c', subnet: 1, pods: 1}]}), none)
  const withModes = (cluster: ReturnType<typeof twoSubnets>, ipipMode: string, vxlanMode: string) => ({...cluster, pool: {...cluster.pool, spec: {...cluster.pool.spec!, ipipMode, vxlanMode}}}) as typeof cluster

  it('VXLAN Always: vxlan.calico (VNI 4096, 4789, MTU 1450), then per peer a neighbour, an fdb entry and an onlink route', async () => {
    const {tunnelAddress, vtepMac} = await import('../../src/lab/plan/calico.js')
    const cluster = withModes(twoSubnets(), 'Never', 'Always')
    const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]]
    const spec = planCalicoNode(cluster, a)
    assert.deepEqual(spec.links.find((l) => l.name === 'vxlan.calico'), {name: 'vxlan.calico', kind: 'vxlan', vxlan: {id: 4096, port: 4789, local: a.ip, dev: 'eth0', learning: false}, mac: vtepMac(a), mtu: 1450, txqueuelen: 0})
    assert.deepEqual(spec.addresses.at(-1), {dev: 'vxlan.calico', cidr: `${tunnelAddress(a)}/32`})
    assert.equal(tunnelAddress(b), '192.168.0.64')
    assert.deepEqual(spec.neighbours[0], {dev: 'vxlan.calico', ip: '192.168.0.64', lladdr: vtepMac(b)})
    assert.deepEqual(spec.fdb[0], {dev: 'vxlan.calico', mac: vtepMac(b), dst: b.ip})
    assert.deepEqual(spec.routes.filter((r) => r.dev === 'vxlan.calico'), [
      {dst: '192.168.0.64/26', via: '192.168.0.64', dev: 'vxlan.calico', onlink: true},
      {dst: '192.168.0.128/26', via: '192.168.0.128', dev: 'vxlan.calico', onlink: true},
    ])
    assert.equal(planCalicoPod(cluster, cluster.pods[0]!).links[0]!.mtu, 1450)
    assert.match(vtepMac(a), /^66(:[0-9a-f]{2}){5}$/)
  })

  it('VXLAN CrossSubnet: the tunnel only to the other subnet, and every route Felix\'s (proto 80 where not VXLAN); BIRD keeps out of the pool', async () => {
    const cluster = withModes(twoSubnets(), 'Never', 'CrossSubnet')
    const spec = planCalicoNode(cluster, cluster.nodes[0]!)
    assert.deepEqual(spec.routes.filter((r) => r.dev === 'vxlan.calico').map((r) => r.dst), ['192.168.0.128/26'])
    // Felix's noEncapRoute for the peer on this subnet, and its blackhole for the node's own block.
    assert.deepEqual(spec.routes.filter((r) => r.proto === '80'), [
      {dst: '192.168.0.0/26', type: 'blackhole', proto: '80'},
      {dst: '192.168.0.64/26', via: cluster.nodes[1]!.ip, dev: 'eth0', proto: '80'},
    ])
    const {renderBirdConfig} = await import('../../src/bgp/config.js')
    const text = renderBirdConfig({node: {name: 'a', ip: '172.17.0.32', labels: {}}, asNumber: 64512, sessions: [], blocks: [], pools: [{cidr: '192.168.0.0/16', felix: true}], logFile: 'x'})
    assert.match(text, /filter calico_kernel_programming \{\n  if \( net ~ 192\.168\.0\.0\/16 \) then \{ reject; \} # Cluster routes are handled by Felix\.\n  reject;\n\}/)
  })

  it('who programs the pool\'s routes follows BGPConfiguration programClusterRoutes, as confd reads it', async () => {
    const {birdProgramsPool} = await import('../../src/lab/plan/calico.js')
    const owner = (ipip: string, vxlan: string, programClusterRoutes?: string, bgp = true) => birdProgramsPool({...withModes(twoSubnets(), ipip, vxlan), programClusterRoutes, bgp}) ? 'bird' : 'felix'
    // Calico 3.33's defaults: BIRD programs pools without encapsulation, Felix IPIP and VXLAN ones.
    assert.deepEqual([owner('Never', 'Never'), owner('Always', 'Never'), owner('CrossSubnet', 'Never'), owner('Never', 'Always')], ['bird', 'felix', 'felix', 'felix'])
    assert.deepEqual([owner('Always', 'Never', 'Enabled'), owner('Always', 'Never', 'EnabledIPIPOnly'), owner('Never', 'Never', 'EnabledIPIPOnly'), owner('Never', 'Never', 'Disabled')], ['bird', 'bird', 'felix', 'felix'])
    assert.equal(owner('Never', 'Always', 'Enabled'), 'felix', 'VXLAN routes are always Felix\'s')
    assert.equal(owner('Always', 'Never', 'Sometimes'), 'felix', 'an unknown value is the default, as in confd')
    assert.equal(owner('Never', 'Never', 'Enabled', false), 'felix', 'without BGP there is no BIRD')
  })

  it('IPIP programmed by BIRD: netctl plans no route to peers; bird.conf sends them through tunl0 onlink (stock BIRD\'s krt_tunnel)', async () => {
    const cluster = {...withModes(twoSubnets(), 'CrossSubnet', 'Never'), programClusterRoutes: 'Enabled'}
    const spec = planCalicoNode(cluster, cluster.nodes[0]!)
    assert.deepEqual(spec.routes.filter((r) => r.dst.endsWith('/26')), [], 'no blackhole, no route to a peer: BIRD\'s')
    const {renderBirdConfig} = await import('../../src/bgp/config.js')
    const text = renderBirdConfig({node: {name: 'a', ip: '172.17.0.32', labels: {}}, asNumber: 64512, sessions: [], blocks: [], pools: [{cidr: '192.168.0.0/16', ipip: 'CrossSubnet'}], localSubnet: '172.17.0.0/24', logFile: 'x'})
    assert.match(text, /  if \( net ~ 192\.168\.0\.0\/16 \) then \{ if \( dest = RTD_BLACKHOLE \) then accept; if \( defined\(bgp_next_hop\) && bgp_next_hop ~ 172\.17\.0\.0\/24 \) then accept; onlink = true; ifname = "tunl0"; gw = bgp_next_hop; accept; \}\n/)
  })

  it('IPIP: tunl0 (MTU 1480) with the node\'s tunnel address, routes via the peer onlink; pods at 1480', () => {
    const cluster = withModes(twoSubnets(), 'Always', 'Never')
    const spec = planCalicoNode(cluster, cluster.nodes[0]!)
    assert.deepEqual(spec.links.find((l) => l.name === 'tunl0'), {name: 'tunl0', kind: 'ipip', mtu: 1480})
    assert.deepEqual(spec.addresses.at(-1), {dev: 'tunl0', cidr: '192.168.0.0/32'})
    assert.deepEqual(spec.routes.filter((r) => r.dev === 'tunl0'), [
      {dst: '192.168.0.64/26', via: cluster.nodes[1]!.ip, dev: 'tunl0', onlink: true, proto: '80'},
      {dst: '192.168.0.128/26', via: cluster.nodes[2]!.ip, dev: 'tunl0', onlink: true, proto: '80'},
    ])
    assert.equal(planCalicoPod(cluster, cluster.pods[0]!).links[0]!.mtu, 1480)
    // And op by op, what the kernel would be asked to do on a fresh node.
    const lines = planLines(diffNetns(spec, {links: [{name: 'lo', up: false}], addresses: [], routes: [], neighbours: [], fdb: [], sysctls: {}})).ip
    assert.ok(lines.includes('link add tunl0 type ipip'))
    assert.ok(lines.includes('link set dev tunl0 mtu 1480'))
    assert.ok(lines.includes('addr add 192.168.0.0/32 dev tunl0'))
    assert.ok(lines.includes(`route replace 192.168.0.64/26 via ${cluster.nodes[1]!.ip} dev tunl0 proto 80 onlink`))
  })
})

describe('flannel backends (REFERENCE.md §4)', () => {
  it('vxlan: flannel.1 (VNI 1, 8472, MTU 1450) holding the subnet\'s .0; neighbour, fdb, onlink route per peer; DirectRouting for the same subnet', async () => {
    const {flannelVtepMac} = await import('../../src/lab/plan/flannel.js')
    const topology = parseTopology({flavor: 'flannel', backend: {type: 'vxlan', directRouting: true}, underlay: {subnets: ['172.17.0.0/24', '172.18.0.0/24']}, nodes: [{name: 'a', pods: 1}, {name: 'b', pods: 1}, {name: 'c', subnet: 1, pods: 1}]})
    const cluster = planCluster('f', topology, none)
    const spec = planFlannelNode(cluster, cluster.nodes[0]!)
    assert.deepEqual(spec.links.find((l) => l.name === 'flannel.1'), {name: 'flannel.1', kind: 'vxlan', vxlan: {id: 1, port: 8472, local: cluster.nodes[0]!.ip, dev: 'eth0', learning: false}, mac: flannelVtepMac(cluster.nodes[0]!), mtu: 1450, txqueuelen: 0})
    assert.deepEqual(spec.addresses.at(-1), {dev: 'flannel.1', cidr: '10.244.0.0/32'})
    assert.deepEqual(spec.routes.slice(1), [
      {dst: '10.244.1.0/24', via: cluster.nodes[1]!.ip, dev: 'eth0'},
      {dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'flannel.1', onlink: true},
    ])
    assert.deepEqual(spec.neighbours, [{dev: 'flannel.1', ip: '10.244.2.0', lladdr: flannelVtepMac(cluster.nodes[2]!)}])
    assert.deepEqual(spec.fdb, [{dev: 'flannel.1', mac: flannelVtepMac(cluster.nodes[2]!), dst: cluster.nodes[2]!.ip}])
    assert.match(flannelSubnetEnv(cluster, cluster.nodes[0]!), /FLANNEL_MTU=1450/)
    assert.throws(() => parseTopology({flavor: 'flannel', underlay: {subnets: ['172.17.0.0/24', '172.18.0.0/24']}, nodes: [{name: 'a'}]}), /host-gw needs every node on one L2 segment/)
  })

  it('udp: a TUN flannel0 (MTU 1472) holding the whole network, no route per peer; the proxy learns the peers instead', async () => {
    const topology = parseTopology({flavor: 'flannel', backend: {type: 'udp'}, underlay: {subnets: ['172.17.0.0/24', '172.18.0.0/24']}, nodes: [{name: 'a', pods: 1}, {name: 'b', pods: 1}, {name: 'c', subnet: 1, pods: 1}]})
    const cluster = planCluster('f', topology, none)
    const [a, b, c] = cluster.nodes as [LabNode, LabNode, LabNode]
    const spec = planFlannelNode(cluster, a)
    assert.deepEqual(spec.links.find((l) => l.name === 'flannel0'), {name: 'flannel0', kind: 'tun', mtu: 1472})
    // The address's prefix is the network's: the kernel's own route for it is "10.244.0.0/16 dev flannel0".
    assert.deepEqual(spec.addresses.at(-1), {dev: 'flannel0', cidr: '10.244.0.0/16'})
    assert.deepEqual(spec.routes.map((r) => r.dst), ['default'], 'no per-peer routes')
    assert.ok(spec.links.filter((l) => l.master === 'cni0').every((l) => l.mtu === 1472), 'pods at 1500 - 28')
    assert.match(flannelSubnetEnv(cluster, a), /FLANNEL_MTU=1472/)
    assert.deepEqual(udpProxyConfig(cluster, a, '/run/x.ready'), {
      tun: 'flannel0', listen: a.ip, port: 8285, ready: '/run/x.ready',
      routes: [{subnet: '10.244.1.0/24', node: b.ip}, {subnet: '10.244.2.0/24', node: c.ip}],
    })
    assert.throws(() => parseTopology({flavor: 'flannel', backend: {type: 'ipip'}, nodes: [{name: 'a'}]}), /flannel backend "ipip" is not one of host-gw, vxlan, udp/)
  })
})

describe('lab underlay ARP', () => {
  it('gives every node permanent neighbours for its subnet and gateway, and the router one for every node (the host-wide ARP table overflowed at 50 nodes)', () => {
    const topology = parseTopology({kind: 'LabTopology', underlay: {subnets: ['172.17.0.0/24', '172.18.0.0/24']}, nodes: [{name: 'a'}, {name: 'b'}, {name: 'c', subnet: 1}]})
    const cluster = planCluster('arp', topology, none)
    const specs = new Map(planLab(cluster).map((s) => [s.netns, s]))
    const [a, b, c] = cluster.nodes as [LabNode, LabNode, LabNode]
    const eth0Mac = (node: LabNode) => specs.get(node.netns)!.links.find((l) => l.name === 'eth0')!.mac!
    assert.equal(new Set([a, b, c].map(eth0Mac)).size, 3)
    const underlay = specs.get(cluster.underlayNetns)!
    const bridgeMac = (name: string) => underlay.links.find((l) => l.name === name)!.mac!
    assert.deepEqual(specs.get(a.netns)!.neighbours.filter((n) => n.dev === 'eth0'), [
      {dev: 'eth0', ip: '172.17.0.1', lladdr: bridgeMac('br0')},
      {dev: 'eth0', ip: b.ip, lladdr: eth0Mac(b)},
    ])
    assert.deepEqual(specs.get(c.netns)!.neighbours.filter((n) => n.dev === 'eth0'), [{dev: 'eth0', ip: '172.18.0.1', lladdr: bridgeMac('br1')}])
    assert.deepEqual(underlay.neighbours, [{dev: 'br0', ip: a.ip, lladdr: eth0Mac(a)}, {dev: 'br0', ip: b.ip, lladdr: eth0Mac(b)}, {dev: 'br1', ip: c.ip, lladdr: eth0Mac(c)}])
    // Permanent entries in the batch: `neigh replace ... nud permanent`.
    const lines = planLines(diffNetns(specs.get(a.netns)!, {links: [{name: 'lo', up: false}], addresses: [], routes: [], neighbours: [], fdb: [], sysctls: {}})).ip
    assert.ok(lines.includes(`neigh replace ${b.ip} lladdr ${eth0Mac(b)} dev eth0 nud permanent`), lines.join('\n'))
  })
})
