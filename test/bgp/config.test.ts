import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {bgpSessions, renderBirdConfig, type BgpNode} from '../../src/bgp/config.js'
import {parseSelector} from '../../src/resources/selector.js'
import type {Resource} from '../../src/resources/types.js'

const node = (name: string, ip: string, extra: Partial<BgpNode> = {}): BgpNode => ({name, ip, labels: {}, ...extra})
const nodes = [node('controlplane', '172.17.0.32', {labels: {'route-reflector': 'true'}, routeReflectorClusterID: '244.0.0.1'}), node('node01', '172.17.0.40'), node('node02', '172.17.0.48', {asNumber: 64600})]
const resource = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({apiVersion: 'projectcalico.org/v3', kind, metadata: {name}, spec})

describe('BGP sessions (the confd role)', () => {
  it('meshes every node with every other by default', () => {
    assert.deepEqual(bgpSessions(nodes[1]!, nodes, undefined, []), [
      {name: 'Mesh_172_17_0_32', peerIp: '172.17.0.32', peerAs: 64512, rrClient: false},
      {name: 'Mesh_172_17_0_48', peerIp: '172.17.0.48', peerAs: 64600, rrClient: false},
    ])
  })

  it('with the mesh off, peers by selector both ways and makes the reflector\'s peers its clients', () => {
    const config = resource('BGPConfiguration', 'default', {nodeToNodeMeshEnabled: false, asNumber: 64512})
    const peers = [resource('BGPPeer', 'rr', {nodeSelector: 'all()', peerSelector: "route-reflector == 'true'"})]
    assert.deepEqual(bgpSessions(nodes[1]!, nodes, config, peers), [{name: 'Node_172_17_0_32', peerIp: '172.17.0.32', peerAs: 64512, rrClient: false}])
    assert.deepEqual(bgpSessions(nodes[0]!, nodes, config, peers), [
      {name: 'Node_172_17_0_40', peerIp: '172.17.0.40', peerAs: 64512, rrClient: true},
      {name: 'Node_172_17_0_48', peerIp: '172.17.0.48', peerAs: 64600, rrClient: true},
    ])
  })

  it('adds global and node-specific peers by IP', () => {
    const config = resource('BGPConfiguration', 'default', {nodeToNodeMeshEnabled: false})
    const peers = [
      resource('BGPPeer', 'tor', {peerIP: '172.17.0.1', asNumber: 65001}),
      resource('BGPPeer', 'only-node01', {node: 'node01', peerIP: '172.17.0.250:179', asNumber: 65002}),
    ]
    assert.deepEqual(bgpSessions(nodes[1]!, nodes, config, peers).map((s) => [s.name, s.peerAs]), [['Global_172_17_0_1', 65001], ['Node_172_17_0_250', 65002]])
    assert.deepEqual(bgpSessions(nodes[2]!, nodes, config, peers).map((s) => s.name), ['Global_172_17_0_1'])
  })

  it('renders a bird.conf that blackholes and announces the node\'s blocks only', () => {
    const text = renderBirdConfig({node: nodes[0]!, asNumber: 64512, sessions: bgpSessions(nodes[0]!, nodes, undefined, []), blocks: ['192.168.0.0/26'], pools: [{cidr: '192.168.0.0/16'}], logFile: '/tmp/x/bird.log'})
    assert.match(text, /^router id 172\.17\.0\.32;$/m)
    assert.match(text, /protocol static static_blocks \{\n {2}ipv4;\n {2}route 192\.168\.0\.0\/26 blackhole;\n\}/)
    assert.match(text, /filter calico_kernel_programming \{\n {2}if \( net ~ 192\.168\.0\.0\/16 \) then \{ accept; \}\n {2}reject;\n\}/)
    assert.match(text, /protocol bgp Mesh_172_17_0_40 from bgp_template \{\n {2}neighbor 172\.17\.0\.40 as 64512;\n\}/)
    assert.match(text, /local 172\.17\.0\.32 as 64512;/)
    assert.doesNotMatch(text, /rr client/)
  })
})

describe('Calico selectors', () => {
  it('evaluates the forms BGP peerings use', () => {
    const labels = {'route-reflector': 'true', zone: 'a'}
    for (const [selector, expected] of [
      ['all()', true], ["route-reflector == 'true'", true], ["zone != 'a'", false], ['has(zone)', true], ['!has(zone)', false],
      ["zone in {'a', 'b'}", true], ["has(zone) && zone == 'b'", false], ["zone == 'b' || route-reflector == 'true'", true], ["(zone == 'b' || zone == 'a') && has(route-reflector)", true],
    ] as const) {
      assert.equal(parseSelector(selector)(labels), expected, selector)
    }
    assert.throws(() => parseSelector('zone ='), /cannot read the selector "zone ="/)
  })
})
