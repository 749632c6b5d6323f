/**
 * A lab's shape: flavor, nodes, pods, underlay subnets, pool. Written by hand as YAML
 * (schema: schemas/lab-topology.schema.json) or made from --nodes/--pods-per-node.
 */
import {NetctlError} from '../../errors.js'
import {formatCidr, isMasked, overlaps, parseCidr} from '../../resources/cidr.js'
import type {EncapMode} from '../../resources/types.js'
import {checkLabName, checkObjectName} from './names.js'

export type Flavor = 'calico' | 'flannel'
export const flavors: readonly Flavor[] = ['calico', 'flannel']

/** A calico lab's pool encapsulation, in the words of the operator's Installation (ipPools[].encapsulation). */
export const calicoEncapsulations = ['IPIP', 'VXLAN', 'IPIPCrossSubnet', 'VXLANCrossSubnet', 'None'] as const
export type CalicoEncapsulation = (typeof calicoEncapsulations)[number]

/** The IPPool modes an encapsulation stands for. */
export function poolModes(encapsulation: CalicoEncapsulation | undefined): {ipipMode: EncapMode; vxlanMode: EncapMode} {
  const mode = (kind: string): EncapMode => (encapsulation === kind ? 'Always' : encapsulation === `${kind}CrossSubnet` ? 'CrossSubnet' : 'Never')
  return {ipipMode: mode('IPIP'), vxlanMode: mode('VXLAN')}
}

export interface NodeTopology {
  name: string
  /** Index into underlay.subnets. */
  subnet: number
  pods: string[]
}

export interface Topology {
  flavor: Flavor
  nodes: NodeTopology[]
  underlay: {subnets: string[]; mtu: number}
  pool: {cidr: string; blockSize: number}
  /** calico: routes spread by BIRD (true) or programmed statically (false). */
  bgp: boolean
  /** calico with BGP: the first N nodes are route reflectors and the mesh is off. */
  routeReflectors: number
  /** flannel's backend (REFERENCE.md §4). */
  backend?: FlannelBackend
  /**
   * calico: the pool's encapsulation when the lab creates it; later `encap set` changes it.
   * Unset in a request: IPIP as Calico's default pool, or VXLAN on a kernel without ipip.
   */
  encapsulation?: CalicoEncapsulation
}

export interface FlannelBackend {
  type: 'host-gw' | 'vxlan' | 'udp'
  /** vxlan: peers on the same subnet get host-gw routes instead. */
  directRouting?: boolean
}

export const flannelBackends = ['host-gw', 'vxlan', 'udp'] as const

export function checkFlannelBackend(backend: FlannelBackend, subnets: number): FlannelBackend {
  if (!flannelBackends.includes(backend.type)) throw new NetctlError('usage', `flannel backend ${JSON.stringify(backend.type)} is not one of ${flannelBackends.join(', ')}`, `use one of ${flannelBackends.join(', ')}`)
  if (backend.type === 'host-gw' && subnets > 1) throw new NetctlError('usage', 'flannel host-gw needs every node on one L2 segment, but the lab has several subnets', 'use the vxlan backend (with --direct-routing for same-subnet peers)')
  if (backend.directRouting && backend.type !== 'vxlan') throw new NetctlError('usage', 'DirectRouting is an option of the vxlan backend', 'drop --direct-routing, or use vxlan')
  return backend
}

export const defaultPool: Record<Flavor, Topology['pool']> = {
  calico: {cidr: '192.168.0.0/16', blockSize: 26},
  flannel: {cidr: '10.244.0.0/16', blockSize: 24},
}

/** Seed 000's cluster: controlplane, node01, ...; busybox pods; the 172.17.0.0/16 underlay. */
export function defaultTopology(options: {flavor?: Flavor; nodes?: number; podsPerNode?: number; bgp?: boolean; routeReflectors?: number; backend?: FlannelBackend; encapsulation?: CalicoEncapsulation}): Topology {
  const flavor = options.flavor ?? 'calico'
  const nodes = options.nodes ?? 2
  const perNode = options.podsPerNode ?? 2
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 250) throw new NetctlError('usage', `--nodes ${nodes} is out of range`, 'use 1 to 250 nodes')
  if (!Number.isInteger(perNode) || perNode < 0 || perNode > 250) throw new NetctlError('usage', `--pods-per-node ${perNode} is out of range`, 'use 0 to 250 pods per node')
  return {
    flavor,
    nodes: Array.from({length: nodes}, (_, i) => {
      const name = i === 0 ? 'controlplane' : `node${String(i).padStart(2, '0')}`
      return {name, subnet: 0, pods: Array.from({length: perNode}, (_, k) => `busybox-${name}-${k}`)}
    }),
    underlay: {subnets: ['172.17.0.0/16'], mtu: 1500},
    pool: defaultPool[flavor],
    ...routing(flavor, options.bgp, options.routeReflectors, nodes),
    ...(flavor === 'flannel' ? {backend: checkFlannelBackend(options.backend ?? {type: 'host-gw'}, 1)} : {}),
    ...encapsulationOf(flavor, options.encapsulation),
  }
}

/** Encapsulation is a calico pool's; flannel's backend is its own. */
function encapsulationOf(flavor: Flavor, encapsulation: unknown): Pick<Topology, 'encapsulation'> {
  if (encapsulation === undefined) return {}
  if (flavor !== 'calico') throw new NetctlError('usage', 'encapsulation is a calico setting: flannel labs choose a backend', 'use --backend host-gw|vxlan|udp (flannel), or --flavor calico')
  if (!calicoEncapsulations.includes(encapsulation as CalicoEncapsulation)) throw new NetctlError('usage', `encapsulation ${JSON.stringify(encapsulation)} is not one of ${calicoEncapsulations.join(', ')}`, `use one of ${calicoEncapsulations.join(', ')}`)
  return {encapsulation: encapsulation as CalicoEncapsulation}
}

/** BGP is calico's (flannel programs routes itself); route reflectors need BGP and a node to be one. */
export function routing(flavor: Flavor, bgp: boolean | undefined, routeReflectors: number | undefined, nodes: number): Pick<Topology, 'bgp' | 'routeReflectors'> {
  const rr = routeReflectors ?? 0
  if (flavor === 'flannel' && (bgp || rr)) throw new NetctlError('usage', 'flannel labs do not run BGP', 'drop --bgp/--route-reflectors, or use --flavor calico')
  if (rr && bgp === false) throw new NetctlError('usage', '--route-reflectors needs BGP', 'drop --bgp off')
  if (!Number.isInteger(rr) || rr < 0 || rr >= nodes) throw new NetctlError('usage', `--route-reflectors ${rr} leaves no client node`, `use 0 to ${nodes - 1} route reflectors for ${nodes} nodes`)
  return {bgp: flavor === 'calico' && bgp !== false, routeReflectors: rr}
}

const fail = (field: string, problem: string, suggestion: string) => new NetctlError('usage', `topology: ${field} ${problem}`, suggestion)

/** Check a topology document (parsed YAML) and fill its defaults. */
/** The fields of a topology file (schemas/lab-topology.schema.json describes each). */
export const topologyFields = ['apiVersion', 'kind', 'name', 'flavor', 'nodes', 'underlay', 'pool', 'bgp', 'routeReflectors', 'backend', 'encapsulation']
/** The fields of each nested mapping: a typo at any level is named, never ignored. */
const nestedFields: Record<string, readonly string[]> = {
  underlay: ['subnets', 'mtu'],
  pool: ['cidr', 'blockSize'],
  backend: ['type', 'directRouting'],
  'nodes[]': ['name', 'subnet', 'pods'],
}

function checkFields(value: unknown, field: string, known: readonly string[]): void {
  if (value === undefined) return
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(field, 'must be a mapping', `its fields: ${known.join(', ')}`)
  for (const key of Object.keys(value)) if (!known.includes(key)) throw fail(`${field}.${key}`, 'is not a known field', `known fields of ${field}: ${known.join(', ')}`)
}

/** The lab name a topology file gives, if any (checked like --name). */
export function topologyName(doc: unknown): string | undefined {
  const name = (doc as {name?: unknown} | null)?.name
  if (name === undefined) return undefined
  if (typeof name !== 'string') throw fail('name', 'must be a string', 'e.g. name: demo')
  return checkLabName(name)
}

export function parseTopology(doc: unknown): Topology {
  if (typeof doc !== 'object' || doc === null) throw fail('', 'is not a mapping', 'see schemas/lab-topology.schema.json')
  const d = doc as Record<string, unknown>
  for (const key of Object.keys(d)) {
    if (!topologyFields.includes(key)) throw fail(key, 'is not a known field', `known fields: ${topologyFields.join(', ')}`)
  }
  if (d.kind !== undefined && d.kind !== 'LabTopology') throw fail('kind', `is ${JSON.stringify(d.kind)}`, 'set kind: LabTopology')
  if (d.apiVersion !== undefined && d.apiVersion !== 'netctl/v1') throw fail('apiVersion', `is ${JSON.stringify(d.apiVersion)}`, 'set apiVersion: netctl/v1')
  topologyName(d)
  for (const field of ['underlay', 'pool', 'backend'] as const) checkFields(d[field], field, nestedFields[field]!)
  const flavor = (d.flavor ?? 'calico') as Flavor
  if (!flavors.includes(flavor)) throw fail('flavor', `${JSON.stringify(d.flavor)} is not one of ${flavors.join(', ')}`, 'set flavor: calico or flannel')
  const underlay = (d.underlay ?? {}) as {subnets?: unknown; mtu?: unknown}
  const subnets = (underlay.subnets ?? ['172.17.0.0/16']) as unknown[]
  if (!Array.isArray(subnets) || subnets.length === 0 || subnets.length > 8) throw fail('underlay.subnets', 'must list 1 to 8 subnets', 'e.g. [172.17.0.0/16] or [172.17.0.0/24, 172.18.0.0/24] for CrossSubnet')
  subnets.forEach((s, i) => {
    const cidr = typeof s === 'string' ? parseCidr(s) : undefined
    if (!cidr || cidr.family !== 4 || !isMasked(cidr) || cidr.prefix > 26) throw fail(`underlay.subnets[${i}]`, `${JSON.stringify(s)} is not a masked IPv4 subnet of /26 or larger`, cidr ? `use ${formatCidr(cidr)}` : 'e.g. 172.17.0.0/16')
  })
  const mtu = underlay.mtu ?? 1500
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 1280 || mtu > 9000) throw fail('underlay.mtu', `${JSON.stringify(mtu)} is out of range`, 'use 1280 to 9000')
  const pool = {...defaultPool[flavor], ...(d.pool as object | undefined)} as Topology['pool']
  const poolCidr = parseCidr(String(pool.cidr))
  if (!poolCidr || poolCidr.family !== 4 || !isMasked(poolCidr)) throw fail('pool.cidr', `${JSON.stringify(pool.cidr)} is not a masked IPv4 CIDR`, 'e.g. 192.168.0.0/16')
  const clash = (subnets as string[]).find((s) => overlaps(parseCidr(s)!, poolCidr))
  if (clash) throw fail('pool.cidr', `${pool.cidr} overlaps the underlay subnet ${clash}`, 'pods and nodes need separate ranges: pick a pool outside the underlay')
  if (!Number.isInteger(pool.blockSize) || pool.blockSize < poolCidr.prefix || pool.blockSize > 30) throw fail('pool.blockSize', `${JSON.stringify(pool.blockSize)} does not fit the pool`, `use ${poolCidr.prefix} to 30`)
  if (!Array.isArray(d.nodes) || d.nodes.length === 0) throw fail('nodes', 'must list at least one node', 'e.g. nodes: [{name: controlplane, pods: 2}]')
  const seenNames = new Set<string>()
  const nodes = (d.nodes as unknown[]).map((n, i) => {
    const node = n as {name?: unknown; subnet?: unknown; pods?: unknown}
    checkFields(node, `nodes[${i}]`, nestedFields['nodes[]']!)
    if (typeof node?.name !== 'string') throw fail(`nodes[${i}].name`, 'is required', 'give every node a name')
    checkObjectName('node', node.name)
    const subnet = node.subnet ?? 0
    if (typeof subnet !== 'number' || !Number.isInteger(subnet) || subnet < 0 || subnet >= subnets.length) throw fail(`nodes[${i}].subnet`, `${JSON.stringify(subnet)} is not an index into underlay.subnets`, `use 0 to ${subnets.length - 1}`)
    const podsField = node.pods ?? 2
    const pods = typeof podsField === 'number' ? Array.from({length: podsField}, (_, k) => `busybox-${node.name}-${k}`) : podsField
    if (!Array.isArray(pods) || pods.some((p) => typeof p !== 'string')) throw fail(`nodes[${i}].pods`, 'must be a number or a list of pod names', 'e.g. pods: 2 or pods: [web-0, web-1]')
    for (const name of [node.name as string, ...(pods as string[])]) {
      checkObjectName(name === node.name ? 'node' : 'pod', name)
      if (seenNames.has(name)) throw fail(`nodes[${i}]`, `repeats the name "${name}"`, 'node and pod names must be unique in a lab')
      seenNames.add(name)
    }
    return {name: node.name as string, subnet, pods: pods as string[]}
  })
  let backend: FlannelBackend | undefined
  if (flavor === 'flannel') {
    const b = (d.backend ?? {type: 'host-gw'}) as {type?: unknown; directRouting?: unknown}
    try {
      backend = checkFlannelBackend({type: b.type as FlannelBackend['type'], directRouting: b.directRouting === true}, subnets.length)
    } catch (error) {
      throw fail('backend', (error as NetctlError).message, (error as NetctlError).suggestion ?? '')
    }
  } else if (d.backend !== undefined) throw fail('backend', 'is a flannel setting', 'calico labs choose encapsulation with netctl encap set')
  if (d.bgp !== undefined && typeof d.bgp !== 'boolean') throw fail('bgp', 'must be true or false', 'bgp: false programs routes statically')
  if (d.routeReflectors !== undefined && typeof d.routeReflectors !== 'number') throw fail('routeReflectors', 'must be a number', 'e.g. routeReflectors: 1')
  let encapsulation: Pick<Topology, 'encapsulation'>
  try {
    encapsulation = encapsulationOf(flavor, d.encapsulation)
  } catch (error) {
    throw fail('encapsulation', (error as NetctlError).message.replace(/^encapsulation /, ''), (error as NetctlError).suggestion ?? '')
  }
  return {
    flavor, nodes, underlay: {subnets: subnets as string[], mtu}, pool: {cidr: formatCidr(poolCidr), blockSize: pool.blockSize},
    ...routing(flavor, d.bgp as boolean | undefined, d.routeReflectors as number | undefined, nodes.length),
    ...(backend ? {backend} : {}),
    ...encapsulation,
  }
}

/** What `lab up` was asked: a parsed topology file and/or flags; unset fields keep what the lab has. */
export interface TopologyRequest {
  /** The parsed topology file, if -f was given. */
  file?: unknown
  flavor?: Flavor
  nodes?: number
  podsPerNode?: number
  bgp?: boolean
  routeReflectors?: number
  backend?: FlannelBackend
  encapsulation?: CalicoEncapsulation
}

/**
 * The topology a `lab up` builds: the file if one is given, else the lab's own recorded
 * topology (a lab remembers its shape), else the defaults; flags change only what they name.
 */
export function resolveTopology(request: TopologyRequest, recorded?: Topology): Topology {
  if (request.backend && request.flavor !== 'flannel' && request.file === undefined && recorded?.flavor !== 'flannel') {
    throw new NetctlError('usage', '--backend and --direct-routing are flannel settings', 'add --flavor flannel')
  }
  let base: Topology
  if (request.file !== undefined) {
    base = parseTopology(request.file)
    if (request.flavor && request.flavor !== base.flavor) throw new NetctlError('usage', `--flavor ${request.flavor} disagrees with the topology's flavor ${base.flavor}`, 'drop --flavor, or change the file')
  } else if (recorded) {
    if (request.flavor && request.flavor !== recorded.flavor) {
      throw new NetctlError('usage', `the lab is a ${recorded.flavor} lab; it cannot become ${request.flavor} in place`, 'take the lab down first (netctl lab down NAME), or pick another --name')
    }
    base = recorded
    if (request.nodes !== undefined || request.podsPerNode !== undefined) {
      // A new shape in the default style, on the lab's own underlay and pool.
      const shaped = defaultTopology({flavor: recorded.flavor, nodes: request.nodes ?? recorded.nodes.length, podsPerNode: request.podsPerNode ?? recorded.nodes[0]?.pods.length, backend: recorded.backend})
      base = {...recorded, nodes: shaped.nodes}
    }
  } else {
    return defaultTopology({flavor: request.flavor, nodes: request.nodes, podsPerNode: request.podsPerNode, bgp: request.bgp, routeReflectors: request.routeReflectors, backend: request.backend, encapsulation: request.encapsulation})
  }
  const topology = {...base, ...routing(base.flavor, request.bgp ?? base.bgp, request.routeReflectors ?? base.routeReflectors, base.nodes.length)}
  if (request.backend) topology.backend = checkFlannelBackend(request.backend, topology.underlay.subnets.length)
  if (recorded) {
    // The encapsulation shapes the pool when the lab creates it; a running pool changes by its own command.
    const asked = request.encapsulation ?? (request.file !== undefined ? topology.encapsulation : undefined)
    if (asked !== undefined && asked !== recorded.encapsulation) {
      const live = `${asked.startsWith('VXLAN') ? 'vxlan' : asked.startsWith('IPIP') ? 'ipip' : 'none'}${asked.endsWith('CrossSubnet') ? ' --cross-subnet' : ''}`
      throw new NetctlError('usage', `the lab's pool exists already: lab up sets the encapsulation of a new lab only`, `switch a running lab live: netctl encap set ${live}`)
    }
    if (recorded.encapsulation) topology.encapsulation = recorded.encapsulation
    else delete topology.encapsulation
  } else if (request.encapsulation) {
    Object.assign(topology, encapsulationOf(topology.flavor, request.encapsulation))
  }
  return topology
}

export interface TopologyChange {
  nodesAdded: string[]
  nodesRemoved: string[]
  podsAdded: string[]
  podsRemoved: string[]
}

export function topologyChange(before: Topology | undefined, after: Topology): TopologyChange {
  const names = (t: Topology | undefined, of: 'nodes' | 'pods') => new Set(t ? (of === 'nodes' ? t.nodes.map((n) => n.name) : t.nodes.flatMap((n) => n.pods)) : [])
  const diff = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x))
  const [nodesBefore, nodesAfter, podsBefore, podsAfter] = [names(before, 'nodes'), names(after, 'nodes'), names(before, 'pods'), names(after, 'pods')]
  return {nodesAdded: diff(nodesAfter, nodesBefore), nodesRemoved: diff(nodesBefore, nodesAfter), podsAdded: diff(podsAfter, podsBefore), podsRemoved: diff(podsBefore, podsAfter)}
}
