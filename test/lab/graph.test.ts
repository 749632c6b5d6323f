/** netctl lab graph without a kernel: the graph of a planned cluster, its Mermaid, DOT, SVG and HTML, and hostile names. */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import type {PeerStatus} from '../../src/bgp/protocols.js'
import {NetctlError} from '../../src/errors.js'
import {clusterResources, planCluster, routeReflectorLabel, type LabCluster} from '../../src/lab/plan/cluster.js'
import {
  buildLabGraph, dotString, dotToSvg, inlineSvg, mermaidOverLimits, mermaidText, renderLabGraph, toDot, toHtml, toMermaid, type LabFacts,
} from '../../src/lab/inspect/graph.js'
import {defaultTopology, parseTopology, type Topology} from '../../src/lab/topology/topology.js'
import {API_VERSION, type Resource} from '../../src/resources/types.js'
import {runCli, tempDir} from '../helpers/cli.js'

const none = {nodes: [], affinities: [], weps: []}

/** The facts of a lab as `lab up` leaves them: its Nodes, the BGPConfiguration and (with route reflectors) the BGPPeer. */
function factsOf(topology: Topology, birds?: LabFacts['birds']): LabFacts {
  const cluster = planCluster('demo', topology, none)
  if (!topology.bgp) return {cluster}
  const rr = topology.routeReflectors
  const config: Resource = {apiVersion: API_VERSION, kind: 'BGPConfiguration', metadata: {name: 'default'}, spec: {asNumber: 64512, nodeToNodeMeshEnabled: rr === 0}}
  const peers: Resource[] = rr ? [{apiVersion: API_VERSION, kind: 'BGPPeer', metadata: {name: 'peer-with-route-reflectors'}, spec: {nodeSelector: 'all()', peerSelector: `${routeReflectorLabel} == 'true'`}}] : []
  return {cluster, bgp: {nodes: clusterResources(cluster, rr).nodes, config, peers}, birds}
}

/** Every node's BIRD reporting `info` for every other node it peers with (mesh: all; reflectors: per the topology). */
function birdsSaying(cluster: LabCluster, peersOf: (node: string) => string[], info = 'Established'): NonNullable<LabFacts['birds']> {
  return Object.fromEntries(cluster.nodes.map((n) => [n.name, peersOf(n.name).map<PeerStatus>((other) => ({
    peerAddress: cluster.nodes.find((o) => o.name === other)!.ip, peerType: 'node-to-node mesh', state: info === 'Established' ? 'up' : 'start', since: '00:00:01', info, family: 4,
  }))]))
}

const namespacesOf = (cluster: LabCluster) => [cluster.underlayNetns, ...cluster.nodes.map((n) => n.netns), ...cluster.pods.map((p) => p.netns)]

/** Mermaid lines of the only forms toMermaid writes: a vertex, an edge with a quoted label, a link style. */
const vertexLine = /^ {2}(\w+)(?:\[\["([^"\n]*)"\]\]|\["([^"\n]*)"\]|\("([^"\n]*)"\)|\{\{"([^"\n]*)"\}\})$/
const edgeLine = /^ {2}(\w+) (---|-\.-)\|"([^"|\n]*)"\| (\w+)$/
const styleLine = /^ {2}linkStyle \d+ stroke:#[0-9a-f]{6},stroke-width:2px$/

function parseMermaid(text: string): {vertices: Map<string, string>; edges: Array<{from: string; to: string; dotted: boolean; label: string}>} {
  const lines = text.trimEnd().split('\n')
  assert.equal(lines[0], 'flowchart TB')
  const vertices = new Map<string, string>()
  const edges: Array<{from: string; to: string; dotted: boolean; label: string}> = []
  for (const line of lines.slice(1)) {
    const v = vertexLine.exec(line)
    const e = edgeLine.exec(line)
    if (v) vertices.set(v[1]!, v[2] ?? v[3] ?? v[4] ?? v[5]!)
    else if (e) edges.push({from: e[1]!, to: e[4]!, dotted: e[2] === '-.-', label: e[3]!})
    else assert.match(line, styleLine, `a line toMermaid never writes: ${JSON.stringify(line)}`)
  }
  for (const e of edges) assert.ok(vertices.has(e.from) && vertices.has(e.to), `edge ${e.from} -- ${e.to} between known vertices`)
  return {vertices, edges}
}

/** Mermaid decodes #NN; entities when it draws: what a reader sees. */
const decodeMermaid = (text: string) => text.replace(/#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code))).replaceAll('<br/>', '\n')

const svgNodes = (svg: string) => (svg.match(/<g id="node\d+" class="node">/g) ?? []).length
const svgEdges = (svg: string) => (svg.match(/<g id="edge\d+" class="edge">/g) ?? []).length

describe('lab graph: calico', () => {
  it('a mesh: a vertex per namespace, an edge per BGP session, Established in green', async () => {
    const topology = defaultTopology({nodes: 3, podsPerNode: 2})
    const facts = factsOf(topology)
    facts.birds = birdsSaying(facts.cluster, (node) => facts.cluster.nodes.map((n) => n.name).filter((n) => n !== node))
    const mermaid = toMermaid(buildLabGraph(facts))
    const {vertices, edges} = parseMermaid(mermaid)
    assert.equal(vertices.size, namespacesOf(facts.cluster).length)
    for (const netns of namespacesOf(facts.cluster)) assert.equal([...vertices.values()].filter((label) => decodeMermaid(label).includes(`netns ${netns}\n`)).length, 1, netns)
    const bgp = edges.filter((e) => e.dotted)
    assert.deepEqual(bgp.map((e) => `${e.from}-${e.to}`).sort(), ['n0-n1', 'n0-n2', 'n1-n2'])
    for (const e of bgp) assert.equal(decodeMermaid(e.label), 'BGP mesh: Established')
    assert.equal(edges.filter((e) => !e.dotted).length, 3 + 6, 'a link per node and per pod')
    assert.equal((mermaid.match(/linkStyle \d+ stroke:#2e7d32/g) ?? []).length, 3)
    const underlay = decodeMermaid(vertices.get('underlay')!)
    assert.match(underlay, /br0 172\.17\.0\.0\/16 gateway 172\.17\.0\.1/)
    assert.match(underlay, /ipipMode Never, vxlanMode Never/)
    assert.match(underlay, /routing: BGP node-to-node mesh: 3 sessions/)
    const pod = decodeMermaid(vertices.get('p0')!)
    assert.match(pod, /^pod default\/busybox-controlplane-0\nnetns nc-demo\.p-busybox-controlplane-0\neth0 192\.168\.0\.1\nhost side cali[0-9a-f]{11}/)
    assert.match(decodeMermaid(vertices.get('n1')!), /eth0 172\.17\.0\.40\/16\nblocks 192\.168\.0\.64\/26/)
    // The same graph in DOT is one Graphviz accepts, with a box per namespace and every edge.
    const svg = await dotToSvg(toDot(buildLabGraph(facts)))
    assert.equal(svgNodes(svg), vertices.size)
    assert.equal(svgEdges(svg), edges.length)
  })

  it('a mesh of 12 nodes is drawn too (Graphviz 2.43 gave up on node frames with free-floating session edges)', async () => {
    const graph = buildLabGraph(factsOf(defaultTopology({nodes: 12, podsPerNode: 2})))
    const svg = await dotToSvg(toDot(graph))
    assert.equal(svgNodes(svg), 1 + 12 + 24)
    assert.equal(svgEdges(svg), 12 + 24 + (12 * 11) / 2)
  })

  it('a mesh too large for Mermaid\'s defaults says so; a small one does not', async () => {
    const big = factsOf(defaultTopology({nodes: 30, podsPerNode: 4}))
    const {text, warning} = await renderLabGraph(big, 'mermaid')
    assert.equal(warning, `this Mermaid graph has ${text.length} characters (Mermaid draws 50000 by default) and 585 edges (Mermaid draws 500 by default)`)
    assert.equal((await renderLabGraph(factsOf(defaultTopology({nodes: 3})), 'mermaid')).warning, undefined)
    assert.equal(mermaidOverLimits('x', buildLabGraph(big)), 'this Mermaid graph has 585 edges (Mermaid draws 500 by default)')
  })

  it('a BGPPeer outside the lab: one vertex for it, a session from every node it selects', () => {
    const facts = factsOf(defaultTopology({nodes: 2, podsPerNode: 0}))
    facts.bgp!.peers.push({apiVersion: API_VERSION, kind: 'BGPPeer', metadata: {name: 'tor'}, spec: {peerIP: '172.17.0.254', asNumber: 65001}})
    facts.birds = {controlplane: [{peerAddress: '172.17.0.254', peerType: 'global', state: 'start', since: '', info: 'Connect', family: 4}]}
    const graph = buildLabGraph(facts)
    assert.deepEqual(graph.vertices.filter((v) => v.kind === 'peer').map((v) => [v.id, v.title]), [['x0', 'BGP peer 172.17.0.254']])
    assert.deepEqual(graph.edges.filter((e) => e.to === 'x0').map((e) => [e.from, e.state, e.label]), [['n0', 'down', 'BGP peer: controlplane Connect'], ['n1', 'unknown', 'BGP peer: unknown (no answer from BIRD)']])
    assert.match(toMermaid(graph), /^ {2}x0\{\{"BGP peer 172\.17\.0\.254<br\/>outside the lab"\}\}$/m)
  })

  it('route reflectors: sessions only to the reflector, and the reflector says it is one', async () => {
    const facts = factsOf(defaultTopology({nodes: 4, podsPerNode: 1, routeReflectors: 1}))
    const graph = buildLabGraph(facts)
    const {edges, vertices} = parseMermaid(toMermaid(graph))
    assert.deepEqual(edges.filter((e) => e.dotted).map((e) => `${e.from}-${e.to}`).sort(), ['n0-n1', 'n0-n2', 'n0-n3'])
    for (const e of edges.filter((e) => e.dotted)) assert.equal(decodeMermaid(e.label), 'BGP route reflector: unknown (no answer from BIRD)')
    assert.match(decodeMermaid(vertices.get('n0')!), /route reflector, cluster ID 244\.0\.0\.1/)
    assert.doesNotMatch(decodeMermaid(vertices.get('n1')!), /route reflector/)
    assert.match(graph.routing, /^BGP via route reflectors: 3 sessions$/)
    assert.equal(svgEdges(await dotToSvg(toDot(graph))), 4 + 4 + 3)
  })

  it('vxlan and ipip: the tunnel device with its address on each node, and the pool\'s modes', async () => {
    const facts = factsOf(defaultTopology({nodes: 2, podsPerNode: 1}))
    facts.cluster.pool = {...facts.cluster.pool, spec: {...facts.cluster.pool.spec!, vxlanMode: 'Always'}}
    let graph = buildLabGraph(facts)
    assert.equal(graph.encapsulation, 'IPPool default-ipv4-ippool 192.168.0.0/16: ipipMode Never, vxlanMode Always')
    assert.ok(graph.vertices.find((v) => v.id === 'n1')!.lines.includes('vxlan.calico 192.168.0.64 (VXLAN VNI 4096, UDP 4789)'))
    assert.ok(!graph.vertices.some((v) => v.lines.some((l) => l.startsWith('tunl0'))))
    assert.ok((await renderLabGraph(facts, 'svg')).text.includes('vxlan.calico 192.168.0.0'))
    facts.cluster.pool = {...facts.cluster.pool, spec: {...facts.cluster.pool.spec!, vxlanMode: 'Never', ipipMode: 'CrossSubnet'}}
    graph = buildLabGraph(facts)
    assert.ok(graph.vertices.find((v) => v.id === 'n0')!.lines.includes('tunl0 192.168.0.0 (IPIP)'))
    assert.ok(graph.vertices.find((v) => v.id === 'n0')!.lines.includes('tunnels to no peer (all on this subnet)'))
    assert.match(graph.encapsulation, /ipipMode CrossSubnet, vxlanMode Never/)
  })

  it('CrossSubnet across two subnets: a bridge per subnet, and each node tunnels only to the other subnet\'s blocks', () => {
    const topology = parseTopology({underlay: {subnets: ['172.17.0.0/24', '172.18.0.0/24']}, nodes: [{name: 'a', pods: 1}, {name: 'b', pods: 1}, {name: 'c', subnet: 1, pods: 1}]})
    const facts = factsOf(topology)
    facts.cluster.pool = {...facts.cluster.pool, spec: {...facts.cluster.pool.spec!, ipipMode: 'CrossSubnet'}}
    const graph = buildLabGraph(facts)
    const lines = (id: string) => graph.vertices.find((v) => v.id === id)!.lines
    assert.ok(lines('underlay').includes('br0 172.17.0.0/24 gateway 172.17.0.1'))
    assert.ok(lines('underlay').includes('br1 172.18.0.0/24 gateway 172.18.0.1'))
    assert.ok(lines('n0').includes('tunnels to 192.168.0.128/26'), lines('n0').join('; '))
    assert.ok(lines('n2').includes('tunnels to 192.168.0.0/26, 192.168.0.64/26'))
    assert.deepEqual(graph.edges.filter((e) => e.to === 'underlay').map((e) => e.label), ['eth0 ⇄ br0', 'eth0 ⇄ br0', 'eth0 ⇄ br1'])
  })

  it('static routes: no sessions, and it says so', () => {
    const graph = buildLabGraph(factsOf(defaultTopology({nodes: 2, bgp: false})))
    assert.equal(graph.edges.filter((e) => e.kind === 'bgp').length, 0)
    assert.equal(graph.routing, 'static routes (no BGP)')
  })

  it('session states: one end not Established is down (red, both ends named); BIRD not running is unknown', () => {
    const facts = factsOf(defaultTopology({nodes: 2, podsPerNode: 0}))
    facts.birds = {controlplane: birdsSaying(facts.cluster, () => ['node01'])['controlplane']!, node01: birdsSaying(facts.cluster, () => ['controlplane'], 'Active Socket: Connection refused')['node01']!}
    let graph = buildLabGraph(facts)
    let bgp = graph.edges.filter((e) => e.kind === 'bgp')
    assert.deepEqual(bgp.map((e) => [e.state, e.label]), [['down', 'BGP mesh: controlplane Established, node01 Active Socket: Connection refused']])
    assert.match(toMermaid(graph), /linkStyle 2 stroke:#c62828/)
    facts.birds = {controlplane: {unavailable: 'not running'}, node01: {unavailable: 'not running'}}
    graph = buildLabGraph(facts)
    bgp = graph.edges.filter((e) => e.kind === 'bgp')
    assert.deepEqual(bgp.map((e) => [e.state, e.label]), [['unknown', 'BGP mesh: unknown (no answer from BIRD)']])
    assert.ok(graph.vertices.find((v) => v.id === 'n0')!.lines.includes('BIRD: not running'))
  })
})

describe('lab graph: flannel', () => {
  it('host-gw: cni0 on each node, no tunnel device, no BGP', async () => {
    const facts = factsOf(defaultTopology({flavor: 'flannel', nodes: 2, podsPerNode: 2}))
    const graph = buildLabGraph(facts)
    const {vertices, edges} = parseMermaid(toMermaid(graph))
    assert.equal(vertices.size, namespacesOf(facts.cluster).length)
    assert.equal(edges.filter((e) => e.dotted).length, 0)
    assert.equal(graph.encapsulation, 'flannel backend host-gw, network 10.244.0.0/16')
    assert.deepEqual(graph.vertices.find((v) => v.id === 'n1')!.lines, ['netns nc-demo.n-node01', 'eth0 172.17.0.40/16', 'subnet 10.244.1.0/24', 'cni0 10.244.1.1/24'])
    assert.match(decodeMermaid(vertices.get('p0')!), /host side veth[0-9a-f]{8}/)
    assert.equal(svgNodes(await dotToSvg(toDot(graph))), vertices.size)
  })

  it('vxlan: flannel.1 with the subnet\'s .0 on each node, and the backend named', async () => {
    const facts = factsOf(defaultTopology({flavor: 'flannel', nodes: 2, podsPerNode: 1, backend: {type: 'vxlan', directRouting: true}}))
    const graph = buildLabGraph(facts)
    assert.equal(graph.encapsulation, 'flannel backend vxlan (DirectRouting), network 10.244.0.0/16')
    assert.ok(graph.vertices.find((v) => v.id === 'n1')!.lines.includes('flannel.1 10.244.1.0 (VXLAN VNI 1, UDP 8472)'))
    const html = (await renderLabGraph(facts, 'html')).text
    assert.match(html, /^<!doctype html>/)
    assert.match(html, /<figure><svg [^>]*>[\s\S]*flannel\.1 10\.244\.1\.0[\s\S]*<\/svg><\/figure>/)
    assert.match(html, /Encapsulation: flannel backend vxlan \(DirectRouting\)/)
    assert.match(html, /<h2>Legend<\/h2>/)
    assert.doesNotMatch(html, /<\?xml|<!DOCTYPE svg|<script|<link|@import|url\(|src=/i, 'nothing external, nothing that runs')
  })
})

describe('lab graph: hostile names and values', () => {
  const hostile = 'x"] --> evil["<script>alert(1)</script>\n}{|\\N\\"\u2028end'

  function hostileFacts(): LabFacts {
    const facts = factsOf(defaultTopology({nodes: 2, podsPerNode: 1}))
    const {cluster} = facts
    cluster.lab = `lab</title><script>alert(2)</script>`
    cluster.pods[0]!.name = hostile
    cluster.pods[0]!.hostIf = `cali"<b>|`
    cluster.nodes[1]!.netns = `n"; evil [label="owned"]; "`
    cluster.subnets[0]!.bridge = 'br0"]]; click underlay "javascript:alert(3)"'
    cluster.pool = {...cluster.pool, metadata: {name: '-->|"x"| n0'}, spec: {...cluster.pool.spec!, cidr: "10.0.0.0/8' onload='alert(4)"}}
    facts.birds = birdsSaying(cluster, (node) => (node === 'controlplane' ? ['node01'] : ['controlplane']), 'Established"| n0 --- n1 %%')
    return facts
  }

  it('cannot leave a Mermaid label: every line keeps its form, and the text reads back as written', () => {
    const facts = hostileFacts()
    const mermaid = toMermaid(buildLabGraph(facts))
    const {vertices, edges} = parseMermaid(mermaid)
    assert.equal(vertices.size, namespacesOf(facts.cluster).length)
    assert.equal(edges.length, 2 + 2 + 1)
    assert.doesNotMatch(mermaid, /<script|<b>|javascript:|%%/)
    const pod = decodeMermaid(vertices.get('p0')!)
    assert.ok(pod.startsWith(`pod default/${hostile.replace(/[\n\u2028]/g, '\uFFFD')}\n`), pod)
    assert.equal(decodeMermaid(edges.find((e) => e.dotted)!.label), 'BGP mesh: controlplane Established"| n0 --- n1 %%, node01 Established"| n0 --- n1 %%')
  })

  it('cannot leave a DOT string: Graphviz draws exactly our boxes and edges, with the text as written', async () => {
    const facts = hostileFacts()
    const graph = buildLabGraph(facts)
    const svg = await dotToSvg(toDot(graph))
    assert.equal(svgNodes(svg), graph.vertices.length)
    assert.equal(svgEdges(svg), graph.edges.length)
    assert.doesNotMatch(svg, /<title>evil|<script|<b>/)
    assert.match(svg, />pod default\/x&quot;\] &#45;&#45;&gt; evil\[&quot;&lt;script&gt;alert\(1\)&lt;\/script&gt;\uFFFD\}\{\|\\N\\&quot;\uFFFDend</)
    assert.equal(dotString('a"b\\c\nd'), '"a\\"b\\\\c\uFFFDd"')
  })

  it('cannot leave the HTML page: no script, one title, and the page forbids scripts anyway', async () => {
    const html = (await renderLabGraph(hostileFacts(), 'html')).text
    assert.doesNotMatch(html, /<script|<b>|onload='|<\/title><script/i)
    assert.equal(html.split('<body>')[0]!.match(/<title>/g)!.length, 1)
    assert.match(html, /<title>lab lab&lt;\/title&gt;&lt;script&gt;alert\(2\)&lt;\/script&gt; \(calico\)<\/title>/)
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/)
    assert.match(html, /10\.0\.0\.0\/8&#39; onload=&#39;alert\(4\)/)
  })

  it('escapes every Mermaid-significant character as a numeric entity', () => {
    assert.equal(mermaidText('a"b|c[d]e{f}g<h>i#j;k`l:m\n'), 'a#34;b#124;c#91;d#93;e#123;f#125;g#60;h#62;i#35;j#59;k#96;l#58;m#65533;')
  })

  it('refuses an SVG that holds anything active', () => {
    for (const svg of ['<svg><script>alert(1)</script></svg>', '<svg onload="alert(1)"></svg>', '<svg><a href="javascript:alert(1)">x</a></svg>', '<svg><foreignObject></foreignObject></svg>']) {
      assert.throws(() => inlineSvg(svg), (e: unknown) => e instanceof NetctlError && /active element/.test(e.message), svg)
    }
    assert.equal(inlineSvg('<?xml version="1.0"?>\n<!-- Title: x -->\n<svg><!-- n0 --><text>&lt;script&gt;</text></svg>\n'), '<svg><text>&lt;script&gt;</text></svg>')
    assert.match(toHtml(buildLabGraph(factsOf(defaultTopology({nodes: 1}))), '<svg></svg>', new Date(0)), /<figure><svg><\/svg><\/figure>[\s\S]*1970-01-01T00:00:00\.000Z/)
  })
})

describe('lab graph: Graphviz missing, and the command', () => {
  it('says to install graphviz when dot is not on the PATH', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'netctl-nodot-'))
    const path = process.env.PATH
    process.env.PATH = empty
    try {
      await assert.rejects(dotToSvg('graph {}'), (e: unknown) => e instanceof NetctlError && e.kind === 'unsupported' && e.suggestion === 'install graphviz (apt-get install graphviz), or use -o mermaid or -o dot')
    } finally {
      process.env.PATH = path
      rmSync(empty, {recursive: true, force: true})
    }
  })

  it('names what is wrong: no lab, an unknown format', async () => {
    const state = tempDir()
    try {
      const noLab = await runCli(['lab', 'graph'], {stateDir: state.path})
      assert.equal(noLab.code, 2, noLab.stderr)
      assert.match(noLab.stderr, /there is no lab/)
      const badFormat = await runCli(['lab', 'graph', '-o', 'png'], {stateDir: state.path})
      assert.equal(badFormat.code, 2)
      assert.match(badFormat.stderr, /Expected --output=png to be one of: mermaid, dot, svg, html/)
    } finally {
      state.cleanup()
    }
  })
})

describe('lab graph --trace', () => {
  it('marks the traced namespaces, the links between consecutive ones, and says how the packet ends', async () => {
    const {highlightPath} = await import('../../src/lab/inspect/graph.js')
    const facts = factsOf(defaultTopology({podsPerNode: 1}))
    const {cluster} = facts
    const [source, target] = cluster.pods
    const path = [source!.netns, cluster.nodes[0]!.netns, cluster.underlayNetns, cluster.nodes[1]!.netns, target!.netns]
    const graph = highlightPath(buildLabGraph(facts), cluster, {namespaces: path, summary: 'path a → b (delivered, ttl=62)'})
    assert.match(graph.title, /— path a → b \(delivered, ttl=62\)$/)
    assert.deepEqual(graph.vertices.filter((v) => v.onPath).map((v) => v.id).sort(), ['n0', 'n1', 'p0', 'p1', 'underlay'])
    assert.deepEqual(graph.edges.filter((e) => e.onPath).map((e) => `${e.from}-${e.to}`).sort(), ['n0-underlay', 'n1-underlay', 'p0-n0', 'p1-n1'])
    assert.equal(graph.edges.filter((e) => e.kind === 'bgp').some((e) => e.onPath), false, 'a BGP session is not a packet path')
    const mermaid = toMermaid(graph)
    assert.equal((mermaid.match(/stroke:#1565c0,stroke-width:4px/g) ?? []).length, 4)
    assert.match(mermaid, /^ {2}style p0 stroke:#1565c0,stroke-width:3px$/m)
    // Graphviz still draws it, with the path in its colour.
    const svg = await dotToSvg(toDot(graph))
    assert.match(svg, /stroke="#1565c0"/)
    // A path that stops half-way (a drop) marks only what it crossed.
    const dropped = highlightPath(buildLabGraph(facts), cluster, {namespaces: path.slice(0, 2), summary: 'dropped'})
    assert.deepEqual(dropped.vertices.filter((v) => v.onPath).map((v) => v.id).sort(), ['n0', 'p0'])
  })
})
