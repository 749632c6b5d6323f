/** A client for BIRD's control socket: hello, one command, the coded reply. */
import {createConnection} from 'node:net'

import {NetctlError} from '../errors.js'

export interface BirdQueryOptions {
  timeoutMs?: number
}

/**
 * Where BIRD's reply ends: after the first whole line that closes it. BIRD closes a reply with
 * 0000, a 0001-0029 status ("0013 Daemon is up"), an 8xxx/9xxx error, or any code followed by a
 * space (lines that more follow use "-" or a leading space). Whatever comes after is not read.
 * A line that is neither coded nor a continuation is reported at once: BIRD sends none.
 */
export function replyEnd(text: string): {end: number} | {garbled: string} | undefined {
  let start = 0
  for (let newline = text.indexOf('\n'); newline >= 0; start = newline + 1, newline = text.indexOf('\n', start)) {
    const line = text.slice(start, newline).replace(/\r$/, '')
    const coded = /^(\d{4})([ -]|$)/.exec(line)
    if (coded) {
      const code = Number(coded[1])
      if (code === 0 || (code >= 1 && code <= 29) || code >= 8000 || coded[2] !== '-') return {end: newline + 1}
    } else if (!line.startsWith(' ') || start === 0) {
      return {garbled: line}
    }
  }
  return undefined
}

/** Send one command and return BIRD's raw reply (without the hello line). */
export function birdQuery(socketPath: string, command: string, options: BirdQueryOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 5000
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath)
    let buffer = ''
    let greeted = false
    let done = false
    const fail = (error: NetctlError) => {
      socket.destroy()
      reject(error)
    }
    const timer = setTimeout(() => fail(new NetctlError('unavailable', `BIRD at ${socketPath} did not answer within ${timeoutMs / 1000} s`, 'check that BIRD is running and not stuck')), timeoutMs)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      if (!greeted) {
        const end = buffer.indexOf('\n')
        if (end < 0) return
        const hello = buffer.slice(0, end)
        if (!hello.startsWith('0001 ')) {
          clearTimeout(timer)
          fail(new NetctlError('unavailable', `${socketPath} did not greet like BIRD (got ${JSON.stringify(hello.slice(0, 60))})`, 'pass the socket of a BIRD daemon with --socket'))
          return
        }
        greeted = true
        buffer = buffer.slice(end + 1)
        socket.write(`${command}\n`)
      }
      const ended = greeted ? replyEnd(buffer) : undefined
      if (ended && 'garbled' in ended) {
        clearTimeout(timer)
        fail(new NetctlError('unavailable', `BIRD at ${socketPath} sent a line netctl cannot read: ${JSON.stringify(ended.garbled.slice(0, 80))}`, 'check that the socket belongs to BIRD (1.6 or 2.x)'))
      } else if (ended) {
        clearTimeout(timer)
        done = true
        socket.destroy()
        resolve(buffer.slice(0, ended.end))
      }
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      fail(explainSocketError(socketPath, error))
    })
    socket.on('close', () => {
      clearTimeout(timer)
      if (!done) reject(new NetctlError('unavailable', `BIRD at ${socketPath} closed the connection before its reply ended`, 'check BIRD\'s log; it may have restarted'))
    })
  })
}

export function explainSocketError(socketPath: string, error: NodeJS.ErrnoException): NetctlError {
  switch (error.code) {
    case 'ENOENT':
      return new NetctlError('unavailable', `there is no BIRD control socket at ${socketPath}`, 'run this on a Calico node (where calico-node runs BIRD), pass --socket PATH, or use --lab for a lab')
    case 'EACCES':
    case 'EPERM':
      return new NetctlError('unavailable', `permission denied on ${socketPath}`, 'BIRD\'s socket belongs to root: run with sudo')
    case 'ECONNREFUSED':
      return new NetctlError('unavailable', `${socketPath} exists but no BIRD is listening on it (a stale socket)`, 'start BIRD (calico-node) again, or point --socket at the live one')
    case 'ENOTSOCK':
      return new NetctlError('unavailable', `${socketPath} is not a socket`, 'pass the path of BIRD\'s control socket')
    default:
      return new NetctlError('unavailable', `cannot talk to BIRD at ${socketPath}: ${error.message}`, 'check the socket path and that BIRD is running')
  }
}
