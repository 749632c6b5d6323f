/** Calico's NetworkSet (namespaced) and GlobalNetworkSet: labelled lists of CIDRs. */
import {cidr} from './formats.js'
import {name as nameCell, text, type KindInfo} from './kind.js'
import {checkResource} from './metadata.js'
import type {Resource} from './types.js'
import {invalid, isPlainObject, list} from './validate.js'

/** Felix puts this label on a namespaced set itself; Calico refuses it in the v3 object. */
const NAMESPACE_LABEL = 'projectcalico.org/namespace'

const nets = (r: Resource): string[] => (isPlainObject(r.spec) && Array.isArray(r.spec.nets) ? (r.spec.nets as string[]) : [])

/** calicoctl's {{joinAndTruncate .Spec.Nets "," 80}}: cut to 80 characters, the last three "...". */
export function joinAndTruncate(values: string[], separator: string, length: number): string {
  const joined = values.join(separator)
  return joined.length > length ? `${joined.slice(0, length - 3)}...` : joined
}

function networkSetKind(kind: 'NetworkSet' | 'GlobalNetworkSet'): KindInfo {
  const namespaced = kind === 'NetworkSet'
  return {
    kind,
    plural: `${kind.toLowerCase()}s`,
    aliases: namespaced ? ['networkset', 'networksets', 'netsets'] : ['globalnetworkset', 'globalnetworksets', 'gnetsets'],
    namespaced,
    columns: {ps: ['NAME'], wide: ['NAME', 'NETS']},
    cells: {NAME: nameCell, NAMESPACE: (r) => text(r.metadata.namespace), NETS: (r) => joinAndTruncate(nets(r), ',', 80)},
    validate: (resource) => {
      // Calico's "cidr" tag: an address or a CIDR; host bits are allowed.
      checkResource(resource, {kind, namespaced, spec: {nets: list(cidr(), {max: 10_000})}})
      const labels = resource.metadata.labels
      if (labels && Object.hasOwn(labels, NAMESPACE_LABEL)) {
        throw invalid(resource, `metadata.labels.${NAMESPACE_LABEL}`, 'is reserved: Calico sets it from the namespace', `remove the ${NAMESPACE_LABEL} label`)
      }
    },
  }
}

export const namespacedNetworkSetKind = networkSetKind('NetworkSet')
export const globalNetworkSetKind = networkSetKind('GlobalNetworkSet')
