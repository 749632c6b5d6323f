/** Processes a lab starts are recorded by pid and start time, and ended only if that pid is still the same process. */
import {spawn} from 'node:child_process'
import {closeSync, constants, existsSync, openSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {NetctlError} from '../../errors.js'
import {processesIn} from '../../dataplane/apply.js'
import {inNetns} from '../../dataplane/run.js'
import {labPath} from '../../datastore/config.js'
import {pathSegment} from '../../render/path.js'
import {forgetOwned, isProcessId, labDir, readOwned, recordOwned, type OwnedObject} from '../state.js'

/**
 * Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot; undefined
 * when there is no such process, or only its zombie (dead, waiting for its parent to reap it).
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19]
  } catch {
    return undefined
  }
}

/** A node's own directory in its lab's: its daemons' configs, sockets and logs. */
export const nodeDir = (stateDir: string, lab: string, node: string): string => join(labDir(stateDir, lab), pathSegment(node))
/** A file there, as the state dir's safe file functions take it (relative parts). */
export const nodeFile = (lab: string, node: string, file: string): string[] => labPath(lab, pathSegment(node), file)

/** Signal one process; a pid that is not one process (0, -1, init, not a number) is refused. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  if (!isProcessId(pid)) throw new NetctlError('internal', `refusing to send ${signal} to pid ${String(pid)}: not a single process`)
  process.kill(pid, signal)
}

/** SIGTERM, then SIGKILL after a grace period; false if it was not (any longer) that process. */
export async function endProcess(pid: number, start: string, graceMs = 2000): Promise<boolean> {
  if (!isProcessId(pid) || processStartTime(pid) !== start) return false
  signalProcess(pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    if (processStartTime(pid) !== start) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  if (processStartTime(pid) === start) signalProcess(pid, 'SIGKILL')
  return true
}

/** A daemon a lab runs in one node's namespace (BIRD, flannel's udp proxy). */
export interface DaemonSpec {
  /** What it is, e.g. "bird"; recorded as "<kind> <node>". */
  kind: string
  node: string
  netns: string
  argv: string[]
  /** A path the daemon makes once it serves: BIRD's control socket, the proxy's ready file. */
  readyPath: string
  /** Where its stderr goes (BIRD logs to its own file). */
  logPath?: string
  /** What to say when the program cannot be run at all. */
  whenMissing: {message: string; suggestion: string}
}

/**
 * Start a daemon detached inside its namespace and record its pid and start time at once
 * (it can only be recorded once it exists; a run killed in between leaves a stray that the
 * next sync adopts, see adoptStrays). True once its ready path appears; false if it died
 * or took over 3 s.
 */
export async function startDaemon(stateDir: string, lab: string, daemon: DaemonSpec): Promise<boolean> {
  rmSync(daemon.readyPath, {force: true})
  // O_NOFOLLOW: a link planted where the log goes is refused, not written through as root.
  const log = daemon.logPath ? openSync(daemon.logPath, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600) : 'ignore'
  // nsenter (where there is one: it enters the network namespace only, see inNetns) and `ip netns exec`
  // exec the program in place: the pid we get is the daemon's own, and so is its start time.
  const [command, args] = inNetns(daemon.netns, daemon.argv[0]!, daemon.argv.slice(1))
  const child = spawn(command, args, {detached: true, stdio: ['ignore', 'ignore', log]})
  if (typeof log === 'number') closeSync(log)
  const start = child.pid ? processStartTime(child.pid) : undefined
  if (start) recordOwned(stateDir, lab, [{pid: child.pid!, start, what: daemonName(daemon)}])
  const failed = new Promise<never>((_, reject) => child.once('error', (error) => reject(new NetctlError('unsupported', `${daemon.whenMissing.message}: ${error.message}`, daemon.whenMissing.suggestion))))
  child.unref()
  await Promise.race([sleep(20), failed])
  for (let i = 0; i < 150; i++) {
    if (existsSync(daemon.readyPath)) return true
    if (child.exitCode !== null || processStartTime(child.pid!) !== start) return false
    await sleep(20)
  }
  return false
}

const daemonName = (daemon: Pick<DaemonSpec, 'kind' | 'node'>) => `${daemon.kind} ${daemon.node}`

/** A process's argument vector, as it was exec'd. */
function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1)
  } catch {
    return undefined
  }
}

/**
 * Daemons of the lab that run unrecorded (the run that started one was killed before it
 * recorded it): each process in the lab's namespaces with exactly the argument vector the lab
 * would start is adopted where its node has none recorded, and ended where it is a second one.
 * Nothing else is touched: a match needs the namespace and every argument after the program's
 * name (the lab's own paths).
 */
export async function adoptStrays(stateDir: string, lab: string, daemons: DaemonSpec[]): Promise<void> {
  if (daemons.length === 0) return
  const recorded = new Set(readOwned(stateDir, lab).flatMap((o) => ('pid' in o ? [`${o.pid} ${o.start}`] : [])))
  const running = new Map([...new Set(daemons.map((d) => d.kind))].flatMap((kind) => [...runningDaemons(stateDir, lab, kind)].map(([node, o]) => [`${kind} ${node}`, o])))
  // The arguments after the program name: they hold the lab's own paths. (A python3 found through a
  // pyenv shim runs as another argv[0].)
  const args = (argv: string[] | undefined) => JSON.stringify(argv?.slice(1))
  const wanted = new Map(daemons.map((d) => [args(d.argv), d]))
  for (const pid of processesIn([...new Set(daemons.map((d) => d.netns))])) {
    const start = processStartTime(pid)
    const daemon = wanted.get(args(commandLine(pid)))
    if (!start || !daemon || recorded.has(`${pid} ${start}`)) continue
    const name = daemonName(daemon)
    if (running.has(name)) {
      await endProcess(pid, start)
    } else {
      recordOwned(stateDir, lab, [{pid, start, what: name}])
      running.set(name, {pid, start})
    }
  }
}

/** The nodes whose recorded daemon of this kind still runs (same pid, same start time). */
export function runningDaemons(stateDir: string, lab: string, kind: string): Map<string, {pid: number; start: string}> {
  const latest = new Map<string, {pid: number; start: string}>()
  for (const o of readOwned(stateDir, lab)) if ('pid' in o && o.what.startsWith(`${kind} `)) latest.set(o.what.slice(kind.length + 1), o)
  return new Map([...latest].filter(([, o]) => processStartTime(o.pid) === o.start))
}

/** End every recorded daemon of this kind and forget them. */
export async function stopDaemons(stateDir: string, lab: string, kind: string): Promise<void> {
  const ofKind = (o: OwnedObject) => 'pid' in o && o.what.startsWith(`${kind} `)
  const recorded = readOwned(stateDir, lab).filter(ofKind)
  if (recorded.length === 0) return
  for (const o of recorded) if ('pid' in o) await endProcess(o.pid, o.start)
  forgetOwned(stateDir, lab, ofKind)
}
