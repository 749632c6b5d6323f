/** Every kind netctl knows, found by kind name or any calicoctl alias. */
import {NetctlError} from '../errors.js'
import {bgpConfigurationKind, bgpPeerKind} from './bgp.js'
import {blockAffinityKind} from './blockaffinity.js'
import {ipPoolKind} from './ippool.js'
import {clusterInformationKind, felixConfigurationKind} from './felixconfiguration.js'
import type {KindInfo} from './kind.js'
import {nodeKind} from './node.js'
import {workloadEndpointKind} from './workloadendpoint.js'

export const kinds: readonly KindInfo[] = [
  ipPoolKind,
  nodeKind,
  bgpPeerKind,
  bgpConfigurationKind,
  felixConfigurationKind,
  workloadEndpointKind,
  clusterInformationKind,
  blockAffinityKind,
]

const byName = new Map<string, KindInfo>()
for (const info of kinds) {
  byName.set(info.kind.toLowerCase(), info)
  for (const alias of info.aliases) byName.set(alias, info)
}

/** Look a kind up by its Kind (IPPool), plural or alias, in any letter case. */
export function findKind(kindOrAlias: string): KindInfo | undefined {
  return byName.get(kindOrAlias.toLowerCase())
}

export function kindInfo(kindOrAlias: string): KindInfo {
  const info = findKind(kindOrAlias)
  if (!info) {
    throw new NetctlError(
      'usage',
      `unknown resource kind "${kindOrAlias}"`,
      `use one of: ${kinds.map((k) => k.aliases[0]).join(', ')}`,
    )
  }
  return info
}
