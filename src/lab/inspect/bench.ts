/**
 * Throughput and latency between two pods on different nodes, against the same between
 * their nodes (the baseline), with iperf3 and ping inside the lab's namespaces.
 */
import {spawn} from 'node:child_process'
import {availableParallelism} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'

import {run} from '../../dataplane/run.js'
import {checkpoint, NetctlError} from '../../errors.js'
import {loadCluster} from '../plan/cluster.js'
import {encapChange, encapTargets, setIpPool, type Encapsulation} from '../../services/ippool.js'
import {encapsulationOf} from '../plan/calico.js'
import type {LabCluster} from '../plan/cluster.js'
import {reconcileLab, requireClusterLab, setFlannelBackend, withDatastore, type Progress} from '../lab.js'
import {flannelBackends, type FlannelBackend} from '../topology/topology.js'
import type {LabRecord} from '../state.js'
import {parsePing} from './ping.js'

export interface Endpoint {
  netns: string
  ip: string
}

export interface PathFigures {
  gbps: number
  rttMs: number
}

/** Client and server on different CPUs: left to the scheduler, they share one at times and the figures swing by a third. */
const pinning = (): string[] => (availableParallelism() >= 2 ? ['-A', '0,1'] : [])

async function iperf(client: Endpoint, server: Endpoint, seconds: number): Promise<number> {
  // -1: the server answers one test and exits; it lives only inside the lab's namespace.
  const daemon = spawn('ip', ['netns', 'exec', server.netns, 'iperf3', '-s', '-1', '-B', server.ip], {stdio: 'ignore'})
  const failed = new Promise<never>((_, reject) => daemon.once('error', (e) => reject(new NetctlError('unsupported', `cannot start iperf3: ${e.message}`, 'install iperf3 (apt-get install iperf3)'))))
  try {
    await Promise.race([sleep(150), failed])
    for (let attempt = 0; ; attempt++) {
      const r = await run('ip', ['netns', 'exec', client.netns, 'iperf3', '-c', server.ip, '-t', String(seconds), '-J', ...pinning()], {allowFailure: true})
      if (r.exitCode === 0) return (JSON.parse(r.stdout) as {end: {sum_received: {bits_per_second: number}}}).end.sum_received.bits_per_second / 1e9
      if (attempt >= 10) throw new NetctlError('internal', `iperf3 from ${client.netns} to ${server.ip} failed: ${(r.stdout + r.stderr).trim().slice(0, 200)}`, 'check that the two can ping each other')
      await sleep(100)
    }
  } finally {
    if (daemon.exitCode === null) daemon.kill('SIGKILL')
  }
}

async function rtt(client: Endpoint, server: Endpoint): Promise<number> {
  const r = await run('ip', ['netns', 'exec', client.netns, 'ping', '-n', '-q', '-c', '50', '-i', '0.01', server.ip], {allowFailure: true})
  const {rttAvgMs} = parsePing(r.stdout)
  if (rttAvgMs === undefined) throw new NetctlError('internal', `no ping replies from ${server.ip}`, 'run netctl lab ping to see what is broken')
  return rttAvgMs
}

export interface BenchRow {
  mode: string
  pods: PathFigures
  nodes: PathFigures
  ratio: number
}

/** The modes a lab can be switched through: calico pool encapsulations, or flannel backends. */
export function benchModes(record: LabRecord): string[] {
  return record.topology?.flavor === 'flannel' ? [...flannelBackends] : ['none', 'vxlan', 'ipip']
}

/** The mode a lab runs in now, as benchModes names it. */
function currentMode(cluster: LabCluster): string {
  if (cluster.flavor === 'flannel') return cluster.backend?.type ?? 'host-gw'
  const encap = encapsulationOf(cluster)
  return encap.vxlan !== 'Never' ? 'vxlan' : encap.ipip !== 'Never' ? 'ipip' : 'none'
}

/** Switch live: flannel's backend, or every IPv4 pool's encapsulation (then the lab follows). */
export async function switchLabMode(stateDir: string, name: string, mode: string): Promise<void> {
  const record = requireClusterLab(stateDir, name)
  if (record.topology.flavor === 'flannel') {
    await setFlannelBackend(stateDir, name, {type: mode as FlannelBackend['type']})
    return
  }
  await withDatastore(stateDir, record, async (ds) => {
    for (const pool of await encapTargets(ds, [])) await setIpPool(ds, pool.metadata.name, encapChange(mode as Encapsulation, false))
  })
  await reconcileLab(stateDir, name)
}

export interface BenchResult {
  rows: BenchRow[]
  /** Modes this machine cannot run, e.g. IPIP without the ipip module. */
  skipped: Array<{mode: string; reason: string}>
}

/**
 * iperf3 and ping between two pods on different nodes and between those nodes, in the
 * lab's current mode, or in each mode in turn (switched live; the first mode is restored).
 * The ratio is the median over rounds of pods ÷ nodes measured back to back.
 */
const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export interface BenchOptions {
  modes?: boolean
  seconds?: number
  rounds?: number
  /** Switches as steps; measurements counted (iperf3 runs done of all) with the mode, round and seconds left. */
  onProgress?: Progress
  signal?: AbortSignal
}

export async function labBench(stateDir: string, name: string, options: BenchOptions = {}): Promise<BenchResult> {
  const record = requireClusterLab(stateDir, name)
  const cluster = await withDatastore(stateDir, record, (ds) => loadCluster(ds, name, record.topology))
  const a = cluster.pods[0]
  const b = a && cluster.pods.find((p) => p.node !== a.node)
  if (!a || !b) throw new NetctlError('usage', `lab "${name}" needs pods on two nodes to measure`, `netctl lab up --name ${name} --nodes 2 --pods-per-node 1`)
  const nodeA = cluster.nodes.find((n) => n.name === a.node)!
  const nodeB = cluster.nodes.find((n) => n.name === b.node)!
  const seconds = options.seconds ?? 3
  const rounds = options.rounds ?? 3
  const result: BenchResult = {rows: [], skipped: []}
  const nodePath: [Endpoint, Endpoint] = [{netns: nodeA.netns, ip: nodeA.ip}, {netns: nodeB.netns, ip: nodeB.ip}]
  const podPath: [Endpoint, Endpoint] = [{netns: a.netns, ip: a.ip}, {netns: b.netns, ip: b.ip}]
  // Nodes and pods take turns, round after round, and each figure is the median: the
  // machine's drift and hiccups hit both paths alike, and one bad run does not decide.
  const original = currentMode(cluster)
  const modes = options.modes ? benchModes(record) : [original]
  // Two iperf3 runs (nodes, then pods) per round and mode; modes the kernel lacks drop out.
  const runs = {done: 0, total: modes.length * rounds * 2}
  const count = (mode: string, round: number) =>
    options.onProgress?.('measuring', `${mode}, round ${round}/${rounds}, ~${(runs.total - runs.done) * seconds} s left`, runs)
  const measure = async (mode: string) => {
    const samples: Array<{nodes: number; pods: number}> = []
    for (let i = 0; i < rounds; i++) {
      checkpoint(options.signal, `measuring ${mode}`, `the lab is back in its ${original} mode`)
      count(mode, i + 1)
      const nodes = await iperf(...nodePath, seconds)
      runs.done++
      count(mode, i + 1)
      samples.push({nodes, pods: await iperf(...podPath, seconds)})
      runs.done++
    }
    count(mode, rounds)
    result.rows.push({
      mode,
      nodes: {gbps: median(samples.map((s) => s.nodes)), rttMs: await rtt(...nodePath)},
      pods: {gbps: median(samples.map((s) => s.pods)), rttMs: await rtt(...podPath)},
      ratio: median(samples.map((s) => s.pods / s.nodes)),
    })
  }
  if (!options.modes) {
    await measure(original)
    return result
  }
  const switchTo = async (mode: string) => {
    options.onProgress?.(`switching to ${mode}`)
    await switchLabMode(stateDir, name, mode)
  }
  try {
    for (const mode of modes) {
      checkpoint(options.signal, `before switching to ${mode}`, `the lab is back in its ${original} mode`)
      try {
        await switchTo(mode)
      } catch (error) {
        if (!(error instanceof NetctlError && error.kind === 'unsupported')) throw error
        result.skipped.push({mode, reason: error.message})
        runs.total -= rounds * 2
        continue
      }
      await measure(mode)
    }
  } finally {
    await switchTo(original)
  }
  return result
}
