/**
 * BIRD in calico lab nodes: one daemon per node namespace, its config rendered from the
 * lab's datastore, its control socket and log in the lab's directory, its pid recorded.
 */
import {readFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {birdQuery} from '../bgp/birdc.js'
import {bgpSessions, defaultASNumber, nodeFromResource, renderBirdConfig} from '../bgp/config.js'
import {bgpPeers, parseProtocols, type PeerStatus} from '../bgp/protocols.js'
import {applyBatch} from '../dataplane/apply.js'
import {routeLine} from '../dataplane/diff.js'
import {parseRoute} from '../dataplane/observe.js'
import {inNetns, inParallel, run} from '../dataplane/run.js'
import type {Datastore} from '../datastore/datastore.js'
import {checkpoint, isNetctlError, NetctlError} from '../errors.js'
import {bgpConfigurationKind, bgpPeerKind} from '../resources/bgp.js'
import {nodeKind} from '../resources/node.js'
import {tunnelledBlocks} from './calico.js'
import {checkStored, ownerOf} from './stored.js'
import type {LabCluster, LabNode} from './cluster.js'
import {adoptStrays, nodeDir, nodeFile, runningDaemons, startDaemon, type DaemonSpec} from './proc.js'
import {readStateFile, writeStateFile} from '../datastore/safe-fs.js'

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
  let config: Awaited<ReturnType<Datastore['get']>> | undefined
  try {
    config = checkStored(bgpConfigurationKind, [await ds.get(bgpConfigurationKind, 'default')], where)[0]
  } catch (error) {
    if (!isNetctlError(error, 'not-found')) throw error
  }
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
      pools: [String(cluster.pool.spec?.cidr)],
      tunnelled: tunnelledBlocks(cluster, labNode),
      logFile: birdFiles(stateDir, cluster.lab, labNode.name).log,
    }))
  }
  return configs
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

/** Write each node's config; start BIRD where none runs, reload it where the config changed. */
export async function syncBirds(stateDir: string, cluster: LabCluster, configs: Map<string, string>): Promise<{started: number; reloaded: number}> {
  let started = 0
  let reloaded = 0
  await adoptStrays(stateDir, cluster.lab, cluster.nodes.map((node) => birdDaemon(stateDir, cluster.lab, node)))
  const running = runningBirds(stateDir, cluster.lab)
  for (const node of cluster.nodes) {
    const text = configs.get(node.name)
    if (text === undefined) continue
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
  }
  return {started, reloaded}
}

/**
 * Before BIRD takes routes over (blocks back from a tunnel, or all of them when BGP is
 * turned on), ours to those blocks step aside to metric 1. BIRD cannot install its route
 * (metric 0) over one of another owner, but beside it, yes, and the lower metric wins at
 * once; the switch phase then removes ours. No gap either way.
 */
export async function makeRoomForBird(cluster: LabCluster): Promise<void> {
  await inParallel(cluster.nodes, 8, async (node) => {
    const tunnelled = new Set(tunnelledBlocks(cluster, node))
    // Its own blocks' blackholes, and every peer block not left to a tunnel.
    const blocks = new Set(cluster.nodes.flatMap((o) => o.blocks).filter((b) => !tunnelled.has(b)))
    const {stdout} = await run(...inNetns(node.netns, 'ip', ['-j', 'route', 'show', 'table', 'main']))
    const ours = (JSON.parse(stdout || '[]') as Array<Record<string, unknown>>).map(parseRoute).filter((r) => blocks.has(r.dst) && r.proto !== 'bird' && !r.metric)
    await applyBatch(node.netns, {ip: ours.flatMap((r) => [routeLine('replace', {...r, metric: 1}), routeLine('del', r)]), bridge: []})
  })
}

export interface Convergence {
  seconds: number
  sessions: number
}

/** What keeps BGP from being converged now: sessions not Established, blocks not routed (empty when converged). */
export async function bgpGaps(stateDir: string, cluster: LabCluster): Promise<{pending: string[]; sessions: number; established: number}> {
  const pending: string[] = []
  let sessions = 0
  let established = 0
  for (const node of cluster.nodes) {
    let peers: PeerStatus[]
    try {
      peers = bgpPeers(parseProtocols(await birdQuery(birdFiles(stateDir, cluster.lab, node.name).socket, 'show protocols')))
    } catch (error) {
      pending.push(`${node.name}: ${(error as Error).message}`)
      continue
    }
    sessions += peers.length
    established += peers.filter((p) => p.info === 'Established').length
    for (const p of peers) if (p.info !== 'Established') pending.push(`${node.name} → ${p.peerAddress} (${p.peerType}): ${p.state} ${p.info}`.trim())
    const {stdout} = await run(...inNetns(node.netns, 'ip', ['-j', 'route', 'show', 'proto', 'bird']), {allowFailure: true})
    const learned = new Set((JSON.parse(stdout || '[]') as Array<{dst: string}>).map((r) => r.dst))
    const tunnelled = new Set(tunnelledBlocks(cluster, node))
    for (const other of cluster.nodes) {
      if (other === node) continue
      for (const block of other.blocks) if (!tunnelled.has(block) && !learned.has(block)) pending.push(`${node.name} has no route to ${other.name}'s block ${block} yet`)
    }
  }
  return {pending, sessions, established}
}

/** Wait until every session is Established and every node has BIRD routes to every other node's blocks. */
export async function waitForConvergence(stateDir: string, cluster: LabCluster, timeoutMs: number, signal?: AbortSignal, onSessions?: (established: number, total: number) => void): Promise<Convergence> {
  const started = performance.now()
  let pending: string[] = []
  while (performance.now() - started < timeoutMs) {
    checkpoint(signal, 'while waiting for BGP', '')
    const gaps = await bgpGaps(stateDir, cluster)
    onSessions?.(gaps.established, gaps.sessions)
    pending = gaps.pending
    if (pending.length === 0) return {seconds: (performance.now() - started) / 1000, sessions: gaps.sessions}
    await sleep(100)
  }
  throw new NetctlError(
    'unavailable',
    `BGP did not converge within ${timeoutMs / 1000} s: ${pending.slice(0, 4).join('; ')}${pending.length > 4 ? `; and ${pending.length - 4} more` : ''}`,
    `see netctl node status --lab ${cluster.lab}, and the bird.log files in the lab's directory`,
  )
}
