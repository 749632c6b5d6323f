/**
 * Every process the dataplane starts goes through here: an argument array, never a shell
 * string (the shell workers below get each argument single-quoted, never interpreted).
 */
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {accessSync, constants} from 'node:fs'
import {isAbsolute, join} from 'node:path'

import {NetctlError} from '../errors.js'

export interface RunResult {
  stdout: string
  stderr: string
  exitCode: number
}

export interface RunOptions {
  input?: string
  allowFailure?: boolean
}

const missing = (command: string) =>
  new NetctlError('unsupported', `${command} is not installed`, command === 'bird' ? 'install BIRD 2 (apt-get install bird2)' : 'install iproute2 and procps (apt-get install iproute2 procps)')

const failed = (command: string, args: string[], outcome: RunResult) =>
  new NetctlError('internal', `${command} ${args.join(' ')} failed: ${outcome.stderr.trim() || `exit ${outcome.exitCode}`}`)

/**
 * Run a command to its end. A lab build runs thousands of short `ip` processes, and Node's
 * spawn() is slow and synchronous: it forks the whole Node process, 3 ms at 60 MB and more
 * as the heap grows (10 ms and more at 2,500 pods), all of it on the one thread that drives
 * the build. So commands go to a few long-lived `sh` workers that fork and exec them instead
 * (a fork of a small shell costs a tenth of that, and off Node's thread). Direct spawn
 * remains for input a shell cannot carry (a NUL) and when NETCTL_DIRECT_SPAWN is set.
 */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  if (process.env.NETCTL_DIRECT_SPAWN || options.input?.includes('\0') || [command, ...args].some((a) => a.includes('\0'))) return spawnRun(command, args, options)
  const path = resolveCommand(command)
  if (!path) return Promise.reject(missing(command))
  return shellPool().run(path, args, options.input).then((outcome) => {
    if (outcome.exitCode !== 0 && !options.allowFailure) throw failed(command, args, outcome)
    return outcome
  })
}

/** One process from Node itself (node:child_process, not execa: execa costs 4 ms more a call and 0.1 s to import). */
export function spawnRun(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env: {...process.env, LC_ALL: 'C'}, stdio: ['pipe', 'pipe', 'pipe']})
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? missing(command) : new NetctlError('internal', `cannot run ${command}: ${error.message}`))
    })
    child.on('close', (code) => {
      const outcome = {stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), exitCode: code ?? 1}
      if (outcome.exitCode !== 0 && !options.allowFailure) reject(failed(command, args, outcome))
      else resolve(outcome)
    })
    child.stdin.on('error', () => {}) // a command that exits without reading its input
    child.stdin.end(options.input ?? '')
  })
}

/** Where PATH finds an executable command (as execvp would), or undefined; remembered per PATH. */
const resolved = new Map<string, string | undefined>()
function resolveCommand(command: string): string | undefined {
  const pathVar = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'
  const key = `${pathVar}\0${command}`
  if (resolved.has(key)) return resolved.get(key)
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  const found = command.includes('/')
    ? executable(command) ? (isAbsolute(command) ? command : join(process.cwd(), command)) : undefined
    : pathVar.split(':').map((dir) => join(dir || '.', command)).find(executable)
  // Only hits are remembered: a program installed meanwhile is found on the next call.
  if (found) resolved.set(key, found)
  return found
}

/**
 * The command line that runs `command` inside a named network namespace. nsenter enters the
 * network namespace only; `ip -n` and `ip netns exec` also make a mount namespace (and remount
 * /sys), which copies every mount, /run/netns's included: with thousands of lab namespaces that
 * copy cost more than the command (the one part of a lab build that grew with the square of
 * its size). The commands run here read the kernel through netlink and /proc/sys, not /sys.
 */
export function inNetns(netns: string, command: string, args: string[]): [string, string[]] {
  if (resolveCommand('nsenter')) return ['nsenter', [`--net=/run/netns/${netns}`, command, ...args]]
  return command === 'ip' || command === 'bridge' ? [command, ['-n', netns, ...args]] : ['ip', ['netns', 'exec', netns, command, ...args]]
}

/** A word the shell takes literally. */
export const shellQuote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`

interface Job {
  path: string
  args: string[]
  input?: string
  resolve: (outcome: RunResult) => void
  reject: (error: Error) => void
}

/** At most this many commands at once (callers run at most 8 in parallel). */
const maxWorkers = 8

/**
 * One `sh` reading commands on its stdin, one at a time. After each command it prints a
 * marker line with the exit status to stdout, and one to stderr: what came before them is
 * that command's output. Idle, it does not keep Node's event loop alive.
 */
class ShellWorker {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly marker = `__netctl_${randomBytes(8).toString('hex')}`
  private stdout = ''
  private stderr = ''
  private job: Job | undefined
  dead = false

  constructor(private readonly onIdle: (worker: ShellWorker) => void) {
    this.child = spawn('sh', [], {stdio: ['pipe', 'pipe', 'pipe']})
    this.child.stdout.setEncoding('utf8')
    this.child.stderr.setEncoding('utf8')
    this.child.stdout.on('data', (chunk: string) => {
      this.stdout += chunk
      this.check()
    })
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk
      this.check()
    })
    this.child.stdin.on('error', () => {})
    this.child.on('error', (error) => this.die(new NetctlError('internal', `cannot run sh: ${error.message}`)))
    this.child.on('close', () => this.die(new NetctlError('internal', 'the shell running commands ended unexpectedly', 'run the command again')))
    this.setRef(false)
  }

  get busy(): boolean {
    return this.job !== undefined
  }

  start(job: Job): void {
    if (this.dead) return job.reject(new NetctlError('internal', 'the shell running commands ended unexpectedly', 'run the command again'))
    this.job = job
    this.setRef(true)
    const env = `LC_ALL=C PATH=${shellQuote(process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')}`
    const line = `${env} ${[job.path, ...job.args].map(shellQuote).join(' ')}`
    const {input} = job
    let script: string
    if (!input) script = `${line} </dev/null\n`
    // A here-document ends its text with a newline: only input that ends with one fits exactly.
    else if (input.endsWith('\n')) script = `${line} <<'${this.marker}'\n${input}${this.marker}\n`
    else script = `printf %s ${shellQuote(input)} | ${line}\n`
    this.child.stdin.write(`${script}printf '\\n%s %d\\n' ${this.marker} $?; printf '\\n%s\\n' ${this.marker} >&2\n`)
  }

  private check(): void {
    if (!this.job) return
    const out = this.stdout.indexOf(`\n${this.marker} `)
    const err = this.stderr.indexOf(`\n${this.marker}\n`)
    if (out < 0 || err < 0) return
    const end = this.stdout.indexOf('\n', out + this.marker.length + 2)
    if (end < 0) return
    const outcome = {stdout: this.stdout.slice(0, out), stderr: this.stderr.slice(0, err), exitCode: Number(this.stdout.slice(out + this.marker.length + 2, end))}
    this.stdout = this.stdout.slice(end + 1)
    this.stderr = this.stderr.slice(err + this.marker.length + 2)
    const job = this.job
    this.job = undefined
    this.setRef(false)
    job.resolve(outcome)
    this.onIdle(this)
  }

  private die(error: Error): void {
    if (this.dead) return
    this.dead = true
    const job = this.job
    this.job = undefined
    job?.reject(error)
    this.onIdle(this)
  }

  private setRef(on: boolean): void {
    for (const handle of [this.child, this.child.stdout, this.child.stderr, this.child.stdin] as unknown as Array<{ref(): void; unref(): void}>) {
      if (on) handle.ref()
      else handle.unref()
    }
  }
}

class ShellPool {
  private readonly workers: ShellWorker[] = []
  private readonly queue: Job[] = []

  run(path: string, args: string[], input?: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({path, args, input, resolve, reject})
      this.dispatch()
    })
  }

  private dispatch = (): void => {
    for (let i = this.workers.length - 1; i >= 0; i--) if (this.workers[i]!.dead) this.workers.splice(i, 1)
    while (this.queue.length > 0) {
      let worker = this.workers.find((w) => !w.busy)
      if (!worker && this.workers.length < maxWorkers) {
        worker = new ShellWorker(() => queueMicrotask(this.dispatch))
        this.workers.push(worker)
      }
      if (!worker) return
      worker.start(this.queue.shift()!)
    }
  }
}

let pool: ShellPool | undefined
const shellPool = (): ShellPool => (pool ??= new ShellPool())

/** Run fn over items, at most `limit` at a time, in order of completion; the first failure wins. */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const workers = Array.from({length: Math.min(limit, items.length)}, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!)
    }
  })
  await Promise.all(workers)
  return results
}
