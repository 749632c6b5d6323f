/**
 * Calico's etcd v3 datastore: the whole v3 object as JSON under
 * /calico/resources/v3/projectcalico.org/<plural>/[<namespace>/]<name>, with the key's mod
 * revision as resourceVersion. Every write is a transaction that compares revisions, so a
 * lost race is a conflict, never a silent overwrite.
 */
import {readFileSync} from 'node:fs'

import {NetctlError} from '../errors.js'
import type {KindInfo} from '../resources/kind.js'
import type {Resource} from '../resources/types.js'
import type {ConfigValues} from './config.js'
import {alreadyExists, BatchWriteError, conflict, interrupted, notFound, opName, type Datastore, type ListOptions, type Listing, type WriteBatchOptions, type WriteOp} from './datastore.js'
import {decodeIpamValue, encodeIpamValue, ipamEtcdKey, ipamEtcdKeyByName, ipamEtcdPrefix, isListedByName} from './etcd-ipam.js'
import {EtcdRangeClient, EtcdRangeTimeout, type RangeReply, type RangeRequest} from './etcd-range.js'
import {redactEndpoints} from './redact.js'
import {requireVendorBundle} from './vendor.js'

type Etcd3 = import('etcd3').Etcd3
type KeyValue = import('etcd3').IKeyValue
/** What decoding reads of a key, from the etcd3 client or from EtcdRangeClient. */
type StoredKey = Pick<KeyValue, 'key' | 'value' | 'mod_revision'>

export const calicoKeyPrefix = '/calico/resources/v3/projectcalico.org/'

export const etcdKey = (kind: KindInfo, name: string, namespace?: string): string =>
  kind.namespaced ? `${calicoKeyPrefix}${kind.plural}/${namespace ?? 'default'}/${name}` : `${calicoKeyPrefix}${kind.plural}/${name}`

/** The smallest key above every key that starts with prefix: etcd's range_end for a prefix. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1
      return end.subarray(0, i + 1)
    }
  }
  return Buffer.from([0])
}

export interface EtcdTimeouts {
  /** How long to wait for a connection to an endpoint. */
  dialMs: number
  /** How long any one call may take, retries included. */
  callMs: number
}

const defaultTimeouts: EtcdTimeouts = {dialMs: 3000, callMs: 5000}
/** Keys per range request when listing (about 0.6 MB of WorkloadEndpoints): no response holds a whole large listing. */
export const etcdPageSize = 1000
/**
 * Pages double up to this: etcd 3.4 counts every remaining key of the range for each limited
 * page, so 20 pages of 1,000 over 20,000 keys walk 210,000 keys, and 1,000 doubling to 8,000
 * walk 74,000 (and make 5 round trips, not 20). The first page stays small: the first row prints soon.
 */
export const etcdMaxPageSize = 4000

/** etcd refuses a txn with more than --max-txn-ops (default 128) compares or ops: stay well under it. */
export const etcdOpsPerTxn = 100
/** etcd refuses a request over --max-request-bytes (default 1.5 MiB): chunks stay under 1 MiB of keys and values. */
export const etcdBytesPerTxn = 1024 * 1024

/** One op as etcd txn parts. */
interface TxnOp {
  key: Buffer
  compare: import('etcd3').ICompare
  request: import('etcd3').IRequestOp
  /** The value written (undefined for a delete), to recognise it when an answer was lost. */
  value?: Buffer
  /** Why the compare failed, given what the key holds now; undefined if it held. */
  refused(now: KeyValue | undefined): NetctlError | undefined
  result(revision: string): Resource
}

export class EtcdDatastore implements Datastore {
  readonly location: string
  private readonly shownEndpoints: string

  /** The etcd3 client, made on first use: reads that EtcdRangeClient answers never load it. */
  private etcd3?: Promise<Etcd3>
  /** Reads without the etcd3 client while it answers; dropped at its first failure. */
  private ranges?: EtcdRangeClient

  private constructor(private readonly makeClient: () => Promise<Etcd3>, ranges: EtcdRangeClient | undefined, private readonly endpoints: string[], private readonly timeouts: EtcdTimeouts) {
    this.ranges = ranges
    this.shownEndpoints = redactEndpoints(endpoints.join(', '))
    this.location = `etcd ${redactEndpoints(endpoints.join(','))}`
  }

  static async open(config: ConfigValues, timeouts: EtcdTimeouts = defaultTimeouts): Promise<EtcdDatastore> {
    const endpoints = (config.etcdEndpoints ?? 'http://127.0.0.1:2379').split(',').map((e) => e.trim()).filter(Boolean)
    // Like etcd's own client, connect to the host of an endpoint that carries user:password@;
    // those credentials are used when ETCD_USERNAME does not name others.
    const inUrl = endpoints.map(credentialsIn).find(Boolean)
    const auth = config.etcdUsername ? {username: config.etcdUsername, password: config.etcdPassword ?? ''} : inUrl
    const credentials = tlsCredentials(config)
    const makeClient = async () => {
      const {Etcd3, noop} = await etcdClient()
      return new Etcd3({
        hosts: endpoints.map(withoutCredentials),
        credentials,
        auth,
        dialTimeout: timeouts.dialMs,
        defaultCallOptions: (context) => (context.isStream ? {} : {deadline: Date.now() + timeouts.callMs}),
        // Fail within the deadline instead of retrying for half a minute: the user is waiting.
        faultHandling: {global: noop, host: () => noop},
      })
    }
    const ranges = EtcdRangeClient.for(endpoints, auth?.username, {tls: credentials, callMs: timeouts.callMs})
    return new EtcdDatastore(makeClient, ranges, endpoints, timeouts)
  }

  private client(): Promise<Etcd3> {
    return (this.etcd3 ??= this.makeClient())
  }

  /**
   * One range read: through EtcdRangeClient while it answers, else (and from then on) through
   * the etcd3 client, whose failures say what is wrong as they always have. A deadline
   * EtcdRangeClient met is the answer: waiting a second deadline would tell the user nothing more.
   */
  private async range(request: RangeRequest): Promise<RangeReply> {
    if (this.ranges) {
      try {
        return await this.ranges.range(request)
      } catch (error) {
        if (error instanceof EtcdRangeTimeout) throw this.explain(error)
        this.ranges.close()
        this.ranges = undefined
      }
    }
    return this.call(async () => (await this.client()).kv.range(request))
  }

  async get(kind: KindInfo, name: string, namespace?: string): Promise<Resource> {
    // Calico keys IPAM blocks and affinities by CIDR (and node), which their names do not give back.
    if (isListedByName(kind)) {
      const found = (await this.list(kind)).find((r) => r.metadata.name === name)
      if (!found) throw notFound(kind, name, namespace)
      return found
    }
    const response = await this.range({key: Buffer.from(ipamEtcdKeyByName(kind, name) ?? etcdKey(kind, name, namespace))})
    const kv = response.kvs[0]
    if (!kv) throw notFound(kind, name, namespace)
    return this.decode(kind, kv)
  }

  async list(kind: KindInfo, options: ListOptions = {}): Promise<Resource[]> {
    return (await this.listWithRevision(kind, options)).items
  }

  async listWithRevision(kind: KindInfo, options: ListOptions = {}): Promise<Listing> {
    const items: Resource[] = []
    const listing = this.pagesAt(kind, options)
    for await (const page of listing.pages) items.push(...page)
    return {items, revision: listing.revision()}
  }

  /** The listing page by page (etcdPageSize keys, then twice as many each time up to etcdMaxPageSize; key order), as each arrives: a printer can start before the last. */
  listPages(kind: KindInfo, options: ListOptions = {}): AsyncGenerator<Resource[]> {
    return this.pagesAt(kind, options).pages
  }

  private pagesAt(kind: KindInfo, options: ListOptions): {pages: AsyncGenerator<Resource[]>; revision: () => string} {
    const prefix = Buffer.from(ipamEtcdPrefix(kind) ?? (kind.namespaced && options.namespace !== undefined ? `${calicoKeyPrefix}${kind.plural}/${options.namespace}/` : `${calicoKeyPrefix}${kind.plural}/`))
    const end = prefixEnd(prefix)
    let limit = etcdPageSize
    const range = (key: Buffer, revision?: string) => this.range({key, range_end: end, limit, revision})
    let revision = ''
    const decode = (kv: StoredKey) => this.decode(kind, kv)
    const sent = async () => this.ranges?.sent()
    async function* pages(): AsyncGenerator<Resource[]> {
      let page = await range(prefix)
      // Every page reads at the first page's revision: the listing is one consistent snapshot.
      revision = page.header.revision
      for (;;) {
        // Ask for the next page before decoding this one, so etcd works while we parse and print.
        const last = page.kvs.at(-1)
        limit = Math.min(limit * 2, etcdMaxPageSize)
        const next = page.more && last ? range(Buffer.concat([last.key, Buffer.from([0])]), revision) : undefined
        // A failed decode (or a consumer that stops early) must not leave the next page's request unhandled.
        next?.catch(() => {})
        // The next page's request on the wire before this page is handed out: etcd answers while
        // we decode and print, which would otherwise hold the request back until they are done.
        if (next) await sent()
        yield page.kvs.map(decode)
        if (!next) return
        page = await next
      }
    }
    return {pages: pages(), revision: () => revision}
  }

  async create(kind: KindInfo, resource: Resource): Promise<Resource> {
    return this.writeOne({type: 'create', kind, resource})
  }

  async update(kind: KindInfo, resource: Resource): Promise<Resource> {
    const {name, namespace, resourceVersion} = resource.metadata
    const current = await this.get(kind, name, namespace)
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(kind, name, namespace, resourceVersion, current.metadata.resourceVersion!)
    }
    return this.writeOne({type: 'update', kind, resource, current})
  }

  async delete(kind: KindInfo, name: string, namespace?: string, resourceVersion?: string): Promise<Resource> {
    const current = await this.get(kind, name, namespace)
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(kind, name, namespace, resourceVersion, current.metadata.resourceVersion!)
    }
    return this.writeOne({type: 'delete', kind, current})
  }

  async close(): Promise<void> {
    this.ranges?.close()
    if (this.etcd3) (await this.etcd3.catch(() => undefined))?.close()
  }

  /**
   * Chunks of at most etcdOpsPerTxn ops and etcdBytesPerTxn bytes, each one etcd transaction
   * (all of its ops or none). A chunk etcd finds too large is split and sent again.
   */
  async writeBatch(ops: WriteOp[], options: WriteBatchOptions = {}): Promise<Resource[]> {
    const written: Resource[] = []
    const guards = (options.unchangedSince ?? []).map(({kind, revision}) => {
      const key = Buffer.from(ipamEtcdPrefix(kind) ?? `${calicoKeyPrefix}${kind.plural}/`)
      return {kind, key, end: prefixEnd(key), revision: BigInt(revision)}
    })
    let maxOps = etcdOpsPerTxn - guards.length
    let start = 0
    while (start < ops.length) {
      if (options.signal?.aborted) throw new BatchWriteError(written, start, 0, interrupted(options.signal))
      const chunk: TxnOp[] = []
      let bytes = 0
      for (let i = start; i < ops.length && chunk.length < maxOps; i++) {
        const op = this.txnOp(ops[i]!)
        const size = op.key.length * 3 + (op.value?.length ?? 0)
        if (chunk.length > 0 && bytes + size > etcdBytesPerTxn) break
        chunk.push(op)
        bytes += size
      }
      // Nothing of ours or anyone's under a guarded prefix changed after the guard's revision;
      // after our own chunk commits, the guard moves to its revision.
      const guardCompares = guards.map((g) => ({key: g.key, range_end: g.end, target: 'Mod' as const, result: 'Less' as const, mod_revision: String(g.revision + 1n)}))
      let txn
      try {
        txn = await (await this.client()).kv.txn({
          compare: [...guardCompares, ...chunk.map((op) => op.compare)],
          success: chunk.map((op) => op.request),
          failure: chunk.map((op) => ({request_range: {key: op.key}})),
        })
      } catch (error) {
        if (isTooLarge(error as Error) && chunk.length > 1) {
          // etcd refused the whole chunk, so none of it is written: send smaller ones.
          maxOps = Math.max(1, Math.floor(chunk.length / 2))
          continue
        }
        const explained = this.explain(error as Error)
        const applied = isRefusal(error as Error) ? false : await this.wasApplied(chunk)
        if (typeof applied === 'string') {
          // The answer was lost but etcd has the chunk (written at that revision): go on.
          for (const g of guards) g.revision = BigInt(applied)
          written.push(...chunk.map((op) => op.result(applied)))
          start += chunk.length
          continue
        }
        throw new BatchWriteError(written, start, applied === undefined ? chunk.length : 0, explained)
      }
      if (!txn.succeeded) {
        chunk.forEach((op, i) => {
          const now = txn.responses[i]?.response_range.kvs[0]
          const refusal = op.refused(now)
          if (refusal) throw new BatchWriteError(written, start + i, 0, refusal)
        })
        // Every op's compare held, so a guard did not.
        const kinds = [...new Set(guards.map((g) => g.kind.plural))].join(', ')
        throw new BatchWriteError(written, start, 0, new NetctlError('conflict', `other ${kinds} were written in ${this.location} while netctl checked against them`, 'run the command again: it checks against what is stored now'))
      }
      for (const g of guards) g.revision = BigInt(txn.header.revision)
      written.push(...chunk.map((op) => op.result(txn.header.revision)))
      start += chunk.length
    }
    return written
  }

  /** One op: a BatchWriteError of one op is just its cause. */
  private async writeOne(op: WriteOp): Promise<Resource> {
    try {
      return (await this.writeBatch([op]))[0]!
    } catch (error) {
      throw error instanceof BatchWriteError ? error.cause : error
    }
  }

  private txnOp(op: WriteOp): TxnOp {
    const {name, namespace} = opName(op)
    const key = Buffer.from(ipamEtcdKey(op.kind, op.type === 'delete' ? op.current : op.resource) ?? etcdKey(op.kind, name, namespace))
    const changedOrGone = (expected: string) => (now: KeyValue | undefined) =>
      !now ? notFound(op.kind, name, namespace) : now.mod_revision !== expected ? conflict(op.kind, name, namespace, expected, now.mod_revision) : undefined
    switch (op.type) {
      case 'create': {
        const stored = withIdentity(op.resource, {uid: crypto.randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z')})
        const value = Buffer.from(encodeIpamValue(stored) ?? encode(stored))
        return {
          key, value,
          compare: {key, target: 'Create', result: 'Equal', create_revision: 0},
          request: {request_put: {key, value}},
          refused: (now) => (now ? alreadyExists(op.kind, name, namespace) : undefined),
          result: (revision) => withVersion(stored, revision),
        }
      }
      case 'update': {
        const expected = op.current.metadata.resourceVersion!
        const stored = withIdentity(op.resource, {uid: op.current.metadata.uid, creationTimestamp: op.current.metadata.creationTimestamp})
        const value = Buffer.from(encodeIpamValue(stored) ?? encode(stored))
        return {
          key, value,
          compare: {key, target: 'Mod', result: 'Equal', mod_revision: expected},
          request: {request_put: {key, value}},
          refused: changedOrGone(expected),
          result: (revision) => withVersion(stored, revision),
        }
      }
      case 'delete': {
        const expected = op.current.metadata.resourceVersion!
        return {
          key,
          compare: {key, target: 'Mod', result: 'Equal', mod_revision: expected},
          request: {request_delete_range: {key}},
          refused: changedOrGone(expected),
          result: () => op.current,
        }
      }
    }
  }

  /**
   * After a lost answer: read the chunk's first written key back (a value equal to ours means
   * etcd holds what we meant to write, whoever wrote it). A transaction is all or
   * nothing, so that one key tells for the whole chunk: the revision it was written at, false
   * if it was not, undefined when etcd cannot tell us.
   */
  private async wasApplied(chunk: TxnOp[]): Promise<string | false | undefined> {
    const probe = chunk.find((op) => op.value) ?? chunk[0]!
    try {
      const response = await (await this.client()).kv.range({key: probe.key})
      const now = response.kvs[0]
      if (probe.value) return now && now.value.equals(probe.value) ? now.mod_revision : false
      return now ? false : response.header.revision
    } catch {
      return undefined
    }
  }

  private badValue(kind: KindInfo, kv: StoredKey, what: string): NetctlError {
    const key = kv.key.toString('utf8')
    return new NetctlError(
      'unavailable',
      `etcd key ${key} in ${this.location} holds ${what}, not a Calico ${kind.kind}`,
      `netctl reads no further. Inspect it with: etcdctl get ${key}; if it is not a ${kind.kind} anyone needs, delete it with: etcdctl del ${key}`,
    )
  }

  /** Calico keeps no resourceVersion in the value: the key's mod revision is the version. */
  private decode(kind: KindInfo, kv: StoredKey): Resource {
    const text = kv.value.toString('utf8')
    // Only for a message: built when a value is bad, not for each of 20,000 good ones.
    const shown = () => (text.length > 40 ? `${JSON.stringify(text.slice(0, 40))}…` : JSON.stringify(text))
    let value: unknown
    try {
      // Calico once stored block affinities with no value at all.
      value = text === '' && ipamEtcdPrefix(kind) ? {} : JSON.parse(text)
    } catch {
      throw this.badValue(kind, kv, `${shown()}, which is not JSON`)
    }
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
    if (!isObject(value)) throw this.badValue(kind, kv, `${shown()}, which is not a JSON object`)
    if (ipamEtcdPrefix(kind)) {
      const decoded = decodeIpamValue(kind, kv.key.toString('utf8'), value)
      if (typeof decoded === 'string') throw this.badValue(kind, kv, decoded)
      decoded.metadata.resourceVersion = kv.mod_revision
      return decoded
    }
    const {metadata} = value
    if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
      throw this.badValue(kind, kv, 'a JSON object without metadata.name')
    }
    if (value.kind !== undefined && value.kind !== kind.kind) throw this.badValue(kind, kv, `a ${JSON.stringify(value.kind)}`)
    const resource = value as unknown as Resource
    resource.kind ??= kind.kind
    resource.apiVersion ??= 'projectcalico.org/v3'
    // A freshly parsed object: set the version in place rather than copy 20,000 objects.
    resource.metadata.resourceVersion = kv.mod_revision
    return resource
  }

  /** Map the client's failures to what the user can act on. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      throw this.explain(error as Error)
    }
  }

  private explain(error: Error): NetctlError {
    const tried = this.shownEndpoints
    const name = error.constructor?.name ?? ''
    const said = this.redact(error.message.split('\n')[0] ?? '')
    if (/authentication is not enabled/.test(error.message)) {
      return new NetctlError('unavailable', `etcd at ${tried} refused netctl's credentials: ${said}`, 'this etcd does not use authentication: unset ETCD_USERNAME and ETCD_PASSWORD (or enable it: etcdctl auth enable)', {cause: error})
    }
    if (/Permission|Authentication|InvalidAuthToken|Unauthenticated/.test(name)) {
      return new NetctlError('unavailable', `etcd at ${tried} refused netctl: ${said}`, 'check ETCD_USERNAME/ETCD_PASSWORD or the client certificate', {cause: error})
    }
    if (isTooLarge(error)) {
      return new NetctlError('unavailable', `etcd at ${tried} refused a request as too large: ${said}`, "make the object smaller, or raise etcd's --max-request-bytes (netctl keeps each transaction under 1 MiB)", {cause: error})
    }
    if (/database space exceeded/.test(error.message)) {
      return new NetctlError('unavailable', `etcd at ${tried} is out of space: ${said}`, "compact and defragment it (etcdctl compact, etcdctl defrag), then etcdctl alarm disarm; or raise etcd's --quota-backend-bytes", {cause: error})
    }
    if (/SSL routines|certificate/i.test(error.message)) {
      return new NetctlError('unavailable', `etcd at ${tried} refused the TLS connection: ${said}`, 'check ETCD_CA_CERT_FILE, ETCD_CERT_FILE and ETCD_KEY_FILE: etcd must trust the client certificate and netctl the CA that signed etcd\'s', {cause: error})
    }
    if (isRefusal(error) || /^EtcdError/.test(name)) {
      return new NetctlError('unavailable', `etcd at ${tried} refused the request: ${said}`, "see etcd's log for why", {cause: error})
    }
    return new NetctlError(
      'unavailable',
      `cannot reach etcd at ${tried} within ${this.timeouts.callMs / 1000} s: ${said}`,
      'check that etcd is running and that ETCD_ENDPOINTS (or --etcd-endpoints) names it, with https:// and certificates for TLS',
      {cause: error},
    )
  }

  /** Credentials in an endpoint must not reach a message through the client's own error text. */
  private redact(text: string): string {
    let out = text
    for (const endpoint of this.endpoints) {
      const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/@\s]*)@/i.exec(endpoint)?.[1]
      if (userinfo) out = out.split(`${userinfo}@`).join('****@')
    }
    return out
  }
}

/**
 * etcd3 (with cockatiel's noop) as `npm run build` bundles it into one file
 * (scripts/bundle-vendor.js), which loads in about half the time; the packages from src.
 */
async function etcdClient(): Promise<{Etcd3: typeof import('etcd3').Etcd3; noop: typeof import('cockatiel').noop}> {
  const bundled = requireVendorBundle<{Etcd3: typeof import('etcd3').Etcd3; noop: typeof import('cockatiel').noop}>('etcd3/lib/etcd3.js')
  if (bundled) return bundled
  const [{Etcd3}, {noop}] = await Promise.all([import('etcd3'), import('cockatiel')])
  return {Etcd3, noop}
}

/** etcd (or gRPC in front of it) refused a request for its size or its number of ops: nothing of it was written. */
const isTooLarge = (error: Error) => /request is too large|received message larger than max|too many operations in txn/.test(error.message)

/** etcd answered and refused: the request was not applied. Other failures (no answer) may have been. */
const isRefusal = (error: Error) =>
  /InvalidArgument|ResourceExhast|ResourceExhaust|FailedPrecondition|PermissionDenied|Unauthenticated|OutOfRange|NotFound|AlreadyExists|Aborted|NotImplemented|Authentication|InvalidAuthToken|Permission/.test(error.constructor?.name ?? '') ||
  isTooLarge(error)

function credentialsIn(endpoint: string): {username: string; password: string} | undefined {
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/@\s]*)@/i.exec(endpoint)?.[1]
  if (!userinfo) return undefined
  const [username, ...rest] = userinfo.split(':')
  return {username: decodeURIComponent(username!), password: decodeURIComponent(rest.join(':'))}
}

const withoutCredentials = (endpoint: string) => endpoint.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1')

function tlsCredentials(config: ConfigValues) {
  if (!config.etcdCACertFile && !config.etcdCertFile && !config.etcdKeyFile) return undefined
  const read = (path: string | undefined, what: string) => {
    if (!path) return undefined
    try {
      return readFileSync(path)
    } catch (error) {
      throw new NetctlError('usage', `cannot read the etcd ${what} ${path}: ${(error as Error).message}`, `fix the path in ETCD_${what === 'CA certificate' ? 'CA_CERT' : what === 'certificate' ? 'CERT' : 'KEY'}_FILE`)
    }
  }
  const rootCertificate = read(config.etcdCACertFile, 'CA certificate')
  if (!rootCertificate) throw new NetctlError('usage', 'an etcd client certificate needs the CA certificate too', 'set ETCD_CA_CERT_FILE')
  return {rootCertificate, certChain: read(config.etcdCertFile, 'certificate'), privateKey: read(config.etcdKeyFile, 'key')}
}

/** Calico keeps no resourceVersion in the value: the key's mod revision is the version. */
function encode(resource: Resource): string {
  const {resourceVersion: _ignored, ...metadata} = resource.metadata
  return JSON.stringify({...resource, metadata})
}

const withVersion = (resource: Resource, revision: string): Resource => ({...resource, metadata: {...resource.metadata, resourceVersion: revision}})

const withIdentity = (resource: Resource, identity: {uid?: string; creationTimestamp?: string}): Resource => {
  const metadata = {...resource.metadata, ...identity}
  delete metadata.resourceVersion
  if (metadata.namespace === undefined) delete metadata.namespace
  return {...resource, metadata}
}
