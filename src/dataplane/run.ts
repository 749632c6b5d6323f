/** Every process the dataplane starts goes through here: an argument array, never a shell string. */
import {spawn} from 'node:child_process'

import {NetctlError} from '../errors.js'

export interface RunResult {
  stdout: string
  stderr: string
  exitCode: number
}

/**
 * node:child_process directly, not execa: a lab build starts a thousand short `ip` processes,
 * and execa costs about 4 ms more each (and 0.1 s to import) for features these calls do not use.
 */
export function run(command: string, args: string[], options: {input?: string; allowFailure?: boolean} = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env: {...process.env, LC_ALL: 'C'}, stdio: ['pipe', 'pipe', 'pipe']})
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new NetctlError('unsupported', `${command} is not installed`, command === 'bird' ? 'install BIRD 2 (apt-get install bird2)' : 'install iproute2 and procps (apt-get install iproute2 procps)')
          : new NetctlError('internal', `cannot run ${command}: ${error.message}`),
      )
    })
    child.on('close', (code) => {
      const outcome = {stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), exitCode: code ?? 1}
      if (outcome.exitCode !== 0 && !options.allowFailure) {
        reject(new NetctlError('internal', `${command} ${args.join(' ')} failed: ${outcome.stderr.trim() || `exit ${outcome.exitCode}`}`))
      } else resolve(outcome)
    })
    child.stdin.on('error', () => {}) // a command that exits without reading its input
    child.stdin.end(options.input ?? '')
  })
}

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
