/**
 * An honest lab status: what `lab up` would still have to change (the planner's spec against
 * the kernel, the same diff a reconcile runs), whether each recorded daemon runs, and whether
 * BGP has converged. Anything wrong is named with the command that repairs it.
 */
import {listNamespaces, observeNetns} from '../../dataplane/apply.js'
import {diffNetns, phases, planSize} from '../../dataplane/diff.js'
import {inParallel} from '../../dataplane/run.js'
import {allBirdsRunning, bgpGaps} from '../daemons/bird.js'
import {encapsulationOf} from '../plan/calico.js'
import type {LabCluster} from '../plan/cluster.js'
import {planLab, routeOwners} from '../plan/plan.js'
import {nodesWithoutPolicy} from '../daemons/policy.js'
import {runningDaemons} from '../daemons/proc.js'

export interface LabHealth {
  healthy: boolean
  /** calico: the pool's encapsulation (vxlan, vxlan-crosssubnet, ipip, none); flannel: its backend. */
  mode: string
  /** mesh, route reflectors (N), off; flannel: none. */
  bgp: string
  problems: Array<{problem: string; fix: string}>
}

export function labMode(cluster: LabCluster): string {
  if (cluster.flavor === 'flannel') return `${cluster.backend?.type ?? 'host-gw'}${cluster.backend?.directRouting ? ' (DirectRouting)' : ''}`
  const {ipip, vxlan} = encapsulationOf(cluster)
  const mode = vxlan !== 'Never' ? ['vxlan', vxlan] : ipip !== 'Never' ? ['ipip', ipip] : ['none', 'Never']
  return mode[1] === 'CrossSubnet' ? `${mode[0]} (CrossSubnet)` : mode[0]!
}

export function bgpMode(cluster: LabCluster, routeReflectors: number): string {
  if (cluster.flavor === 'flannel') return 'none'
  if (!cluster.bgp) return 'off (static routes)'
  return routeReflectors > 0 ? `route reflectors (${routeReflectors})` : 'mesh'
}

export async function labHealth(stateDir: string, cluster: LabCluster, routeReflectors: number): Promise<LabHealth> {
  const repair = `netctl lab up --name ${cluster.lab}`
  const problems: LabHealth['problems'] = []
  const specs = planLab(cluster)
  const existing = await listNamespaces()
  const missing = specs.filter((s) => !existing.has(s.netns)).map((s) => s.netns)
  if (missing.length > 0) problems.push({problem: `${missing.length} namespaces are missing: ${sample(missing)}`, fix: repair})
  const drift = await inParallel(specs.filter((s) => existing.has(s.netns)), 8, async (spec) => {
    const plan = diffNetns(spec, await observeNetns(spec), {foreignRouteProtos: routeOwners(cluster)})
    return {netns: spec.netns, size: planSize(plan), lines: phases.flatMap((p) => [...plan[p].ip, ...plan[p].bridge])}
  })
  for (const d of drift.filter((d) => d.size > 0)) {
    problems.push({problem: `namespace ${d.netns} differs from the lab's plan by ${d.size} changes (${sample(d.lines.length ? d.lines : ['sysctls'], 3, '; ')})`, fix: repair})
  }
  if (cluster.bgp) {
    if (!allBirdsRunning(stateDir, cluster)) problems.push({problem: 'BIRD is not running on every node', fix: repair})
    else for (const gap of (await bgpGaps(stateDir, cluster)).pending.slice(0, 5)) problems.push({problem: gap, fix: `${repair}; see netctl node status --lab ${cluster.lab}`})
  }
  const unenforced = await nodesWithoutPolicy(cluster)
  if (unenforced.length > 0) problems.push({problem: `network policy is not programmed (nftables table inet netctl) on ${unenforced.join(', ')}`, fix: repair})
  if (cluster.flavor === 'flannel' && cluster.backend?.type === 'udp') {
    const proxies = runningDaemons(stateDir, cluster.lab, 'flannel-udp-proxy')
    const down = cluster.nodes.filter((n) => !proxies.has(n.name)).map((n) => n.name)
    if (down.length > 0) problems.push({problem: `the flannel udp proxy is not running on ${down.join(', ')}`, fix: repair})
  }
  return {healthy: problems.length === 0, mode: labMode(cluster), bgp: bgpMode(cluster, routeReflectors), problems}
}

const sample = (items: string[], count = 4, separator = ', '): string => `${items.slice(0, count).join(separator)}${items.length > count ? `${separator}…` : ''}`
