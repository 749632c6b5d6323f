/**
 * Lab build and teardown times for 2×2, 10×10 and 50×20 calico labs, and the same 10×10 lab
 * built the way the seed article builds by hand: one `ip` (or sysctl) process per step;
 * BGP convergence; throughput per encapsulation against the node baseline; and what a
 * 100 pps ping loses across live switches. Needs root; prints why it skips otherwise.
 * NETCTL_BENCH_ONLY=encap runs only the encapsulation change (NETCTL_BENCH_ROUNDS rounds, 3 by
 * default; NETCTL_PHASES=1 prints each run's phase breakdown, as `encap set --debug` does).
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {applyWaves} from '../src/dataplane/apply.js'
import {diffNetns, planLines} from '../src/dataplane/diff.js'
import {emptyObserved} from '../src/dataplane/observe.js'
import {planCluster} from '../src/lab/plan/cluster.js'
import {labBench} from '../src/lab/inspect/bench.js'
import {planLab} from '../src/lab/plan/plan.js'
import {podNetns} from '../src/lab/topology/names.js'
import {pingDuring} from '../src/lab/inspect/ping.js'
import {defaultTopology} from '../src/lab/topology/topology.js'

if (process.getuid?.() !== 0) {
  console.log('lab benchmarks skipped: building namespaces needs root')
  process.exit(0)
}

const state = mkdtempSync(join(tmpdir(), 'netctl-bench-lab-'))
const env = {...process.env, NETCTL_STATE_DIR: state}
const timed = (args: string[]) => measured(args).seconds
/** Wall time, and peak RSS of the netctl process (GNU time's %M). */
function measured(args: string[]): {seconds: number; peakMb: number; stdout: string} {
  const started = process.hrtime.bigint()
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, 'bin/run.js', ...args], {env, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`netctl ${args.join(' ')} failed: ${r.stderr}`)
  const stderr = r.stderr.trim().split('\n')
  if (process.env.NETCTL_PHASES) for (const line of stderr) if (/^(phases|  )/.test(line)) console.log(`    ${line}`)
  return {seconds: Number(process.hrtime.bigint() - started) / 1e9, peakMb: Number(stderr.at(-1)) / 1024, stdout: r.stdout}
}
/** Lab names with the bench's pid (namespaces are the host's, and other labs may be up): speed<pid><letter>. */
let labs = 0
const labName = (): string => `speed${String(process.pid % 100000).padStart(5, '0')}${String.fromCharCode(97 + labs++)}`
/** NETCTL_BENCH_ONLY=encap: only the encapsulation-change reconcile (with NETCTL_PHASES=1, each run's phase breakdown too). */
const only = process.env.NETCTL_BENCH_ONLY
const target = (value: number, limit: number, unit: string) => `(target: under ${limit} ${unit}: ${value < limit ? 'met' : 'MISSED'})`

/** The article's way: every namespace, link, address, route and sysctl its own process. */
async function onePerStep(nodes: number, pods: number): Promise<number> {
  const cluster = planCluster(labName(), defaultTopology({nodes, podsPerNode: pods}), {nodes: [], affinities: [], weps: []})
  const specs = planLab(cluster)
  const commands: string[][] = specs.map((s) => ['ip', 'netns', 'add', s.netns])
  for (const wave of applyWaves(specs)) {
    for (const spec of wave) {
      const plan = diffNetns(spec, {...emptyObserved(), links: [{name: 'lo', up: false}]})
      for (const line of planLines(plan).ip) commands.push(['ip', '-n', spec.netns, ...line.split(' ')])
      for (const [key, value] of Object.entries(plan.sysctls)) commands.push(['ip', 'netns', 'exec', spec.netns, 'sysctl', '-q', '-w', `${key}=${value}`])
    }
  }
  const started = process.hrtime.bigint()
  try {
    for (const [cmd, ...args] of commands) {
      await new Promise<void>((resolve, reject) => {
        spawn(cmd!, args, {stdio: 'ignore'}).on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed`))))
      })
    }
    return Number(process.hrtime.bigint() - started) / 1e9
  } finally {
    spawnSync('ip', ['-force', '-batch', '-'], {input: specs.map((s) => `netns del ${s.netns}\n`).join('')})
  }
}

/** The reconcile after one pool's encapsulation changes, on a 1,000-pod lab: `rounds` times each way. */
function encapReconcile(name: string, rounds: number): void {
  console.log('reconcile of a 1,000-pod lab (40×25, static routes) after one pool\'s encapsulation changes:')
  timed(['lab', 'up', '--name', name, '--nodes', '40', '--pods-per-node', '25', '--bgp', 'off', '--encapsulation', 'None'])
  try {
    const runs: Record<string, number[]> = {vxlan: [], none: []}
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['vxlan', 'none']) {
        const switched = timed(['encap', 'set', mode, '--yes'])
        runs[mode]!.push(switched)
        if (rounds > 1 || process.env.NETCTL_PHASES) console.log(`    run ${round + 1}: encap set ${mode.padEnd(5)} ${switched.toFixed(2)} s`)
      }
    }
    // The median of the rounds against the target, with the range beside it (the machine may be shared).
    for (const [mode, seconds] of Object.entries(runs)) {
      const sorted = [...seconds].sort((a, b) => a - b)
      const median = sorted[Math.floor(sorted.length / 2)]!
      console.log(`  encap set ${mode.padEnd(5)} ${median.toFixed(2).padStart(6)} s${sorted.length > 1 ? ` (median of ${sorted.length}, ${sorted[0]!.toFixed(2)}–${sorted.at(-1)!.toFixed(2)} s)` : ''}   ${target(median, 2, 's')}`)
    }
  } finally {
    timed(['lab', 'down', name])
  }
}

if (only === 'encap') {
  try {
    encapReconcile(`encap${process.pid}`, Number(process.env.NETCTL_BENCH_ROUNDS ?? 3))
  } finally {
    spawnSync(process.execPath, ['bin/run.js', 'lab', 'down', '--all'], {env})
    rmSync(state, {recursive: true, force: true})
  }
  process.exit(0)
}

try {
  console.log('lab build and teardown (calico, static routes; the machine may be shared: run it twice):')
  const results: Record<string, number> = {}
  const perPod: number[] = []
  for (const [nodes, pods] of [[2, 2], [4, 25], [10, 10], [20, 25], [40, 25], [50, 20], [100, 25]] as const) {
    const name = labName()
    const up = measured(['lab', 'up', '--name', name, '--nodes', String(nodes), '--pods-per-node', String(pods), '--bgp', 'off', '--encapsulation', 'None'])
    const down = timed(['lab', 'down', name])
    const count = nodes * pods
    results[`b${nodes}x${pods}`] = up.seconds
    if (count >= 100) perPod.push(up.seconds / count * 1000)
    const targets = [
      nodes === 50 ? target(up.seconds, 4, 's') : '',
      count === 2500 ? `${target(up.seconds, 10, 's')} down ${target(down, 3, 's')} memory ${target(up.peakMb, 300, 'MB')}` : '',
    ].join('')
    console.log(`  ${`${nodes}×${pods}`.padEnd(7)} (${String(count).padStart(4)} pods)   up ${up.seconds.toFixed(2).padStart(6)} s   down ${down.toFixed(2).padStart(5)} s   ${(up.seconds / count * 1000).toFixed(1).padStart(5)} ms a pod   ${up.peakMb.toFixed(0).padStart(4)} MB   ${targets}`)
  }
  console.log(`  time a pod, 2,500 pods against 100: ${(perPod.at(-1)! / perPod[0]!).toFixed(2)}x (flat: near 1; 100 pods carry netctl's startup)`)
  const plain = await onePerStep(10, 10)
  console.log(`  10×10 by one ip process per step (the seed article's way): ${plain.toFixed(2)} s = ${(plain / results.b10x10!).toFixed(1)}x netctl lab up`)

  encapReconcile(labName(), 3)

  console.log('BGP convergence of real BIRDs (lab up start → every session Established and every block routed):')
  for (const [nodes, reflectors, limit] of [[3, 0, 0], [10, 0, 0], [50, 0, 10], [100, 2, 15]] as const) {
    const name = labName()
    const r = measured(['lab', 'up', '--name', name, '--nodes', String(nodes), '--pods-per-node', '1', ...(reflectors ? ['--route-reflectors', String(reflectors)] : []), '--encapsulation', 'None', '--json'])
    const bgp = JSON.parse(r.stdout).bgp as {seconds: number; sessions: number}
    const shape = reflectors ? `${reflectors} route reflectors` : 'full mesh'
    console.log(`  ${String(nodes).padStart(3)} nodes, ${shape.padEnd(19)} (${String(bgp.sessions).padStart(4)} sessions)   ${r.seconds.toFixed(2).padStart(6)} s from start, ${bgp.seconds.toFixed(2)} s after BIRD started   ${limit ? target(r.seconds, limit, 's') : ''}`)
    timed(['lab', 'down', name])
  }

  console.log('encapsulation, 2 nodes, iperf3 pod to pod against node to node (median of 3 rounds of 3 s):')
  for (const flavor of ['calico', 'flannel']) {
    const name = labName()
    timed(['lab', 'up', '--name', name, '--flavor', flavor, '--pods-per-node', '1', ...(flavor === 'calico' ? ['--encapsulation', 'None'] : [])])
    const {rows, skipped} = await labBench(state, name, {modes: true})
    for (const r of rows) console.log(`  ${flavor.padEnd(8)} ${r.mode.padEnd(8)} pods ${r.pods.gbps.toFixed(2).padStart(6)} Gbit/s   nodes ${r.nodes.gbps.toFixed(2).padStart(6)} Gbit/s   ${r.ratio.toFixed(2)}x   rtt ${r.pods.rttMs.toFixed(3)} / ${r.nodes.rttMs.toFixed(3)} ms${r.mode === 'vxlan' ? `   (target: at least 0.85x: ${r.ratio >= 0.85 ? 'met' : 'MISSED'})` : ''}`)
    for (const s of skipped) console.log(`  ${flavor.padEnd(8)} ${s.mode.padEnd(8)} skipped: ${s.reason}`)

    const relabUp = (bgp: string) => ['lab', 'up', '--name', name, '--pods-per-node', '1', '--bgp', bgp]
    const switches: Array<[string, string[]]> = flavor === 'calico'
      ? [['vxlan', ['encap', 'set', 'vxlan', '--yes']], ['none', ['encap', 'set', 'none', '--yes']], ['BGP off', relabUp('off')], ['vxlan', ['encap', 'set', 'vxlan', '--yes']], ['none', ['encap', 'set', 'none', '--yes']], ['BGP on', relabUp('on')]]
      : ['vxlan', 'udp', 'host-gw', 'udp', 'vxlan', 'host-gw'].map((b) => [b, ['lab', 'set-backend', b]])
    const {sent, lost} = await pingDuring(podNetns(name, 'busybox-controlplane-0'), flavor === 'calico' ? '192.168.0.65' : '10.244.1.2', async () => {
      for (const [, args] of switches) timed(args)
    })
    console.log(`  ${flavor.padEnd(8)} ${switches.length} live switches (${switches.map(([label]) => label).join(', ')}) under a 100 pps ping: ${lost} of ${sent} lost`)
    timed(['lab', 'down', name])
  }
} finally {
  spawnSync(process.execPath, ['bin/run.js', 'lab', 'down', '--all'], {env})
  rmSync(state, {recursive: true, force: true})
}
