/** Generic get/create/apply/replace/delete/patch on any registered kind: validate everything, then write. */
import {BatchWriteError, conflict, interrupted, opName, type Datastore, type Listing, type WriteBatchOptions, type WriteOp} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {mergePatch, type SourcedResource} from '../resources/documents.js'
import {applyJsonPatch, type JsonPatchOperation} from './json-patch.js'
import {clusterInformationIsReadOnly, clusterInformationKind, newClusterInformation} from '../resources/felixconfiguration.js'
import {ipamObjectIsReadOnly, ipamOwnedKinds} from '../resources/ipam.js'
import type {KindInfo, ValidationContext} from '../resources/kind.js'
import {kindInfo} from '../resources/registry.js'
import {parseSelector} from '../resources/selector.js'
import {tierKind} from '../resources/tier.js'
import type {Resource} from '../resources/types.js'
import {checkName} from '../resources/validate.js'
import {checkPolicyTiers, checkTierDeletes, ensureProtectedTiers, orderTierDeletesLast, refuseProtectedTierDelete, sortTiersByOrder, touchesTiers} from './tiers.js'

export type WriteMode = 'create' | 'apply' | 'replace'

export interface WriteResult {
  resource: Resource
  /** unchanged: the object was stored exactly so already, and nothing was written (its resourceVersion stays). */
  action: 'created' | 'updated' | 'unchanged'
}

/** JSON with keys sorted at every level: equal content, equal text. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v))

/**
 * Whether writing `next` over `stored` would store the same object: same spec, labels and
 * annotations. Such a write is skipped, as the Kubernetes API server skips it, so the
 * resourceVersion stays and watchers see no event.
 */
export function changesNothing(next: Resource, stored: Resource): boolean {
  const content = (r: Resource) => canonical({spec: r.spec ?? {}, labels: r.metadata.labels ?? {}, annotations: r.metadata.annotations ?? {}})
  return content(next) === content(stored)
}

/**
 * Scope the object, fill Calico's defaults and validate it: pure, no datastore. With no context
 * it checks the object alone (netctl validate); a write passes what is stored.
 */
export function validateDocument(info: KindInfo, resource: Resource, context: ValidationContext = {others: []}): Resource {
  const scoped: Resource = {...resource, metadata: {...resource.metadata}}
  if (info.namespaced) scoped.metadata.namespace ||= 'default'
  checkName(scoped, info.namespaced)
  const ready = info.withDefaults ? info.withDefaults(scoped) : scoped
  info.validate?.(ready, context)
  return ready
}

/** Scope the object, fill Calico's defaults and validate it against what is stored. */
export async function prepare(ds: Datastore, info: KindInfo, resource: Resource, existing: Resource | undefined, others: () => Promise<Resource[]> = () => ds.list(info)): Promise<Resource> {
  // Only a new object is checked against the others (an IPPool's overlap): updates read none.
  if (!info.needsOthers || existing) return validateDocument(info, resource, {existing, others: []})
  // The object alone first: a malformed one is refused before the others are read.
  validateDocument(info, resource, {existing, others: []})
  return validateDocument(info, resource, {existing, others: await others()})
}

/** calicoctl's handleNamespace for -n/-A given on the command line. */
export function checkNamespaceFlags(info: KindInfo, flags: {namespace?: string; allNamespaces?: boolean}): void {
  const given = flags.namespace !== undefined || flags.allNamespaces
  if (!info.namespaced && given) {
    throw new NetctlError('usage', `${info.kind} is not namespaced`, `drop ${flags.allNamespaces ? '-A/--all-namespaces' : '-n/--namespace'}: ${info.plural} are cluster-wide`)
  }
  if (flags.namespace !== undefined && flags.allNamespaces) {
    throw new NetctlError('usage', 'cannot use both --namespace and --all-namespaces flags at the same time', 'keep -n NAMESPACE for one namespace, or -A for all of them')
  }
}

/** calicoctl's handleNamespace for a document read from a file, given -n NAMESPACE. */
export function checkDocumentNamespace(info: KindInfo, resource: Resource, namespace: string | undefined): void {
  if (namespace === undefined) return
  if (!info.namespaced) throw new NetctlError('usage', `${info.kind} is not namespaced`, `drop -n/--namespace: ${info.plural} are cluster-wide`)
  const own = resource.metadata.namespace
  if (own && own !== namespace) {
    throw new NetctlError('usage', `resource namespace does not match client namespace. ${own} != ${namespace}`, `drop -n ${namespace} to use the document's namespace "${own}", or change metadata.namespace`)
  }
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

export interface WriteOptions {
  /** Namespace for namespaced objects that name none (default: the datastore's). */
  namespace?: string
  /** The -f argument, for the command that finishes a write etcd stopped half-way. */
  source?: string
  /** Stop between transactions when aborted; the error says what was written. */
  signal?: AbortSignal
  /** create only: objects that exist already are left as they are, not an error (calicoctl --skip-exists). */
  skipExisting?: boolean
}

/** A document resolved to its kind and the object it writes. */
interface Target {
  info: KindInfo
  resource: Resource
  origin: string
}

interface Planned extends Target {
  existing?: Resource
  /** Stored exactly so already: not written. */
  unchanged?: boolean
}

const describeObject = (info: KindInfo, resource: Resource) =>
  `${info.kind} "${info.namespaced ? `${resource.metadata.namespace || 'default'}/` : ''}${resource.metadata.name}"`

/** How often a write is planned again when another writer got in between (nothing written yet). */
const planTries = 5

/**
 * Write every document or none of them: all are checked (shape, validation, existence and
 * resourceVersion) before the first write. The file store does it all in one transaction. etcd
 * writes in chunked transactions that re-check what the checks read; if one fails after others
 * were written, the error says exactly which documents were written and how to finish.
 */
export async function writeResources(ds: Datastore, documents: SourcedResource[], mode: WriteMode, options: WriteOptions = {}): Promise<WriteResult[]> {
  const defaultNamespace = options.namespace ?? ds.defaultNamespace
  const targets = documents.map(({resource: raw, origin, writeAs}): Target => {
    try {
      const info = writeAs ?? kindInfo(raw.kind)
      refuseReadOnly(info, mode === 'create' ? 'create' : 'apply or replace')
      checkDocumentNamespace(info, raw, options.namespace)
      // As libcalico-go: a create makes a new object, so it cannot name a version of one.
      if (mode === 'create' && raw.metadata.resourceVersion) {
        throw new NetctlError('invalid', `${describeObject(info, raw)}: metadata.resourceVersion (${JSON.stringify(raw.metadata.resourceVersion)}) must not be set for a create`, 'remove metadata.resourceVersion, or use netctl replace to update the stored object at that version (nothing was written)')
      }
      const resource = info.namespaced ? {...raw, metadata: {...raw.metadata, namespace: raw.metadata.namespace || defaultNamespace || 'default'}} : raw
      return {info, resource, origin}
    } catch (error) {
      throw withOrigin(error, origin)
    }
  })
  refuseDuplicates(targets)
  const results = await writeTargets(ds, targets, mode, options)
  if (results.some((r) => r.resource.kind === 'Node')) await ensureClusterInformation(ds)
  if (touchesTiers(targets.map((t) => t.info))) await ensureProtectedTiers(ds)
  return results
}

/**
 * As libcalico-go's ensureClusterInformation: the first Node written makes ClusterInformation
 * "default" if there is none. Best effort, as in calicoctl: the user's write stands either way.
 */
export async function ensureClusterInformation(ds: Datastore): Promise<void> {
  try {
    await ds.get(clusterInformationKind, 'default')
  } catch (error) {
    if (!isNetctlError(error, 'not-found')) return
    try {
      await ds.create(clusterInformationKind, newClusterInformation())
    } catch {
      // Another writer made it first, or the datastore refuses it: nothing for the user to do.
    }
  }
}

async function writeTargets(ds: Datastore, targets: Target[], mode: WriteMode, options: WriteOptions): Promise<WriteResult[]> {
  if (ds.transaction) {
    // One lock, one read, one write: the checks see exactly what the write replaces.
    return ds.transaction(async (tx) => {
      const {plan} = await planWrites(tx, targets, mode, options.skipExisting)
      const changing = plan.filter((p) => !p.unchanged)
      try {
        return withUnchanged(plan, await writePlan(tx, changing))
      } catch (error) {
        throw error instanceof BatchWriteError ? nothingWritten(error, changing) : error
      }
    })
  }
  for (let tries = 1; ; tries++) {
    const {plan: all, unchangedSince} = await planWrites(ds, targets, mode, options.skipExisting)
    const plan = all.filter((p) => !p.unchanged)
    try {
      return withUnchanged(all, await writePlan(ds, plan, {unchangedSince, signal: options.signal}))
    } catch (error) {
      if (!(error instanceof BatchWriteError)) throw error
      if (error.written.length > 0 || error.uncertain > 0) throw partlyWritten(error, plan, mode, options)
      // Someone wrote in between: check again against what is stored now.
      if (['conflict', 'already-exists', 'not-found'].includes(error.kind) && tries < planTries) continue
      throw nothingWritten(error, plan)
    }
  }
}

/** Two documents for one object would make the second overwrite the first: refuse the file. */
function refuseDuplicates(targets: Target[]): void {
  const seen = new Map<string, Target>()
  for (const target of targets) {
    const id = `${target.info.kind}\0${target.info.namespaced ? target.resource.metadata.namespace : ''}\0${target.resource.metadata.name}`
    const first = seen.get(id)
    if (first) {
      throw new NetctlError(
        'usage',
        `${target.origin}: ${describeObject(target.info, target.resource)} is also in ${first.origin}`,
        'keep one of the two documents; nothing was written',
      )
    }
    seen.set(id, target)
  }
}

/** Check every document against what is stored; list each kind at most once. */
async function planWrites(ds: Datastore, targets: Target[], mode: WriteMode, skipExisting = false): Promise<{plan: Planned[]; unchangedSince: WriteBatchOptions['unchangedSince']}> {
  const plan: Planned[] = []
  const listings = new Map<KindInfo, Promise<Listing>>()
  const listingOf = (info: KindInfo) => {
    if (!listings.has(info)) listings.set(info, ds.listWithRevision ? ds.listWithRevision(info) : ds.list(info).then((items) => ({items, revision: ''})))
    return listings.get(info)!
  }
  const checkedAgainstOthers = new Set<KindInfo>()
  for (const {info, resource, origin} of targets) {
    try {
      const existing = await findExisting(ds, info, resource)
      if (mode === 'create' && existing && skipExisting) continue
      if (mode === 'create' && existing) throw new NetctlError('already-exists', `${info.kind} "${resource.metadata.name}" already exists`, 'use netctl apply or netctl replace to change it')
      if (mode === 'replace' && !existing) throw new NetctlError('not-found', `${info.kind} "${resource.metadata.name}" does not exist`, 'use netctl create or netctl apply to make it')
      const given = resource.metadata.resourceVersion
      if (existing && given && given !== existing.metadata.resourceVersion) {
        throw new NetctlError('conflict', `${info.kind} "${resource.metadata.name}" was changed since resourceVersion ${given} (stored ${existing.metadata.resourceVersion})`, 'get it again, redo your change and retry')
      }
      const pending = plan.filter((p) => p.info === info && !p.existing).map((p) => p.resource)
      const others = async () => {
        checkedAgainstOthers.add(info)
        return [...(await listingOf(info)).items, ...pending]
      }
      const ready = await prepare(ds, info, resource, existing, others)
      plan.push({info, resource: ready, existing, origin, unchanged: existing !== undefined && changesNothing(ready, existing)})
    } catch (error) {
      throw withOrigin(error, origin)
    }
  }
  // A policy's tier must exist, or be created earlier in the file (the errors name the document).
  await checkPolicyTiers(ds, plan)
  const unchangedSince = []
  for (const info of checkedAgainstOthers) {
    const {revision} = await listingOf(info)
    if (revision) unchangedSince.push({kind: info, revision})
  }
  return {plan, unchangedSince}
}

async function writePlan(ds: Datastore, plan: Planned[], options: WriteBatchOptions = {}): Promise<WriteResult[]> {
  const ops: WriteOp[] = plan.map(({info, resource, existing}) =>
    existing ? {type: 'update', kind: info, resource, current: existing} : {type: 'create', kind: info, resource},
  )
  const written = await writeOps(ds, ops, options)
  return written.map((resource, i) => ({resource, action: plan[i]!.existing ? 'updated' : 'created'}))
}

/** The results in the order of the plan: the written ones and, where they were, the unchanged ones. */
function withUnchanged(plan: Planned[], written: WriteResult[]): WriteResult[] {
  let next = 0
  return plan.map((p) => (p.unchanged ? {resource: p.existing!, action: 'unchanged' as const} : written[next++]!))
}

/** The backend's batch write, or op by op with the same exact account of a failure. */
export async function writeOps(ds: Datastore, ops: WriteOp[], options: WriteBatchOptions = {}): Promise<Resource[]> {
  if (ds.writeBatch) return ds.writeBatch(ops, options)
  const written: Resource[] = []
  for (const [i, op] of ops.entries()) {
    if (options.signal?.aborted) throw new BatchWriteError(written, i, 0, interrupted(options.signal))
    try {
      written.push(await writeOp(ds, op))
    } catch (error) {
      if (isNetctlError(error)) throw new BatchWriteError(written, i, 0, error)
      throw error
    }
  }
  return written
}

function writeOp(ds: Datastore, op: WriteOp): Promise<Resource> {
  const {name, namespace} = opName(op)
  switch (op.type) {
    case 'create':
      return ds.create(op.kind, op.resource)
    case 'update':
      return ds.update(op.kind, {...op.resource, metadata: {...op.resource.metadata, resourceVersion: op.current.metadata.resourceVersion}})
    case 'delete':
      return ds.delete(op.kind, name, namespace, op.current.metadata.resourceVersion)
  }
}

/** A failure before anything was written: the failing document and why. */
function nothingWritten(error: BatchWriteError, plan: Planned[]): NetctlError {
  const failed = plan[error.failedAt]
  const cause = error.cause
  if (!failed) return cause
  const none = plan.length > 1 ? ` (none of the ${plan.length} objects was written)` : ''
  return new NetctlError(cause.kind, `${failed.origin}: ${describeObject(failed.info, failed.resource)}: ${cause.message}${none}`, cause.suggestion, {cause})
}

const span = (plan: Planned[], from: number, to: number) => {
  const one = (p: Planned) => `${describeObject(p.info, p.resource)} (${p.origin})`
  return to - from === 1 ? one(plan[from]!) : `${one(plan[from]!)} to ${one(plan[to - 1]!)}`
}

/** Some documents were written, some not: say which, and the command that finishes the job. */
function partlyWritten(error: BatchWriteError, plan: Planned[], mode: WriteMode, options: WriteOptions): NetctlError {
  const cause = error.cause
  const written = error.written.length
  const unknown = error.uncertain
  const rest = plan.length - written - unknown
  const failed = plan[error.failedAt]
  const parts = [
    `${failed ? `${failed.origin}: ${describeObject(failed.info, failed.resource)}: ` : ''}${cause.message}. `,
    `netctl wrote ${written} of ${plan.length} objects${written ? `, ${span(plan, 0, written)}` : ''}`,
  ]
  if (unknown) parts.push(`; the next ${unknown}, ${span(plan, written, written + unknown)}, may or may not have been written (etcd did not answer)`)
  if (rest) parts.push(`; the other ${rest}, from ${span(plan, written + unknown, written + unknown + 1)} on, were not written`)
  const file = options.source === undefined ? 'FILE' : options.source
  const again = mode === 'replace' ? 'replace' : 'apply'
  const command = `netctl ${again} -f ${file}${options.namespace ? ` -n ${options.namespace}` : ''}`
  const pinned = plan.some((p) => p.resource.metadata.resourceVersion)
    ? ' after removing the resourceVersion fields (they are stale for the objects already written)'
    : ''
  const how = `${cause.suggestion ? `${cause.suggestion}; then ` : ''}finish with: ${command}${file === '-' ? ' (the same input on stdin)' : ''}, with the same datastore settings${pinned}. It is idempotent: objects already written are written again unchanged`
  return new NetctlError(cause.kind, parts.join(''), how, {cause})
}

export interface Selection {
  /** Namespace for namespaced kinds (default: the datastore's default namespace); ignored with allNamespaces. */
  namespace?: string
  allNamespaces?: boolean
  /** WorkloadEndpoints on this node only. */
  node?: string
  /** Only objects whose labels match this Calico selector (get -l). */
  selector?: string
}

/** A WorkloadEndpoint answers to its escaped name and to its pod's name. */
const matchesName = (info: KindInfo, resource: Resource, name: string): boolean =>
  resource.metadata.name === name || (info.kind === 'WorkloadEndpoint' && resource.spec?.pod === name)

/** What getResources found, and one not-found error per name that matched nothing. */
export interface Found {
  found: Resource[]
  missing: NetctlError[]
}

/** The named objects (all when none), or not-found for the first name that matches nothing. */
export async function getResources(ds: Datastore, info: KindInfo, names: string[], selection: Selection): Promise<Resource[]> {
  const {found, missing} = await findResources(ds, info, names, selection)
  if (missing.length > 0) throw missing[0]
  return found
}

/** As getResources, but a name that matches nothing is reported in `missing`, not thrown (kubectl get a b c). */
/** Where a selection lists (its namespace) and which listed objects it keeps (node, label selector). */
function selectionFilter(ds: Datastore, info: KindInfo, selection: Selection): {namespace: string | undefined; selected: (r: Resource) => boolean} {
  const namespace = info.namespaced && !selection.allNamespaces ? selection.namespace ?? ds.defaultNamespace ?? 'default' : undefined
  const labelTest = selection.selector === undefined ? undefined : parseSelector(selection.selector)
  return {namespace, selected: (r) => (!selection.node || r.spec?.node === selection.node) && (!labelTest || labelTest(r.metadata.labels ?? {}))}
}

/** A whole selection page by page as the backend reads it, or undefined where it reads all at once. */
export function findResourcePages(ds: Datastore, info: KindInfo, selection: Selection): AsyncGenerator<Resource[]> | undefined {
  // Tiers are listed sorted by order (findResources), so all at once.
  if (!ds.listPages || info === tierKind) return undefined
  const {namespace, selected} = selectionFilter(ds, info, selection)
  const pages = ds.listPages(info, {namespace, node: selection.node})
  return (async function* () {
    for await (const page of pages) yield page.filter(selected)
  })()
}

/** Kinds users may read but not write: ClusterInformation (netctl keeps it) and IPAM's own objects. */
function refuseReadOnly(info: KindInfo, verb: string): void {
  if (info === clusterInformationKind) throw clusterInformationIsReadOnly(verb)
  if (ipamOwnedKinds.includes(info)) throw ipamObjectIsReadOnly(info.kind, verb)
}

export async function findResources(ds: Datastore, info: KindInfo, names: string[], selection: Selection): Promise<Found> {
  const {namespace, selected} = selectionFilter(ds, info, selection)
  if (names.length === 0) {
    const all = (await ds.list(info, {namespace, node: selection.node})).filter(selected)
    return {found: info === tierKind ? sortTiersByOrder(all) : all, missing: []}
  }
  let listed: Resource[] | undefined
  const listing = async () => (listed ??= await ds.list(info, {namespace, node: selection.node}))
  const found: Resource[] = []
  const missing: NetctlError[] = []
  for (const name of names) {
    if (namespace !== undefined || !info.namespaced) {
      try {
        const resource = await ds.get(info, name, namespace)
        if (selected(resource)) found.push(resource)
        continue
      } catch (error) {
        // A WorkloadEndpoint may be named by its pod: look for it in the listing below.
        if (!isNetctlError(error, 'not-found')) throw error
        if (info.kind !== 'WorkloadEndpoint') {
          missing.push(error as NetctlError)
          continue
        }
      }
    }
    const matches = (await listing()).filter((r) => matchesName(info, r, name) && selected(r))
    if (matches.length === 0) missing.push(notFound(info, name, namespace))
    for (const match of matches) found.push(match)
  }
  return {found, missing}
}

const notFound = (info: KindInfo, name: string, namespace: string | undefined) => {
  const where = namespace === undefined ? (info.namespaced ? ' in any namespace' : '') : ` in namespace "${namespace}"`
  return new NetctlError('not-found', `${info.kind} "${name}" not found${where}`, `list what exists with: netctl get ${info.plural}${info.namespaced ? ' -A' : ''}`)
}

export type DeleteTarget = {info: KindInfo; name: string; namespace?: string; resourceVersion?: string}

/** Delete every target or, where the backend cannot, say exactly which were deleted. */
export async function deleteResources(ds: Datastore, targets: DeleteTarget[]): Promise<Resource[]> {
  return (await deleteTargets(ds, targets, false)).deleted
}

/**
 * As calicoctl delete: every target that exists is deleted, the missing ones are returned for
 * the caller to report (a stale resourceVersion still deletes nothing).
 */
export async function deleteExisting(ds: Datastore, targets: DeleteTarget[]): Promise<{deleted: Resource[]; missing: DeleteTarget[]}> {
  return deleteTargets(ds, targets, true)
}

async function deleteTargets(ds: Datastore, targets: DeleteTarget[], skipMissing: boolean): Promise<{deleted: Resource[]; missing: DeleteTarget[]}> {
  for (const t of targets) {
    refuseReadOnly(t.info, 'delete')
    refuseProtectedTierDelete(t.info, t.name)
  }
  const scoped = targets.map((t) => ({...t, namespace: t.info.namespaced ? t.namespace ?? 'default' : undefined}))
  // Naming an object twice deletes it once.
  const unique = scoped.filter((t, i) => scoped.findIndex((u) => u.info === t.info && u.name === t.name && u.namespace === t.namespace) === i)
  let missing: DeleteTarget[] = []
  // Look every target up first so that a missing one deletes nothing (unless skipMissing).
  const planDeletes = async (d: Datastore): Promise<WriteOp[]> => {
    const ops: WriteOp[] = []
    missing = []
    for (const t of unique) {
      let current: Resource
      try {
        current = await d.get(t.info, t.name, t.namespace)
      } catch (error) {
        if (skipMissing && isNetctlError(error, 'not-found')) {
          missing.push(t)
          continue
        }
        throw error
      }
      const stored = current.metadata.resourceVersion!
      if (t.resourceVersion && t.resourceVersion !== stored) throw conflict(t.info, t.name, t.namespace, t.resourceVersion, stored)
      ops.push({type: 'delete', kind: t.info, current})
    }
    // A tier goes only once no policy is left in it, so its policies in this delete go first.
    await checkTierDeletes(d, ops.map((op) => ({info: op.kind, current: (op as {current: Resource}).current})))
    return orderTierDeletesLast(ops)
  }
  if (ds.transaction) {
    return ds.transaction(async (tx) => {
      try {
        return {deleted: await writeOps(tx, await planDeletes(tx)), missing}
      } catch (error) {
        throw error instanceof BatchWriteError ? error.cause : error
      }
    })
  }
  for (let tries = 1; ; tries++) {
    const ops = await planDeletes(ds)
    try {
      return {deleted: await writeOps(ds, ops), missing}
    } catch (error) {
      if (!(error instanceof BatchWriteError)) throw error
      if (error.written.length === 0 && error.uncertain === 0) {
        if (['conflict', 'not-found'].includes(error.kind) && tries < planTries) continue
        throw error.cause
      }
      const names = (from: number, to: number) => ops.slice(from, to).map((op) => describeObject(op.kind, (op as {current: Resource}).current)).join(', ')
      const done = error.written.length
      const unknown = error.uncertain
      const message = [
        `${error.cause.message}. netctl deleted ${done} of ${ops.length} objects: ${names(0, done)}`,
        unknown ? `; ${unknown} may or may not have been deleted (etcd did not answer): ${names(done, done + unknown)}` : '',
        done + unknown < ops.length ? `; these were not deleted: ${names(done + unknown, ops.length)}` : '',
      ].join('')
      throw new NetctlError(error.kind, message, `${error.cause.suggestion ? `${error.cause.suggestion}; then ` : ''}delete the ones not deleted`, {cause: error.cause})
    }
  }
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

/**
 * merge: RFC 7386. strategic: what calicoctl does for every -t (a Kubernetes strategic merge over
 * Calico's v3 types, which name no merge keys, so lists are replaced whole: RFC 7386's result); its
 * directives ($patch, $retainKeys, ...) are refused. json: RFC 6902 operations.
 */
export type ResourcePatch = {type: 'merge' | 'strategic'; document: Record<string, unknown>} | {type: 'json'; operations: JsonPatchOperation[]}

/** An error that must not be retried past, even if it is a conflict (a failed JSON patch test). */
class Final {
  constructor(readonly error: unknown) {}
}

export async function patchResource(ds: Datastore, info: KindInfo, name: string, namespace: string | undefined, patch: ResourcePatch | Record<string, unknown>): Promise<Resource> {
  return (await patchResourceChange(ds, info, name, namespace, patch)).resource
}

/** patchResource, and whether the patch changed the object (a patch with no effect writes nothing). */
export async function patchResourceChange(ds: Datastore, info: KindInfo, name: string, namespace: string | undefined, patch: ResourcePatch | Record<string, unknown>): Promise<{resource: Resource; changed: boolean}> {
  const typed: ResourcePatch = 'type' in patch && ('document' in patch || 'operations' in patch) ? (patch as ResourcePatch) : {type: 'merge', document: patch as Record<string, unknown>}
  refuseReadOnly(info, 'patch')
  let pinned: string | undefined
  if (typed.type !== 'json') {
    const document = typed.document
    for (const field of ['apiVersion', 'kind'] as const) {
      if (field in document) throw new NetctlError('usage', `a patch cannot change ${field}`, 'patch metadata or spec only')
    }
    if (typed.type === 'strategic') refuseDirectives(document, '')
    const meta = document.metadata as Record<string, unknown> | undefined
    if (meta && ('name' in meta || 'namespace' in meta)) throw new NetctlError('usage', 'a patch cannot rename an object or move it to another namespace', 'create the new object and delete the old one')
    // A resourceVersion in the patch is a precondition, as in Kubernetes: never retried past.
    pinned = typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined
  }
  try {
    const {value} = await retryOnConflict(async () => {
      const current = await ds.get(info, name, namespace)
      let patched: Resource
      if (typed.type === 'json') {
        try {
          patched = applyJsonPatch(current, typed.operations, {object: describeObject(info, current), suggestion: `see the object with: netctl get ${info.plural} ${name}${info.namespaced ? ` -n ${current.metadata.namespace ?? 'default'}` : ''} -o json`})
        } catch (error) {
          throw new Final(error)
        }
        checkIdentityKept(info, current, patched)
        // The JSON patch may pin the version it was written against, with test or replace.
        pinned = patched.metadata?.resourceVersion !== current.metadata.resourceVersion ? patched.metadata?.resourceVersion : undefined
      } else patched = mergePatch(current, typed.document)
      const ready = await prepare(ds, info, patched, current)
      await checkPolicyTiers(ds, [{info, resource: ready, existing: current}])
      if (changesNothing(ready, current) && (!pinned || pinned === current.metadata.resourceVersion)) return {resource: current, changed: false}
      const update = ds.update(info, {...ready, metadata: {...ready.metadata, resourceVersion: pinned ?? current.metadata.resourceVersion}}).then((resource) => ({resource, changed: true}))
      // A version the JSON patch pinned is a precondition too: a conflict on it is final.
      return typed.type === 'json' && pinned ? update.catch((error: unknown) => Promise.reject(new Final(error))) : update
    }, pinned ? 1 : undefined)
    return value
  } catch (error) {
    throw error instanceof Final ? error.error : error
  }
}

function refuseDirectives(value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null) return
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('$')) {
      throw new NetctlError('usage', `strategic merge directive ${key}${path ? ` at ${path}` : ''} is not supported`, 'Calico\'s resources name no merge keys, so -t strategic is a merge patch: lists are replaced whole and null removes a field; for list edits use -t json')
    }
    refuseDirectives(child, `${path}/${key}`)
  }
}

function checkIdentityKept(info: KindInfo, current: Resource, patched: Resource): void {
  if (typeof patched !== 'object' || patched === null || Array.isArray(patched) || typeof patched.metadata !== 'object' || patched.metadata === null) {
    throw new NetctlError('invalid', `the JSON patch leaves ${describeObject(info, current)} without metadata`, 'patch fields under /metadata or /spec, not the whole object')
  }
  for (const field of ['apiVersion', 'kind'] as const) {
    if (patched[field] !== current[field]) throw new NetctlError('usage', `a patch cannot change ${field}`, 'patch metadata or spec only')
  }
  if (patched.metadata.name !== current.metadata.name || (patched.metadata.namespace ?? undefined) !== (current.metadata.namespace ?? undefined)) {
    throw new NetctlError('usage', 'a patch cannot rename an object or move it to another namespace', 'create the new object and delete the old one')
  }
}

export interface LabelChange {
  /** Labels to set, in the order given. */
  set: Array<[key: string, value: string]>
  /** Keys to remove; each must be present. */
  remove: string[]
  /** Whether a key already present may take a new value. */
  overwrite: boolean
}

export interface LabelOutcome {
  key: string
  action: 'set' | 'updated' | 'removed'
}

/**
 * calicoctl label: set or remove labels on one stored object in one update (all or nothing).
 * A key already present with another value needs overwrite; removing a missing key is an error.
 */
export async function labelResource(ds: Datastore, info: KindInfo, name: string, namespace: string | undefined, change: LabelChange): Promise<{resource: Resource; outcomes: LabelOutcome[]}> {
  refuseReadOnly(info, 'label')
  const scopedNamespace = info.namespaced ? namespace ?? ds.defaultNamespace ?? 'default' : undefined
  const {value} = await retryOnConflict(async () => {
    const current = await ds.get(info, name, scopedNamespace)
    const object = describeObject(info, current)
    const labels: Record<string, string> = {...current.metadata.labels}
    const outcomes: LabelOutcome[] = []
    for (const key of change.remove) {
      if (!(key in labels)) throw new NetctlError('not-found', `cannot remove label of ${object}, key ${key} does not exist`, `see its labels with: netctl get ${info.plural} ${name} -o yaml`)
      delete labels[key]
      outcomes.push({key, action: 'removed'})
    }
    for (const [key, labelValue] of change.set) {
      const old = labels[key]
      if (old !== undefined && old !== labelValue && !change.overwrite) {
        throw new NetctlError('already-exists', `failed to update label of ${object}, key ${key} is already present (value ${JSON.stringify(old)})`, 'please use \'--overwrite\' to set a new value')
      }
      labels[key] = labelValue
      outcomes.push({key, action: old === undefined ? 'set' : 'updated'})
    }
    const changed: Resource = {...current, metadata: {...current.metadata, labels}}
    const ready = await prepare(ds, info, changed, current)
    const resource = await ds.update(info, {...ready, metadata: {...ready.metadata, resourceVersion: current.metadata.resourceVersion}})
    return {resource, outcomes}
  })
  return value
}
