/**
 * One HTTP request to the Kubernetes API with hard bounds: no byte for too long, the whole
 * exchange for too long, or a body too large, and the request is torn down (socket
 * destroyed, timers cleared) and fails. Nothing a server sends can keep netctl waiting or
 * growing without end.
 */
import {request as httpRequest, type IncomingMessage} from 'node:http'
import {request as httpsRequest, type RequestOptions} from 'node:https'

import {NetctlError} from '../errors.js'

export interface KubeLimits {
  /** No byte to or from the server for this long: it or the network is gone. */
  idleMs: number
  /** One request, from connecting to the last byte of the body. */
  requestMs: number
  /** A whole paged listing (every page of it). */
  listMs: number
  /** The body of one response. */
  maxBodyBytes: number
  /** Pages of one listing. */
  maxListPages: number
  /** Objects of one listing. */
  maxListObjects: number
}

/**
 * The yardstick is a 20,000-pod cluster listed in pages of 500: 40 pages of 2-10 MB each
 * (a pod is 4-20 KB of JSON with managedFields), each served in about a second.
 */
export const defaultKubeLimits: Readonly<KubeLimits> = {
  // As before: a live server answers within a second; 10 s of silence is a dead one.
  idleMs: 10_000,
  // The API server's own default for a non-watch request (--request-timeout 1m): it would
  // give up itself by then, so a reply still coming is a stalled server or proxy.
  requestMs: 60_000,
  // 40 pages at 1 s each is 40 s; five minutes leaves room for a slow link and a busy server.
  listMs: 5 * 60_000,
  // A 500-pod page of fat pods is 10 MB; 64 MiB is six times that, and stays a bounded heap.
  maxBodyBytes: 64 * 1024 * 1024,
  // 40 pages for 20,000 pods; 600 full pages hold 300,000 objects, and filtered pages may be short.
  maxListPages: 1000,
  // Twice the 150,000 pods of Kubernetes' largest tested cluster.
  maxListObjects: 300_000,
}

export interface KubeReply {
  status: number
  contentType: string
  text: string
}

export interface BoundedRequest {
  url: URL
  options: RequestOptions
  payload?: Buffer
  idleMs: number
  /** The whole exchange must end within this; `onDeadline` says why when it does not. */
  deadlineMs: number
  onDeadline: (receivedBytes: number) => NetctlError
  maxBodyBytes: number
  /** "the Kubernetes API at <server>", "GET /api/v1/pods": for the messages. */
  server: string
  what: string
  /** Called once the request has been handed to the kernel (a caller can go on working while the server does). */
  onSent?: () => void
  /**
   * Called once with the start of a 2xx body (its first chunk, up to 4 KiB, as text) if more of the
   * body is still to come then, else with ''.
   */
  onHead?: (head: string) => void
}

export const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`

export function boundedRequest(r: BoundedRequest): Promise<KubeReply> {
  if (r.deadlineMs <= 0) return Promise.reject(r.onDeadline(0))
  const send = r.url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<KubeReply>((resolve, reject) => {
    let received = 0
    let settled = false
    let onHead = r.onHead
    const head = (text: string) => {
      onHead?.(text)
      onHead = undefined
    }
    const finish = (error: NetctlError | undefined, reply?: KubeReply) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      head('')
      if (error) {
        req.destroy()
        reject(error)
      } else resolve(reply!)
    }
    const req = send(r.url, {...r.options, timeout: r.idleMs}, (res: IncomingMessage) => {
      const tooLarge = () =>
        new NetctlError('unavailable', `the Kubernetes API at ${r.server} answered ${r.what} with more than ${formatBytes(r.maxBodyBytes)}`, 'check that the kubeconfig server is the API server itself; a list this large is not one netctl can hold')
      const declared = Number(res.headers['content-length'])
      if (Number.isFinite(declared) && declared > r.maxBodyBytes) return finish(tooLarge())
      const chunks: Buffer[] = []
      const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300
      res.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received > r.maxBodyBytes) return finish(tooLarge())
        chunks.push(chunk)
        // Told after this turn's I/O: a body that ended with this chunk has nothing left to wait for.
        if (ok && onHead && chunks.length === 1) {
          const text = chunk.toString('utf8', 0, 4096)
          setImmediate(() => settled || head(text))
        }
      })
      res.on('end', () => finish(undefined, {status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8')}))
      res.on('error', (error) => finish(unreachable(r, error)))
      res.on('aborted', () => finish(unreachable(r, new Error('the connection closed before the reply was complete'))))
    })
    const deadline = setTimeout(() => finish(r.onDeadline(received)), r.deadlineMs)
    req.on('timeout', () => finish(unreachable(r, new Error(`nothing for ${r.idleMs / 1000} s during ${r.what}`))))
    req.on('error', (error) => finish(unreachable(r, error)))
    if (r.onSent) req.once('finish', r.onSent)
    req.end(r.payload)
  })
}

const unreachable = (r: BoundedRequest, error: Error) =>
  new NetctlError('unavailable', `cannot reach the Kubernetes API at ${r.server}: ${error.message}`, `check the server URL in the kubeconfig and that the API server is up (idle timeout ${r.idleMs / 1000} s)`, {cause: error})
