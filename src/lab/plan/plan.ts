/** A cluster lab's desired kernel state: every namespace's spec, from the cluster model. Pure. */
import type {LinkKind, NetnsSpec} from '../../dataplane/model.js'
import {calicoUnderlayRoutes, planCalicoNode, planCalicoPod} from './calico.js'
import type {LabCluster} from './cluster.js'
import {planFlannelNode, planFlannelPod} from './flannel.js'
import {addUnderlayNeighbours, planOutside, planUnderlay} from './underlay.js'

/** Every namespace spec of a cluster lab: the underlay, the outside host, then nodes, then pods. */
export function planLab(cluster: LabCluster): NetnsSpec[] {
  const specs = cluster.flavor === 'flannel'
    ? [planUnderlay(cluster), planOutside(cluster), ...cluster.nodes.map((n) => planFlannelNode(cluster, n)), ...cluster.pods.map((p) => planFlannelPod(cluster, p))]
    : [planUnderlay(cluster, calicoUnderlayRoutes(cluster)), planOutside(cluster), ...cluster.nodes.map((n) => planCalicoNode(cluster, n)), ...cluster.pods.map((p) => planCalicoPod(cluster, p))]
  addUnderlayNeighbours(cluster, specs)
  return specs
}

export const linkKindsOf = (specs: readonly NetnsSpec[]): LinkKind[] => [...new Set(specs.flatMap((s) => s.links.map((l) => l.kind)))]

/** Route protocols that are not the planner's: the kernel's, and BIRD's when BGP runs (with it off, BIRD's are stale). */
export const routeOwners = (cluster: LabCluster): string[] => (cluster.bgp ? ['kernel', 'bird'] : ['kernel'])
