/**
 * Felix's part a calico lab plays itself: after every reconcile, each node's policy and
 * natOutgoing compiled (src/policy/nft.ts) from the datastore and loaded into that node's
 * namespace with `ip netns exec <node> nft -f -`, only where the script changed (or the table is
 * missing, e.g. in a rebuilt namespace). Nothing ever runs nft outside a lab node's namespace.
 */
import type {Datastore} from '../datastore/datastore.js'
import {readStateFile, writeStateFile} from '../datastore/safe-fs.js'
import {inNetns, inParallel, run} from '../dataplane/run.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {ipPoolKind} from '../resources/ippool.js'
import type {Resource} from '../resources/types.js'
import {compileNodePolicy, NFT_TABLE, type NatPool} from '../policy/nft.js'
import type {World} from '../policy/world.js'
import {loadWorld} from '../services/policy.js'
import type {LabCluster, LabNode} from './cluster.js'
import {netnsPrefix} from './names.js'
import {nodeFile} from './proc.js'

/** Where the script last loaded into a node is kept, in the node's directory of the lab. */
export const POLICY_FILE = 'policy.nft'

export interface PolicyApplied {
  /** Nodes whose script was (re)loaded. */
  loaded: string[]
  /** Nodes whose script was already in place. */
  unchanged: string[]
  /** Compiling and loading, in milliseconds. */
  compileMs: number
  loadMs: number
  warnings: string[]
}

const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {})

export function natPools(pools: Resource[]): NatPool[] {
  return pools.map((p) => {
    const spec = record(p.spec)
    return {cidr: String(spec.cidr ?? ''), natOutgoing: spec.natOutgoing === true, disabled: spec.disabled === true}
  })
}

/** Each node's script: its workload endpoints are the lab's pods on it, found by the WorkloadEndpoints the world holds. */
export function compileLabPolicy(world: World, cluster: LabCluster, pools: NatPool[]): Map<string, string> {
  const scripts = new Map<string, string>()
  for (const node of cluster.nodes) {
    const workloads = cluster.pods
      .filter((p) => p.node === node.name)
      .map((pod) => {
        // The WEP Felix would use: on this node, for this interface.
        const wep = world.peers.find((w) => w.kind === 'WorkloadEndpoint' && w.interfaceName === pod.hostIf && record(w.resource.spec).node === node.name)
        return {interfaceName: pod.hostIf, name: wep?.name, namespace: wep?.namespace}
      })
    scripts.set(node.name, compileNodePolicy(world, {node: node.name, workloads, pools, uplink: 'eth0'}))
  }
  return scripts
}

async function tableLoaded(netns: string): Promise<boolean> {
  const listed = await run(...inNetns(netns, 'nft', ['list', 'tables']), {allowFailure: true})
  return listed.exitCode === 0 && listed.stdout.split('\n').some((l) => l.trim() === `table inet ${NFT_TABLE}`)
}

/** The calico nodes whose policy table is not loaded (lab status's check). */
export async function nodesWithoutPolicy(cluster: LabCluster): Promise<string[]> {
  if (cluster.flavor !== 'calico') return []
  const loaded = await inParallel(cluster.nodes, 8, (node) => tableLoaded(node.netns))
  return cluster.nodes.filter((_, i) => !loaded[i]).map((n) => n.name)
}

async function loadNode(stateDir: string, cluster: LabCluster, node: LabNode, script: string): Promise<boolean> {
  // Never the host's namespace, nor anyone else's: only a node namespace of this lab.
  if (!node.netns.startsWith(netnsPrefix(cluster.lab))) throw new NetctlError('internal', `node ${node.name}'s namespace ${node.netns} is not lab "${cluster.lab}"'s`)
  const file = nodeFile(cluster.lab, node.name, POLICY_FILE)
  if (readStateFile(stateDir, file) === script && (await tableLoaded(node.netns))) return false
  try {
    await run(...inNetns(node.netns, 'nft', ['-f', '-']), {input: script})
  } catch (error) {
    if (isNetctlError(error, 'unsupported')) throw error
    const detail = isNetctlError(error) ? error.message : String(error)
    throw new NetctlError('internal', `loading node ${node.name}'s policy into ${node.netns} failed: ${detail}`, `the script is what netctl would load; check nft is installed (apt-get install nftables) and the kernel has nf_tables`)
  }
  writeStateFile(stateDir, file, script)
  return true
}

/** Compile every node's script from the datastore and load those that changed. Calico labs only. */
export async function applyLabPolicy(stateDir: string, ds: Datastore, cluster: LabCluster): Promise<PolicyApplied> {
  if (cluster.flavor !== 'calico') return {loaded: [], unchanged: [], compileMs: 0, loadMs: 0, warnings: []}
  const started = performance.now()
  const [world, pools] = await Promise.all([
    loadWorld(ds),
    ds.list(ipPoolKind).catch((error: unknown) => {
      if (isNetctlError(error, 'not-found')) return [] as Resource[]
      throw error
    }),
  ])
  const scripts = compileLabPolicy(world, cluster, natPools(pools))
  const compiled = performance.now()
  const loaded = await inParallel(cluster.nodes, 8, (node) => loadNode(stateDir, cluster, node, scripts.get(node.name)!))
  return {
    loaded: cluster.nodes.filter((_, i) => loaded[i]).map((n) => n.name),
    unchanged: cluster.nodes.filter((_, i) => !loaded[i]).map((n) => n.name),
    compileMs: compiled - started,
    loadMs: performance.now() - compiled,
    warnings: world.warnings,
  }
}
