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
