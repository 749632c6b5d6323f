/**
 * The embedded datastore: one JSON document in a state directory.
 *
 * Readers never lock: every write goes to a temp file that is fsynced and renamed over the
 * old one, so a reader (or a writer killed with SIGKILL at any point) sees the old state or
 * the new one, never a torn file. Writers take an exclusive lock across processes (lock.ts) and bump
 * one revision counter, which becomes each changed object's resourceVersion.
 */
import {randomUUID} from 'node:crypto'
import {mkdir, open, readdir, readFile, rename, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {NetctlError} from '../errors.js'
import type {KindInfo} from '../resources/kind.js'
import type {Resource} from '../resources/types.js'
import {acquireLock} from './lock.js'
import {alreadyExists, conflict, notFound, type Datastore, type ListOptions} from './datastore.js'

interface StoreFile {
  apiVersion: 'netctl/v1'
  kind: 'FileDatastore'
  revision: number
  /** "<plural>/<namespace>/<name>" or "<plural>/<name>" → object with resourceVersion. */
  objects: Record<string, Resource>
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

export class FileDatastore implements Datastore {
  readonly location: string
  private readonly file: string

  constructor(readonly dir: string) {
    this.file = join(dir, 'datastore.json')
    this.location = `file datastore ${dir}`
  }

  async get(kind: KindInfo, name: string, namespace?: string): Promise<Resource> {
    const object = (await this.read()).objects[keyOf(kind, name, namespace)]
    if (!object) throw notFound(kind, name, namespace)
    return structuredClone(object)
  }

  async list(kind: KindInfo, options: ListOptions = {}): Promise<Resource[]> {
    const prefix = kind.namespaced && options.namespace !== undefined ? `${kind.plural}/${options.namespace}/` : `${kind.plural}/`
    const {objects} = await this.read()
    return Object.keys(objects)
      .filter((key) => key.startsWith(prefix))
      .sort()
      .map((key) => structuredClone(objects[key]!))
  }

  create(kind: KindInfo, resource: Resource): Promise<Resource> {
    return this.mutate((store) => {
      const {name, namespace} = resource.metadata
      const key = keyOf(kind, name, namespace)
      if (store.objects[key]) throw alreadyExists(kind, name, namespace)
      const stored = this.stamp(store, resource, {uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z')})
      store.objects[key] = stored
      return stored
    })
  }

  update(kind: KindInfo, resource: Resource): Promise<Resource> {
    return this.mutate((store) => {
      const {name, namespace, resourceVersion} = resource.metadata
      const key = keyOf(kind, name, namespace)
      const current = store.objects[key]
      if (!current) throw notFound(kind, name, namespace)
      const stored = current.metadata.resourceVersion!
      if (resourceVersion && resourceVersion !== stored) throw conflict(kind, name, namespace, resourceVersion, stored)
      const next = this.stamp(store, resource, {uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp})
      store.objects[key] = next
      return next
    })
  }

  delete(kind: KindInfo, name: string, namespace?: string, resourceVersion?: string): Promise<Resource> {
    return this.mutate((store) => {
      const key = keyOf(kind, name, namespace)
      const current = store.objects[key]
      if (!current) throw notFound(kind, name, namespace)
      const stored = current.metadata.resourceVersion!
      if (resourceVersion && resourceVersion !== stored) throw conflict(kind, name, namespace, resourceVersion, stored)
      delete store.objects[key]
      store.revision += 1
      return current
    })
  }

  async close(): Promise<void> {}

  private stamp(store: StoreFile, resource: Resource, identity: {uid?: string; creationTimestamp?: string}): Resource {
    store.revision += 1
    const object = structuredClone(resource)
    object.metadata = {...object.metadata, ...identity, resourceVersion: String(store.revision)}
    if (object.metadata.namespace === undefined) delete object.metadata.namespace
    return object
  }

  private async read(): Promise<StoreFile> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyStore()
      throw new NetctlError('unavailable', `cannot read ${this.file}: ${(error as Error).message}`, 'check the permissions of the state directory, or point --state-dir elsewhere')
    }
    let store: StoreFile
    try {
      store = JSON.parse(text) as StoreFile
    } catch (error) {
      throw this.corrupt((error as Error).message)
    }
    if (store?.kind !== 'FileDatastore' || typeof store.revision !== 'number' || typeof store.objects !== 'object' || store.objects === null) {
      throw this.corrupt('it is not a netctl datastore file')
    }
    return store
  }

  private corrupt(reason: string): NetctlError {
    return new NetctlError(
      'unavailable',
      `the datastore file ${this.file} is unreadable: ${reason}`,
      'netctl has not changed it. Restore it from a backup, or move it aside to start with an empty datastore',
    )
  }

  /** Read, change and write back under the cross-process lock; fn throws to abort with nothing written. */
  private async mutate<T>(fn: (store: StoreFile) => T): Promise<T> {
    const release = await this.lock()
    try {
      const store = await this.read()
      const result = fn(store)
      await this.write(store)
      return structuredClone(result)
    } finally {
      await release()
    }
  }

  private async lock(): Promise<() => Promise<void>> {
    await mkdir(this.dir, {recursive: true, mode: 0o700})
    return acquireLock(join(this.dir, 'datastore.lock'))
  }

  /** Temp files and lock stagings of killed processes; we hold the lock, so no writer is using them. */
  private async removeOrphanedTempFiles(): Promise<void> {
    const orphans = (await readdir(this.dir)).filter((f) => (f.startsWith('datastore.json.') && f.endsWith('.tmp')) || isDeadStaging(f))
    await Promise.all(orphans.map((f) => rm(join(this.dir, f), {force: true})))
  }

  private async write(store: StoreFile): Promise<void> {
    const temp = `${this.file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`
    try {
      const handle = await open(temp, 'w', 0o600)
      try {
        await handle.writeFile(JSON.stringify(store))
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temp, this.file)
    } catch (error) {
      await rm(temp, {force: true})
      throw new NetctlError('unavailable', `cannot write ${this.file}: ${(error as Error).message}`, 'check free space and the permissions of the state directory')
    }
    await this.removeOrphanedTempFiles()
    // Persist the rename itself.
    const dir = await open(this.dir, 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  }
}
