/** Calico's Profile: rules and labels applied to the endpoints that name it (kns.*, ksa.* in Kubernetes). */
import {joined, name as nameCell, type KindInfo} from './kind.js'
import {checkResource, labels} from './metadata.js'
import {rules} from './rule.js'
import type {Resource} from './types.js'
import {isPlainObject} from './validate.js'

const labelsToApply = (r: Resource): Record<string, string> => (isPlainObject(r.spec) && isPlainObject(r.spec.labelsToApply) ? (r.spec.labelsToApply as Record<string, string>) : {})

export const profileKind: KindInfo = {
  kind: 'Profile',
  plural: 'profiles',
  aliases: ['profile', 'profiles', 'pro', 'pros'],
  namespaced: false,
  columns: {ps: ['NAME'], wide: ['NAME', 'LABELS']},
  cells: {
    NAME: nameCell,
    // calicoctl's {{join .Spec.LabelsToApply ","}}: key=value pairs, sorted.
    LABELS: (r) => joined(Object.entries(labelsToApply(r)).map(([k, v]) => `${k}=${v}`).sort()),
  },
  validate: (resource) => checkResource(resource, {kind: 'Profile', namespaced: false, spec: {ingress: rules(), egress: rules(), labelsToApply: labels}}),
}
