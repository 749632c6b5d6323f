/**
 * A TCP relay in another process that notes when each chunk from the client reaches it: a test can
 * then tell whether a request went out while the test's own process was busy (and so could not
 * have sent it then), which an in-process server cannot see.
 */
import {spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'

export interface TimedRelay {
  port: number
  /** Each chunk the client sent, when it arrived (Date.now()), and its first bytes as latin1. */
  arrivals(): Array<{at: number; bytes: number; head: string}>
  stop(): void
}

const program = `
const net = require('node:net')
const server = net.createServer((client) => {
  const upstream = net.connect(Number(process.argv[1]), '127.0.0.1')
  client.on('data', (chunk) => {
    console.log(JSON.stringify({at: Date.now(), bytes: chunk.length, head: chunk.toString('latin1', 0, 200)}))
    upstream.write(chunk)
  })
  upstream.pipe(client)
  client.on('error', () => upstream.destroy())
  upstream.on('error', () => client.destroy())
  client.on('close', () => upstream.destroy())
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

/** Relays 127.0.0.1:RELAY → 127.0.0.1:`port`. */
export async function startTimedRelay(port: number): Promise<TimedRelay> {
  const child = spawn(process.execPath, ['-e', program, String(port)], {stdio: ['ignore', 'pipe', 'inherit']})
  const lines: string[] = []
  let partial = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n')
    partial = parts.pop()!
    lines.push(...parts.filter(Boolean))
  })
  for (let i = 0; lines.length === 0; i++) {
    if (i > 500 || child.exitCode !== null) throw new Error('the relay did not start')
    await sleep(10)
  }
  return {
    port: Number(lines[0]),
    arrivals: () => lines.slice(1).map((line) => JSON.parse(line) as {at: number; bytes: number; head: string}),
    stop: () => void child.kill(),
  }
}
