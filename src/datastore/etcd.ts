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
import {alreadyExists, conflict, notFound, type Datastore, type ListOptions} from './datastore.js'

type Etcd3 = import('etcd3').Etcd3
type KeyValue = import('etcd3').IKeyValue

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

export class EtcdDatastore implements Datastore {
  readonly location: string

  private constructor(private readonly client: Etcd3, private readonly endpoints: string[], private readonly timeouts: EtcdTimeouts) {
    this.location = `etcd ${endpoints.join(',')}`
  }

  static async open(config: ConfigValues, timeouts: EtcdTimeouts = defaultTimeouts): Promise<EtcdDatastore> {
    const endpoints = (config.etcdEndpoints ?? 'http://127.0.0.1:2379').split(',').map((e) => e.trim()).filter(Boolean)
    const [{Etcd3}, {noop}] = await Promise.all([import('etcd3'), import('cockatiel')])
    const client = new Etcd3({
      hosts: endpoints,
      credentials: tlsCredentials(config),
      auth: config.etcdUsername ? {username: config.etcdUsername, password: config.etcdPassword ?? ''} : undefined,
      dialTimeout: timeouts.dialMs,
      defaultCallOptions: (context) => (context.isStream ? {} : {deadline: Date.now() + timeouts.callMs}),
      // Fail within the deadline instead of retrying for half a minute: the user is waiting.
      faultHandling: {global: noop, host: () => noop},
    })
    return new EtcdDatastore(client, endpoints, timeouts)
  }

  async get(kind: KindInfo, name: string, namespace?: string): Promise<Resource> {
    const response = await this.call(() => this.client.kv.range({key: Buffer.from(etcdKey(kind, name, namespace))}))
    const kv = response.kvs[0]
    if (!kv) throw notFound(kind, name, namespace)
    return decode(kv)
  }

  async list(kind: KindInfo, options: ListOptions = {}): Promise<Resource[]> {
    const prefix = Buffer.from(kind.namespaced && options.namespace !== undefined ? `${calicoKeyPrefix}${kind.plural}/${options.namespace}/` : `${calicoKeyPrefix}${kind.plural}/`)
    const end = prefixEnd(prefix)
    const range = (key: Buffer, revision?: string) => this.call(() => this.client.kv.range({key, range_end: end, limit: etcdPageSize, revision}))
    const out: Resource[] = []
    let page = await range(prefix)
    // Every page reads at the first page's revision: the listing is one consistent snapshot.
    const revision = page.header.revision
    for (;;) {
      // Ask for the next page before decoding this one, so etcd works while we parse.
      const last = page.kvs.at(-1)
      const next = page.more && last ? range(Buffer.concat([last.key, Buffer.from([0])]), revision) : undefined
      for (const kv of page.kvs) out.push(decode(kv))
      if (!next) return out
      page = await next
    }
  }

  async create(kind: KindInfo, resource: Resource): Promise<Resource> {
    const {name, namespace} = resource.metadata
    const key = Buffer.from(etcdKey(kind, name, namespace))
    const stored = withIdentity(resource, {uid: crypto.randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z')})
    const txn = await this.call(() =>
      this.client.kv.txn({
        compare: [{key, target: 'Create', result: 'Equal', create_revision: 0}],
        success: [{request_put: {key, value: Buffer.from(encode(stored))}}],
      }),
    )
    if (!txn.succeeded) throw alreadyExists(kind, name, namespace)
    return withVersion(stored, txn.header.revision)
  }

  async update(kind: KindInfo, resource: Resource): Promise<Resource> {
    const {name, namespace, resourceVersion} = resource.metadata
    const key = Buffer.from(etcdKey(kind, name, namespace))
    const current = await this.get(kind, name, namespace)
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(kind, name, namespace, resourceVersion, current.metadata.resourceVersion!)
    }
    const expected = resourceVersion || current.metadata.resourceVersion!
    const stored = withIdentity(resource, {uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp})
    const txn = await this.call(() =>
      this.client.kv.txn({
        compare: [{key, target: 'Mod', result: 'Equal', mod_revision: expected}],
        success: [{request_put: {key, value: Buffer.from(encode(stored))}}],
        failure: [{request_range: {key}}],
      }),
    )
    if (!txn.succeeded) throw this.lostRace(kind, name, namespace, expected, txn.responses[0]?.response_range.kvs[0])
    return withVersion(stored, txn.header.revision)
  }

  async delete(kind: KindInfo, name: string, namespace?: string, resourceVersion?: string): Promise<Resource> {
    const key = Buffer.from(etcdKey(kind, name, namespace))
    const current = await this.get(kind, name, namespace)
    const expected = resourceVersion || current.metadata.resourceVersion!
    const txn = await this.call(() =>
      this.client.kv.txn({
        compare: [{key, target: 'Mod', result: 'Equal', mod_revision: expected}],
        success: [{request_delete_range: {key}}],
        failure: [{request_range: {key}}],
      }),
    )
    if (!txn.succeeded) throw this.lostRace(kind, name, namespace, expected, txn.responses[0]?.response_range.kvs[0])
    return current
  }

  async close(): Promise<void> {
    this.client.close()
  }

  private lostRace(kind: KindInfo, name: string, namespace: string | undefined, expected: string, now: KeyValue | undefined): NetctlError {
    return now ? conflict(kind, name, namespace, expected, now.mod_revision) : notFound(kind, name, namespace)
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
    const tried = this.endpoints.join(', ')
    const name = error.constructor?.name ?? ''
    if (/Permission|Authentication|InvalidAuthToken|Unauthenticated/.test(name)) {
      return new NetctlError('unavailable', `etcd at ${tried} refused netctl: ${error.message}`, 'check ETCD_USERNAME/ETCD_PASSWORD or the client certificate', {cause: error})
    }
    return new NetctlError(
      'unavailable',
      `cannot reach etcd at ${tried} within ${this.timeouts.callMs / 1000} s: ${error.message.split('\n')[0]}`,
      'check that etcd is running and that ETCD_ENDPOINTS (or --etcd-endpoints) names it, with https:// and certificates for TLS',
      {cause: error},
    )
  }
}

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

function decode(kv: KeyValue): Resource {
  const resource = JSON.parse(kv.value.toString('utf8')) as Resource
  // A freshly parsed object: set the version in place rather than copy 20,000 objects.
  resource.metadata.resourceVersion = kv.mod_revision
  return resource
}

const withVersion = (resource: Resource, revision: string): Resource => ({...resource, metadata: {...resource.metadata, resourceVersion: revision}})

const withIdentity = (resource: Resource, identity: {uid?: string; creationTimestamp?: string}): Resource => {
  const metadata = {...resource.metadata, ...identity}
  delete metadata.resourceVersion
  if (metadata.namespace === undefined) delete metadata.namespace
  return {...resource, metadata}
}
