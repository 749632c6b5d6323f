/**
 * Ctrl-C, SIGTERM and SIGHUP during a long command: the first one asks the library to stop
 * at its next safe point (it then says what state it left and how to finish or undo it);
 * a second one exits at once. A closed stdout (`netctl lab up | head -3`) is not a reason to
 * stop half-way: output that nobody reads is dropped and the work goes on.
 */
export function trapInterrupts(): {signal: AbortSignal; dispose: () => void} {
  const controller = new AbortController()
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130)
    process.stderr.write(`\n${name}: stopping at the next safe point (again to quit at once)…\n`)
    controller.abort(name)
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const s of signals) process.on(s, onSignal)
  const ignore = () => {}
  process.stdout.on('error', ignore)
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of signals) process.off(s, onSignal)
      process.stdout.off('error', ignore)
    },
  }
}
