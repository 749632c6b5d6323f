/**
 * A lab reprograms itself from a datastore that others may write (a shared etcd, or any
 * client of the lab's own store), so what it reads back is checked like input: every object
 * it uses passes its kind's validation, and it owns only the objects that carry its label.
 */
import type {Datastore} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import type {KindInfo} from '../resources/kind.js'
import type {Resource} from '../resources/types.js'
import {checkName} from '../resources/validate.js'

/** Marks the objects a lab wrote: it updates and deletes only those, and never overwrites others. */
export const labOwnerLabel = 'netctl.io/lab'

export const ownerOf = (resource: Resource): string | undefined => resource.metadata?.labels?.[labOwnerLabel]

/** Every object valid as its kind's validation says, or an error naming the object and field; nothing is applied. */
export function checkStored<T extends Resource>(info: KindInfo, resources: T[], location: string): T[] {
  for (const resource of resources) {
    const name = typeof resource?.metadata?.name === 'string' ? resource.metadata.name : '(no name)'
    try {
      if (typeof resource !== 'object' || resource === null || typeof resource.metadata !== 'object' || resource.metadata === null) {
        throw new NetctlError('invalid', 'it has no metadata')
      }
      checkName(resource, info.namespaced)
      const ready = info.withDefaults ? info.withDefaults(resource) : resource
      info.validate?.(ready, {existing: ready, others: []})
    } catch (error) {
      if (!isNetctlError(error)) throw error
      throw new NetctlError(
        'invalid',
        `${location} holds an invalid ${info.kind} "${name}" (${error.message}); the lab was not changed`,
        `fix it (netctl get ${info.aliases[0]} ${name} -o yaml, edit, netctl replace -f) or delete it (netctl delete ${info.aliases[0]} ${name})`,
      )
    }
  }
  return resources
}

/** One named object, validated as checkStored validates, or undefined where there is none. */
export async function readStored(ds: Datastore, info: KindInfo, name: string, location: string): Promise<Resource | undefined> {
  try {
    return checkStored(info, [await ds.get(info, name)], location)[0]
  } catch (error) {
    if (!isNetctlError(error, 'not-found')) throw error
    return undefined
  }
}
