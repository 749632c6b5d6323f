/** Processes a lab starts are ended by recorded pid, and only if that pid is still the same process. */
import {readFileSync} from 'node:fs'

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

/** SIGTERM, then SIGKILL after a grace period; false if it was not (any longer) that process. */
export async function endProcess(pid: number, start: string, graceMs = 2000): Promise<boolean> {
  if (processStartTime(pid) !== start) return false
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    if (processStartTime(pid) !== start) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  if (processStartTime(pid) === start) process.kill(pid, 'SIGKILL')
  return true
}
