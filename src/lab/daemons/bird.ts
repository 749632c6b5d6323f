/**
 * BIRD in calico lab nodes: one daemon per node namespace, its config rendered from the
 * lab's datastore, its control socket and log in the lab's directory, its pid recorded.
 */
import {readFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {birdQuery} from '../../bgp/birdc.js'
import {bgpSessions, defaultASNumber, nodeFromResource, renderBirdConfig, type BirdPool} from '../../bgp/config.js'
import {bgpPeers, parseProtocols, type PeerStatus} from '../../bgp/protocols.js'
import {applyBatch} from '../../dataplane/apply.js'
import {routeLine} from '../../dataplane/diff.js'
import {parseRoute} from '../../dataplane/observe.js'
import {inNetns, inParallel, run} from '../../dataplane/run.js'
import type {Datastore} from '../../datastore/datastore.js'
import {checkpoint, NetctlError} from '../../errors.js'
import {bgpConfigurationKind, bgpPeerKind} from '../../resources/bgp.js'
import {nodeKind} from '../../resources/node.js'
import {birdProgramsPool, encapsulationOf} from '../plan/calico.js'
import {checkStored, ownerOf, readStored} from '../stored.js'
import type {LabCluster, LabNode} from '../plan/cluster.js'
import {adoptStrays, nodeDir, nodeFile, runningDaemons, startDaemon, type DaemonSpec} from './proc.js'
import {readStateFile, writeStateFile} from '../../datastore/safe-fs.js'

export const birdFiles = (stateDir: string, lab: string, node: string) => {
  const dir = nodeDir(stateDir, lab, node)
  return {dir, config: join(dir, 'bird.conf'), socket: join(dir, 'bird.ctl'), log: join(dir, 'bird.log')}
}

/** Every node's bird.conf, from what the datastore says now. */
export async function renderLabBirdConfigs(ds: Datastore, stateDir: string, cluster: LabCluster): Promise<Map<string, string>> {
  const where = `the datastore (${ds.location})`
  // The lab peers only its own nodes; BGP peers and configuration apply as in a cluster. All validated before use.
  const [nodeResources, peers] = await Promise.all([
    ds.list(nodeKind).then((all) => checkStored(nodeKind, all.filter((n) => ownerOf(n) === cluster.lab), where)),
    ds.list(bgpPeerKind).then((all) => checkStored(bgpPeerKind, all, where)),
  ])
  const config = await readStored(ds, bgpConfigurationKind, 'default', where)
  const nodes = nodeResources.map(nodeFromResource)
  const clusterAs = (config?.spec?.asNumber as number | undefined) ?? defaultASNumber
  const configs = new Map<string, string>()
  for (const labNode of cluster.nodes) {
    const self = nodes.find((n) => n.name === labNode.name)
    if (!self) continue
    configs.set(labNode.name, renderBirdConfig({
      node: self,
      asNumber: self.asNumber ?? clusterAs,
      sessions: bgpSessions(self, nodes, config, peers),
      blocks: labNode.blocks,
      pools: [labBirdPool(cluster)],
      localSubnet: cluster.subnets[labNode.subnet]?.cidr,
      logFile: birdFiles(stateDir, cluster.lab, labNode.name).log,
    }))
  }
  return configs
}

/** The lab's pool as bird.conf's kernel filter needs it: whose cluster routes, and whether through tunl0. */
function labBirdPool(cluster: LabCluster): BirdPool {
  const {ipip} = encapsulationOf(cluster)
  return {cidr: String(cluster.pool.spec?.cidr), felix: !birdProgramsPool(cluster), ipip: ipip === 'Never' ? undefined : ipip}
}

/** The nodes whose recorded BIRD still runs and serves its socket. */
const runningBirds = (stateDir: string, lab: string): Set<string> =>
  new Set([...runningDaemons(stateDir, lab, 'bird').keys()].filter((node) => existsSync(birdFiles(stateDir, lab, node).socket)))

export function allBirdsRunning(stateDir: string, cluster: LabCluster): boolean {
  const running = runningBirds(stateDir, cluster.lab)
  return cluster.nodes.every((node) => running.has(node.name))
}

export function readBirdConfig(stateDir: string, lab: string, node: string): string | undefined {
  try {
    return readStateFile(stateDir, nodeFile(lab, node, 'bird.conf'))
  } catch {
    return undefined
  }
}

function birdDaemon(stateDir: string, lab: string, node: LabNode): DaemonSpec {
  const files = birdFiles(stateDir, lab, node.name)
  // -f keeps BIRD in the foreground, so the recorded pid stays its own.
  return {
    kind: 'bird', node: node.name, netns: node.netns, argv: ['bird', '-f', '-c', files.config, '-s', files.socket], readyPath: files.socket,
    whenMissing: {message: 'cannot start BIRD', suggestion: 'install BIRD 2 (apt-get install bird2), or build the lab with --bgp off'},
  }
}

export async function startBird(stateDir: string, lab: string, node: LabNode): Promise<void> {
  const files = birdFiles(stateDir, lab, node.name)
  const ready = await startDaemon(stateDir, lab, birdDaemon(stateDir, lab, node))
  if (ready) return
  const log = existsSync(files.log) ? readFileSync(files.log, 'utf8').trim().split('\n').slice(-3).join(' / ') : ''
  const check = await run('bird', ['-p', '-c', files.config], {allowFailure: true})
  throw new NetctlError('internal', `BIRD did not start on node ${node.name}: ${check.stderr.trim() || log || 'no socket appeared'}`, `see ${files.config} and ${files.log}`)
}

/** Write each node's config; start BIRD where none runs (all at once: each waits for its socket), reload it where the config changed. */
export async function syncBirds(stateDir: string, cluster: LabCluster, configs: Map<string, string>): Promise<{started: number; reloaded: number}> {
  let started = 0
  let reloaded = 0
  await adoptStrays(stateDir, cluster.lab, cluster.nodes.map((node) => birdDaemon(stateDir, cluster.lab, node)))
  const running = runningBirds(stateDir, cluster.lab)
  await inParallel(cluster.nodes, 32, async (node) => {
    const text = configs.get(node.name)
    if (text === undefined) return
    const files = birdFiles(stateDir, cluster.lab, node.name)
    const previous = readBirdConfig(stateDir, cluster.lab, node.name)
    writeStateFile(stateDir, nodeFile(cluster.lab, node.name, 'bird.conf'), text)
    if (!running.has(node.name)) {
      await startBird(stateDir, cluster.lab, node)
      started++
    } else if (previous !== text) {
      const reply = await birdQuery(files.socket, 'configure')
      if (/(^|\n)[89]\d{3} /.test(reply)) throw new NetctlError('internal', `BIRD on ${node.name} refused the new config: ${reply.trim()}`, `see ${files.config}`)
      reloaded++
    }
  })
  return {started, reloaded}
}

/**
 * Before BIRD takes the pool's routes over from Felix (a pool leaving VXLAN, or BGP
 * turned on), ours to those blocks step aside to metric 1. BIRD cannot install its route
 * (metric 0) over one of another owner, but beside it, yes, and the lower metric wins at
 * once; the switch phase then removes ours. No gap either way.
 */
export async function makeRoomForBird(cluster: LabCluster): Promise<void> {
  if (!birdProgramsPool(cluster)) return
  // Its own blocks' blackholes, and every peer's blocks.
  const blocks = new Set(cluster.nodes.flatMap((o) => o.blocks))
  await inParallel(cluster.nodes, 8, async (node) => {
    const {stdout} = await run(...inNetns(node.netns, 'ip', ['-j', 'route', 'show', 'table', 'main']))
    const ours = (JSON.parse(stdout || '[]') as Array<Record<string, unknown>>).map(parseRoute).filter((r) => blocks.has(r.dst) && r.proto !== 'bird' && !r.metric)
    await applyBatch(node.netns, {ip: ours.flatMap((r) => [routeLine('replace', {...r, metric: 1}), routeLine('del', r)]), bridge: []})
  })
}

export interface Convergence {
  seconds: number
  sessions: number
}

export interface NodeLook {
  pending: string[]
  sessions: number
  established: number
}

/**
 * What keeps BGP from being converged now: sessions not Established, blocks not routed (empty
 * when converged), overall and per node. `only`: look at these nodes alone.
 */
export async function bgpGaps(stateDir: string, cluster: LabCluster, only?: ReadonlySet<string>): Promise<{pending: string[]; sessions: number; established: number; byNode: Map<string, NodeLook>}> {
  const nodes = only ? cluster.nodes.filter((n) => only.has(n.name)) : cluster.nodes
  const looks = await inParallel(nodes, 8, async (node): Promise<NodeLook> => {
    let peers: PeerStatus[]
    try {
      peers = bgpPeers(parseProtocols(await birdQuery(birdFiles(stateDir, cluster.lab, node.name).socket, 'show protocols')))
    } catch (error) {
      return {pending: [`${node.name}: ${(error as Error).message}`], sessions: 0, established: 0}
    }
    const pending: string[] = []
    const established = peers.filter((p) => p.info === 'Established').length
    for (const p of peers) if (p.info !== 'Established') pending.push(`${node.name} → ${p.peerAddress} (${p.peerType}): ${p.state} ${p.info}`.trim())
    // The kernel's routes only once every session is up: no process a node while they come up.
    if (pending.length > 0) return {pending, sessions: peers.length, established}
    const {stdout} = await run(...inNetns(node.netns, 'ip', ['-j', 'route', 'show', 'proto', 'bird']), {allowFailure: true})
    const learned = new Set((JSON.parse(stdout || '[]') as Array<{dst: string}>).map((r) => r.dst))
    // Where Felix programs the pool's routes, BIRD puts none in the kernel: the sessions are all there is to wait for.
    for (const other of birdProgramsPool(cluster) ? cluster.nodes : []) {
      if (other === node) continue
      for (const block of other.blocks) if (!learned.has(block)) pending.push(`${node.name} has no route to ${other.name}'s block ${block} yet`)
    }
    return {pending, sessions: peers.length, established}
  })
  const byNode = new Map(nodes.map((n, i) => [n.name, looks[i]!]))
  return {
    pending: looks.flatMap((l) => l.pending),
    sessions: looks.reduce((sum, l) => sum + l.sessions, 0),
    established: looks.reduce((sum, l) => sum + l.established, 0),
    byNode,
  }
}

/**
 * Wait until every session is Established and every node has BIRD routes to every other
 * node's blocks. Each look asks only the nodes not converged at the last one; once all
 * were, one more look asks them all, so that a session that dropped meanwhile is not missed.
 */
export async function waitForConvergence(stateDir: string, cluster: LabCluster, timeoutMs: number, signal?: AbortSignal, onSessions?: (established: number, total: number) => void): Promise<Convergence> {
  const started = performance.now()
  const last = new Map<string, NodeLook>()
  let pending: string[] = []
  while (performance.now() - started < timeoutMs) {
    checkpoint(signal, 'while waiting for BGP', '')
    const open = new Set(cluster.nodes.filter((n) => last.get(n.name)?.pending.length !== 0).map((n) => n.name))
    const full = open.size === 0
    const gaps = await bgpGaps(stateDir, cluster, full ? undefined : open)
    for (const [name, look] of gaps.byNode) last.set(name, look)
    const looks = [...last.values()]
    pending = looks.flatMap((l) => l.pending)
    onSessions?.(looks.reduce((sum, l) => sum + l.established, 0), looks.reduce((sum, l) => sum + l.sessions, 0))
    if (full && pending.length === 0) return {seconds: (performance.now() - started) / 1000, sessions: gaps.sessions}
    if (pending.length > 0) await sleep(100)
  }
  throw new NetctlError(
    'unavailable',
    `BGP did not converge within ${timeoutMs / 1000} s: ${pending.slice(0, 4).join('; ')}${pending.length > 4 ? `; and ${pending.length - 4} more` : ''}`,
    `see netctl node status --lab ${cluster.lab}, and the bird.log files in the lab's directory`,
  )
}
