import {maskedCidr, nodeName} from './formats.js'
import {name, text, type KindInfo} from './kind.js'
import {checkResource} from './metadata.js'
import type {Resource} from './types.js'
import {invalid, oneOf, show} from './validate.js'

// Calico's BlockAffinitySpec. `deleted` is the string "true"/"false" in the libcalico-go type and
// in the CRD (kept a string "for compatibility with older releases"), a boolean in the newer API.
const blockAffinitySpecFields = {
  state: oneOf(['', 'confirmed', 'pending', 'pendingDeletion']),
  node: nodeName,
  type: oneOf(['', 'host', 'virtual']),
  cidr: maskedCidr,
  deleted: (resource: Resource, field: string, value: unknown) => {
    if (value !== 'true' && value !== 'false' && typeof value !== 'boolean') {
      throw invalid(resource, field, `${show(value)} is not "true" or "false"`, 'write deleted: "false"')
    }
  },
}

export function validateBlockAffinity(resource: Resource): void {
  checkResource(resource, {kind: 'BlockAffinity', namespaced: false, spec: blockAffinitySpecFields, specRequired: ['node', 'cidr']})
}

/** Calico IPAM's record that a node owns a block of a pool (projectcalico.org/v3 BlockAffinity). */
export const blockAffinityKind: KindInfo = {
  kind: 'BlockAffinity',
  plural: 'blockaffinities',
  aliases: ['blockaffinity', 'blockaffinities', 'affinity', 'affinities'],
  namespaced: false,
  columns: {ps: ['NAME', 'NODE', 'CIDR'], wide: ['NAME', 'NODE', 'CIDR', 'STATE']},
  cells: {
    NAME: name,
    NODE: (r) => text(r.spec?.node),
    CIDR: (r) => text(r.spec?.cidr),
    STATE: (r) => text(r.spec?.state),
  },
  validate: validateBlockAffinity,
}

/** Calico's name for an affinity: node01-192-168-196-128-26. */
export const blockAffinityName = (node: string, cidr: string) => `${node}-${cidr.replace(/[./:]/g, '-')}`
