/**
 * The policy questions on any datastore (a real cluster read-only, or a lab): which policies
 * apply to an endpoint, what a policy selects, and whether a flow is allowed and by which
 * rule. Reads every kind the evaluator needs once, then asks the pure evaluator (src/policy).
 */
import type {Datastore} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {parseIp} from '../resources/cidr.js'
import type {KindInfo} from '../resources/kind.js'
import {felixConfigurationKind} from '../resources/felixconfiguration.js'
import {hostEndpointKind} from '../resources/hostendpoint.js'
import {ipPoolKind} from '../resources/ippool.js'
import {nodeKind} from '../resources/node.js'
import {globalNetworkSetKind, namespacedNetworkSetKind} from '../resources/networkset.js'
import {globalNetworkPolicyKind, networkPolicyKind, stagedGlobalNetworkPolicyKind, stagedKubernetesNetworkPolicyKind, stagedNetworkPolicyKind} from '../resources/policy.js'
import {profileKind} from '../resources/profile.js'
import {tierKind} from '../resources/tier.js'
import type {Resource} from '../resources/types.js'
import {workloadEndpointKind} from '../resources/workloadendpoint.js'
import type {EndpointRef, Explanation, FlowEnd, FlowVerdict, Selection, World} from '../policy/index.js'

const policyKinds = [networkPolicyKind, globalNetworkPolicyKind, stagedNetworkPolicyKind, stagedGlobalNetworkPolicyKind, stagedKubernetesNetworkPolicyKind]
const worldKinds: KindInfo[] = [...policyKinds, tierKind, namespacedNetworkSetKind, globalNetworkSetKind, profileKind, workloadEndpointKind, hostEndpointKind]

/** Every object of the world's kinds, by kind, each kind listed once; a kind a datastore does not serve counts as empty. */
async function loadResources(ds: Datastore): Promise<Map<KindInfo, Resource[]>> {
  const lists = await Promise.all(worldKinds.map((kind) => ds.list(kind).catch((error: unknown) => {
    if (isNetctlError(error, 'not-found')) return [] as Resource[]
    throw error
  })))
  return new Map(worldKinds.map((kind, i) => [kind, lists[i]!]))
}

async function worldOf(loaded: Map<KindInfo, Resource[]>): Promise<World> {
  const {buildWorld} = await import('../policy/index.js')
  return buildWorld({resources: [...loaded.values()].flat()})
}

/** Every object the evaluator needs, as a world. */
export async function loadWorld(ds: Datastore): Promise<World> {
  return worldOf(await loadResources(ds))
}

/**
 * A WorkloadEndpoint by its name or its pod's (in a namespace, or any), or a HostEndpoint by name,
 * found among the objects already listed (listing the 10,000 endpoints of a big cluster again per
 * end of a flow would cost more than the evaluation).
 */
function findEndpointRef(loaded: Map<KindInfo, Resource[]>, name: string, namespace: string | undefined): EndpointRef {
  const weps = (loaded.get(workloadEndpointKind) ?? []).filter(
    (r) => (namespace === undefined || (r.metadata.namespace ?? 'default') === namespace) && (r.metadata.name === name || r.spec?.pod === name),
  )
  if (weps.length > 1) throw new NetctlError('usage', `"${name}" names ${weps.length} workload endpoints`, 'give the namespace with -n')
  if (weps.length === 1) return {kind: 'WorkloadEndpoint', name: weps[0]!.metadata.name, namespace: weps[0]!.metadata.namespace}
  const hep = (loaded.get(hostEndpointKind) ?? []).find((r) => r.metadata.name === name)
  if (hep) return {kind: 'HostEndpoint', name: hep.metadata.name}
  throw new NetctlError('not-found', `no workload endpoint, pod or host endpoint "${name}"${namespace ? ` in namespace "${namespace}"` : ''}`, 'list them with: netctl get workloadendpoints -A, netctl get hostendpoints')
}

export async function explainEndpoint(ds: Datastore, name: string, namespace?: string): Promise<Explanation> {
  const loaded = await loadResources(ds)
  const ref = findEndpointRef(loaded, name, namespace)
  const world = await worldOf(loaded)
  const {explain} = await import('../policy/index.js')
  return explain(ref, world)
}

/** A policy by KIND/NAME, or by name among the namespace's NetworkPolicies, then the global and staged ones. */
export async function policySelection(ds: Datastore, name: string, namespace: string): Promise<Selection> {
  const [kindName, policyName] = name.includes('/') ? name.split('/', 2) as [string, string] : [undefined, name]
  const candidates = kindName ? policyKinds.filter((k) => k.kind.toLowerCase() === kindName.toLowerCase() || k.aliases.includes(kindName.toLowerCase())) : policyKinds
  if (candidates.length === 0) throw new NetctlError('usage', `"${kindName}" is not a policy kind`, `use one of: ${policyKinds.map((k) => k.aliases[0]).join(', ')}`)
  for (const kind of candidates) {
    try {
      const policy = await ds.get(kind, policyName, kind.namespaced ? namespace : undefined)
      const {selects} = await import('../policy/index.js')
      return selects(policy, await loadWorld(ds))
    } catch (error) {
      if (!isNetctlError(error, 'not-found')) throw error
    }
  }
  throw new NetctlError('not-found', `no policy "${policyName}" (looked in ${candidates.map((k) => k.kind).join(', ')}${candidates.some((k) => k.namespaced) ? ` in namespace "${namespace}"` : ''})`, 'list them with: netctl get networkpolicies -A, netctl get globalnetworkpolicies')
}

export interface FlowQuery {
  from: string
  to: string
  protocol: string
  port?: number
  namespace?: string
}

/** An address stays an address (the evaluator finds its endpoint); a name is a pod or endpoint. */
function flowEnd(loaded: Map<KindInfo, Resource[]>, value: string, namespace: string | undefined): FlowEnd {
  return parseIp(value) ? value : findEndpointRef(loaded, value, namespace)
}

export async function evaluateFlow(ds: Datastore, query: FlowQuery): Promise<FlowVerdict> {
  const loaded = await loadResources(ds)
  const from = flowEnd(loaded, query.from, query.namespace)
  const to = flowEnd(loaded, query.to, query.namespace)
  const world = await worldOf(loaded)
  const {evaluate, hostOptionsFrom} = await import('../policy/evaluate.js')
  // Host endpoints: each node's FelixConfiguration (failsafe ports, defaultEndpointToHostAction), and whether pods' traffic is tunnelled.
  const [felixConfigurations, pools, nodes] = await Promise.all([felixConfigurationKind, ipPoolKind, nodeKind].map((kind) => ds.list(kind).catch((error: unknown) => {
    if (isNetctlError(error, 'not-found')) return [] as Resource[]
    throw error
  })))
  return evaluate({from, to, protocol: query.protocol, port: query.port}, world, hostOptionsFrom({felixConfigurations, pools, nodes}))
}
