/**
 * BIRD in calico lab nodes: one daemon per node namespace, its config rendered from the
 * lab's datastore, its control socket and log in the lab's directory, its pid recorded.
 */
import {spawn} from 'node:child_process'
import {readFileSync, writeFileSync, mkdirSync, existsSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {birdQuery} from '../bgp/birdc.js'
import {bgpSessions, defaultASNumber, nodeFromResource, renderBirdConfig} from '../bgp/config.js'
import {bgpPeers, parseProtocols, type PeerStatus} from '../bgp/protocols.js'
import {run} from '../dataplane/run.js'
import type {Datastore} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {bgpConfigurationKind, bgpPeerKind} from '../resources/bgp.js'
import {nodeKind} from '../resources/node.js'
import {tunnelledBlocks} from './calico.js'
import type {LabCluster, LabNode} from './cluster.js'
import {processStartTime} from './proc.js'
import {labDir, readOwned, recordOwned} from './state.js'

export const birdFiles = (stateDir: string, lab: string, node: string) => {
  const dir = join(labDir(stateDir, lab), node)
  return {dir, config: join(dir, 'bird.conf'), socket: join(dir, 'bird.ctl'), log: join(dir, 'bird.log')}
}

/** Every node's bird.conf, from what the datastore says now. */
export async function renderLabBirdConfigs(ds: Datastore, stateDir: string, cluster: LabCluster): Promise<Map<string, string>> {
  const [nodeResources, peers] = await Promise.all([ds.list(nodeKind), ds.list(bgpPeerKind)])
  let config: Awaited<ReturnType<Datastore['get']>> | undefined
  try {
    config = await ds.get(bgpConfigurationKind, 'default')
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

/** The nodes whose recorded BIRD still runs (same pid, same start time, socket there). */
function runningBirds(stateDir: string, lab: string): Set<string> {
  const latest = new Map<string, {pid: number; start: string}>()
  for (const o of readOwned(stateDir, lab)) if ('pid' in o && o.what.startsWith('bird ')) latest.set(o.what.slice(5), o)
  return new Set([...latest].filter(([node, o]) => processStartTime(o.pid) === o.start && existsSync(birdFiles(stateDir, lab, node).socket)).map(([node]) => node))
}

export function readBirdConfig(stateDir: string, lab: string, node: string): string | undefined {
  try {
    return readFileSync(birdFiles(stateDir, lab, node).config, 'utf8')
  } catch {
    return undefined
  }
}

export async function startBird(stateDir: string, lab: string, node: LabNode): Promise<void> {
  const files = birdFiles(stateDir, lab, node.name)
  rmSync(files.socket, {force: true})
  // `ip netns exec` execs bird in place: the pid we get is BIRD's own; -f keeps it from forking.
  const child = spawn('ip', ['netns', 'exec', node.netns, 'bird', '-f', '-c', files.config, '-s', files.socket], {detached: true, stdio: 'ignore'})
  const failed = new Promise<never>((_, reject) => child.once('error', (error) => reject(new NetctlError('unsupported', `cannot start BIRD: ${error.message}`, 'install BIRD 2 (apt-get install bird2), or build the lab with --bgp off'))))
  child.unref()
  await Promise.race([sleep(20), failed])
  const start = processStartTime(child.pid!)
  if (start) recordOwned(stateDir, lab, [{pid: child.pid!, start, what: `bird ${node.name}`}])
  for (let i = 0; i < 150; i++) {
    if (existsSync(files.socket)) return
    if (child.exitCode !== null || processStartTime(child.pid!) !== start) break
    await sleep(20)
  }
  const log = existsSync(files.log) ? readFileSync(files.log, 'utf8').trim().split('\n').slice(-3).join(' / ') : ''
  const check = await run('bird', ['-p', '-c', files.config], {allowFailure: true})
  throw new NetctlError('internal', `BIRD did not start on node ${node.name}: ${check.stderr.trim() || log || 'no socket appeared'}`, `see ${files.config} and ${files.log}`)
}

/** Write each node's config; start BIRD where none runs, reload it where the config changed. */
export async function syncBirds(stateDir: string, cluster: LabCluster, configs: Map<string, string>): Promise<{started: number; reloaded: number}> {
  let started = 0
  let reloaded = 0
  const running = runningBirds(stateDir, cluster.lab)
  for (const node of cluster.nodes) {
    const text = configs.get(node.name)
    if (text === undefined) continue
    const files = birdFiles(stateDir, cluster.lab, node.name)
    mkdirSync(files.dir, {recursive: true})
    const previous = readBirdConfig(stateDir, cluster.lab, node.name)
    writeFileSync(files.config, text)
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

export interface Convergence {
  seconds: number
  sessions: number
}

/** Wait until every session is Established and every node has BIRD routes to every other node's blocks. */
export async function waitForConvergence(stateDir: string, cluster: LabCluster, timeoutMs: number): Promise<Convergence> {
  const started = performance.now()
  let pending: string[] = []
  let sessions = 0
  while (performance.now() - started < timeoutMs) {
    pending = []
    sessions = 0
    for (const node of cluster.nodes) {
      let peers: PeerStatus[]
      try {
        peers = bgpPeers(parseProtocols(await birdQuery(birdFiles(stateDir, cluster.lab, node.name).socket, 'show protocols')))
      } catch (error) {
        pending.push(`${node.name}: ${(error as Error).message}`)
        continue
      }
      sessions += peers.length
      for (const p of peers) if (p.info !== 'Established') pending.push(`${node.name} → ${p.peerAddress} (${p.peerType}): ${p.state} ${p.info}`.trim())
      const {stdout} = await run('ip', ['-n', node.netns, '-j', 'route', 'show', 'proto', 'bird'])
      const learned = new Set((JSON.parse(stdout || '[]') as Array<{dst: string}>).map((r) => r.dst))
      const tunnelled = new Set(tunnelledBlocks(cluster, node))
      for (const other of cluster.nodes) {
        if (other === node) continue
        for (const block of other.blocks) if (!tunnelled.has(block) && !learned.has(block)) pending.push(`${node.name} has no route to ${other.name}'s block ${block} yet`)
      }
    }
    if (pending.length === 0) return {seconds: (performance.now() - started) / 1000, sessions}
    await sleep(100)
  }
  throw new NetctlError(
    'unavailable',
    `BGP did not converge within ${timeoutMs / 1000} s: ${pending.slice(0, 4).join('; ')}${pending.length > 4 ? `; and ${pending.length - 4} more` : ''}`,
    `see netctl node status --lab ${cluster.lab}, and the bird.log files in the lab's directory`,
  )
}
