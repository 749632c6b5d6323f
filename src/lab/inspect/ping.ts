/**
 * `netctl lab ping`: every pod from every other (a covering sample in large labs), by ICMP or
 * by TCP/UDP to a port (listeners in every pod, a prober in every source pod).
 */
import {spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'

import {formatColumns} from '../../cli/output.js'
import {NetctlError} from '../../errors.js'
import {inParallel, run} from '../../dataplane/run.js'
import {loadCluster} from '../plan/cluster.js'
import {requireClusterLab, withDatastore} from '../lab.js'
import {ensureListeners, probeProgram, type ProbeProtocol} from '../daemons/listeners.js'

export interface PingResult {
  from: string
  to: string
  toIp: string
  sent: number
  received: number
  lossPercent: number
  rttAvgMs?: number
  ttl?: number
}

/** Parse iputils ping's summary. */
export function parsePing(output: string): Pick<PingResult, 'sent' | 'received' | 'lossPercent' | 'rttAvgMs' | 'ttl'> {
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(output)
  const rtt = /= [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ ms/.exec(output)
  const ttl = /ttl=(\d+)/.exec(output)
  const sent = Number(counts?.[1] ?? 0)
  const received = Number(counts?.[2] ?? 0)
  return {sent, received, lossPercent: sent ? Math.round((100 * (sent - received)) / sent) : 100, rttAvgMs: rtt ? Number(rtt[1]) : undefined, ttl: ttl ? Number(ttl[1]) : undefined}
}

/**
 * A 100 pps ping from namespace `netns` to `ip` while `during` runs (what a live switch
 * loses). Lost: the sequence numbers that never got a reply, leaving out the last one,
 * still in flight when the ping is stopped.
 */
export async function pingDuring(netns: string, ip: string, during: () => Promise<unknown>): Promise<{sent: number; lost: number}> {
  const ping = spawn('ip', ['netns', 'exec', netns, 'ping', '-n', '-i', '0.01', ip], {stdio: ['ignore', 'pipe', 'ignore']})
  let out = ''
  ping.stdout.on('data', (d) => (out += d))
  const closed = new Promise((resolve) => ping.on('close', resolve))
  try {
    await sleep(300)
    await during()
    await sleep(300)
  } finally {
    ping.kill('SIGINT')
    await closed
  }
  const sent = Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? 0)
  const replied = new Set([...out.matchAll(/icmp_seq=(\d+) /g)].map((m) => Number(m[1])))
  return {sent, lost: Array.from({length: Math.max(sent - 1, 0)}, (_, i) => i + 1).filter((seq) => !replied.has(seq)).length}
}

/** Above this many pods the matrix is sampled unless every pair is asked for: 1,000 pods are a million pairs. */
export const fullMatrixLimit = 30

/**
 * Which pairs to ping: all of them in a small lab; in a large one each pod pings a neighbour
 * on its own node and one pod on each of up to four other nodes (every node pair still gets
 * covered across the pods).
 */
export function pingPairs<P extends {node: string}>(pods: readonly P[], all: boolean): Array<{a: P; b: P}> {
  if (all || pods.length <= fullMatrixLimit) return pods.flatMap((a) => pods.filter((b) => b !== a).map((b) => ({a, b})))
  const nodes = [...new Set(pods.map((p) => p.node))]
  const byNode = new Map(nodes.map((n) => [n, pods.filter((p) => p.node === n)]))
  return pods.flatMap((a, i) => {
    const home = byNode.get(a.node)!
    const pairs: Array<{a: P; b: P}> = []
    const neighbour = home[(home.indexOf(a) + 1) % home.length]!
    if (neighbour !== a) pairs.push({a, b: neighbour})
    const others = nodes.filter((n) => n !== a.node)
    for (let k = 0; k < Math.min(4, others.length); k++) {
      const node = others[(i + k) % others.length]!
      const there = byNode.get(node)!
      pairs.push({a, b: there[i % there.length]!})
    }
    return pairs
  })
}

export async function labPing(stateDir: string, name: string, options: {count?: number; all?: boolean; onPair?: (done: number, total: number) => void} = {}): Promise<PingResult[]> {
  const record = requireClusterLab(stateDir, name)
  const cluster = await withDatastore(stateDir, record, (ds) => loadCluster(ds, name, record.topology))
  const pairs = pingPairs(cluster.pods, options.all ?? false)
  const count = options.count ?? 2
  let done = 0
  return inParallel(pairs, 16, async ({a, b}) => {
    const result = await run('ip', ['netns', 'exec', a.netns, 'ping', '-n', '-c', String(count), '-i', '0.2', '-W', '1', b.ip], {allowFailure: true})
    options.onPair?.(++done, pairs.length)
    return {from: a.name, to: b.name, toIp: b.ip, ...parsePing(result.stdout)}
  })
}


/** What one TCP/UDP attempt got back (see libexec/port-probe.py). */
export type ProbeOutcome = 'ok' | 'refused' | 'timeout' | 'no-answer' | 'unreachable' | 'error'

export interface ProbeResult {
  from: string
  to: string
  toIp: string
  attempts: number
  ok: number
  /** ok when every attempt was; otherwise the failure seen most (the last one on a tie). */
  outcome: ProbeOutcome
  /** Mean time of the successful attempts. */
  timeAvgMs?: number
}

export interface ProbeReport {
  protocol: ProbeProtocol
  port: number
  timeoutMs: number
  pods: string[]
  results: ProbeResult[]
  failed: number
  /** Fewer pairs than all of them (a large lab without --all). */
  sampled: boolean
  listeners: {started: number; running: number}
}

const outcomes = new Set<ProbeOutcome>(['ok', 'refused', 'timeout', 'no-answer', 'unreachable', 'error'])

/** The prober's JSON lines, by "<source pod> <target IP>"; anything else on its stdout is ignored. */
export function parseProbeLines(output: string): Map<string, Array<{outcome: ProbeOutcome; ms: number}>> {
  const byPair = new Map<string, Array<{outcome: ProbeOutcome; ms: number}>>()
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const {from, ip, outcome, ms} = JSON.parse(line) as {from?: unknown; ip?: unknown; outcome?: unknown; ms?: unknown}
      if (typeof from !== 'string' || typeof ip !== 'string' || !outcomes.has(outcome as ProbeOutcome)) continue
      const key = `${from} ${ip}`
      byPair.set(key, [...(byPair.get(key) ?? []), {outcome: outcome as ProbeOutcome, ms: typeof ms === 'number' ? ms : 0}])
    } catch {
      // a torn line: that attempt counts as missing
    }
  }
  return byPair
}

/** One pair's verdict from its attempts (missing attempts count as errors). */
export function summarizeAttempts(attempts: ReadonlyArray<{outcome: ProbeOutcome; ms: number}>, expected: number): Pick<ProbeResult, 'attempts' | 'ok' | 'outcome' | 'timeAvgMs'> {
  const good = attempts.filter((a) => a.outcome === 'ok')
  const failures = attempts.filter((a) => a.outcome !== 'ok').map((a) => a.outcome)
  for (let i = attempts.length; i < expected; i++) failures.push('error')
  let outcome: ProbeOutcome = 'ok'
  if (failures.length > 0) {
    const counts = new Map<ProbeOutcome, number>()
    for (const f of failures) counts.set(f, (counts.get(f) ?? 0) + 1)
    outcome = failures.reduce((best, f) => (counts.get(f)! >= counts.get(best)! ? f : best), failures[0]!)
  }
  const timeAvgMs = good.length ? Math.round((1000 * good.reduce((sum, a) => sum + a.ms, 0)) / good.length) / 1000 : undefined
  return {attempts: Math.max(expected, attempts.length), ok: good.length, outcome, timeAvgMs}
}

/**
 * TCP/UDP probes to `port` on every pod from every other (the same pairs as the ICMP matrix):
 * listeners are started where missing (see listeners.ts), then one prober connects from each
 * source pod's namespace to its targets, a bounded number of pairs at a time.
 */
export async function labProbe(
  stateDir: string,
  name: string,
  options: {port: number; protocol?: ProbeProtocol; count?: number; all?: boolean; timeoutMs?: number},
): Promise<ProbeReport> {
  const record = requireClusterLab(stateDir, name)
  const cluster = await withDatastore(stateDir, record, (ds) => loadCluster(ds, name, record.topology))
  const protocol = options.protocol ?? 'tcp'
  const count = options.count ?? 2
  const timeoutMs = options.timeoutMs ?? 1000
  const pairs = pingPairs(cluster.pods, options.all ?? false)
  const listeners = await ensureListeners(stateDir, name, cluster.pods, protocol, options.port)
  // One prober for every pair: its threads enter the source pods' namespaces (one python
  // start-up instead of one per source pod: 320 pairs of 80 pods took 12 s that way on two
  // CPUs, 0.8 s this way).
  const jobs = pairs.map(({a, b}) => `/run/netns/${a.netns} ${a.name} ${b.ip}\n`).join('')
  const argv = [probeProgram, 'probe', protocol, String(options.port), String(count), String(timeoutMs / 1000)]
  const result = await run('python3', argv, {input: jobs, allowFailure: true}).catch((error: unknown) => {
    if (error instanceof NetctlError && /not installed/.test(error.message)) throw new NetctlError('unsupported', 'cannot run the port prober: python3 is not installed', 'install python3 (apt-get install python3)')
    throw error
  })
  if (result.exitCode !== 0) throw new NetctlError('internal', `the port prober failed: ${result.stderr.trim().split('\n').slice(-1)[0] || `exit ${result.exitCode}`}`, 'check that python3 runs: python3 --version')
  const byPair = parseProbeLines(result.stdout)
  const results = pairs.map(({a, b}) => ({from: a.name, to: b.name, toIp: b.ip, ...summarizeAttempts(byPair.get(`${a.name} ${b.ip}`) ?? [], count)}))
  const podCount = cluster.pods.length
  return {
    protocol, port: options.port, timeoutMs, pods: cluster.pods.map((p) => p.name), results,
    failed: results.filter((r) => r.outcome !== 'ok').length, sampled: results.length < podCount * (podCount - 1), listeners,
  }
}

const marks = {ok: '✓', failed: '✗', self: '·', unprobed: ' '}

/** Human words for an outcome in the table. */
const outcomeWords: Record<ProbeOutcome, string> = {ok: 'ok', refused: 'refused', timeout: 'timed out', 'no-answer': 'no answer', unreachable: 'unreachable', error: 'error'}

/**
 * The port probe as text: a header naming protocol/port, one row per pair (FROM TO IP RESULT
 * TIME), a from×to grid of ✓/✗ when the lab is small enough to print every pair, a legend
 * and a summary line.
 */
export function renderProbeReport(report: ProbeReport): string {
  const {protocol, port, results} = report
  const lines: string[] = []
  const attempts = results[0]?.attempts ?? 0
  lines.push(`${protocol.toUpperCase()} port ${port}: ${results.length} pairs of ${report.pods.length} pods, ${attempts} attempt${attempts === 1 ? '' : 's'} each, ${report.timeoutMs / 1000} s timeout`, '')
  const rows = results.map((r) => [
    r.from, r.to, `${r.toIp}:${port}`,
    `${r.outcome === 'ok' ? marks.ok : marks.failed} ${outcomeWords[r.outcome]}${r.ok > 0 && r.ok < r.attempts ? ` (${r.ok}/${r.attempts} ok)` : ''}`,
    r.timeAvgMs === undefined ? '-' : r.timeAvgMs.toFixed(3),
  ])
  lines.push(formatColumns([['FROM', 'TO', 'TARGET', 'RESULT', 'TIME(ms)'], ...rows]))
  if (report.pods.length <= fullMatrixLimit) lines.push('', ...renderGrid(report.pods, results))
  const answered = protocol === 'tcp' ? 'connected' : 'answered'
  const denied = protocol === 'tcp' ? 'refused, timed out' : 'no answer, refused'
  lines.push('', `${marks.ok} allowed (${answered} on every attempt)   ${marks.failed} denied (${denied}, unreachable)`)
  lines.push(summaryLine(report))
  return lines.join('\n')
}

/** Rows: from; columns: to, numbered as the rows are. */
export function renderGrid(pods: readonly string[], results: readonly ProbeResult[]): string[] {
  const cell = new Map(results.map((r) => [`${r.from}\0${r.to}`, r.outcome === 'ok' ? marks.ok : marks.failed]))
  const width = String(pods.length).length
  const nameWidth = Math.max(4, ...pods.map((p) => p.length))
  const pad = (text: string, n: number) => text.padStart(n)
  const header = `${' '.repeat(width + 1 + nameWidth)}  ${pods.map((_, j) => pad(String(j + 1), width)).join(' ')}`
  const body = pods.map((from, i) =>
    `${pad(String(i + 1), width)} ${from.padEnd(nameWidth)}  ${pods.map((to) => pad(from === to ? marks.self : (cell.get(`${from}\0${to}`) ?? marks.unprobed), width)).join(' ')}`,
  )
  return ['FROM \\ TO', header, ...body]
}

export function summaryLine(report: ProbeReport): string {
  const {results, failed} = report
  const byOutcome = new Map<ProbeOutcome, number>()
  for (const r of results) if (r.outcome !== 'ok') byOutcome.set(r.outcome, (byOutcome.get(r.outcome) ?? 0) + 1)
  const why = [...byOutcome].map(([o, n]) => `${n} ${outcomeWords[o]}`).join(', ')
  return `${results.length - failed}/${results.length} pairs allowed${failed ? `, ${failed} denied (${why})` : ''}${report.sampled ? ' (a sample: --all probes every pair)' : ''}`
}
