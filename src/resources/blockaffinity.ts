import {name, text, type KindInfo} from './kind.js'

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
}

/** Calico's name for an affinity: node01-192-168-196-128-26. */
export const blockAffinityName = (node: string, cidr: string) => `${node}-${cidr.replace(/[./:]/g, '-')}`
