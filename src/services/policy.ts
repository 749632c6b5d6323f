/**
 * The policy questions on any datastore (a real cluster read-only, or a lab): which policies
 * apply to an endpoint, what a policy selects, and whether a flow is allowed and by which
 * rule. Reads every kind the evaluator needs once, then asks the pure evaluator (src/policy).
 */
import type {Datastore} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {parseIp} from '../resources/cidr.js'
import type {KindInfo} from '../resources/kind.js'
import {hostEndpointKind} from '../resources/hostendpoint.js'
import {globalNetworkSetKind, namespacedNetworkSetKind} from '../resources/networkset.js'
import {globalNetworkPolicyKind, networkPolicyKind, stagedGlobalNetworkPolicyKind, stagedKubernetesNetworkPolicyKind, stagedNetworkPolicyKind} from '../resources/policy.js'
import {profileKind} from '../resources/profile.js'
import {tierKind} from '../resources/tier.js'
import type {Resource} from '../resources/types.js'
import {workloadEndpointKind} from '../resources/workloadendpoint.js'
import {getResources} from './resources.js'
import type {EndpointRef, Explanation, FlowEnd, FlowVerdict, Selection, World} from '../policy/index.js'

const policyKinds = [networkPolicyKind, globalNetworkPolicyKind, stagedNetworkPolicyKind, stagedGlobalNetworkPolicyKind, stagedKubernetesNetworkPolicyKind]
const worldKinds: KindInfo[] = [...policyKinds, tierKind, namespacedNetworkSetKind, globalNetworkSetKind, profileKind, workloadEndpointKind, hostEndpointKind]

/** Every object the evaluator needs; a kind a datastore does not serve counts as empty. */
export async function loadWorld(ds: Datastore): Promise<World> {
  const lists = await Promise.all(worldKinds.map((kind) => ds.list(kind).catch((error: unknown) => {
    if (isNetctlError(error, 'not-found')) return [] as Resource[]
    throw error
  })))
  const {buildWorld} = await import('../policy/index.js')
  return buildWorld({resources: lists.flat()})
}

/** A WorkloadEndpoint by its name or its pod's (in a namespace, or any), or a HostEndpoint by name. */
async function findEndpointRef(ds: Datastore, name: string, namespace: string | undefined): Promise<EndpointRef> {
  try {
    const [wep, ...more] = await getResources(ds, workloadEndpointKind, [name], {namespace, allNamespaces: namespace === undefined})
    if (more.length > 0) throw new NetctlError('usage', `"${name}" names ${more.length + 1} workload endpoints`, 'give the namespace with -n')
    return {kind: 'WorkloadEndpoint', name: wep!.metadata.name, namespace: wep!.metadata.namespace}
  } catch (error) {
    if (!isNetctlError(error, 'not-found')) throw error
  }
  try {
    const hep = await ds.get(hostEndpointKind, name)
    return {kind: 'HostEndpoint', name: hep.metadata.name}
  } catch (error) {
    if (!isNetctlError(error, 'not-found')) throw error
  }
  throw new NetctlError('not-found', `no workload endpoint, pod or host endpoint "${name}"${namespace ? ` in namespace "${namespace}"` : ''}`, 'list them with: netctl get workloadendpoints -A, netctl get hostendpoints')
}

export async function explainEndpoint(ds: Datastore, name: string, namespace?: string): Promise<Explanation> {
  const [ref, world] = await Promise.all([findEndpointRef(ds, name, namespace), loadWorld(ds)])
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
async function flowEnd(ds: Datastore, value: string, namespace: string | undefined): Promise<FlowEnd> {
  return parseIp(value) ? value : findEndpointRef(ds, value, namespace)
}

export async function evaluateFlow(ds: Datastore, query: FlowQuery): Promise<FlowVerdict> {
  const [from, to, world] = await Promise.all([flowEnd(ds, query.from, query.namespace), flowEnd(ds, query.to, query.namespace), loadWorld(ds)])
  const {evaluate} = await import('../policy/index.js')
  return evaluate({from, to, protocol: query.protocol, port: query.port}, world)
}
