/**
 * Calico's rules between tiers and the policies in them, checked once here before every write
 * and delete, whatever the datastore (file, etcd, Kubernetes):
 *
 * - libcalico-go's policy Create (clientv3/networkpolicy.go and its three siblings) refuses a
 *   policy whose tier does not exist. The tiers Calico keeps itself (default, kube-admin,
 *   kube-baseline: names.ProtectedTierNames) always count as existing: calicoctl makes them
 *   (EnsureInitialized) before every write. A Tier created earlier in the same file counts, one
 *   created later does not (calicoctl writes in file order).
 * - clientv3/tier.go Delete refuses the protected tiers, and a tier any NetworkPolicy,
 *   GlobalNetworkPolicy or staged one is still in. Policies deleted by the same command count as
 *   gone, wherever they are in the file, and are deleted before their tier (orderTierDeletesLast):
 *   so `netctl delete -f` works on the file that created them, Tier first.
 * - After a write that touches policies or tiers, the protected tiers are made if missing, as
 *   calicoctl's EnsureInitialized makes them (best effort: the user's write stands either way).
 *
 * Library layer: throws NetctlError, never prints.
 */
import type {Datastore} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import type {KindInfo} from '../resources/kind.js'
import {DEFAULT_TIER, globalNetworkPolicyKind, networkPolicyKind, stagedGlobalNetworkPolicyKind, stagedNetworkPolicyKind} from '../resources/policy.js'
import {tierDefaults, tierKind, wellKnownTiers} from '../resources/tier.js'
import {API_VERSION, type Resource} from '../resources/types.js'

/** The tiers Calico makes itself and never lets anyone delete. */
export const protectedTiers: readonly string[] = Object.keys(wellKnownTiers)

export const isProtectedTier = (name: string): boolean => protectedTiers.includes(name)

/** The kinds that live in a tier (a StagedKubernetesNetworkPolicy is always in "default"). */
export const tieredPolicyKinds: readonly KindInfo[] = [networkPolicyKind, globalNetworkPolicyKind, stagedNetworkPolicyKind, stagedGlobalNetworkPolicyKind]

const isTiered = (info: KindInfo) => tieredPolicyKinds.includes(info)

/** names.TierOrDefault: the policy's tier, "default" when it names none. */
export function tierOf(policy: Resource): string {
  const tier = (policy.spec as {tier?: unknown} | undefined)?.tier
  return typeof tier === 'string' && tier !== '' ? tier : DEFAULT_TIER
}

const describe = (info: KindInfo, resource: Resource) =>
  `${info.kind} "${info.namespaced ? `${resource.metadata.namespace || 'default'}/` : ''}${resource.metadata.name}"`

/** One document of a write, in file order. */
export interface TierWrite {
  info: KindInfo
  /** The object as it will be stored (defaults filled). */
  resource: Resource
  /** The stored object it replaces; undefined when it is created. */
  existing?: Resource
  /** Where it came from ("pols.yaml, document 3"), for messages; none for a patch. */
  origin?: string
}

/**
 * Every policy a write creates, or moves to another tier, goes into a tier that exists: a
 * protected one, a stored one, or one this write creates earlier in file order. Calico checks
 * creates only; a move into a missing tier is refused too (an update keeping its tier is not
 * checked, so a policy already stored in a missing tier can still be changed).
 */
export async function checkPolicyTiers(ds: Datastore, writes: readonly TierWrite[]): Promise<void> {
  const stored = new Map<string, Promise<boolean>>()
  const tierIsStored = (name: string) => {
    if (!stored.has(name)) stored.set(name, tierExists(ds, name))
    return stored.get(name)!
  }
  const madeEarlier = new Set<string>()
  for (const [index, write] of writes.entries()) {
    if (write.info === tierKind) {
      madeEarlier.add(write.resource.metadata.name)
      continue
    }
    if (!isTiered(write.info)) continue
    const tier = tierOf(write.resource)
    if (write.existing && tierOf(write.existing) === tier) continue
    if (isProtectedTier(tier) || madeEarlier.has(tier) || (await tierIsStored(tier))) continue
    const object = `${write.origin ? `${write.origin}: ` : ''}${describe(write.info, write.resource)}`
    const later = writes.slice(index + 1).find((w) => w.info === tierKind && w.resource.metadata.name === tier)
    if (later) {
      throw new NetctlError(
        'usage',
        `${object} is in tier "${tier}", which this file creates only later (${later.origin})`,
        `put the Tier "${tier}" before its policies in the file, as calicoctl writes in file order (nothing was written)`,
      )
    }
    throw new NetctlError(
      'not-found',
      `${object} is in tier "${tier}", which does not exist`,
      `create the tier first (a document "kind: Tier" with metadata.name: ${tier}, before the policies if in the same file), or set spec.tier to an existing tier (netctl get tiers); nothing was written`,
    )
  }
}

async function tierExists(ds: Datastore, name: string): Promise<boolean> {
  try {
    await ds.get(tierKind, name)
    return true
  } catch (error) {
    if (isNetctlError(error, 'not-found')) return false
    throw error
  }
}

/** clientv3/tier.go: the tiers Calico keeps itself cannot be deleted (checked before the lookup, as Calico does). */
export function refuseProtectedTierDelete(info: KindInfo, name: string): void {
  if (info !== tierKind || !isProtectedTier(name)) return
  throw new NetctlError(
    'unsupported',
    `Tier "${name}" cannot be deleted: Calico keeps the ${protectedTiers.join(', ')} tiers itself`,
    `delete or change the policies in it instead (netctl get networkpolicies -A -o wide, netctl get globalnetworkpolicies -o wide); nothing was deleted`,
  )
}

/** One object of a delete, in the order given. */
export interface TierDelete {
  info: KindInfo
  current: Resource
}

/** How many policies a refusal names before "and N more". */
const namedAtMost = 5

/**
 * A tier is deleted only when no policy is left in it: every policy of the four tiered kinds
 * in the tier must be gone, or be deleted by this same delete.
 */
export async function checkTierDeletes(ds: Datastore, deletes: readonly TierDelete[]): Promise<void> {
  if (!deletes.some((d) => d.info === tierKind)) return
  const policies = (await Promise.all(tieredPolicyKinds.map(async (info) => (await ds.list(info)).map((resource) => ({info, resource}))))).flat()
  const key = (info: KindInfo, r: Resource) => `${info.kind}\0${info.namespaced ? r.metadata.namespace || 'default' : ''}\0${r.metadata.name}`
  const deleted = new Set(deletes.map((d) => key(d.info, d.current)))
  for (const d of deletes) {
    if (d.info !== tierKind) continue
    const tier = d.current.metadata.name
    const left = policies.filter((p) => tierOf(p.resource) === tier && !deleted.has(key(p.info, p.resource)))
    if (left.length === 0) continue
    const names = left.slice(0, namedAtMost).map((p) => describe(p.info, p.resource))
    const more = left.length > namedAtMost ? ` and ${left.length - namedAtMost} more` : ''
    const list = `${names.join(', ')}${more}`
    throw new NetctlError(
      'conflict',
      `Tier "${tier}" cannot be deleted: ${left.length} ${left.length === 1 ? 'policy is' : 'policies are'} still in it: ${list}`,
      `delete those policies or move them to another tier (spec.tier) first, then the tier (list them with: netctl get networkpolicies -A -o wide and netctl get globalnetworkpolicies -o wide); nothing was deleted`,
    )
  }
}

/** The deletes in the order given, but every Tier after the rest: a tier never goes before its policies. */
export function orderTierDeletesLast<T extends {kind: KindInfo}>(ops: T[]): T[] {
  return [...ops.filter((op) => op.kind !== tierKind), ...ops.filter((op) => op.kind === tierKind)]
}

/** calicoctl's tier listing (resourcemgr/tier.go): by order, a tier without one last; ties keep the datastore's order. */
export function sortTiersByOrder(tiers: Resource[]): Resource[] {
  const order = (t: Resource) => {
    const value = (t.spec as {order?: unknown} | undefined)?.order
    return typeof value === 'number' ? value : Infinity
  }
  return [...tiers].sort((a, b) => order(a) - order(b) || 0)
}

/** Whether a write of these kinds makes the protected tiers (calicoctl does on every write; netctl where tiers matter). */
export const touchesTiers = (kinds: readonly KindInfo[]): boolean => kinds.some((info) => info === tierKind || isTiered(info))

/**
 * As libcalico-go's EnsureInitialized (ensureTierExists): create each protected tier that is
 * missing, with its fixed order and default action. Best effort, as in calicoctl.
 */
export async function ensureProtectedTiers(ds: Datastore): Promise<void> {
  let stored: Set<string>
  try {
    stored = new Set((await ds.list(tierKind)).map((t) => t.metadata.name))
  } catch {
    return
  }
  for (const name of protectedTiers) {
    if (stored.has(name)) continue
    const {order, defaultAction} = wellKnownTiers[name]!
    try {
      await ds.create(tierKind, tierDefaults({apiVersion: API_VERSION, kind: 'Tier', metadata: {name}, spec: {order, defaultAction}}))
    } catch {
      // Another writer made it first, or the datastore refuses it: nothing for the user to do.
    }
  }
}
