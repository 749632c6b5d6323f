/**
 * The lab as a cluster: node addresses, pod blocks and pod IPs allocated once and kept in
 * the lab's datastore (Nodes, BlockAffinities, WorkloadEndpoints, the IPPool), then read
 * back as the plain model the dataplane planners work from.
 */
import type {Datastore} from '../../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../../errors.js'
import {bgpConfigurationKind, bgpPeerKind} from '../../resources/bgp.js'
import {blockAffinityKind, blockAffinityName} from '../../resources/blockaffinity.js'
import {formatIp, parseCidr} from '../../resources/cidr.js'
import {ipPoolKind} from '../../resources/ippool.js'
import {nodeKind} from '../../resources/node.js'
import {API_VERSION, type IPPool, type Resource} from '../../resources/types.js'
import {calicoInterfaceName, workloadEndpointKind, workloadEndpointName} from '../../resources/workloadendpoint.js'
import {flannelVethName, nodeNetns, podNetns, underlayNetns} from '../topology/names.js'
import {ensureClusterInformation} from '../../services/resources.js'
import {allocateAddresses, labContainerID, podHandleID} from '../../ipam/allocator.js'
import {isLabAffinity, readLabIpam, removeLabIpam, syncLabIpam, type LabIpam} from '../../ipam/lab.js'
import type {IPAMBlockSpec, IPAMHandle} from '../../resources/ipam.js'
import {checkStored, labOwnerLabel, ownerOf, readStored} from '../stored.js'
import {poolModes, type Flavor, type FlannelBackend, type Topology} from '../topology/topology.js'

export interface LabSubnet {
  cidr: string
  prefix: number
  gateway: string
  bridge: string
}

export interface LabNode {
  name: string
  index: number
  subnet: number
  /** Address without prefix. */
  ip: string
  netns: string
  /** Pod blocks this node owns (calico: /26s; flannel: its /24). */
  blocks: string[]
}

export interface LabPod {
  name: string
  namespace: string
  node: string
  ip: string
  /** The host-side interface: cali… (calico) or veth… (flannel). */
  hostIf: string
  netns: string
}

export interface LabCluster {
  lab: string
  flavor: Flavor
  bgp: boolean
  /** flannel's backend; calico labs have none. */
  backend?: FlannelBackend
  mtu: number
  underlayNetns: string
  subnets: LabSubnet[]
  nodes: LabNode[]
  pods: LabPod[]
  pool: IPPool
  /** Calico IPAM's blocks and handles for the pods (calico labs). */
  ipam?: {blocks: IPAMBlockSpec[]; handles: IPAMHandle[]}
  /** The default BGPConfiguration's programClusterRoutes: which pools' routes BIRD programs (calico.ts). */
  programClusterRoutes?: string
}

const poolName = 'default-ipv4-ippool'
const podNamespace = 'default'

const addressAt = (cidr: string, offset: number): string => {
  const c = parseCidr(cidr)!
  return formatIp(4, c.network + BigInt(offset))
}
const hostCount = (cidr: string): number => 2 ** (32 - parseCidr(cidr)!.prefix)

export function labSubnets(topology: Topology): LabSubnet[] {
  return topology.underlay.subnets.map((cidr, i) => ({cidr, prefix: parseCidr(cidr)!.prefix, gateway: addressAt(cidr, 1), bridge: `br${i}`}))
}

/** Where node k of a subnet sits: .32, .40, .48, … as in seed 000 (controlplane .32, node01 .40). */
function nodeSlot(subnet: LabSubnet, k: number): string {
  const offset = 32 + 8 * k
  if (offset >= hostCount(subnet.cidr) - 1) throw new NetctlError('usage', `the underlay subnet ${subnet.cidr} has no room for ${k + 1} nodes`, 'use a larger subnet, or spread the nodes over several')
  return addressAt(subnet.cidr, offset)
}

const ipOf = (cidrOrIp: string | undefined) => cidrOrIp?.split('/')[0]

interface Existing {
  /** This lab's own objects (they carry its label). */
  nodes: Resource[]
  affinities: Resource[]
  weps: Resource[]
  pool?: IPPool
  programClusterRoutes?: string
  /** Everyone else's objects of those kinds: never changed, and their blocks never handed out again. */
  foreign?: Resource[]
  ipam?: LabIpam
}

async function readExisting(ds: Datastore, lab: string): Promise<Existing> {
  const where = `the datastore (${ds.location})`
  const ourNodes = new Set((await ds.list(nodeKind)).filter((n) => ownerOf(n) === lab).map((n) => n.metadata.name))
  // etcd keeps Calico's affinities without labels: there the node tells whose they are.
  const ours = (r: Resource) => (r.kind === 'BlockAffinity' ? isLabAffinity(r, lab, ourNodes) : ownerOf(r) === lab)
  const foreign: Resource[] = []
  const ipam = readLabIpam(ds, lab, ourNodes)
  // What the lab programs from is validated; others' objects are only kept clear of.
  const [nodes, affinities, weps] = await Promise.all(
    [nodeKind, blockAffinityKind, workloadEndpointKind].map(async (kind) => {
      const all = await ds.list(kind)
      foreign.push(...all.filter((r) => !ours(r)))
      return checkStored(kind, all.filter(ours), where)
    }),
  )
  const [pool, bgpConfiguration] = await Promise.all([readStored(ds, ipPoolKind, poolName, where), readStored(ds, bgpConfigurationKind, 'default', where)])
  const programClusterRoutes = bgpConfiguration?.spec?.programClusterRoutes as string | undefined
  return {nodes: nodes!, affinities: affinities!, weps: weps!, pool: pool as IPPool | undefined, programClusterRoutes, foreign, ipam: await ipam}
}

/**
 * Allocate what is new, keep what exists: a node keeps its address and blocks, a pod its IP,
 * across `lab up` runs. Pure given the existing objects.
 */
export function planCluster(lab: string, topology: Topology, existing: Existing): LabCluster {
  const subnets = labSubnets(topology)
  const poolCidr = existing.pool?.spec?.cidr ?? topology.pool.cidr
  const blockSize = existing.pool?.spec?.blockSize ?? topology.pool.blockSize
  const pool = parseCidr(poolCidr)!
  const blockLength = 2 ** (32 - blockSize)
  const blockCount = 2 ** (blockSize - pool.prefix)

  const keptAddress = new Map(existing.nodes.map((n) => [n.metadata.name, ipOf((n.spec as {bgp?: {ipv4Address?: string}})?.bgp?.ipv4Address)]))
  const usedAddresses = new Set<string>()
  const nodes: LabNode[] = topology.nodes.map((n, index) => {
    const kept = keptAddress.get(n.name)
    const subnet = subnets[n.subnet]!
    const inSubnet = kept && parseCidr(`${kept}/32`) && parseCidr(subnet.cidr) && addressIn(kept, subnet.cidr) ? kept : undefined
    if (inSubnet) usedAddresses.add(inSubnet)
    return {name: n.name, index, subnet: n.subnet, ip: inSubnet ?? '', netns: '', blocks: []}
  })
  for (const node of nodes) {
    node.netns = nodeNetns(lab, node.name)
    if (node.ip) continue
    const subnet = subnets[node.subnet]!
    for (let k = 0; ; k++) {
      const candidate = nodeSlot(subnet, k)
      if (!usedAddresses.has(candidate)) {
        node.ip = candidate
        usedAddresses.add(candidate)
        break
      }
    }
  }

  // Blocks: keep affinities of nodes that stay; hand out the lowest free blocks to the rest.
  const takenBlocks = new Set<string>([...(existing.foreign ?? []).filter((r) => r.kind === 'BlockAffinity').map((a) => String(a.spec?.cidr)), ...(existing.ipam?.foreignBlocks ?? [])])
  for (const a of existing.affinities) {
    const node = nodes.find((n) => n.name === a.spec?.node)
    const cidr = String(a.spec?.cidr)
    if (node && addressIn(ipOf(cidr)!, poolCidr)) {
      node.blocks.push(cidr)
      takenBlocks.add(cidr)
    }
  }
  let nextBlock = 0
  const freeBlock = () => {
    for (; nextBlock < blockCount; nextBlock++) {
      const cidr = `${addressAt(poolCidr, nextBlock * blockLength)}/${blockSize}`
      if (!takenBlocks.has(cidr)) {
        takenBlocks.add(cidr)
        return cidr
      }
    }
    throw new NetctlError('usage', `the pool ${poolCidr} has no free /${blockSize} block left`, 'use a larger pool or fewer nodes')
  }

  // Pod addresses through Calico IPAM (src/ipam): kept from the blocks, else from the WorkloadEndpoints of labs built before.
  const wepByPod = new Map(existing.weps.map((w) => [String(w.spec?.pod), w]))
  const calico = topology.flavor === 'calico'
  const on = (mode: string | undefined) => Boolean(mode) && mode !== 'Never'
  // A new lab's pool is written below with the topology's encapsulation: its tunnels count already.
  const modes = existing.pool?.spec ?? poolModes(topology.encapsulation)
  const tunnel = !calico ? undefined : on(modes.vxlanMode) ? 'vxlan' as const : on(modes.ipipMode) ? 'ipip' as const : undefined
  const requests = nodes.flatMap((node) => topology.nodes[node.index]!.pods.map((pod) => {
    const wep = wepByPod.get(pod)
    const previousIp = wep?.spec?.node === node.name ? ipOf((wep.spec as {ipNetworks?: string[]}).ipNetworks?.[0]) : undefined
    return {pod, namespace: podNamespace, node: node.name, handleID: podHandleID(labContainerID(lab, podNamespace, pod)), previousIp}
  }))
  const allocated = allocateAddresses({
    nodes: nodes.map((n) => ({name: n.name, blocks: n.blocks, tunnel})),
    pods: requests,
    blocks: existing.ipam?.blocks ?? [],
    claimBlock: () => freeBlock(),
    // calico gives a block's first address to the node's tunnel; flannel's .0 is the network, .1 cni0's, the last the broadcast.
    reserved: (i, size) => new Set(calico ? (i === 0 ? [0] : []) : [0, 1, size - 1]),
    maxBlocksPerNode: calico ? undefined : 1,
    timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  })
  const pods: LabPod[] = requests.map((r) => ({
    name: r.pod,
    namespace: r.namespace,
    node: r.node,
    ip: allocated.addresses.get(r.handleID)!,
    hostIf: calico ? calicoInterfaceName(podNamespace, r.pod) : flannelVethName(podNamespace, r.pod),
    netns: podNetns(lab, r.pod),
  }))

  const poolResource: IPPool = existing.pool ?? {
    apiVersion: API_VERSION,
    kind: 'IPPool',
    metadata: {name: poolName},
    spec: {cidr: poolCidr, blockSize, ...poolModes(topology.encapsulation), natOutgoing: true, nodeSelector: 'all()'},
  }
  const ipam = calico ? {blocks: allocated.blocks, handles: allocated.handles} : undefined
  return {lab, flavor: topology.flavor, bgp: topology.bgp, backend: topology.backend, mtu: topology.underlay.mtu, underlayNetns: underlayNetns(lab), subnets, nodes, pods, pool: poolResource, ipam, programClusterRoutes: existing.programClusterRoutes}
}

function addressIn(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr)
  const a = parseCidr(`${ip}/32`)
  return Boolean(c && a && a.family === c.family && (a.network >> BigInt(32 - c.prefix)) === (c.network >> BigInt(32 - c.prefix)))
}

/** The objects the lab keeps in its datastore for this cluster. */
/** Route reflectors carry this label and cluster ID, as Calico's docs set them up. */
export const routeReflectorLabel = 'route-reflector'
export const routeReflectorClusterID = '244.0.0.1'

export function clusterResources(cluster: LabCluster, routeReflectors = 0): {nodes: Resource[]; affinities: Resource[]; weps: Resource[]} {
  const owner = {[labOwnerLabel]: cluster.lab}
  const nodes = cluster.nodes.map<Resource>((n, i) => {
    const rr = i < routeReflectors
    return {
      apiVersion: API_VERSION,
      kind: 'Node',
      metadata: {name: n.name, labels: {'kubernetes.io/hostname': n.name, ...owner, ...(rr ? {[routeReflectorLabel]: 'true'} : {})}},
      spec: {bgp: {ipv4Address: `${n.ip}/${cluster.subnets[n.subnet]!.prefix}`, ...(rr ? {routeReflectorClusterID} : {})}, orchRefs: [{nodeName: n.name, orchestrator: 'k8s'}]},
    }
  })
  const affinities = cluster.nodes.flatMap((n) =>
    n.blocks.map<Resource>((cidr) => ({apiVersion: API_VERSION, kind: 'BlockAffinity', metadata: {name: blockAffinityName(n.name, cidr), labels: owner}, spec: {state: 'confirmed', node: n.name, cidr, deleted: 'false'}})),
  )
  const weps = cluster.pods.map<Resource>((p) => ({
    apiVersion: API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: {
      name: workloadEndpointName({node: p.node, pod: p.name}),
      namespace: p.namespace,
      labels: {'projectcalico.org/namespace': p.namespace, 'projectcalico.org/orchestrator': 'k8s', 'projectcalico.org/serviceaccount': 'default', ...owner},
    },
    spec: {
      orchestrator: 'k8s', node: p.node, pod: p.name, endpoint: 'eth0', serviceAccountName: 'default',
      ipNetworks: [`${p.ip}/32`], profiles: [`kns.${p.namespace}`, `ksa.${p.namespace}.default`], interfaceName: p.hostIf,
    },
  }))
  return {nodes, affinities, weps}
}

/** Make the datastore hold exactly this cluster: create, update what changed, delete the rest. */
/** What the lab shares in its datastore with others: their pool it uses, their objects it leaves alone. */
export interface Sharing {
  poolOwner?: string
  others: number
}

export async function syncCluster(ds: Datastore, lab: string, topology: Topology): Promise<{cluster: LabCluster; sharing: Sharing}> {
  const write = async (store: Datastore) => {
    const existing = await readExisting(store, lab)
    const stored = existing.pool?.spec?.cidr
    if (stored && stored !== topology.pool.cidr) {
      throw new NetctlError('usage', `the lab's pool is ${stored} in ${store.location}, but the topology asks for ${topology.pool.cidr}; a running lab's pool cannot move, and nothing was changed`, `keep pool.cidr: ${stored}, or rebuild: netctl lab down ${lab}, then lab up`)
    }
    const cluster = planCluster(lab, topology, existing)
    const wanted = clusterResources(cluster, topology.routeReflectors)
    // Before any write: the lab never overwrites an object it does not own.
    refuseForeign(store, lab, existing.foreign ?? [], [...wanted.nodes, ...wanted.affinities, ...wanted.weps])
    if (!existing.pool) await store.create(ipPoolKind, {...cluster.pool, metadata: {...cluster.pool.metadata, labels: {[labOwnerLabel]: lab}}})
    else cluster.pool = existing.pool
    await syncKind(store, nodeKind, existing.nodes, wanted.nodes, (have, want) => ({...have, metadata: {...have.metadata, labels: {...have.metadata.labels, ...want.metadata.labels}}, spec: {...have.spec, bgp: {...(have.spec?.bgp as object), ...(want.spec?.bgp as object)}, orchRefs: want.spec?.orchRefs}}))
    // What calico-node does with its first Node: the cluster gets its ClusterInformation.
    await ensureClusterInformation(store)
    if (topology.bgp) await ensureBgpConfiguration(store, lab, topology.routeReflectors)
    // Calico's etcd keys keep an affinity without labels: unlabelled stays unlabelled (no rewrite every reconcile).
    await syncKind(store, blockAffinityKind, existing.affinities, wanted.affinities, (have, want) => (have.metadata.labels ? want : {...want, metadata: {...want.metadata, labels: have.metadata.labels}}))
    await syncKind(store, workloadEndpointKind, existing.weps, wanted.weps, (_have, want) => want)
    if (cluster.ipam && existing.ipam) await syncLabIpam(store, lab, existing.ipam, cluster.ipam.blocks, cluster.ipam.handles)
    const poolOwner = existing.pool && ownerOf(existing.pool) !== lab ? ownerOf(existing.pool) ?? 'someone else' : undefined
    return {cluster, sharing: {poolOwner, others: existing.foreign?.length ?? 0}}
  }
  return ds.transaction ? ds.transaction(write) : write(ds)
}

/** The mesh, or route reflectors: written once, then the user's to change with netctl apply. */
async function ensureBgpConfiguration(ds: Datastore, lab: string, routeReflectors: number): Promise<void> {
  try {
    await ds.get(bgpConfigurationKind, 'default')
    return
  } catch (error) {
    if (!isNetctlError(error, 'not-found')) throw error
  }
  const labels = {[labOwnerLabel]: lab}
  await ds.create(bgpConfigurationKind, {apiVersion: API_VERSION, kind: 'BGPConfiguration', metadata: {name: 'default', labels}, spec: {asNumber: 64512, nodeToNodeMeshEnabled: routeReflectors === 0, logSeverityScreen: 'Info'}})
  if (routeReflectors > 0) {
    await ds.create(bgpPeerKind, {apiVersion: API_VERSION, kind: 'BGPPeer', metadata: {name: 'peer-with-route-reflectors', labels}, spec: {nodeSelector: 'all()', peerSelector: `${routeReflectorLabel} == 'true'`}})
  }
}

function refuseForeign(ds: Datastore, lab: string, foreign: Resource[], wanted: Resource[]): void {
  const key = (r: Resource) => `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`
  const taken = new Map(foreign.map((r) => [key(r), r]))
  const clash = wanted.map((r) => taken.get(key(r))).find(Boolean)
  if (!clash) return
  const owner = ownerOf(clash)
  throw new NetctlError(
    'already-exists',
    `${clash.kind} "${clash.metadata.name}" in ${ds.location} belongs to ${owner ? `lab "${owner}"` : 'someone else (it has no netctl.io/lab label)'}; lab "${lab}" will not overwrite it, and changed nothing`,
    'give this lab other node names (a topology file), or its own datastore (leave out --datastore etcdv3)',
  )
}

async function syncKind(ds: Datastore, kind: typeof nodeKind, have: Resource[], want: Resource[], merge: (have: Resource, want: Resource) => Resource): Promise<void> {
  const key = (r: Resource) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`
  const haveByKey = new Map(have.map((r) => [key(r), r]))
  const wantKeys = new Set(want.map(key))
  for (const r of want) {
    const current = haveByKey.get(key(r))
    if (!current) await ds.create(kind, r)
    else {
      const merged = merge(current, r)
      if (JSON.stringify(merged.spec) !== JSON.stringify(current.spec) || JSON.stringify(merged.metadata.labels) !== JSON.stringify(current.metadata.labels)) {
        await ds.update(kind, {...merged, metadata: {...merged.metadata, resourceVersion: current.metadata.resourceVersion}})
      }
    }
  }
  for (const r of have) if (!wantKeys.has(key(r))) await ds.delete(kind, r.metadata.name, r.metadata.namespace)
}

/** Delete every object the lab wrote (and only those): what `lab down` leaves of a lab in a shared etcd is nothing. */
export async function removeClusterObjects(ds: Datastore, lab: string): Promise<number> {
  let removed = await removeLabIpam(ds, lab, new Set((await ds.list(nodeKind)).filter((n) => ownerOf(n) === lab).map((n) => n.metadata.name)))
  for (const kind of [workloadEndpointKind, blockAffinityKind, nodeKind, bgpPeerKind, bgpConfigurationKind, ipPoolKind]) {
    for (const r of await ds.list(kind)) {
      if (ownerOf(r) !== lab) continue
      try {
        await ds.delete(kind, r.metadata.name, r.metadata.namespace, r.metadata.resourceVersion)
        removed++
      } catch (error) {
        if (!isNetctlError(error, 'not-found')) throw error
      }
    }
  }
  return removed
}

/** Read the cluster back from the datastore (status, exec, ping, and later reconciles). */
export async function loadCluster(ds: Datastore, lab: string, topology: Topology): Promise<LabCluster> {
  return planCluster(lab, topology, await readExisting(ds, lab))
}
