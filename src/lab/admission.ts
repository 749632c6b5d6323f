/**
 * A lab's datastore, as users write it (apply, patch, ippool set, encap set): every pool
 * written is first checked against what the lab can carry out, so that an impossible change
 * is refused with nothing written, instead of stored and then failing on every reconcile.
 */
import type {Datastore} from '../datastore/datastore.js'
import type {KindInfo} from '../resources/kind.js'
import type {Resource} from '../resources/types.js'
import {admitPool} from './lab.js'

export function admittingDatastore(ds: Datastore, stateDir: string, lab: string): Datastore {
  const admit = async (kind: KindInfo, resource: Resource) => {
    if (kind.kind === 'IPPool') await admitPool(stateDir, lab, resource)
  }
  const wrap = (inner: Datastore): Datastore => ({
    location: inner.location,
    defaultNamespace: inner.defaultNamespace,
    get: (kind, name, namespace) => inner.get(kind, name, namespace),
    list: (kind, options) => inner.list(kind, options),
    create: async (kind, resource) => {
      await admit(kind, resource)
      return inner.create(kind, resource)
    },
    update: async (kind, resource) => {
      await admit(kind, resource)
      return inner.update(kind, resource)
    },
    delete: (kind, name, namespace, resourceVersion) => inner.delete(kind, name, namespace, resourceVersion),
    close: () => inner.close(),
    ...(inner.transaction ? {transaction: <T>(fn: (tx: Datastore) => Promise<T>) => inner.transaction!((tx) => fn(wrap(tx)))} : {}),
  })
  return wrap(ds)
}
