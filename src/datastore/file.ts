/**
 * The embedded datastore: one JSON document in a state directory.
 *
 * Readers never lock: every write goes to a temp file that is fsynced and renamed over the
 * old one, so a reader (or a writer killed with SIGKILL at any point) sees the old state or
 * the new one, never a torn file. Writers take an exclusive lock across processes (lock.ts) and bump
 * one revision counter, which becomes each changed object's resourceVersion.
 */
import {randomUUID} from 'node:crypto'
import {lstatSync} from 'node:fs'
import {readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {NetctlError} from '../errors.js'
import type {KindInfo} from '../resources/kind.js'
import type {Resource} from '../resources/types.js'
import {acquireLock} from './lock.js'
import {ensureStateDirs, readStateFile, writeStateFile} from './safe-fs.js'
import {alreadyExists, conflict, notFound, type Datastore, type ListOptions} from './datastore.js'

interface StoreFile {
  apiVersion: 'netctl/v1'
  kind: 'FileDatastore'
  revision: number
  /** "<plural>/<namespace>/<name>" or "<plural>/<name>" → object with resourceVersion. */
  objects: Record<string, Resource>
}

/** A regular file's identity and version (lstat: a link never matches a stamp taken from a read). */
function fileStamp(file: string): string | undefined {
  try {
    const s = lstatSync(file, {bigint: true, throwIfNoEntry: false})
    return s?.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : undefined
  } catch {
    return undefined // the read below says what is wrong, where
  }
}

const emptyStore = (): StoreFile => ({apiVersion: 'netctl/v1', kind: 'FileDatastore', revision: 0, objects: {}})

const keyOf = (kind: KindInfo, name: string, namespace?: string) =>
  kind.namespaced ? `${kind.plural}/${namespace ?? 'default'}/${name}` : `${kind.plural}/${name}`

/** datastore.lock.<pid>.<token>[.released]: a lock staging or trash directory whose process is gone. */
function isDeadStaging(file: string): boolean {
  const pid = /^datastore\.lock\.(\d+)\.[0-9a-f]+(\.released)?$/.exec(file)?.[1]
  if (!pid) return false
  try {
    process.kill(Number(pid), 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/** The objects of one loaded store file, changed in memory; the file is written by the caller. */
class StoreView implements Datastore {
  changed = false

  constructor(readonly store: StoreFile, readonly location: string) {}

  async get(kind: KindInfo, name: string, namespace?: string): Promise<Resource> {
    const object = this.store.objects[keyOf(kind, name, namespace)]
    if (!object) throw notFound(kind, name, namespace)
    return structuredClone(object)
  }

  async list(kind: KindInfo, options: ListOptions = {}): Promise<Resource[]> {
    const prefix = kind.namespaced && options.namespace !== undefined ? `${kind.plural}/${options.namespace}/` : `${kind.plural}/`
    const {objects} = this.store
    return Object.keys(objects)
      .filter((key) => key.startsWith(prefix))
      .sort()
      .map((key) => structuredClone(objects[key]!))
  }

  async create(kind: KindInfo, resource: Resource): Promise<Resource> {
    const {name, namespace} = resource.metadata
    const key = keyOf(kind, name, namespace)
    if (this.store.objects[key]) throw alreadyExists(kind, name, namespace)
    return this.put(key, resource, {uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z')})
  }

  async update(kind: KindInfo, resource: Resource): Promise<Resource> {
    const {name, namespace, resourceVersion} = resource.metadata
    const key = keyOf(kind, name, namespace)
    const current = this.store.objects[key]
    if (!current) throw notFound(kind, name, namespace)
    const stored = current.metadata.resourceVersion!
    if (resourceVersion && resourceVersion !== stored) throw conflict(kind, name, namespace, resourceVersion, stored)
    return this.put(key, resource, {uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp})
  }

  async delete(kind: KindInfo, name: string, namespace?: string, resourceVersion?: string): Promise<Resource> {
    const key = keyOf(kind, name, namespace)
    const current = this.store.objects[key]
    if (!current) throw notFound(kind, name, namespace)
    const stored = current.metadata.resourceVersion!
    if (resourceVersion && resourceVersion !== stored) throw conflict(kind, name, namespace, resourceVersion, stored)
    delete this.store.objects[key]
    this.store.revision += 1
    this.changed = true
    return current
  }

  async close(): Promise<void> {}

  private put(key: string, resource: Resource, identity: {uid?: string; creationTimestamp?: string}): Resource {
    this.store.revision += 1
    const object = structuredClone(resource)
    object.metadata = {...object.metadata, ...identity, resourceVersion: String(this.store.revision)}
    if (object.metadata.namespace === undefined) delete object.metadata.namespace
    this.store.objects[key] = object
    this.changed = true
    return structuredClone(object)
  }
}

export class FileDatastore implements Datastore {
  readonly location: string
  private readonly file: string

  constructor(readonly dir: string) {
    this.file = join(dir, 'datastore.json')
    this.location = `file datastore ${dir}`
  }

  // Reads take no lock: the file is always a whole old or a whole new state.
  async get(kind: KindInfo, name: string, namespace?: string): Promise<Resource> {
    return (await this.view()).get(kind, name, namespace)
  }

  async list(kind: KindInfo, options: ListOptions = {}): Promise<Resource[]> {
    return (await this.view()).list(kind, options)
  }

  create(kind: KindInfo, resource: Resource): Promise<Resource> {
    return this.transaction((tx) => tx.create(kind, resource))
  }

  update(kind: KindInfo, resource: Resource): Promise<Resource> {
    return this.transaction((tx) => tx.update(kind, resource))
  }

  delete(kind: KindInfo, name: string, namespace?: string, resourceVersion?: string): Promise<Resource> {
    return this.transaction((tx) => tx.delete(kind, name, namespace, resourceVersion))
  }

  async close(): Promise<void> {}

  /** Read, change and write back under the cross-process lock; if fn throws, nothing is written. */
  async transaction<T>(fn: (tx: Datastore) => Promise<T>): Promise<T> {
    const release = await this.lock()
    try {
      const view = new StoreView(await this.read(true), this.location)
      const result = await fn(view)
      if (view.changed) await this.write(view.store)
      return result
    } finally {
      await release()
    }
  }

  private async view(): Promise<StoreView> {
    return new StoreView(await this.read(), this.location)
  }

  /**
   * The store as read, parsed. Reads reuse the last parse while the file's text is the same
   * (a command that lists ten kinds parses a large store once); a transaction, which changes
   * the objects in place, always gets its own.
   */
  private async read(forWriting = false): Promise<StoreFile> {
    // The file is only ever replaced (renamed over), never rewritten: the same inode, size and
    // times mean the same text, so reads of ten kinds in a row read and compare it once.
    const stamp = fileStamp(this.file)
    if (!forWriting && stamp !== undefined && this.lastRead?.stamp === stamp) return this.lastRead.store
    // safe-fs: a planted link or another user's file or directory is refused, not followed.
    const text = readStateFile(this.dir, ['datastore.json'])
    if (text === undefined) return emptyStore()
    if (!forWriting && this.lastRead?.text === text) return this.lastRead.store
    let store: StoreFile
    try {
      store = JSON.parse(text) as StoreFile
    } catch (error) {
      throw this.corrupt((error as Error).message)
    }
    if (store?.kind !== 'FileDatastore' || typeof store.revision !== 'number' || typeof store.objects !== 'object' || store.objects === null) {
      throw this.corrupt('it is not a netctl datastore file')
    }
    if (!forWriting) this.lastRead = {text, store, stamp}
    return store
  }

  private lastRead?: {text: string; store: StoreFile; stamp?: string}

  private corrupt(reason: string): NetctlError {
    return new NetctlError(
      'unavailable',
      `the datastore file ${this.file} is unreadable: ${reason}`,
      'netctl has not changed it. Restore it from a backup, or move it aside to start with an empty datastore',
    )
  }

  private async lock(): Promise<() => Promise<void>> {
    ensureStateDirs(this.dir)
    return acquireLock(join(this.dir, 'datastore.lock'))
  }

  /** Temp files and lock stagings of killed processes; we hold the lock, so no writer is using them. */
  private async removeOrphanedTempFiles(): Promise<void> {
    const orphans = (await readdir(this.dir)).filter((f) => (f.startsWith('datastore.json.') && f.endsWith('.tmp')) || isDeadStaging(f))
    await Promise.all(orphans.map((f) => rm(join(this.dir, f), {recursive: true, force: true})))
  }

  private async write(store: StoreFile): Promise<void> {
    // Temp file (O_EXCL|O_NOFOLLOW), fsync, rename, fsync of the directory: see safe-fs.
    writeStateFile(this.dir, ['datastore.json'], JSON.stringify(store))
    await this.removeOrphanedTempFiles()
  }
}
