/**
 * Throughput and latency between two pods on different nodes, against the same between
 * their nodes (the baseline), with iperf3 and ping inside the lab's namespaces.
 */
import {spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'

import {run} from '../dataplane/run.js'
import {NetctlError} from '../errors.js'

/** Parse iputils ping's summary. */
export function parsePing(output: string): {sent: number; received: number; lossPercent: number; rttAvgMs?: number; ttl?: number} {
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(output)
  const rtt = /= [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ ms/.exec(output)
  const ttl = /ttl=(\d+)/.exec(output)
  const sent = Number(counts?.[1] ?? 0)
  const received = Number(counts?.[2] ?? 0)
  return {sent, received, lossPercent: sent ? Math.round((100 * (sent - received)) / sent) : 100, rttAvgMs: rtt ? Number(rtt[1]) : undefined, ttl: ttl ? Number(ttl[1]) : undefined}
}

export interface Endpoint {
  netns: string
  ip: string
}

export interface PathFigures {
  gbps: number
  rttMs: number
}

async function iperf(client: Endpoint, server: Endpoint, seconds: number): Promise<number> {
  // -1: the server answers one test and exits; it lives only inside the lab's namespace.
  const daemon = spawn('ip', ['netns', 'exec', server.netns, 'iperf3', '-s', '-1', '-B', server.ip], {stdio: 'ignore'})
  const failed = new Promise<never>((_, reject) => daemon.once('error', (e) => reject(new NetctlError('unsupported', `cannot start iperf3: ${e.message}`, 'install iperf3 (apt-get install iperf3)'))))
  try {
    await Promise.race([sleep(150), failed])
    for (let attempt = 0; ; attempt++) {
      const r = await run('ip', ['netns', 'exec', client.netns, 'iperf3', '-c', server.ip, '-t', String(seconds), '-J'], {allowFailure: true})
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

export async function measurePath(client: Endpoint, server: Endpoint, seconds: number): Promise<PathFigures> {
  return {gbps: await iperf(client, server, seconds), rttMs: await rtt(client, server)}
}
