/**
 * Felix's part a lab plays itself: after every reconcile, each node's policy (workload and host
 * endpoints, with FelixConfiguration's failsafe ports and defaultEndpointToHostAction) and natOutgoing
 * (calico) or flanneld's IPMASQ (flannel, where the policy is Canal's: see src/policy/nft.ts) compiled (src/policy/nft.ts) from the datastore and loaded into that node's
 * namespace with `ip netns exec <node> nft -f -`, only where the script changed (or the table is
 * missing, e.g. in a rebuilt namespace). Nothing ever runs nft outside a lab node's namespace.
 */
import {existsSync} from 'node:fs'

import type {Datastore} from '../../datastore/datastore.js'
import {readStateFile, writeStateFile} from '../../datastore/safe-fs.js'
import {inNetns, inParallel, run} from '../../dataplane/run.js'
import {isNetctlError, NetctlError} from '../../errors.js'
import {felixConfigurationKind} from '../../resources/felixconfiguration.js'
import {ipPoolKind} from '../../resources/ippool.js'
import type {Resource} from '../../resources/types.js'
import {felixHostSettings} from '../../policy/evaluate.js'
import {compileNodePolicy, NFT_TABLE, type NatPool, type NodePolicyInput} from '../../policy/nft.js'
import type {World} from '../../policy/world.js'
import {loadWorld} from '../../services/policy.js'
import type {LabCluster, LabNode} from '../plan/cluster.js'
import {netnsPrefix} from '../topology/names.js'
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

/** What Felix on a node reads from FelixConfiguration for host endpoints: its node.<name> resource over "default" (the evaluator's reading). */
export const felixSettings = felixHostSettings

const encapOn = (mode: unknown) => mode === 'Always' || mode === 'CrossSubnet'

/**
 * Each node's script: its workload endpoints are the lab's pods on it, found by the
 * WorkloadEndpoints the world holds; its host endpoints are the world's HostEndpoints of that node
 * (spec.node), on eth0 by name or by the node address in expectedIPs.
 */
export function compileLabPolicy(world: World, cluster: LabCluster, pools: NatPool[], felixConfigs: Resource[] = []): Map<string, string> {
  const scripts = new Map<string, string>()
  // The WEP Felix would use: on this node, for this interface (one pass over the world, not one per pod).
  const wepByInterface = new Map<string, {name: string; namespace?: string}>()
  for (const w of world.peers) {
    if (w.kind !== 'WorkloadEndpoint' || w.interfaceName === undefined) continue
    const key = `${String(record(w.resource.spec).node)}/${w.interfaceName}`
    if (!wepByInterface.has(key)) wepByInterface.set(key, {name: w.name, namespace: w.namespace})
  }
  const flannel = cluster.flavor === 'flannel'
  // Felix lets IPIP/VXLAN between the cluster's hosts through host endpoint policy, when a pool uses it.
  const tunnels = {ipip: encapOn(cluster.pool?.spec?.ipipMode), vxlan: encapOn(cluster.pool?.spec?.vxlanMode), hosts: cluster.nodes.map((n) => n.ip).filter((ip) => ip !== undefined)}
  for (const node of cluster.nodes) {
    const workloads = cluster.pods
      .filter((p) => p.node === node.name)
      .map((pod) => {
        const wep = wepByInterface.get(`${node.name}/${pod.hostIf}`)
        return {interfaceName: pod.hostIf, address: pod.ip, name: wep?.name, namespace: wep?.namespace}
      })
    const host = {hostInterfaces: [{name: 'eth0', addresses: node.ip === undefined ? [] : [node.ip]}], ...felixSettings(felixConfigs, node.name)}
    const input: NodePolicyInput = flannel
      ? {node: node.name, workloads, bridge: 'cni0', flannelMasq: {network: String(cluster.pool.spec?.cidr ?? ''), subnet: node.blocks[0] ?? ''}, ...host}
      : {node: node.name, workloads, pools, uplink: 'eth0', ...host, tunnels}
    scripts.set(node.name, compileNodePolicy(world, input))
  }
  return scripts
}

async function tableLoaded(netns: string): Promise<boolean> {
  const listed = await run(...inNetns(netns, 'nft', ['list', 'tables']), {allowFailure: true})
  return listed.exitCode === 0 && listed.stdout.split('\n').some((l) => l.trim() === `table inet ${NFT_TABLE}`)
}

const enforces = (cluster: LabCluster) => cluster.flavor === 'calico' || cluster.flavor === 'flannel'

/** The nodes whose policy table is not loaded (lab status's check). */
export async function nodesWithoutPolicy(cluster: LabCluster): Promise<string[]> {
  if (!enforces(cluster)) return []
  const loaded = await inParallel(cluster.nodes, 8, (node) => tableLoaded(node.netns))
  return cluster.nodes.filter((_, i) => !loaded[i]).map((n) => n.name)
}

async function loadNode(stateDir: string, cluster: LabCluster, node: LabNode, script: string, trustRecorded: boolean): Promise<boolean> {
  // Never the host's namespace, nor anyone else's: only a node namespace of this lab.
  if (!node.netns.startsWith(netnsPrefix(cluster.lab))) throw new NetctlError('internal', `node ${node.name}'s namespace ${node.netns} is not lab "${cluster.lab}"'s`)
  const file = nodeFile(cluster.lab, node.name, POLICY_FILE)
  if (readStateFile(stateDir, file) === script && (trustRecorded || (await tableLoaded(node.netns)))) return false
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

/**
 * Compile every node's script from the datastore and load those that changed. trustRecorded (a
 * reconcile after a datastore write, which trusts applied.json likewise): a node whose recorded
 * script is the same is not asked whether its table is loaded (a process per node saved).
 */
export async function applyLabPolicy(stateDir: string, ds: Datastore, cluster: LabCluster, trustRecorded = false): Promise<PolicyApplied> {
  if (!enforces(cluster)) return {loaded: [], unchanged: [], compileMs: 0, loadMs: 0, warnings: []}
  const started = performance.now()
  const none = (error: unknown) => {
    if (isNetctlError(error, 'not-found')) return [] as Resource[]
    throw error
  }
  const [world, pools, felixConfigs] = await Promise.all([loadWorld(ds), ds.list(ipPoolKind).catch(none), ds.list(felixConfigurationKind).catch(none)])
  const scripts = compileLabPolicy(world, cluster, natPools(pools), felixConfigs)
  const compiled = performance.now()
  const loaded = await inParallel(cluster.nodes, 8, (node) => loadNode(stateDir, cluster, node, scripts.get(node.name)!, trustRecorded))
  return {
    loaded: cluster.nodes.filter((_, i) => loaded[i]).map((n) => n.name),
    unchanged: cluster.nodes.filter((_, i) => !loaded[i]).map((n) => n.name),
    compileMs: compiled - started,
    loadMs: performance.now() - compiled,
    warnings: [...world.warnings, ...bridgeWarning(cluster)],
  }
}

/** Bridged pods' traffic meets the IP hooks only through br_netfilter (the kernel has it or not; nothing here changes it). */
function bridgeWarning(cluster: LabCluster): string[] {
  if (cluster.flavor !== 'flannel' || existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) return []
  return ['this kernel has no br_netfilter: policy between pods of the same flannel node (bridged by cni0) is not enforced; load it with modprobe br_netfilter']
}
