/** Generic get/create/apply/replace/delete/patch on any registered kind: validate everything, then write. */
import type {Datastore} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {mergePatch, type SourcedResource} from '../resources/documents.js'
import type {KindInfo} from '../resources/kind.js'
import {kindInfo} from '../resources/registry.js'
import type {Resource} from '../resources/types.js'
import {checkName} from '../resources/validate.js'

export type WriteMode = 'create' | 'apply' | 'replace'

export interface WriteResult {
  resource: Resource
  action: 'created' | 'updated'
}

/** Scope the object, fill Calico's defaults and validate it against what is stored. */
export async function prepare(ds: Datastore, info: KindInfo, resource: Resource, existing: Resource | undefined, others: () => Promise<Resource[]> = () => ds.list(info)): Promise<Resource> {
  const scoped: Resource = {...resource, metadata: {...resource.metadata}}
  if (info.namespaced) scoped.metadata.namespace ||= 'default'
  checkName(scoped, info.namespaced)
  const ready = info.withDefaults ? info.withDefaults(scoped) : scoped
  // Only a new object is checked against the others (an IPPool's overlap): updates read none.
  info.validate?.(ready, {existing, others: info.needsOthers && !existing ? await others() : []})
  return ready
}

async function findExisting(ds: Datastore, info: KindInfo, resource: Resource): Promise<Resource | undefined> {
  try {
    return await ds.get(info, resource.metadata.name, info.namespaced ? resource.metadata.namespace || 'default' : undefined)
  } catch (error) {
    if (isNetctlError(error, 'not-found')) return undefined
    throw error
  }
}

const withOrigin = (error: unknown, origin: string): unknown =>
  isNetctlError(error) ? new NetctlError(error.kind, `${origin}: ${error.message}`, error.suggestion, {cause: error}) : error

/**
 * Write every document or none of them: all are checked (shape, validation, existence and
 * resourceVersion) before the first write.
 */
export async function writeResources(ds: Datastore, documents: SourcedResource[], mode: WriteMode, namespace?: string): Promise<WriteResult[]> {
  const defaultNamespace = namespace ?? ds.defaultNamespace
  const plan: Array<{info: KindInfo; resource: Resource; existing?: Resource}> = []
  // Each kind is listed at most once however many of its documents the file holds.
  const stored = new Map<KindInfo, Promise<Resource[]>>()
  const storedOf = (info: KindInfo) => {
    if (!stored.has(info)) stored.set(info, ds.list(info))
    return stored.get(info)!
  }
  for (const {resource: raw, origin} of documents) {
    try {
      const info = kindInfo(raw.kind)
      const resource = info.namespaced && !raw.metadata.namespace && defaultNamespace ? {...raw, metadata: {...raw.metadata, namespace: defaultNamespace}} : raw
      const existing = await findExisting(ds, info, resource)
      if (mode === 'create' && existing) throw new NetctlError('already-exists', `${info.kind} "${resource.metadata.name}" already exists`, 'use netctl apply or netctl replace to change it')
      if (mode === 'replace' && !existing) throw new NetctlError('not-found', `${info.kind} "${resource.metadata.name}" does not exist`, 'use netctl create or netctl apply to make it')
      const given = resource.metadata.resourceVersion
      if (existing && given && given !== existing.metadata.resourceVersion) {
        throw new NetctlError('conflict', `${info.kind} "${resource.metadata.name}" was changed since resourceVersion ${given} (stored ${existing.metadata.resourceVersion})`, 'get it again, redo your change and retry')
      }
      const pending = plan.filter((p) => p.info === info && !p.existing).map((p) => p.resource)
      plan.push({info, resource: await prepare(ds, info, resource, existing, async () => [...(await storedOf(info)), ...pending]), existing})
    } catch (error) {
      throw withOrigin(error, origin)
    }
  }
  const results: WriteResult[] = []
  for (const {info, resource, existing} of plan) {
    if (existing) {
      // apply without a resourceVersion means "whatever is stored now", like calicoctl.
      const update = {...resource, metadata: {...resource.metadata, resourceVersion: resource.metadata.resourceVersion || existing.metadata.resourceVersion}}
      results.push({resource: await ds.update(info, update), action: 'updated'})
    } else {
      results.push({resource: await ds.create(info, resource), action: 'created'})
    }
  }
  return results
}

export interface Selection {
  /** Namespace for namespaced kinds (default: the datastore's default namespace); ignored with allNamespaces. */
  namespace?: string
  allNamespaces?: boolean
  /** WorkloadEndpoints on this node only. */
  node?: string
}

/** A WorkloadEndpoint answers to its escaped name and to its pod's name. */
const matchesName = (info: KindInfo, resource: Resource, name: string): boolean =>
  resource.metadata.name === name || (info.kind === 'WorkloadEndpoint' && resource.spec?.pod === name)

export async function getResources(ds: Datastore, info: KindInfo, names: string[], selection: Selection): Promise<Resource[]> {
  const namespace = info.namespaced && !selection.allNamespaces ? selection.namespace ?? ds.defaultNamespace ?? 'default' : undefined
  const onNode = (r: Resource) => !selection.node || r.spec?.node === selection.node
  if (names.length === 0) return (await ds.list(info, {namespace, node: selection.node})).filter(onNode)
  let listed: Resource[] | undefined
  const listing = async () => (listed ??= await ds.list(info, {namespace, node: selection.node}))
  const found: Resource[] = []
  for (const name of names) {
    if (namespace !== undefined || !info.namespaced) {
      try {
        const resource = await ds.get(info, name, namespace)
        if (onNode(resource)) found.push(resource)
        continue
      } catch (error) {
        // A WorkloadEndpoint may be named by its pod: look for it in the listing below.
        if (!isNetctlError(error, 'not-found') || info.kind !== 'WorkloadEndpoint') throw error
      }
    }
    const matches = (await listing()).filter((r) => matchesName(info, r, name) && onNode(r))
    if (matches.length === 0) {
      const where = namespace === undefined ? (info.namespaced ? ' in any namespace' : '') : ` in namespace "${namespace}"`
      throw new NetctlError('not-found', `${info.kind} "${name}" not found${where}`, `list what exists with: netctl get ${info.plural}${info.namespaced ? ' -A' : ''}`)
    }
    found.push(...matches)
  }
  return found
}

export async function deleteResources(ds: Datastore, targets: Array<{info: KindInfo; name: string; namespace?: string; resourceVersion?: string}>): Promise<Resource[]> {
  // Look every target up first so that a missing one deletes nothing.
  for (const t of targets) await ds.get(t.info, t.name, t.info.namespaced ? t.namespace ?? 'default' : undefined)
  const deleted: Resource[] = []
  for (const t of targets) deleted.push(await ds.delete(t.info, t.name, t.info.namespaced ? t.namespace ?? 'default' : undefined, t.resourceVersion))
  return deleted
}

/** Retries a read-change-write cycle when another writer got in between. */
export async function retryOnConflict<T>(attempt: (tries: number) => Promise<T>, maxTries = 5): Promise<{value: T; tries: number}> {
  for (let tries = 1; ; tries++) {
    try {
      return {value: await attempt(tries), tries}
    } catch (error) {
      if (!isNetctlError(error, 'conflict') || tries >= maxTries) throw error
    }
  }
}

export async function patchResource(ds: Datastore, info: KindInfo, name: string, namespace: string | undefined, patch: Record<string, unknown>): Promise<Resource> {
  for (const field of ['apiVersion', 'kind'] as const) {
    if (field in patch) throw new NetctlError('usage', `a patch cannot change ${field}`, 'patch metadata or spec only')
  }
  const meta = patch.metadata as Record<string, unknown> | undefined
  if (meta && ('name' in meta || 'namespace' in meta)) throw new NetctlError('usage', 'a patch cannot rename an object or move it to another namespace', 'create the new object and delete the old one')
  // A resourceVersion in the patch is a precondition, as in Kubernetes: never retried past.
  const pinned = typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined
  const {value} = await retryOnConflict(async () => {
    const current = await ds.get(info, name, namespace)
    const patched = mergePatch(current, patch)
    const ready = await prepare(ds, info, patched, current)
    return ds.update(info, {...ready, metadata: {...ready.metadata, resourceVersion: pinned ?? current.metadata.resourceVersion}})
  }, pinned ? 1 : undefined)
  return value
}
