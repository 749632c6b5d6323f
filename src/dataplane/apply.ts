/**
 * Bring namespaces to their desired state: observe (`ip -d -j -batch -`), diff, and apply
 * through one `ip -n <ns> -batch -` (plus `bridge -batch` for fdb and one `sysctl -w`)
 * per namespace and phase. Namespaces that create links others only configure (veth ends) go first.
 */
import {readdirSync, readlinkSync, statSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {NetctlError} from '../errors.js'
import {batchSize, diffNetns, planLines, planSize, type Batch, type DiffOptions, type NetnsPlan} from './diff.js'
import type {NetnsSpec} from './model.js'
import {emptyObserved, observeCommands, observedFromSpec, parseFdb, parseIpBatch, type ObservedState} from './observe.js'
import {inNetns, inParallel, run} from './run.js'
import {ipLine} from '../render/ip.js'
import {sysctlAssignment} from '../render/sysctl.js'
import {addPhase, timed} from './phases.js'

const concurrency = 8

export async function listNamespaces(): Promise<Set<string>> {
  const {stdout} = await run('ip', ['-j', 'netns', 'list'])
  const entries = stdout.trim() ? (JSON.parse(stdout) as Array<{name: string}>) : []
  return new Set(entries.map((e) => e.name))
}

export async function createNamespaces(names: readonly string[]): Promise<void> {
  if (names.length > 0) await run('ip', ['-batch', '-'], {input: names.map((n) => ipLine('netns', 'add', n) + '\n').join('')})
}

/** Deletes the namespaces that exist; the ones already gone are fine. */
export async function deleteNamespaces(names: readonly string[]): Promise<void> {
  if (names.length > 0) await run('ip', ['-force', '-batch', '-'], {input: names.map((n) => ipLine('netns', 'del', n) + '\n').join(''), allowFailure: true})
}

/** A named namespace's identity: the inode of its nsfs file, the same one /proc/<pid>/ns/net links to. */
export function namespaceInode(name: string): string | undefined {
  try {
    return String(statSync(`/run/netns/${name}`).ino)
  } catch {
    return undefined
  }
}

/**
 * The processes inside these namespaces. One pass over /proc comparing each process's
 * network namespace inode, instead of an `ip netns pids` per namespace.
 */
export function processesIn(names: readonly string[]): number[] {
  const inodes = new Set(names.map(namespaceInode).filter((ino): ino is string => ino !== undefined))
  if (inodes.size === 0) return []
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (inodes.has(/\[(\d+)\]/.exec(readlinkSync(`/proc/${entry}/ns/net`))?.[1] ?? '')) pids.push(Number(entry))
    } catch {
      // Exited meanwhile.
    }
  }
  return pids
}

/** SIGKILL every process inside these namespaces; returns how many. */
export async function killProcessesIn(names: readonly string[]): Promise<number> {
  let killed = 0
  for (const pid of processesIn(names)) {
    try {
      process.kill(pid, 'SIGKILL')
      killed++
    } catch {
      // Exited meanwhile.
    }
  }
  return killed
}

/** Nothing in it but a loopback, and no process: a namespace that holds nobody's work. */
export async function isEmptyNamespace(name: string): Promise<boolean> {
  const {stdout, exitCode} = await run(...inNetns(name, 'ip', ['-j', 'link', 'show']), {allowFailure: true})
  if (exitCode !== 0) return false
  const links = JSON.parse(stdout || '[]') as Array<{ifname: string}>
  return links.every((l) => l.ifname === 'lo') && processesIn([name]).length === 0
}

export async function observeNetns(spec: NetnsSpec): Promise<ObservedState> {
  const ip = await run(...inNetns(spec.netns, 'ip', ['-d', '-j', '-batch', '-']), {input: observeCommands.join('\n') + '\n'})
  const state: ObservedState = {...parseIpBatch(ip.stdout), fdb: [], sysctls: {}}
  if (spec.fdb.length > 0 || spec.links.some((l) => l.kind === 'vxlan')) {
    state.fdb = parseFdb((await run(...inNetns(spec.netns, 'bridge', ['-j', 'fdb', 'show']))).stdout)
  }
  const keys = Object.entries(spec.sysctls).map(([key, value]) => sysctlAssignment(key, value).split('=')[0]!)
  if (keys.length > 0) {
    // -e: keys of links that do not exist yet are skipped, not fatal.
    const {stdout} = await run(...inNetns(spec.netns, 'sysctl', ['-e', ...keys]), {allowFailure: true})
    for (const line of stdout.split('\n')) {
      const m = /^(\S+) = (.*)$/.exec(line)
      if (m) state.sysctls[m[1]!] = m[2]!.trim()
    }
  }
  return state
}

/** One phase's lines in one namespace: `ip -batch`, then `bridge -batch` (fdb entries need their device), then sysctls. */
export async function applyBatch(netns: string, batch: Batch, sysctls: Record<string, string> = {}): Promise<void> {
  const runBatch = async (tool: 'ip' | 'bridge', lines: string[]) => {
    if (lines.length === 0) return
    const result = await run(...inNetns(netns, tool, ['-batch', '-']), {input: lines.join('\n') + '\n', allowFailure: true})
    if (result.exitCode !== 0) {
      const failed = /Command failed -:(\d+)/.exec(result.stderr)
      const line = failed ? lines[Number(failed[1]) - 1] : undefined
      const reason = result.stderr.split('\n').find((l) => l.trim() && !l.startsWith('Command failed')) ?? result.stderr.trim()
      throw new NetctlError('internal', `in namespace ${netns}, "${tool} ${line ?? lines.join('; ')}" failed: ${reason}`, 'run netctl lab down, then lab up again; report it if it persists')
    }
  }
  await runBatch('ip', batch.ip)
  await runBatch('bridge', batch.bridge)
  const entries = Object.entries(sysctls)
  if (entries.length > 0) await run(...inNetns(netns, 'sysctl', ['-q', '-w', ...entries.map(([k, v]) => sysctlAssignment(k, v))]))
}

/** Namespaces in the order their links come into being: a veth's creator before its far end. */
export function applyWaves(specs: readonly NetnsSpec[]): NetnsSpec[][] {
  const byName = new Map(specs.map((s) => [s.netns, s]))
  const dependsOn = new Map<string, Set<string>>(specs.map((s) => [s.netns, new Set<string>()]))
  for (const spec of specs) {
    for (const link of spec.links) {
      const target = link.peer?.netns ?? link.netns
      if (target && target !== spec.netns && byName.has(target)) dependsOn.get(target)!.add(spec.netns)
    }
  }
  const waves: NetnsSpec[][] = []
  const done = new Set<string>()
  while (done.size < specs.length) {
    const wave = specs.filter((s) => !done.has(s.netns) && [...dependsOn.get(s.netns)!].every((d) => done.has(d)))
    if (wave.length === 0) throw new NetctlError('internal', 'the namespaces create links in each other in a cycle', 'this is a bug in the lab planner')
    for (const s of wave) done.add(s.netns)
    waves.push(wave)
  }
  return waves
}

export interface ApplyReport {
  netns: string
  changes: number
}

export interface ApplyOptions {
  /** Namespaces just created: known to be empty, so not observed (three processes saved each), and given every phase at once. */
  fresh?: ReadonlySet<string>
  diff?: DiffOptions
  /** Runs once every namespace has its new devices, before any route leads to them. */
  afterMake?: () => Promise<unknown>
  /** Runs once no route leads to the old devices, before they are removed. */
  beforeBreak?: () => Promise<unknown>
  /** After each namespace's first batch: how many of all are done (for a progress bar). */
  onApplied?: (done: number, total: number) => void
  /**
   * The spec netctl last applied to these namespaces, trusted as their state: diffed against
   * without a process to observe them (a 1,000-pod reconcile runs half the processes). A
   * batch that fails shows the kernel differs: that namespace is observed and planned again.
   */
  known?: ReadonlyMap<string, NetnsSpec>
}

/**
 * Reconcile every namespace to its spec, one phase at a time across all of them (see
 * diff.ts): make, in the waves links come into being; switch; then break.
 */
export async function applySpecs(specs: readonly NetnsSpec[], options: ApplyOptions = {}): Promise<ApplyReport[]> {
  const plans: NetnsPlan[] = []
  const byName = new Map(specs.map((s) => [s.netns, s]))
  // Plans made from a trusted spec: if one of their batches fails, observe and apply what is really left.
  const trusted = new Set<string>()
  const observedPlan = async (spec: NetnsSpec) => diffNetns(spec, await observeNetns(spec), options.diff)
  const applyPhase = async (plan: NetnsPlan, phase: 'make' | 'switch' | 'break', sysctls: Record<string, string> = {}, late = false) => {
    try {
      await applyBatch(plan.netns, plan[phase], sysctls)
    } catch (error) {
      if (!trusted.has(plan.netns)) throw error
      trusted.delete(plan.netns)
      const again = await observedPlan(byName.get(plan.netns)!)
      // Make goes on phase by phase (unless it comes late, after the break); a later phase finishes the namespace at once.
      if (phase === 'make' && !late) {
        await applyBatch(plan.netns, again.make, again.sysctls)
        Object.assign(plan, {switch: again.switch, break: again.break})
      } else await applyBatch(plan.netns, planLines(again), again.sysctls)
    }
  }
  let applied = 0
  let observed = 0
  let observeMs = 0
  let made = 0
  const makeStarted = performance.now()
  // A trusted namespace needs no observation: its plan is known before any wave runs. Those
  // whose make phase only changes MTUs (every pod when the encapsulation changes, and the
  // nodes' cali ends when it goes) make nothing another namespace waits for: one process
  // sets them all while the waves run. Their switch and break go as any other's.
  const knownPlans = new Map<string, NetnsPlan>()
  for (const spec of specs) {
    const known = options.fresh?.has(spec.netns) ? undefined : options.known?.get(spec.netns)
    if (!known) continue
    trusted.add(spec.netns)
    knownPlans.set(spec.netns, diffNetns(spec, observedFromSpec(known), options.diff))
  }
  const mtuPlans = new Set([...knownPlans.values()].filter(mtuOnly))
  // An MTU that shrinks does so before any route leads where it must fit (make); one that grows,
  // once routes have moved to the path that carries it: beside the break.
  const raises = new Set([...mtuPlans].filter((plan) => onlyRaises(plan, options.known!.get(plan.netns)!)))
  const mtusSet = setMtus([...mtuPlans].filter((plan) => !raises.has(plan)))
  // Awaited below; until then a failing wave must not leave it rejected unheard.
  mtusSet.catch(() => {})
  for (const [index, wave] of applyWaves(specs).entries()) {
    const waveStarted = performance.now()
    plans.push(
      ...(await inParallel(wave, concurrency, async (spec) => {
        const fresh = options.fresh?.has(spec.netns)
        const observing = performance.now()
        const plan = knownPlans.get(spec.netns) ?? diffNetns(spec, fresh ? {...emptyObserved(), links: [{name: 'lo', up: false}]} : (observed++, await observeNetns(spec)), options.diff)
        observeMs += performance.now() - observing
        if (batchSize(plan.make) > 0 || Object.keys(plan.sysctls).length > 0) made++
        if (fresh) await applyBatch(spec.netns, planLines(plan), plan.sysctls)
        else if (!mtuPlans.has(plan)) await applyPhase(plan, 'make', plan.sysctls)
        options.onApplied?.(++applied, specs.length)
        return plan
      })),
    )
    addPhase(`apply: make wave ${index + 1} (${wave.length} namespaces)`, performance.now() - waveStarted)
  }
  // What the helper could not set goes the ordinary way (observed again where the record was wrong).
  const unset = await timed(`apply: make, MTU-only (${mtuPlans.size - raises.size} namespaces; after the waves)`, () => mtusSet)
  await inParallel(unset, concurrency, (plan) => applyPhase(plan, 'make', plan.sysctls))
  addPhase(`apply: observe and diff (summed over ${observed} observed of ${specs.length})`, observeMs)
  addPhase(`apply: make (${made} namespaces with lines)`, performance.now() - makeStarted)
  const live = plans.filter((plan) => !options.fresh?.has(plan.netns))
  await timed('apply: after make (hook)', () => options.afterMake?.())
  const switching = live.filter((plan) => batchSize(plan.switch) > 0)
  await timed(`apply: switch (${switching.length} namespaces)`, () => inParallel(switching, concurrency, (plan) => applyPhase(plan, 'switch')))
  await timed('apply: before break (hook)', () => options.beforeBreak?.())
  const raised = timed(`apply: MTU raises (${raises.size} namespaces; beside the break)`, async () => {
    const unraised = await setMtus([...raises])
    await inParallel(unraised, concurrency, (plan) => applyPhase(plan, 'make', plan.sysctls, true))
  })
  raised.catch(() => {})
  const breaking = live.filter((plan) => batchSize(plan.break) > 0)
  try {
    await timed(`apply: break (${breaking.length} namespaces)`, () => inParallel(breaking, concurrency, (plan) => applyPhase(plan, 'break')))
  } finally {
    await raised.catch(() => {})
  }
  await raised
  return plans.map((plan) => ({netns: plan.netns, changes: planSize(plan)}))
}

const mtuLine = /^link set dev (\S+) mtu (\d+)$/
const mtuHelper = fileURLToPath(new URL('../../libexec/netns-link-mtu.py', import.meta.url))

/** Whether every MTU a plan sets is larger than the recorded one. */
function onlyRaises(plan: NetnsPlan, known: NetnsSpec): boolean {
  const before = new Map(known.links.map((l) => [l.name, l.mtu]))
  return plan.make.ip.every((line) => {
    const [, link, mtu] = mtuLine.exec(line)!
    const was = before.get(link!)
    return was !== undefined && Number(mtu) > was
  })
}

/** A plan whose make phase only changes link MTUs (no sysctl, no fdb entry): it makes no link another namespace waits for. */
function mtuOnly(plan: NetnsPlan): boolean {
  return plan.make.ip.length > 0 && plan.make.ip.every((line) => mtuLine.test(line)) && plan.make.bridge.length === 0 && Object.keys(plan.sysctls).length === 0
}

/**
 * Apply MTU-only plans through libexec/netns-link-mtu.py: one process that enters each
 * namespace, instead of an nsenter and an ip process each. Returns the plans it did not
 * apply (a job that failed, or all of them without python3), for the ordinary path.
 */
async function setMtus(plans: NetnsPlan[]): Promise<NetnsPlan[]> {
  if (plans.length === 0) return []
  const jobs = plans.flatMap((plan) => plan.make.ip.map((line) => {
    const [, link, mtu] = mtuLine.exec(line)!
    return {plan, line: `/run/netns/${plan.netns} ${link} ${mtu}`}
  }))
  // Two helpers, a half each: most of a job is the kernel's (setns, netlink), and a lab has two cores or more.
  const halves = jobs.length < 64 ? [jobs] : [jobs.slice(0, jobs.length >> 1), jobs.slice(jobs.length >> 1)]
  const failed = new Set<NetnsPlan>()
  await Promise.all(halves.map(async (half) => {
    let stdout: string
    try {
      stdout = (await run('python3', [mtuHelper], {input: half.map((j) => j.line).join('\n') + '\n', allowFailure: true})).stdout
    } catch {
      stdout = ''
    }
    const results = stdout.split('\n')
    half.forEach((job, i) => results[i] !== 'ok' && failed.add(job.plan))
  }))
  return plans.filter((plan) => failed.has(plan))
}
