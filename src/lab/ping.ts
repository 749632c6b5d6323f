/** `netctl lab ping`: every pod from every other (a covering sample in large labs). */
import {spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'

import {inParallel, run} from '../dataplane/run.js'
import {loadCluster} from './cluster.js'
import {requireClusterLab, withDatastore} from './lab.js'

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

export async function labPing(stateDir: string, name: string, options: {count?: number; all?: boolean} = {}): Promise<PingResult[]> {
  const record = requireClusterLab(stateDir, name)
  const cluster = await withDatastore(stateDir, record, (ds) => loadCluster(ds, name, record.topology))
  const pairs = pingPairs(cluster.pods, options.all ?? false)
  const count = options.count ?? 2
  return inParallel(pairs, 16, async ({a, b}) => {
    const result = await run('ip', ['netns', 'exec', a.netns, 'ping', '-n', '-c', String(count), '-i', '0.2', '-W', '1', b.ip], {allowFailure: true})
    return {from: a.name, to: b.name, toIp: b.ip, ...parsePing(result.stdout)}
  })
}

