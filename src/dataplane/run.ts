/** Every process the dataplane starts goes through here: an argument array, never a shell string. */
import {NetctlError} from '../errors.js'

export interface RunResult {
  stdout: string
  stderr: string
  exitCode: number
}

export async function run(command: string, args: string[], options: {input?: string; allowFailure?: boolean} = {}): Promise<RunResult> {
  const {execa} = await import('execa')
  const result = await execa(command, args, {input: options.input ?? '', reject: false, stripFinalNewline: false, env: {LC_ALL: 'C'}})
  const outcome = {stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode ?? (result.failed ? 1 : 0)}
  if (outcome.exitCode !== 0 && !options.allowFailure) {
    const missing = (result as {code?: string}).code === 'ENOENT'
    throw new NetctlError(
      missing ? 'unsupported' : 'internal',
      missing ? `${command} is not installed` : `${command} ${args.join(' ')} failed: ${outcome.stderr.trim() || `exit ${outcome.exitCode}`}`,
      missing ? 'install iproute2 and procps (apt-get install iproute2 procps)' : undefined,
    )
  }
  return outcome
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
