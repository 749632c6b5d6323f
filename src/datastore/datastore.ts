/** The one interface every backend (file, etcdv3, kubernetes) implements. */
import {NetctlError} from '../errors.js'
import type {KindInfo} from '../resources/kind.js'
import type {Resource} from '../resources/types.js'

export type DatastoreType = 'file' | 'etcdv3' | 'kubernetes'
export const datastoreTypes: readonly DatastoreType[] = ['file', 'etcdv3', 'kubernetes']

export interface ListOptions {
  /** Only this namespace; undefined lists all namespaces of a namespaced kind. */
  namespace?: string
  /** WorkloadEndpoints on this node only; a backend may filter server-side, callers filter again. */
  node?: string
}

export interface Datastore {
  /** Where the data lives, for messages: "file datastore /home/me/.local/state/netctl". */
  readonly location: string
  /** The namespace to use when none is given (a kubeconfig context may name one). */
  readonly defaultNamespace?: string
  get(kind: KindInfo, name: string, namespace?: string): Promise<Resource>
  list(kind: KindInfo, options?: ListOptions): Promise<Resource[]>
  /** Fails with already-exists. Sets resourceVersion, uid and creationTimestamp. */
  create(kind: KindInfo, resource: Resource): Promise<Resource>
  /**
   * Replaces a stored object. With metadata.resourceVersion set, only if it is still the
   * stored revision (compare-and-swap), else a conflict error.
   */
  update(kind: KindInfo, resource: Resource): Promise<Resource>
  /** With resourceVersion, only if it is still the stored revision. Returns what was deleted. */
  delete(kind: KindInfo, name: string, namespace?: string, resourceVersion?: string): Promise<Resource>
  close(): Promise<void>
  /**
   * Run many reads and writes as one: the file backend locks once, writes once, and writes
   * nothing if fn throws. Backends without it are used call by call.
   */
  transaction?<T>(fn: (tx: Datastore) => Promise<T>): Promise<T>
  /** Refuses a write that would not be taken, writing nothing (a lab's datastore: what the lab cannot carry out). */
  admit?(kind: KindInfo, resource: Resource): Promise<void>
  /** list, a page at a time as the backend reads them (a printer can start before the last page); backends that read all at once have none. */
  listPages?(kind: KindInfo, options?: ListOptions): AsyncIterable<Resource[]>
  /** list, plus the datastore revision the listing was read at (for WriteBatchOptions.unchangedSince). */
  listWithRevision?(kind: KindInfo, options?: ListOptions): Promise<Listing>
  /**
   * Write ops in order, in as few atomic transactions as the backend allows. When one fails, a
   * BatchWriteError says exactly which ops were written. Backends without it are used op by op.
   */
  writeBatch?(ops: WriteOp[], options?: WriteBatchOptions): Promise<Resource[]>
}

/**
 * One write of a batch. update and delete are compare-and-swap on current's resourceVersion;
 * update keeps current's uid and creationTimestamp.
 */
export type WriteOp =
  | {type: 'create'; kind: KindInfo; resource: Resource}
  | {type: 'update'; kind: KindInfo; resource: Resource; current: Resource}
  | {type: 'delete'; kind: KindInfo; current: Resource}

export interface Listing {
  items: Resource[]
  revision: string
}

export interface WriteBatchOptions {
  /**
   * Write only if no object of each kind was created or changed after revision (deletions
   * may happen): the listing a validation read (an IPPool's overlap check) is still true.
   */
  unchangedSince?: Array<{kind: KindInfo; revision: string}>
  /** Stop before the next transaction once aborted (Ctrl-C): what is written so far is reported. */
  signal?: AbortSignal
}

/** The error a batch stops with when its signal was aborted. */
export const interrupted = (signal: AbortSignal) =>
  new NetctlError('interrupted', `interrupted (${String(signal.reason ?? 'aborted')}) between two transactions`)

/** A batch that stopped part-way, with exactly what it wrote. */
export class BatchWriteError extends NetctlError {
  constructor(
    /** Results of ops 0 … written.length-1, which are written. */
    readonly written: Resource[],
    /** The op that failed (ops from written.length up to it were in its transaction, not written). */
    readonly failedAt: number,
    /** How many ops from written.length on may or may not be written: the datastore did not answer. */
    readonly uncertain: number,
    override readonly cause: NetctlError,
  ) {
    super(cause.kind, cause.message, cause.suggestion, {cause})
  }
}

export const opName = (op: WriteOp): {name: string; namespace?: string} => {
  const {name, namespace} = op.type === 'delete' ? op.current.metadata : op.resource.metadata
  return {name, namespace: op.kind.namespaced ? namespace || 'default' : undefined}
}

const describe = (kind: KindInfo, name: string, namespace?: string) =>
  `${kind.kind} "${namespace ? `${namespace}/` : ''}${name}"`

export const notFound = (kind: KindInfo, name: string, namespace?: string) =>
  new NetctlError(
    'not-found',
    `${describe(kind, name, namespace)} not found`,
    `list what exists with: netctl get ${kind.plural}${kind.namespaced ? ' -A' : ''}`,
  )

export const alreadyExists = (kind: KindInfo, name: string, namespace?: string) =>
  new NetctlError('already-exists', `${describe(kind, name, namespace)} already exists`, 'use netctl apply or netctl replace to change it')

export const conflict = (kind: KindInfo, name: string, namespace: string | undefined, given: string, stored: string) =>
  new NetctlError(
    'conflict',
    `${describe(kind, name, namespace)} was changed by someone else (your resourceVersion ${given}, stored ${stored})`,
    `read it again (netctl get ${kind.aliases[0]} ${name} -o yaml), redo your change and retry`,
  )
