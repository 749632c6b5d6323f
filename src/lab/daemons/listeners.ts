/**
 * The listeners `netctl lab ping --port` probes: one per pod and protocol/port, bound to the
 * pod's IP inside the pod's namespace (libexec/port-probe.py). Recorded like BIRD, as
 * "probe-listener <pod> <protocol>/<port>". They stay running between pings: probing before and
 * after a policy change costs no start-up, and `lab down` ends them with the lab's other
 * daemons. One that no longer fits its pod (pod gone, namespace or IP changed) is ended and
 * replaced; one whose recording was lost is adopted.
 */
import {mkdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {NetctlError} from '../../errors.js'
import {inParallel} from '../../dataplane/run.js'
import {pathSegment} from '../../render/path.js'
import type {LabPod} from '../plan/cluster.js'
import {withLabLock} from '../lab.js'
import {adoptStrays, endProcess, processStartTime, runningDaemons, startDaemon, type DaemonSpec} from './proc.js'
import {forgetOwned, labDir, readOwned, type OwnedObject} from '../state.js'

export type ProbeProtocol = 'tcp' | 'udp'

export const listenerKind = 'probe-listener'
// From dist/lab/ or src/lab/ alike.
export const probeProgram = fileURLToPath(new URL('../../../libexec/port-probe.py', import.meta.url))

/** What follows the kind in the owned record: "<pod> tcp/8080". */
export const listenerKey = (pod: string, protocol: ProbeProtocol, port: number): string => `${pod} ${protocol}/${port}`

const listenerFiles = (stateDir: string, lab: string, pod: string, protocol: ProbeProtocol, port: number) => {
  const dir = join(labDir(stateDir, lab), 'probes')
  const base = `${pathSegment(pod)}-${protocol}-${port}`
  return {dir, ready: join(dir, `${base}.ready`), log: join(dir, `${base}.log`)}
}

export function listenerDaemon(stateDir: string, lab: string, pod: LabPod, protocol: ProbeProtocol, port: number): DaemonSpec {
  const files = listenerFiles(stateDir, lab, pod.name, protocol, port)
  return {
    kind: listenerKind, node: listenerKey(pod.name, protocol, port), netns: pod.netns,
    argv: ['python3', probeProgram, 'listen', protocol, pod.ip, String(port), files.ready], readyPath: files.ready, logPath: files.log,
    whenMissing: {message: 'cannot start a probe listener', suggestion: 'install python3 (apt-get install python3)'},
  }
}

const netnsInode = (path: string): number | undefined => {
  try {
    return statSync(path).ino
  } catch {
    return undefined
  }
}

/**
 * True when the process runs in that named namespace with that argument vector; argv[0] aside,
 * which a wrapper such as pyenv's python3 shim replaces with the interpreter's full path.
 */
function stillFits(pid: number, netns: string, argv: string[]): boolean {
  try {
    const inode = netnsInode(`/proc/${pid}/ns/net`)
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1)
    return inode !== undefined && inode === netnsInode(`/run/netns/${netns}`) && JSON.stringify(cmdline.slice(1)) === JSON.stringify(argv.slice(1))
  } catch {
    return false
  }
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-2).join(' / ')
  } catch {
    return ''
  }
}

/**
 * Every pod listening on protocol/port (started where missing, in parallel but bounded);
 * listeners of pods the lab no longer has are ended. Throws when one cannot start (the port is
 * taken in that pod, python3 is missing).
 */
export function ensureListeners(stateDir: string, lab: string, pods: readonly LabPod[], protocol: ProbeProtocol, port: number): Promise<{started: number; running: number}> {
  // Under the lab's lock: the owned records are rewritten here, as lab up and down rewrite them.
  return withLabLock(stateDir, lab, () => syncListeners(stateDir, lab, pods, protocol, port))
}

async function syncListeners(stateDir: string, lab: string, pods: readonly LabPod[], protocol: ProbeProtocol, port: number): Promise<{started: number; running: number}> {
  const wanted = new Map(pods.map((pod) => [listenerKey(pod.name, protocol, port), listenerDaemon(stateDir, lab, pod, protocol, port)]))
  await adoptStrays(stateDir, lab, [...wanted.values()])
  const podNames = new Set(pods.map((p) => p.name))
  const stale: Array<{key: string; pid: number; start: string}> = []
  const fine = new Set<string>()
  for (const [key, o] of runningDaemons(stateDir, lab, listenerKind)) {
    const daemon = wanted.get(key)
    if (daemon) {
      if (stillFits(o.pid, daemon.netns, daemon.argv)) fine.add(key)
      else stale.push({key, ...o})
    } else if (!podNames.has(key.split(' ')[0]!)) {
      stale.push({key, ...o})
    }
  }
  for (const o of stale) await endProcess(o.pid, o.start)
  const ended = new Set(stale.map((o) => `${listenerKind} ${o.key}`))
  // The records of listeners that are gone (ended here, crashed, or taken down with their pod) go too.
  const gone = (o: OwnedObject) => 'pid' in o && o.what.startsWith(`${listenerKind} `) && (ended.has(o.what) || processStartTime(o.pid) !== o.start)
  if (readOwned(stateDir, lab).some(gone)) forgetOwned(stateDir, lab, gone)
  const missing = [...wanted].filter(([key]) => !fine.has(key)).map(([, daemon]) => daemon)
  if (missing.length > 0) mkdirSync(listenerFiles(stateDir, lab, pods[0]!.name, protocol, port).dir, {recursive: true, mode: 0o700})
  const failed = (await inParallel(missing, 16, async (daemon) => ((await startDaemon(stateDir, lab, daemon)) ? undefined : daemon))).filter((d) => d !== undefined)
  if (failed.length > 0) {
    const first = failed[0]!
    const log = first.logPath ? logTail(first.logPath) : ''
    throw new NetctlError(
      'internal',
      `the ${protocol}/${port} probe listener did not start in pod ${first.node.split(' ')[0]}${failed.length > 1 ? ` (nor in ${failed.length - 1} more)` : ''}: ${log || 'it never became ready'}`,
      /in use/i.test(log) ? `something in the pod already uses ${protocol}/${port}: probe another --port` : `see ${first.logPath}`,
    )
  }
  return {started: missing.length, running: wanted.size}
}
