/**
 * Long lab work on a terminal: each step as a line, and a bar while a step counts (namespaces
 * programmed n/N, BGP sessions Established n/N), with a detail beside it such as the time left.
 * Without a terminal only the step lines, so logs stay readable. The bar is cli-progress's:
 * redrawn in place, and left as a line when done.
 */
import type {SingleBar} from 'cli-progress'

import type {Progress} from '../lab/lab.js'

export interface ProgressReporter {
  progress: Progress
  /** Leave the last bar as a finished line. */
  done: () => void
}

export async function progressReporter(stream: NodeJS.WriteStream = process.stderr): Promise<ProgressReporter> {
  const line = (step: string, detail?: string) => stream.write(`› ${step}${detail ? ` (${detail})` : ''}\n`)
  if (!stream.isTTY || process.env.CI) return {progress: (step, detail, count) => void (count ? undefined : line(step, detail)), done: () => {}}
  const {SingleBar, Presets} = await import('cli-progress')
  let bar: {step: string; bar: SingleBar} | undefined
  const finish = () => {
    bar?.bar.stop()
    bar = undefined
  }
  return {
    progress: (step, detail, count) => {
      if (!count) {
        finish()
        line(step, detail)
        return
      }
      if (bar?.step !== step) {
        finish()
        const made = new SingleBar({stream, format: `› ${step} [{bar}] {value}/{total}{detail}`, hideCursor: true, clearOnComplete: false, barsize: 24}, Presets.shades_classic)
        made.start(count.total, count.done, {detail: ''})
        bar = {step, bar: made}
      }
      bar.bar.setTotal(count.total)
      // The detail (e.g. the mode and time left) rides beside the bar instead of starting a new one.
      bar.bar.update(count.done, {detail: detail ? `  ${detail}` : ''})
    },
    done: finish,
  }
}
