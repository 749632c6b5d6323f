/**
 * etcd's KV.Range as a gRPC call over node:http2, without the etcd3 client: the one request a
 * listing or a get makes, in a process that then never loads grpc-js and protobufjs (0.1-0.2 s
 * to load, and their decoding of 20,000 keys costs more than the keys themselves).
 *
 * Only for what it can do as well as the client: http:// or https:// endpoints (CA and client
 * certificate as the client takes them), no username. It asks the first endpoint. Anything but
 * a good answer (no connection, a TLS failure, a gRPC error status, a malformed reply) is an
 * EtcdRangeUnavailable: the caller then asks through the etcd3 client, which tries the other
 * endpoints and says what went wrong as it always has. Only a deadline is final
 * (EtcdRangeTimeout), so that a silent etcd costs the user one deadline, not two.
 */
import {connect, constants, type ClientHttp2Session} from 'node:http2'

export interface RangeRequest {
  key: Buffer
  range_end?: Buffer
  /** Keys at most; 0 or none: all. */
  limit?: number
  /** Read at this revision (a decimal string, as etcd3 gives them); none: the latest. */
  revision?: string
}

/** What etcd3's client gives for a KeyValue (int64 as decimal strings), so either can answer. */
export interface RangeKeyValue {
  key: Buffer
  value: Buffer
  create_revision: string
  mod_revision: string
  version: string
  lease: string
}

export interface RangeReply {
  header: {revision: string}
  kvs: RangeKeyValue[]
  more: boolean
  count: string
}

/** The fast path cannot answer: ask the etcd3 client. */
export class EtcdRangeUnavailable extends Error {}

/** No answer within the call's deadline. */
export class EtcdRangeTimeout extends Error {}

export interface EtcdRangeOptions {
  /** TLS: the CA that signed etcd's certificate, and the client certificate and key. */
  tls?: {rootCertificate: Buffer; certChain?: Buffer; privateKey?: Buffer}
  callMs: number
  /** Default maxReplyBytes (tests use less). */
  maxReplyBytes?: number
}

// A listing page is a few MB: windows that large keep etcd sending instead of waiting for ours.
const streamWindow = 16 * 1024 * 1024
const sessionWindow = 64 * 1024 * 1024
/** A reply larger than this is left to the etcd3 client (which refuses over 4 MiB, as it always has): memory stays bounded. */
export const maxReplyBytes = 64 * 1024 * 1024

export class EtcdRangeClient {
  private session?: ClientHttp2Session
  private broken?: Error

  private constructor(private readonly origin: string, private readonly options: EtcdRangeOptions) {}

  /** A client for these endpoints, or undefined when only the etcd3 client can talk to them. */
  static for(endpoints: string[], username: string | undefined, options: EtcdRangeOptions): EtcdRangeClient | undefined {
    if (username) return undefined
    const first = endpoints[0]
    if (!first) return undefined
    let url: URL
    try {
      url = new URL(first)
    } catch {
      return undefined
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return undefined
    if (url.protocol === 'http:' && options.tls) return undefined
    if (url.protocol === 'https:' && !options.tls) return undefined
    return new EtcdRangeClient(url.origin, options)
  }

  range(request: RangeRequest): Promise<RangeReply> {
    if (this.broken) return Promise.reject(new EtcdRangeUnavailable(this.broken.message))
    const session = this.connected()
    return new Promise<RangeReply>((resolve, reject) => {
      let settled = false
      const finish = (error?: Error, reply?: RangeReply) => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        if (error) reject(error)
        else resolve(reply!)
      }
      const stream = session.request({
        ':method': 'POST', ':path': '/etcdserverpb.KV/Range',
        'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': `${this.options.callMs}m`,
      })
      const deadline = setTimeout(() => {
        stream.close(constants.NGHTTP2_CANCEL)
        finish(new EtcdRangeTimeout('no answer (deadline exceeded)'))
      }, this.options.callMs)
      let status: string | undefined
      let message = ''
      const chunks: Buffer[] = []
      stream.on('response', (headers) => {
        if (headers[':status'] !== 200) finish(new EtcdRangeUnavailable(`HTTP ${headers[':status']}`))
        // A "trailers-only" reply: the status comes with the headers.
        if (headers['grpc-status'] !== undefined) {
          status = String(headers['grpc-status'])
          message = String(headers['grpc-message'] ?? '')
        }
      })
      stream.on('trailers', (trailers) => {
        status = String(trailers['grpc-status'] ?? '')
        message = String(trailers['grpc-message'] ?? '')
      })
      let received = 0
      const limit = this.options.maxReplyBytes ?? maxReplyBytes
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received <= limit) return void chunks.push(chunk)
        stream.close(constants.NGHTTP2_CANCEL)
        finish(new EtcdRangeUnavailable(`a reply of more than ${limit} bytes`))
      })
      stream.on('error', (error) => finish(new EtcdRangeUnavailable(error.message)))
      stream.on('close', () => {
        if (status !== '0') return finish(new EtcdRangeUnavailable(status === undefined ? 'the stream closed without a gRPC status' : `gRPC status ${status}: ${decodeURIComponent(message)}`))
        try {
          finish(undefined, decodeRangeResponse(unframe(Buffer.concat(chunks))))
        } catch (error) {
          finish(new EtcdRangeUnavailable(`a malformed RangeResponse: ${(error as Error).message}`))
        }
      })
      stream.end(frame(encodeRangeRequest(request)))
    })
  }

  /**
   * Resolves once the session has written out what was queued, so requests made so far are on the
   * wire. HTTP/2 sends from the event loop, a frame a turn (a request's HEADERS, then its DATA), so a
   * caller about to work a while without yielding waits for this first: until a turn writes nothing
   * more and nothing is queued (at most a few turns).
   */
  async sent(): Promise<void> {
    const session = this.session
    if (!session) return
    let written = -1
    for (let turn = 0; turn < 8; turn++) {
      const now = session.socket?.bytesWritten ?? 0
      if (now === written && session.state.outboundQueueSize === 0) return
      written = now
      await new Promise(setImmediate)
    }
  }

  close(): void {
    this.session?.close()
    this.session = undefined
  }

  private connected(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session
    const {tls} = this.options
    const session = connect(this.origin, {
      ...(tls ? {ca: tls.rootCertificate, cert: tls.certChain, key: tls.privateKey} : {}),
      settings: {initialWindowSize: streamWindow},
    })
    session.on('connect', () => session.setLocalWindowSize(sessionWindow))
    // An idle connection does not keep netctl running (one left unclosed cannot hang it); a call
    // under way does, through its deadline's timer.
    session.unref()
    // Every open stream fails with the session; later calls go to the etcd3 client.
    session.on('error', (error) => (this.broken = error))
    session.on('close', () => {
      if (this.session === session) this.session = undefined
    })
    this.session = session
    return session
  }
}

// --- gRPC framing and the protobuf of RangeRequest / RangeResponse ----------------------------

/** A gRPC message: uncompressed flag, 4-byte big-endian length, the bytes. */
function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length)
  out[0] = 0
  out.writeUInt32BE(message.length, 1)
  message.copy(out, 5)
  return out
}

/** The one message of a unary reply. */
function unframe(body: Buffer): Buffer {
  if (body.length < 5) throw new Error(`${body.length} bytes, less than a gRPC frame`)
  if (body[0] !== 0) throw new Error('a compressed message')
  const length = body.readUInt32BE(1)
  if (body.length !== 5 + length) throw new Error(`a frame of ${length} bytes in ${body.length - 5}`)
  return body.subarray(5)
}

function varintBytes(value: bigint): number[] {
  const bytes: number[] = []
  let v = BigInt.asUintN(64, value)
  do {
    const low = Number(v & 0x7fn)
    v >>= 7n
    bytes.push(v > 0n ? low | 0x80 : low)
  } while (v > 0n)
  return bytes
}

export function encodeRangeRequest(request: RangeRequest): Buffer {
  const parts: Buffer[] = []
  const bytesField = (field: number, value: Buffer | undefined) => {
    if (!value || value.length === 0) return
    parts.push(Buffer.from([...varintBytes(BigInt((field << 3) | 2)), ...varintBytes(BigInt(value.length))]), value)
  }
  const intField = (field: number, value: bigint) => {
    if (value !== 0n) parts.push(Buffer.from([...varintBytes(BigInt(field << 3)), ...varintBytes(value)]))
  }
  bytesField(1, request.key)
  bytesField(2, request.range_end)
  intField(3, BigInt(request.limit ?? 0))
  intField(4, BigInt(request.revision ?? 0))
  return Buffer.concat(parts)
}

/** A protobuf reader over one buffer; int64 values come out as decimal strings. */
class Reader {
  pos: number
  constructor(readonly buf: Buffer, start = 0, readonly end = buf.length) {
    this.pos = start
  }

  /** A varint that fits a number (tags, lengths, small values). */
  uint(): number {
    let result = 0
    let shift = 1
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new Error('a varint past the end')
      const byte = this.buf[this.pos++]!
      result += (byte & 0x7f) * shift
      if (byte < 0x80) return result
      shift *= 128
    }
    throw new Error('a varint too long for a length')
  }

  /** An int64 as etcd3 gives it: a decimal string. */
  int64(): string {
    const start = this.pos
    let result = 0
    let shift = 1
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new Error('a varint past the end')
      const byte = this.buf[this.pos++]!
      result += (byte & 0x7f) * shift
      if (byte < 0x80) return String(result)
      shift *= 128
    }
    // Beyond 49 bits: exactly, through BigInt.
    this.pos = start
    let big = 0n
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('a varint past the end')
      const byte = this.buf[this.pos++]!
      big |= BigInt(byte & 0x7f) << BigInt(7 * i)
      if (byte < 0x80) return String(BigInt.asIntN(64, big))
    }
    throw new Error('a varint longer than 10 bytes')
  }

  bytes(): Buffer {
    const length = this.uint()
    if (this.pos + length > this.end) throw new Error('a field past the end')
    const out = this.buf.subarray(this.pos, this.pos + length)
    this.pos += length
    return out
  }

  /** A length-delimited field's bounds, to read it as a message. */
  message(): Reader {
    const length = this.uint()
    if (this.pos + length > this.end) throw new Error('a message past the end')
    const sub = new Reader(this.buf, this.pos, this.pos + length)
    this.pos += length
    return sub
  }

  skip(wire: number): void {
    if (wire === 0) this.uint64Skip()
    else if (wire === 1) this.pos += 8
    else if (wire === 2) this.pos += this.uint()
    else if (wire === 5) this.pos += 4
    else throw new Error(`wire type ${wire}`)
    if (this.pos > this.end) throw new Error('a field past the end')
  }

  private uint64Skip(): void {
    for (let i = 0; i < 10; i++) if (this.buf[this.pos++]! < 0x80) return
    throw new Error('a varint longer than 10 bytes')
  }
}

const empty = Buffer.alloc(0)

export function decodeRangeResponse(buf: Buffer): RangeReply {
  const reply: RangeReply = {header: {revision: '0'}, kvs: [], more: false, count: '0'}
  const r = new Reader(buf)
  while (r.pos < r.end) {
    const tag = r.uint()
    const field = Math.floor(tag / 8)
    const wire = tag & 7
    if (field === 1 && wire === 2) {
      const h = r.message()
      while (h.pos < h.end) {
        const t = h.uint()
        if (Math.floor(t / 8) === 3 && (t & 7) === 0) reply.header.revision = h.int64()
        else h.skip(t & 7)
      }
    } else if (field === 2 && wire === 2) {
      reply.kvs.push(decodeKeyValue(r.message()))
    } else if (field === 3 && wire === 0) {
      reply.more = r.uint() !== 0
    } else if (field === 4 && wire === 0) {
      reply.count = r.int64()
    } else r.skip(wire)
  }
  return reply
}

function decodeKeyValue(r: Reader): RangeKeyValue {
  const kv: RangeKeyValue = {key: empty, value: empty, create_revision: '0', mod_revision: '0', version: '0', lease: '0'}
  while (r.pos < r.end) {
    const tag = r.uint()
    const wire = tag & 7
    switch (tag >>> 3) {
      case 1:
        if (wire !== 2) throw new Error('KeyValue.key is not bytes')
        kv.key = r.bytes()
        break
      case 2:
        if (wire !== 0) throw new Error('KeyValue.create_revision is not a varint')
        kv.create_revision = r.int64()
        break
      case 3:
        if (wire !== 0) throw new Error('KeyValue.mod_revision is not a varint')
        kv.mod_revision = r.int64()
        break
      case 4:
        if (wire !== 0) throw new Error('KeyValue.version is not a varint')
        kv.version = r.int64()
        break
      case 5:
        if (wire !== 2) throw new Error('KeyValue.value is not bytes')
        kv.value = r.bytes()
        break
      case 6:
        if (wire !== 0) throw new Error('KeyValue.lease is not a varint')
        kv.lease = r.int64()
        break
      default:
        r.skip(wire)
    }
  }
  return kv
}
