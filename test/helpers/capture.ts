/** tcpdump inside a lab namespace while something runs (root). */
import {spawn} from 'node:child_process'

export interface CaptureOptions {
  iface: string
  filter: string
  /** tcpdump stops after this many packets, or after `seconds`, whichever comes first. */
  count: number
  seconds: number
  flags?: string[]
}

/** What tcpdump printed while `during` ran: it listens before `during` starts, and always ends by itself. */
export async function captureDuring(netns: string, options: CaptureOptions, during: () => Promise<unknown>): Promise<string> {
  const {iface, filter, count, seconds, flags = []} = options
  const tcpdump = spawn('ip', ['netns', 'exec', netns, 'timeout', String(seconds), 'tcpdump', '-l', '-n', ...flags, '-i', iface, '-c', String(count), filter], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  tcpdump.stdout.on('data', (d) => (out += d))
  // Listen for the end now: tcpdump may be done before `during` returns.
  const closed = new Promise((resolve) => tcpdump.on('close', resolve))
  await new Promise<void>((resolve) => {
    tcpdump.stderr.on('data', (d) => {
      err += d
      if (err.includes('listening')) resolve()
    })
    tcpdump.on('close', () => resolve())
  })
  await during()
  await closed
  return out
}
