/** Every kind netctl knows, found by kind name or any calicoctl alias. */
import {NetctlError} from '../errors.js'
import {bgpConfigurationKind, bgpPeerKind} from './bgp.js'
import {blockAffinityKind} from './blockaffinity.js'
import {ipamBlockKind, ipamConfigKind, ipamHandleKind} from './ipam.js'
import {ipPoolKind} from './ippool.js'
import {clusterInformationKind, felixConfigurationKind} from './felixconfiguration.js'
import type {KindInfo} from './kind.js'
import {hostEndpointKind} from './hostendpoint.js'
import {globalNetworkSetKind, namespacedNetworkSetKind} from './networkset.js'
import {nodeKind} from './node.js'
import {globalNetworkPolicyKind, networkPolicyKind, stagedGlobalNetworkPolicyKind, stagedKubernetesNetworkPolicyKind, stagedNetworkPolicyKind} from './policy.js'
import {profileKind} from './profile.js'
import {tierKind} from './tier.js'
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
  ipamBlockKind,
  ipamHandleKind,
  ipamConfigKind,
  networkPolicyKind,
  globalNetworkPolicyKind,
  stagedNetworkPolicyKind,
  stagedGlobalNetworkPolicyKind,
  stagedKubernetesNetworkPolicyKind,
  tierKind,
  namespacedNetworkSetKind,
  globalNetworkSetKind,
  profileKind,
  hostEndpointKind,
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
