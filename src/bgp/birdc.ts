/** A client for BIRD's control socket: hello, one command, the coded reply. */
import {createConnection} from 'node:net'

import {NetctlError} from '../errors.js'

export interface BirdQueryOptions {
  timeoutMs?: number
}

/** A reply ends with a line whose code is followed by a space ("0000 ", "0003 Reconfigured", "9001 …"). */
function replyDone(text: string): boolean {
  return /(^|\n)\d{4} [^\n]*\n$/.test(text)
}

/** Send one command and return BIRD's raw reply (without the hello line). */
export function birdQuery(socketPath: string, command: string, options: BirdQueryOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 5000
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath)
    let buffer = ''
    let greeted = false
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
      if (greeted && replyDone(buffer)) {
        clearTimeout(timer)
        socket.end()
        resolve(buffer)
      }
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      fail(explainSocketError(socketPath, error))
    })
    socket.on('close', () => {
      clearTimeout(timer)
      if (!replyDone(buffer)) reject(new NetctlError('unavailable', `BIRD at ${socketPath} closed the connection before its reply ended`, 'check BIRD\'s log; it may have restarted'))
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
