/**
 * Lab build and teardown times for 2×2, 10×10 and 50×20 calico labs, and the same 10×10 lab
 * built the way the seed article builds by hand: one `ip` (or sysctl) process per step;
 * BGP convergence; throughput per encapsulation against the node baseline; and what a
 * 100 pps ping loses across live switches. Needs root; prints why it skips otherwise.
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {applyWaves} from '../src/dataplane/apply.js'
import {diffNetns, planLines} from '../src/dataplane/diff.js'
import {emptyObserved} from '../src/dataplane/observe.js'
import {planCluster} from '../src/lab/cluster.js'
import {labBench} from '../src/lab/bench.js'
import {planLab} from '../src/lab/plan.js'
import {pingDuring} from '../src/lab/ping.js'
import {defaultTopology} from '../src/lab/topology.js'

if (process.getuid?.() !== 0) {
  console.log('lab benchmarks skipped: building namespaces needs root')
  process.exit(0)
}

const state = mkdtempSync(join(tmpdir(), 'netctl-bench-lab-'))
const env = {...process.env, NETCTL_STATE_DIR: state}
const timed = (args: string[]) => {
  const started = process.hrtime.bigint()
  const r = spawnSync(process.execPath, ['bin/run.js', ...args], {env, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`netctl ${args.join(' ')} failed: ${r.stderr}`)
  return Number(process.hrtime.bigint() - started) / 1e9
}

/** The article's way: every namespace, link, address, route and sysctl its own process. */
async function onePerStep(nodes: number, pods: number): Promise<number> {
  const cluster = planCluster('bplain', defaultTopology({nodes, podsPerNode: pods}), {nodes: [], affinities: [], weps: []})
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

try {
  console.log('lab build and teardown (calico, static routes):')
  const results: Record<string, number> = {}
  for (const [nodes, pods] of [[2, 2], [10, 10], [50, 20]] as const) {
    const name = `b${nodes}x${pods}`
    const up = timed(['lab', 'up', '--name', name, '--nodes', String(nodes), '--pods-per-node', String(pods), '--bgp', 'off'])
    const down = timed(['lab', 'down', name])
    results[name] = up
    console.log(`  ${`${nodes}×${pods}`.padEnd(7)} (${String(nodes * pods).padStart(4)} pods)   up ${up.toFixed(2).padStart(6)} s   down ${down.toFixed(2).padStart(5)} s   ${(up / (nodes * pods) * 1000).toFixed(1)} ms a pod`)
  }
  const plain = await onePerStep(10, 10)
  console.log(`  10×10 by one ip process per step (the seed article's way): ${plain.toFixed(2)} s = ${(plain / results.b10x10!).toFixed(1)}x netctl lab up`)

  console.log('BGP convergence, full mesh of real BIRDs (lab up start → every session Established and every block routed):')
  for (const nodes of [3, 10, 30]) {
    const name = `g${nodes}`
    const started = process.hrtime.bigint()
    const r = spawnSync(process.execPath, ['bin/run.js', 'lab', 'up', '--name', name, '--nodes', String(nodes), '--pods-per-node', '1', '--json'], {env, encoding: 'utf8'})
    const total = Number(process.hrtime.bigint() - started) / 1e9
    if (r.status !== 0) throw new Error(`lab up ${name} failed: ${r.stderr}`)
    const bgp = JSON.parse(r.stdout).bgp as {seconds: number; sessions: number}
    console.log(`  ${String(nodes).padStart(2)} nodes (${String(bgp.sessions).padStart(3)} sessions)   ${total.toFixed(2).padStart(6)} s from start, ${bgp.seconds.toFixed(2)} s after BIRD started`)
    timed(['lab', 'down', name])
  }

  console.log('encapsulation, 2 nodes, iperf3 pod to pod against node to node (median of 3 rounds of 3 s):')
  for (const flavor of ['calico', 'flannel']) {
    const name = `e${flavor[0]}`
    timed(['lab', 'up', '--name', name, '--flavor', flavor, '--pods-per-node', '1'])
    const {rows, skipped} = await labBench(state, name, {modes: true})
    for (const r of rows) console.log(`  ${flavor.padEnd(8)} ${r.mode.padEnd(8)} pods ${r.pods.gbps.toFixed(2).padStart(6)} Gbit/s   nodes ${r.nodes.gbps.toFixed(2).padStart(6)} Gbit/s   ${r.ratio.toFixed(2)}x   rtt ${r.pods.rttMs.toFixed(3)} / ${r.nodes.rttMs.toFixed(3)} ms`)
    for (const s of skipped) console.log(`  ${flavor.padEnd(8)} ${s.mode.padEnd(8)} skipped: ${s.reason}`)

    const relabUp = (bgp: string) => ['lab', 'up', '--name', name, '--pods-per-node', '1', '--bgp', bgp]
    const switches: Array<[string, string[]]> = flavor === 'calico'
      ? [['vxlan', ['encap', 'set', 'vxlan', '--yes']], ['none', ['encap', 'set', 'none', '--yes']], ['BGP off', relabUp('off')], ['vxlan', ['encap', 'set', 'vxlan', '--yes']], ['none', ['encap', 'set', 'none', '--yes']], ['BGP on', relabUp('on')]]
      : ['vxlan', 'udp', 'host-gw', 'udp', 'vxlan', 'host-gw'].map((b) => [b, ['lab', 'set-backend', b]])
    const {sent, lost} = await pingDuring(`nc-${name}-p-busybox-controlplane-0`, flavor === 'calico' ? '192.168.0.65' : '10.244.1.2', async () => {
      for (const [, args] of switches) timed(args)
    })
    console.log(`  ${flavor.padEnd(8)} ${switches.length} live switches (${switches.map(([label]) => label).join(', ')}) under a 100 pps ping: ${lost} of ${sent} lost`)
    timed(['lab', 'down', name])
  }
} finally {
  spawnSync(process.execPath, ['bin/run.js', 'lab', 'down', '--all'], {env})
  rmSync(state, {recursive: true, force: true})
}
