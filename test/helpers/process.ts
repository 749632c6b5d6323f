/** Ending what a test started, safely. */
import assert from 'node:assert/strict'

/**
 * SIGKILL one process a test started. A pid read from a file can be 0 or NaN (a pid file read
 * before its daemon wrote it); kill(0) would end the test runner's whole process group, CI included.
 */
export function killPid(pid: number): void {
  assert.ok(Number.isSafeInteger(pid) && pid > 1, `not a single process's pid: ${pid}`)
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}
