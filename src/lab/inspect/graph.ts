/**
 * `netctl lab graph`: a lab as a picture. One function gathers the live facts (the lab's
 * cluster from its datastore, the BGP objects, what each node's BIRD says); the rest is pure:
 * facts → a small graph (a vertex per namespace, an edge per link and per BGP session) →
 * Mermaid, DOT or a self-contained HTML page around Graphviz's SVG.
 *
 * Names and values come from a datastore others can write, so every label is escaped for its
 * target: Mermaid labels carry only safe characters and numeric entities, DOT strings are
 * backslash-escaped, HTML is entity-escaped (and the page forbids scripts outright).
 */
import {birdQuery} from '../../bgp/birdc.js'
import {bgpSessions, nodeFromResource, type BgpNode} from '../../bgp/config.js'
import {bgpPeers, parseProtocols, type PeerStatus} from '../../bgp/protocols.js'
import {inParallel, run} from '../../dataplane/run.js'
import {isNetctlError, NetctlError} from '../../errors.js'
import {bgpConfigurationKind, bgpPeerKind} from '../../resources/bgp.js'
import {formatIp, parseCidr} from '../../resources/cidr.js'
import {nodeKind} from '../../resources/node.js'
import type {Resource} from '../../resources/types.js'
import {encapsulationOf, ipipDevice, tunnelAddress, tunnelledBlocks, vxlanDevice} from '../plan/calico.js'
import {loadCluster, type LabCluster, type LabNode} from '../plan/cluster.js'
import {flannelUdp, flannelVxlan} from '../plan/flannel.js'
import {labBirdSockets, requireClusterLab, withDatastore} from '../lab.js'
import {checkStored, ownerOf} from '../stored.js'

export const graphFormats = ['mermaid', 'dot', 'svg', 'html'] as const
export type GraphFormat = (typeof graphFormats)[number]

/** What the graph is drawn from: the cluster, its BGP objects, and each node's BIRD (peers, or why none answered). */
export interface LabFacts {
  cluster: LabCluster
  /** calico with BGP: the lab's Node objects, the BGPConfiguration and the BGPPeers, as confd reads them. */
  bgp?: {nodes: Resource[]; config?: Resource; peers: Resource[]}
  /** Per node: BIRD's peers, or why BIRD could not be asked. Missing: not asked. */
  birds?: Record<string, PeerStatus[] | {unavailable: string}>
}

export type SessionState = 'established' | 'down' | 'unknown'

export interface GraphVertex {
  id: string
  /** On the traced path (lab graph --trace). */
  onPath?: boolean
  kind: 'underlay' | 'node' | 'pod' | 'peer'
  /** The first line: what it is. */
  title: string
  /** Further lines: netns, addresses, blocks, devices. */
  lines: string[]
}

export interface GraphEdge {
  from: string
  to: string
  onPath?: boolean
  kind: 'link' | 'bgp'
  label: string
  state?: SessionState
}

export interface LabGraph {
  title: string
  /** What carries pod traffic between nodes, and what spreads the routes. */
  encapsulation: string
  routing: string
  vertices: GraphVertex[]
  edges: GraphEdge[]
}

// ---------------------------------------------------------------------------------------------
// Facts → graph (pure)

export interface LabSession {
  /** A lab node's name. */
  a: string
  /** Another lab node's name, or an external peer's address. */
  b: string
  bIsNode: boolean
  kind: 'mesh' | 'route reflector' | 'peer'
  /** What each end's BIRD says (info, else state), keyed by node name; absent: not known. */
  views: Record<string, string>
  state: SessionState
}

/** The BGP sessions of a lab, one per pair of speakers, as confd would configure them, with what BIRD says of each. */
export function labSessions(facts: LabFacts): LabSession[] {
  const {cluster, bgp} = facts
  if (cluster.flavor !== 'calico' || !cluster.bgp || !bgp) return []
  const nodes = bgp.nodes.map(nodeFromResource)
  const byIp = new Map(cluster.nodes.map((n) => [n.ip, n]))
  const sessions = new Map<string, LabSession>()
  for (const labNode of cluster.nodes) {
    const self = nodes.find((n) => n.name === labNode.name)
    if (!self) continue
    for (const s of bgpSessions(self, nodes, bgp.config, bgp.peers)) {
      const peer = byIp.get(s.peerIp)
      const b = peer?.name ?? s.peerIp
      const key = peer ? [labNode.name, b].sort().join('\u0000') : `${labNode.name}\u0000${b}`
      const kind = s.name.startsWith('Mesh_') ? 'mesh' : isReflector(self) || (peer && isReflector(nodes.find((n) => n.name === peer.name))) ? 'route reflector' : 'peer'
      const session = sessions.get(key) ?? {a: labNode.name, b, bIsNode: Boolean(peer), kind, views: {}, state: 'unknown' as SessionState}
      const view = viewOf(facts.birds?.[labNode.name], s.peerIp)
      if (view !== undefined) session.views[labNode.name] = view
      sessions.set(key, session)
    }
  }
  for (const s of sessions.values()) s.state = stateOf(Object.values(s.views))
  return [...sessions.values()]
}

const isReflector = (node: BgpNode | undefined) => Boolean(node?.routeReflectorClusterID)

function viewOf(bird: PeerStatus[] | {unavailable: string} | undefined, peerIp: string): string | undefined {
  if (!bird || !Array.isArray(bird)) return undefined
  const peer = bird.find((p) => p.peerAddress === peerIp)
  return peer ? peer.info || peer.state : 'not configured in BIRD'
}

/** Established when every end that answered says so (and one did); down when one says otherwise. */
function stateOf(views: string[]): SessionState {
  if (views.length === 0) return 'unknown'
  return views.every((v) => v === 'Established') ? 'established' : 'down'
}

const tunnelLines = (cluster: LabCluster, node: LabNode): string[] => {
  if (cluster.flavor === 'calico') {
    const encap = encapsulationOf(cluster)
    const lines: string[] = []
    if (encap.vxlan !== 'Never') lines.push(`${vxlanDevice.name} ${tunnelAddress(node)} (VXLAN VNI ${vxlanDevice.vni}, UDP ${vxlanDevice.port})`)
    if (encap.ipip !== 'Never') lines.push(`${ipipDevice.name} ${tunnelAddress(node)} (IPIP)`)
    if (lines.length > 0) {
      // CrossSubnet tunnels only to other subnets: which peers' blocks actually go through it.
      const blocks = tunnelledBlocks(cluster, node)
      lines.push(blocks.length === 0 ? 'tunnels to no peer (all on this subnet)' : `tunnels to ${blocks.slice(0, 3).join(', ')}${blocks.length > 3 ? ` and ${blocks.length - 3} more blocks` : ''}`)
    }
    return lines
  }
  const subnet = parseCidr(node.blocks[0]!)!
  const lines = [`cni0 ${formatIp(4, subnet.network + 1n)}/${subnet.prefix}`]
  if (cluster.backend?.type === 'vxlan') lines.push(`${flannelVxlan.name} ${formatIp(4, subnet.network)} (VXLAN VNI ${flannelVxlan.vni}, UDP ${flannelVxlan.port})`)
  if (cluster.backend?.type === 'udp') lines.push(`${flannelUdp.name} ${formatIp(4, subnet.network)} (TUN, UDP ${flannelUdp.port})`)
  return lines
}

export function describeEncapsulation(cluster: LabCluster): string {
  if (cluster.flavor === 'flannel') {
    const backend = cluster.backend ?? {type: 'host-gw'}
    return `flannel backend ${backend.type}${backend.directRouting ? ' (DirectRouting)' : ''}, network ${String(cluster.pool.spec?.cidr)}`
  }
  const encap = encapsulationOf(cluster)
  return `IPPool ${cluster.pool.metadata.name} ${String(cluster.pool.spec?.cidr)}: ipipMode ${encap.ipip}, vxlanMode ${encap.vxlan}`
}

function describeRouting(facts: LabFacts, sessions: LabSession[]): string {
  const {cluster} = facts
  if (cluster.flavor === 'flannel') return 'routes programmed by flanneld (no BGP)'
  if (!cluster.bgp) return 'static routes (no BGP)'
  const mesh = facts.bgp?.config?.spec?.nodeToNodeMeshEnabled !== false
  const reflectors = sessions.some((s) => s.kind === 'route reflector')
  return `BGP ${[mesh ? 'node-to-node mesh' : '', reflectors ? 'via route reflectors' : ''].filter(Boolean).join(' and ') || 'peers'}: ${sessions.length} sessions`
}

export function buildLabGraph(facts: LabFacts): LabGraph {
  const {cluster} = facts
  const sessions = labSessions(facts)
  const encapsulation = describeEncapsulation(cluster)
  const routing = describeRouting(facts, sessions)
  const reflectors = new Map((facts.bgp?.nodes ?? []).map(nodeFromResource).filter(isReflector).map((n) => [n.name, n.routeReflectorClusterID!]))
  const vertices: GraphVertex[] = []
  const edges: GraphEdge[] = []
  vertices.push({
    id: 'underlay',
    kind: 'underlay',
    title: `lab ${cluster.lab} (${cluster.flavor}): underlay and router`,
    lines: [`netns ${cluster.underlayNetns}`, ...cluster.subnets.map((s) => `${s.bridge} ${s.cidr} gateway ${s.gateway}`), `MTU ${cluster.mtu}`, `encapsulation: ${encapsulation}`, `routing: ${routing}`],
  })
  const nodeId = new Map(cluster.nodes.map((n, i) => [n.name, `n${i}`]))
  cluster.nodes.forEach((node) => {
    const id = nodeId.get(node.name)!
    const subnet = cluster.subnets[node.subnet]!
    const bird = facts.birds?.[node.name]
    const lines = [
      `netns ${node.netns}`,
      `eth0 ${node.ip}/${subnet.prefix}`,
      `${cluster.flavor === 'calico' ? 'blocks' : 'subnet'} ${node.blocks.join(', ')}`,
      ...tunnelLines(cluster, node),
      ...(reflectors.has(node.name) ? [`route reflector, cluster ID ${reflectors.get(node.name)}`] : []),
      ...(bird && !Array.isArray(bird) ? [`BIRD: ${bird.unavailable}`] : []),
    ]
    vertices.push({id, kind: 'node', title: `node ${node.name}`, lines})
    edges.push({from: id, to: 'underlay', kind: 'link', label: `eth0 ⇄ ${subnet.bridge}`})
  })
  cluster.pods.forEach((pod, i) => {
    const id = `p${i}`
    const node = nodeId.get(pod.node)!
    vertices.push({id, kind: 'pod', title: `pod ${pod.namespace}/${pod.name}`, lines: [`netns ${pod.netns}`, `eth0 ${pod.ip}`, `host side ${pod.hostIf}`]})
    edges.push({from: id, to: node, kind: 'link', label: `eth0 ⇄ ${pod.hostIf}`})
  })
  const peerId = new Map<string, string>()
  for (const s of sessions) {
    let to = nodeId.get(s.b)
    if (!s.bIsNode) {
      if (!peerId.has(s.b)) {
        peerId.set(s.b, `x${peerId.size}`)
        vertices.push({id: peerId.get(s.b)!, kind: 'peer', title: `BGP peer ${s.b}`, lines: ['outside the lab']})
      }
      to = peerId.get(s.b)
    }
    edges.push({from: nodeId.get(s.a)!, to: to!, kind: 'bgp', label: `BGP ${s.kind}: ${sessionLabel(s)}`, state: s.state})
  }
  return {title: `lab ${cluster.lab} (${cluster.flavor})`, encapsulation, routing, vertices, edges}
}

/**
 * Mark a traced packet's path (the namespaces it crosses, in order) on the graph: its
 * vertices, the links between consecutive ones, and a line in the title saying how it ends.
 */
export function highlightPath(graph: LabGraph, cluster: LabCluster, path: {namespaces: string[]; summary: string}): LabGraph {
  const byNetns = new Map<string, string>([[cluster.underlayNetns, 'underlay'], ...cluster.nodes.map((n, i) => [n.netns, `n${i}`] as [string, string]), ...cluster.pods.map((p, i) => [p.netns, `p${i}`] as [string, string])])
  const ids = path.namespaces.map((ns) => byNetns.get(ns)).filter((id): id is string => id !== undefined)
  const on = new Set(ids)
  const steps = new Set(ids.slice(1).map((id, i) => [ids[i]!, id].sort().join(' ')))
  return {
    ...graph,
    title: `${graph.title} — ${path.summary}`,
    vertices: graph.vertices.map((v) => (on.has(v.id) ? {...v, onPath: true} : v)),
    edges: graph.edges.map((e) => (e.kind === 'link' && steps.has([e.from, e.to].sort().join(' ')) ? {...e, onPath: true} : e)),
  }
}

function sessionLabel(s: LabSession): string {
  const views = Object.entries(s.views)
  if (views.length === 0) return 'unknown (no answer from BIRD)'
  if (s.state === 'established' && views.length === (s.bIsNode ? 2 : 1)) return 'Established'
  const ends = s.bIsNode ? [s.a, s.b] : [s.a]
  return ends.map((end) => `${end} ${s.views[end] ?? 'unknown'}`).join(', ')
}

// ---------------------------------------------------------------------------------------------
// Escaping (pure)

/** Control characters (a newline in a name) become U+FFFD: visible, and never a line break of the output. */
const clean = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\uFFFD')

/**
 * Mermaid label text: letters, digits and a few harmless marks stay; every other character
 * becomes a numeric entity (#34; for a quote), which Mermaid turns into an HTML entity
 * after parsing, so nothing in a name can end the label or reach the page as markup.
 */
export function mermaidText(text: string): string {
  return [...clean(text)].map((ch) => (/^[A-Za-z0-9 .,/_+@*()-]$/.test(ch) ? ch : `#${ch.codePointAt(0)};`)).join('')
}

/** A DOT double-quoted string: backslashes and quotes escaped (so no \N, \G … of the user's is expanded). */
export function dotString(text: string): string {
  return `"${clean(text).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[ch]!)
}

// ---------------------------------------------------------------------------------------------
// Renderers (pure)

const stateColor: Record<SessionState, string> = {established: '#2e7d32', down: '#c62828', unknown: '#9e9e9e'}
const pathColor = '#1565c0'

export function toMermaid(graph: LabGraph): string {
  const label = (v: GraphVertex) => [v.title, ...v.lines].map(mermaidText).join('<br/>')
  const shape = (v: GraphVertex) => {
    const text = `"${label(v)}"`
    return v.kind === 'underlay' ? `[[${text}]]` : v.kind === 'pod' ? `(${text})` : v.kind === 'peer' ? `{{${text}}}` : `[${text}]`
  }
  // The title, encapsulation and routing are in the underlay's label: a front-matter title would need YAML escaping too.
  const lines = ['flowchart TB']
  for (const v of graph.vertices) lines.push(`  ${v.id}${shape(v)}`)
  graph.edges.forEach((e) => lines.push(`  ${e.from} ${e.kind === 'bgp' ? '-.-' : '---'}|"${mermaidText(e.label)}"| ${e.to}`))
  graph.edges.forEach((e, i) => {
    if (e.kind === 'bgp') lines.push(`  linkStyle ${i} stroke:${stateColor[e.state ?? 'unknown']},stroke-width:2px`)
    if (e.onPath) lines.push(`  linkStyle ${i} stroke:${pathColor},stroke-width:4px`)
  })
  for (const v of graph.vertices) if (v.onPath) lines.push(`  style ${v.id} stroke:${pathColor},stroke-width:3px`)
  return lines.join('\n') + '\n'
}

/** Mermaid's defaults (maxTextSize, maxEdges): a diagram beyond either is refused where it is drawn. */
export const mermaidLimits = {textSize: 50_000, edges: 500}

/** Why Mermaid would refuse to draw this text at its default settings, if it would. */
export function mermaidOverLimits(text: string, graph: LabGraph): string | undefined {
  const over = [
    text.length > mermaidLimits.textSize ? `${text.length} characters (Mermaid draws ${mermaidLimits.textSize} by default)` : '',
    graph.edges.length > mermaidLimits.edges ? `${graph.edges.length} edges (Mermaid draws ${mermaidLimits.edges} by default)` : '',
  ].filter(Boolean)
  return over.length ? `this Mermaid graph has ${over.join(' and ')}` : undefined
}

export function toDot(graph: LabGraph): string {
  const shape: Record<GraphVertex['kind'], string> = {underlay: 'box3d', node: 'box', pod: 'box', peer: 'hexagon'}
  const style: Record<GraphVertex['kind'], string> = {underlay: 'filled', node: 'filled', pod: 'rounded,filled', peer: 'filled'}
  const fill: Record<GraphVertex['kind'], string> = {underlay: '#e3f2fd', node: '#fff3e0', pod: '#f1f8e9', peer: '#eeeeee'}
  const vertexLine = (v: GraphVertex) =>
    `${dotString(v.id)} [label=${dotLabel([v.title, ...v.lines])}, shape=${shape[v.kind]}, style=${dotString(style[v.kind])}, fillcolor=${dotString(fill[v.kind])}${v.onPath ? `, color=${dotString(pathColor)}, penwidth=3` : ''}];`
  const lines = [
    'graph "lab" {',
    `  label=${dotString(graph.title)};`,
    '  labelloc="t"; rankdir="TB"; splines="line"; fontname="sans-serif";',
    '  node [fontname="sans-serif", fontsize=10];',
    '  edge [fontname="sans-serif", fontsize=9];',
  ]
  for (const v of graph.vertices) lines.push(`  ${vertexLine(v)}`)
  // Nodes side by side, pods above, the underlay below. No frames around a node and its pods:
  // Graphviz 2.43 gives up ("trouble in init_rank") on frames crossed by edges that do not rank.
  const nodes = graph.vertices.filter((v) => v.kind === 'node')
  if (nodes.length > 0) lines.push(`  {rank="same"; ${nodes.map((v) => `${dotString(v.id)};`).join(' ')}}`)
  for (const e of graph.edges) {
    const attrs = [`label=${dotString(e.label)}`]
    if (e.kind === 'bgp') attrs.push('style="dashed"', `color=${dotString(stateColor[e.state ?? 'unknown'])}`, `fontcolor=${dotString(stateColor[e.state ?? 'unknown'])}`, 'penwidth=2', 'constraint=false')
    if (e.onPath) attrs.push(`color=${dotString(pathColor)}`, 'penwidth=4')
    lines.push(`  ${dotString(e.from)} -- ${dotString(e.to)} [${attrs.join(', ')}];`)
  }
  lines.push('}')
  return lines.join('\n') + '\n'
}

/** Lines of a DOT label, each escaped, joined by DOT's own line break. */
const dotLabel = (lines: string[]): string => `"${lines.map((l) => dotString(l).slice(1, -1)).join('\\n')}"`

/** Graphviz's SVG stripped of its XML prologue, doctype and comments, checked to hold nothing active. */
export function inlineSvg(svg: string): string {
  const start = svg.indexOf('<svg')
  if (start < 0) throw new NetctlError('internal', 'Graphviz produced no <svg> element', 'run dot -Tsvg by hand on the output of netctl lab graph -o dot')
  const body = svg.slice(start).replace(/<!--[\s\S]*?-->/g, '').trim()
  // Graphviz escapes label text; refuse anything that could run, should that ever fail.
  const tags = body.match(/<[^>]*>/g) ?? []
  const active = tags.find((t) => /^<\/?\s*(script|foreignObject|iframe|object|embed|image|use)\b/i.test(t) || /\son[a-z]+\s*=|javascript:/i.test(t))
  if (active) throw new NetctlError('internal', `the SVG holds an active element (${active.slice(0, 40)}); the page was not written`, 'report this with the output of netctl lab graph -o dot')
  return body
}

export function toHtml(graph: LabGraph, svg: string, generatedAt: Date = new Date()): string {
  const swatch = (state: SessionState, text: string) => `<li><span class="swatch" style="border-color:${stateColor[state]}"></span>${escapeHtml(text)}</li>`
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing on this page may load or run: no scripts, no fonts, no requests.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${escapeHtml(graph.title)}</title>`,
    '<style>',
    'body{font-family:sans-serif;margin:1.5em;color:#212121}',
    'h1{font-size:1.3em} figure{margin:0;overflow:auto;border:1px solid #e0e0e0;padding:.5em}',
    '.legend{font-size:.9em} .legend ul{list-style:none;padding:0}',
    '.swatch{display:inline-block;width:2.5em;height:0;border-top:2px dashed;margin-right:.6em;vertical-align:middle}',
    '.solid{border-top-style:solid;border-color:#000}',
    '</style>',
    '</head>',
    '<body>',
    `<h1>${escapeHtml(graph.title)}</h1>`,
    `<p>Encapsulation: ${escapeHtml(graph.encapsulation)}<br>Routing: ${escapeHtml(graph.routing)}</p>`,
    `<figure>${inlineSvg(svg)}</figure>`,
    '<section class="legend">',
    '<h2>Legend</h2>',
    '<ul>',
    '<li>Boxes are network namespaces: the underlay (bridges, one per subnet, and the router holding each gateway), nodes side by side, and pods above their node.</li>',
    '<li><span class="swatch solid"></span>a veth pair: a node\'s eth0 to its subnet\'s bridge, a pod\'s eth0 to its host-side interface</li>',
    swatch('established', 'a BGP session, Established'),
    swatch('down', 'a BGP session one end reports as not Established'),
    swatch('unknown', 'a BGP session whose state is unknown (BIRD not running or not answering)'),
    '</ul>',
    `<p>Drawn by netctl lab graph at ${escapeHtml(generatedAt.toISOString())}.</p>`,
    '</section>',
    '</body>',
    '</html>',
    '',
  ].join('\n')
}

// ---------------------------------------------------------------------------------------------
// The live part: gather facts, run Graphviz

/** Graphviz's dot, DOT on stdin, SVG on stdout. */
export async function dotToSvg(dot: string): Promise<string> {
  try {
    const {stdout, stderr, exitCode} = await run('dot', ['-Tsvg'], {input: dot, allowFailure: true})
    if (exitCode !== 0) throw new NetctlError('internal', `Graphviz's dot refused the graph: ${stderr.trim() || `exit ${exitCode}`}`, 'report this with the output of netctl lab graph -o dot')
    return stdout
  } catch (error) {
    if (isNetctlError(error, 'unsupported')) throw new NetctlError('unsupported', 'Graphviz\'s dot is not installed: it draws the SVG', 'install graphviz (apt-get install graphviz), or use -o mermaid or -o dot')
    throw error
  }
}

/** Everything the graph shows, read now: the datastore, and each node's BIRD (a silent one is reported, not fatal). */
export async function gatherLabFacts(stateDir: string, name: string): Promise<LabFacts> {
  const record = requireClusterLab(stateDir, name)
  return withDatastore(stateDir, record, async (ds) => {
    const cluster = await loadCluster(ds, name, record.topology)
    if (cluster.flavor !== 'calico' || !cluster.bgp) return {cluster}
    const where = `the datastore (${ds.location})`
    const [nodes, peers] = await Promise.all([
      ds.list(nodeKind).then((all) => checkStored(nodeKind, all.filter((n) => ownerOf(n) === name), where)),
      ds.list(bgpPeerKind).then((all) => checkStored(bgpPeerKind, all, where)),
    ])
    let config: Resource | undefined
    try {
      config = checkStored(bgpConfigurationKind, [await ds.get(bgpConfigurationKind, 'default')], where)[0]
    } catch (error) {
      if (!isNetctlError(error, 'not-found')) throw error
    }
    const birds: NonNullable<LabFacts['birds']> = {}
    const sockets = labBirdSockets(stateDir, name)
    // A BIRD that is gone or stuck leaves its sessions unknown; the graph still comes out.
    await inParallel(Object.entries(sockets), 16, async ([node, socket]) => {
      try {
        birds[node] = bgpPeers(parseProtocols(await birdQuery(socket, 'show protocols', {timeoutMs: 2000})))
      } catch (error) {
        if (!isNetctlError(error)) throw error
        birds[node] = {unavailable: /no BIRD control socket|no BIRD is listening/.test(error.message) ? 'not running' : 'not answering'}
      }
    })
    return {cluster, bgp: {nodes, config, peers}, birds}
  })
}

/** The lab drawn in one format (svg and html run Graphviz), and what to warn of. */
export async function renderLabGraph(facts: LabFacts, format: GraphFormat, path?: {namespaces: string[]; summary: string}): Promise<{text: string; warning?: string}> {
  const drawn = buildLabGraph(facts)
  const graph = path ? highlightPath(drawn, facts.cluster, path) : drawn
  if (format === 'mermaid') {
    const text = toMermaid(graph)
    return {text, warning: mermaidOverLimits(text, graph)}
  }
  const dot = toDot(graph)
  if (format === 'dot') return {text: dot}
  const svg = await dotToSvg(dot)
  return {text: format === 'svg' ? svg : toHtml(graph, svg)}
}
