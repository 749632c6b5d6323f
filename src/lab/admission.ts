/**
 * A lab's datastore, as users write it (apply, patch, ippool set, encap set): every write
 * holds the lab's lock (taken before the datastore's own, as lab up takes them), and every
 * pool written is first checked against what the lab can carry out, so that an impossible
 * change is refused with nothing written, instead of stored and then failing on every reconcile.
 */
import type {Datastore, ListOptions, WriteBatchOptions, WriteOp} from '../datastore/datastore.js'
import type {KindInfo} from '../resources/kind.js'
import type {Resource} from '../resources/types.js'
import {admitPool, withLabLock} from './lab.js'

export function admittingDatastore(ds: Datastore, stateDir: string, lab: string): Datastore {
  const admit = async (kind: KindInfo, resource: Resource) => {
    if (kind.kind === 'IPPool') await admitPool(stateDir, lab, resource)
  }
  const locked = <T>(fn: () => Promise<T>) => withLabLock(stateDir, lab, fn)
  const wrap = (inner: Datastore): Datastore => ({
    location: inner.location,
    defaultNamespace: inner.defaultNamespace,
    get: (kind, name, namespace) => inner.get(kind, name, namespace),
    list: (kind, options) => inner.list(kind, options),
    admit,
    create: (kind, resource) => locked(async () => {
      await admit(kind, resource)
      return inner.create(kind, resource)
    }),
    update: (kind, resource) => locked(async () => {
      await admit(kind, resource)
      return inner.update(kind, resource)
    }),
    delete: (kind, name, namespace, resourceVersion) => locked(() => inner.delete(kind, name, namespace, resourceVersion)),
    close: () => inner.close(),
    ...(inner.transaction ? {transaction: <T>(fn: (tx: Datastore) => Promise<T>) => locked(() => inner.transaction!((tx) => fn(wrap(tx))))} : {}),
    ...(inner.listPages ? {listPages: (kind: KindInfo, options?: ListOptions) => inner.listPages!(kind, options)} : {}),
    ...(inner.listWithRevision ? {listWithRevision: (kind: KindInfo, options?: ListOptions) => inner.listWithRevision!(kind, options)} : {}),
    ...(inner.writeBatch
      ? {
          writeBatch: (ops: WriteOp[], options?: WriteBatchOptions) => locked(async () => {
            for (const op of ops) if (op.type !== 'delete') await admit(op.kind, op.resource)
            return inner.writeBatch!(ops, options)
          }),
        }
      : {}),
  })
  return wrap(ds)
}
