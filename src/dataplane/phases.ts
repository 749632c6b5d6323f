/**
 * Where a command's time goes, phase by phase (wall time, summed when a phase recurs). Library
 * code records; a command prints the breakdown when asked (--debug or NETCTL_PHASES).
 */
const spent = new Map<string, number>()

/** Run fn and add its wall time to `phase`. */
export async function timed<T>(phase: string, fn: () => Promise<T> | T): Promise<T> {
  const started = performance.now()
  try {
    return await fn()
  } finally {
    addPhase(phase, performance.now() - started)
  }
}

export function addPhase(phase: string, ms: number): void {
  spent.set(phase, (spent.get(phase) ?? 0) + ms)
}

/** The phases recorded so far, in the order they first ran, in milliseconds. */
export const phaseTimes = (): Array<[string, number]> => [...spent]

/** One line a phase, the process's age (its start-up included) and its CPU time (not its children's) now. */
export function phaseReport(): string {
  const rows = phaseTimes().map(([phase, ms]) => `  ${phase.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms`)
  const cpu = process.cpuUsage()
  return [`phases (wall ms; process age ${performance.now().toFixed(0)} ms, its own CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms):`, ...rows].join('\n')
}
