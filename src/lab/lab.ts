/**
 * Lab lifecycle: up (build or reconcile), down (undo exactly what was recorded), status,
 * list, and where `exec` and `ping` run. Returns data and reports progress through a
 * callback; never prints.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {applySpecs, listNamespaces, type ApplyOptions} from '../dataplane/apply.js'
import type {LinkKind, NetnsSpec} from '../dataplane/model.js'
import {checkPrivileges, missingLinkKinds, requireLinkKinds, type ProbeNamespace} from '../dataplane/preflight.js'
import type {Datastore} from '../datastore/datastore.js'
import type {IPPoolSpec, Resource} from '../resources/types.js'
import {openDatastore} from '../datastore/open.js'
import {acquireLock} from '../datastore/lock.js'
import {ensureStateDirs, readStateFile, removeStateFile, writeStateFile} from '../datastore/safe-fs.js'
import {labPath} from '../datastore/config.js'
import {inNetns, inParallel, run} from '../dataplane/run.js'
import {checkpoint, isNetctlError, NetctlError} from '../errors.js'
import {recordTunnelAddresses} from './plan/calico.js'
import {labHealth, type LabHealth} from './inspect/health.js'
import {linkKindsOf, planLab, routeOwners} from './plan/plan.js'
import {loadCluster, removeClusterObjects, syncCluster, type LabCluster} from './plan/cluster.js'
import {flannelSubnetEnv} from './plan/flannel.js'
import {checkLabName, probeNetns} from './topology/names.js'
import {labOwnerLabel} from './stored.js'
import {claimNamespaces, createOwnNamespaces, foreignNamespace, ownNamespaces, ownsNamespace, removeOwnNamespaces} from './namespaces.js'
import {endProcess, nodeFile, stopDaemons} from './daemons/proc.js'
import {
  labContext, labDir, labDirExists, labOfContext, listLabs, readCurrentContext, readLabRecord, readOwned, removeLabDir, requireLab, writeCurrentContext, writeLabRecord, type LabDatastore, type LabRecord,
} from './state.js'
import {planBasicLab, type BasicLabKind} from './plan/basic.js'
import {allBirdsRunning, birdFiles, makeRoomForBird, readBirdConfig, renderLabBirdConfigs, syncBirds, waitForConvergence, type Convergence} from './daemons/bird.js'
import {syncUdpProxies} from './daemons/udp-proxy.js'
import {poolsLeftToFelix} from '../bgp/config.js'
import {applyLabPolicy} from './daemons/policy.js'
import {addPhase, timed} from '../dataplane/phases.js'
import {checkFlannelBackend, type FlannelBackend, type Topology} from './topology/topology.js'

/** A step begins (with a detail), or a step advances (done of total: namespaces programmed, BGP sessions up). */
export type Progress = (step: string, detail?: string, count?: {done: number; total: number}) => void

const onPath = (command: string): boolean =>
  (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((dir) => existsSync(join(dir, command)))

/**
 * The kernel probe runs in a namespace of the lab's own, recorded first like everything
 * else; if the kernel is lacking and the lab is new, nothing of it is left behind.
 */
function labProbe(stateDir: string, name: string): ProbeNamespace {
  const probe = probeNetns(name)
  return {
    name: probe,
    // A probe namespace left by a killed run is replaced if it is the lab's; anyone else's stops the build.
    create: async () => {
      if ((await listNamespaces()).has(probe)) {
        if (!(await ownsNamespace(stateDir, name, probe))) throw foreignNamespace(name, probe)
        await removeOwnNamespaces(stateDir, name, [probe])
      }
      await createOwnNamespaces(stateDir, name, [probe])
    },
    remove: async () => void (await removeOwnNamespaces(stateDir, name, [probe])),
  }
}

/** Link kinds this process has seen the kernel make: an encap set probes once, at admission, not again to reconcile. */
const kernelHas = new Set<LinkKind>()
/** A loaded module has registered its link kind: no need to make one to know (/sys/module lists loaded modules). */
const moduleLoaded = (kind: LinkKind): boolean => existsSync(`/sys/module/${kind}`)

async function checkKernel(stateDir: string, name: string, kinds: LinkKind[], what: string, existed: boolean, whatHappened?: string): Promise<void> {
  // In a running lab (its first build probed), a tunnel whose module is loaded needs no throw-away namespace to prove it.
  const unknown = existed ? kinds.filter((kind) => !kernelHas.has(kind) && !(['ipip', 'vxlan'].includes(kind) && moduleLoaded(kind))) : kinds
  if (unknown.length === 0) return
  try {
    await requireLinkKinds(unknown, what, labProbe(stateDir, name), whatHappened, existed ? name : undefined)
    for (const kind of unknown) kernelHas.add(kind)
  } catch (error) {
    if (!existed) removeLabDir(stateDir, name)
    throw error
  }
}

export interface LabUpOptions {
  /** Aborted on Ctrl-C: the build stops at its next step. */
  signal?: AbortSignal
  stateDir: string
  name: string
  topology: Topology
  datastore: LabDatastore
  onProgress?: Progress
}

export interface LabSummary {
  name: string
  flavor: string
  nodes: Array<{name: string; ip: string; blocks: string[]; netns: string}>
  pods: Array<{name: string; namespace: string; node: string; ip: string; interface: string; netns: string}>
  namespacesCreated: number
  namespacesDeleted: number
  changes: number
  /** With BGP: how long the mesh took to converge after BIRD started. */
  bgp?: Convergence
  seconds: number
}

export async function labUp(options: LabUpOptions): Promise<LabSummary> {
  checkLabName(options.name)
  checkPrivileges()
  return withLabLock(options.stateDir, options.name, async () => {
    const previous = readLabRecord(options.stateDir, options.name)
    try {
      return await buildLab(options, previous)
    } catch (failure) {
      const error = options.signal?.aborted ? interrupted(options.name, failure, Boolean(previous)) : failure
      if (previous || !labDirExists(options.stateDir, options.name)) throw error
      // A first build that failed leaves no half a lab behind.
      await takeDown(options.stateDir, options.name)
      if (!isNetctlError(error)) throw error
      throw new NetctlError(error.kind, `${error.message} (the new lab was removed again)`, error.suggestion, {cause: error})
    }
  })
}

/** What an interrupted lab up leaves: a new lab is removed again; a running one is partly reconciled. */
function interrupted(name: string, error: unknown, existed: boolean): NetctlError {
  const step = isNetctlError(error, 'interrupted') ? error.message : 'interrupted'
  return existed
    ? new NetctlError('interrupted', `${step}: lab "${name}" is partly reconciled`, `netctl lab up --name ${name} finishes it; netctl lab down ${name} removes it`)
    : new NetctlError('interrupted', step, `netctl lab up --name ${name} builds it again`)
}

async function buildLab(options: LabUpOptions, previous: LabRecord | undefined): Promise<LabSummary> {
  const started = performance.now()
  const {stateDir, name, topology} = options
  // Every step begins at a safe point: an interrupted build stops there.
  const progress: Progress = (step, detail, count) => {
    if (!count) checkpoint(options.signal, `before ${step}`, '')
    options.onProgress?.(step, detail, count)
  }
  const was = previous?.basic ?? previous?.topology?.flavor
  if (previous && was !== topology.flavor) {
    throw new NetctlError('usage', `lab "${name}" is a ${was} lab; it cannot become ${topology.flavor} in place`, `netctl lab down ${name} first, or pick another --name`)
  }
  progress('checking the kernel')
  if (topology.bgp && !onPath('bird')) {
    throw new NetctlError('unsupported', 'BGP in a calico lab needs BIRD, and bird is not installed; nothing was created', 'install BIRD 2 (apt-get install bird2), or build the lab with --bgp off')
  }
  const askedIpip = topology.flavor === 'calico' && !previous && Boolean(topology.encapsulation?.startsWith('IPIP'))
  await checkKernel(stateDir, name, ['veth', 'bridge', ...(askedIpip ? ['ipip' as const] : [])], `a ${topology.flavor} lab${askedIpip ? ' with IPIP' : ''}`, Boolean(previous))
  if (topology.flavor === 'calico' && !previous && !topology.encapsulation) {
    // Calico's default pool is IPIP (seed 000); a kernel without ipip gets VXLAN, said in one line.
    const missing = await missingLinkKinds(['ipip'], labProbe(stateDir, name))
    topology.encapsulation = missing.length ? 'VXLAN' : 'IPIP'
    if (missing.length) progress('choosing the encapsulation', `this kernel has no ipip module: the pool uses VXLAN instead of Calico's default IPIP`)
  }

  const record: LabRecord = {apiVersion: 'netctl/v1', kind: 'Lab', name, topology, datastore: previous?.datastore ?? options.datastore, createdAt: previous?.createdAt ?? new Date().toISOString()}
  writeLabRecord(stateDir, record)
  const ds = await openLabDatastore(stateDir, record)
  try {
    progress('writing the cluster to the datastore', ds.location)
    const {cluster, sharing} = await syncCluster(ds, name, topology)
    if (sharing.poolOwner || sharing.others > 0) {
      const pool = sharing.poolOwner ? `uses IPPool ${cluster.pool.metadata.name} (${cluster.pool.spec?.cidr}) of ${sharing.poolOwner === 'someone else' ? 'another cluster' : `lab "${sharing.poolOwner}"`}` : ''
      progress('sharing the datastore', [pool, sharing.others ? `leaves ${sharing.others} Nodes, WorkloadEndpoints and BlockAffinities of others alone` : ''].filter(Boolean).join('; '))
    }
    const specs = planLab(cluster)
    const {created, stale} = await claimNamespaces(stateDir, name, specs.map((s) => s.netns))
    progress('creating namespaces', `${created.size} new, ${stale.length} to remove`)
    progress('programming links, addresses, routes and sysctls', `${specs.length} namespaces`)
    const programmed = await programLab(stateDir, ds, cluster, specs, created, progress, options.signal, false)
    checkpoint(options.signal, 'after programming the kernel', '')
    // Only now: the staying namespaces have dropped their links to these (the kernel tears a namespace down asynchronously).
    await removeOwnNamespaces(stateDir, name, stale)
    writeCurrentContext(stateDir, labContext(name))
    return {
      ...describe(cluster),
      namespacesCreated: created.size,
      namespacesDeleted: stale.length,
      changes: programmed.changes,
      bgp: programmed.bgp,
      seconds: (performance.now() - started) / 1000,
    }
  } finally {
    await ds.close()
  }
}
/**
 * Bring every namespace and BIRD of a cluster lab to what the datastore says: the kernel
 * state by diff, BIRD's config by re-render (a reload where it changed), then wait for BGP.
 */
/**
 * What netctl last applied to the lab's namespaces, but nodes whose routes BIRD changes
 * (applied.json): a reconcile after a datastore write diffs against it instead of
 * observing each of them (lab up observes them all, and so repairs what someone changed by
 * hand). Removed before the kernel is touched and written once all of it was applied, so an
 * interrupted run leaves none to trust.
 */
const appliedFile = (lab: string) => labPath(lab, 'applied.json')

function readApplied(stateDir: string, lab: string): Map<string, NetnsSpec> {
  try {
    const specs = JSON.parse(readStateFile(stateDir, appliedFile(lab)) ?? '[]') as NetnsSpec[]
    return new Map(specs.map((s) => [s.netns, s]))
  } catch {
    return new Map()
  }
}

async function programLab(stateDir: string, ds: Datastore, cluster: LabCluster, specs: NetnsSpec[], fresh: ReadonlySet<string>, progress: Progress, signal: AbortSignal | undefined, trustApplied: boolean): Promise<{changes: number; bgp?: Convergence}> {
  // Every namespace but, with BGP on, the nodes: BIRD adds and removes routes there, so those are observed every time.
  const birdNodes = new Set(cluster.bgp ? cluster.nodes.map((n) => n.netns) : [])
  const trustable = new Set(specs.map((s) => s.netns).filter((netns) => !birdNodes.has(netns)))
  const known = trustApplied ? await timed('program: read applied.json', () => readApplied(stateDir, cluster.lab)) : new Map<string, NetnsSpec>()
  // Only a namespace whose links made elsewhere are the same ones (a pod's veth made by the same node, a node's uplink by the underlay): a new link is unconfigured, whatever the record says.
  const shape = (spec: NetnsSpec | undefined) => JSON.stringify(spec?.links.filter((l) => l.createdIn).map((l) => [l.name, l.kind, l.createdIn]))
  const wanted = new Map(specs.map((spec) => [spec.netns, spec]))
  for (const [netns, spec] of known) if (!trustable.has(netns) || shape(spec) !== shape(wanted.get(netns))) known.delete(netns)
  removeStateFile(stateDir, appliedFile(cluster.lab))
  // calico-node's part: the tunnel addresses, on the Nodes and in IPAM. BIRD's configs are rendered
  // from those Nodes, so with BGP they come first; with static routes nothing here reads them, and
  // they are written beside the kernel's changes.
  const tunnelsRecorded = cluster.flavor === 'calico' ? timed('program: tunnel addresses and IPAM', () => recordTunnelAddresses(ds, cluster)) : Promise.resolve()
  tunnelsRecorded.catch(() => {})
  if (cluster.bgp) await tunnelsRecorded
  const tunnels = linkKindsOf(specs).filter((kind) => kind !== 'veth' && kind !== 'bridge')
  if (tunnels.length > 0) {
    await timed('program: kernel probe', () => checkKernel(stateDir, cluster.lab, tunnels, `the ${tunnels.join(' and ')} encapsulation`, true)).catch(async (error: unknown) => {
      await tunnelsRecorded.catch(() => {})
      throw error
    })
  }
  // With BGP on, BIRD owns the routes it installs; with it off, they are stale and go.
  const applied = (done: number, total: number) => progress('programming links, addresses, routes and sysctls', undefined, {done, total})
  const applyKernel = async (hooks: Pick<ApplyOptions, 'afterMake' | 'beforeBreak'> = {}) => {
    // Felix's part: each node's policy as nft, with natOutgoing (calico) or flanneld's IPMASQ (flannel).
    // It starts once every namespace has its new devices, and runs beside the switch and the break (it needs neither).
    let policy: Promise<Awaited<ReturnType<typeof applyLabPolicy>>> | undefined
    const startPolicy = () => (policy ??= timed('program: policy (compile, load; beside switch and break)', () => applyLabPolicy(stateDir, ds, cluster, trustApplied)))
    const afterMake = async () => {
      await hooks.afterMake?.()
      startPolicy().catch(() => {})
    }
    let changes: number
    try {
      changes = (await applySpecs(specs, {fresh, known, ...hooks, afterMake, onApplied: applied, diff: {foreignRouteProtos: routeOwners(cluster)}})).reduce((sum, r) => sum + r.changes, 0)
    } catch (error) {
      await Promise.allSettled([tunnelsRecorded, policy])
      throw error
    }
    // Both settled before a failure of either is reported.
    await timed('program: tunnel addresses and policy, waiting for them', () => Promise.allSettled([tunnelsRecorded, startPolicy()]))
    await tunnelsRecorded
    await timed('program: write applied.json', () => writeStateFile(stateDir, appliedFile(cluster.lab), JSON.stringify(specs.filter((s) => trustable.has(s.netns)))))
    const loaded = await startPolicy()
    addPhase('program: policy: read and compile', loaded.compileMs)
    addPhase(`program: policy: check and load (${loaded.loaded.length} loaded)`, loaded.loadMs)
    return changes
  }
  if (!cluster.bgp) {
    // flannel's udp proxies make flannel0, so they come first (the kernel is then told its address
    // and routes); on another backend they go once no route leads there, and flannel0 with them.
    const proxies = () => syncUdpProxies(stateDir, cluster)
    const udp = cluster.backend?.type === 'udp'
    if (udp) await proxies()
    const changes = await applyKernel(udp ? {} : {beforeBreak: proxies})
    writeFlannelEnv(stateDir, cluster)
    await stopDaemons(stateDir, cluster.lab, 'bird')
    return {changes}
  }
  const configs = await renderLabBirdConfigs(ds, stateDir, cluster)
  // Whoever gains routes goes first, so no packet meets a gap: BIRD when it takes routes over
  // in a running lab (tunnels taken away, or BGP turned on), with its routes in place before
  // ours go; the kernel when tunnels are added (ours replace BIRD's, then BIRD lets go).
  // A lab whose nodes are not wired yet (a build interrupted after creating its namespaces) gets its kernel first: BGP cannot come up before.
  const birdFirst = fresh.size === 0 && (birdGainsRoutes(stateDir, cluster, configs) || !allBirdsRunning(stateDir, cluster)) && (await nodesWired(cluster))
  const timeoutMs = 20_000 + 1000 * cluster.nodes.length
  progress(allBirdsRunning(stateDir, cluster) ? 'reloading BIRD where its config changed, waiting for BGP' : 'starting BIRD and waiting for BGP', `${cluster.nodes.length} nodes`)
  if (birdFirst) {
    await makeRoomForBird(cluster)
    await syncBirds(stateDir, cluster, configs)
    await waitForConvergence(stateDir, cluster, timeoutMs, signal, (done, total) => progress('BGP sessions Established', undefined, {done, total}))
  }
  const changes = await applyKernel()
  if (!birdFirst) await syncBirds(stateDir, cluster, configs)
  return {changes, bgp: await waitForConvergence(stateDir, cluster, timeoutMs, signal, (done, total) => progress('BGP sessions Established', undefined, {done, total}))}
}

/** Whether every node has its uplink with its address: what BGP needs to come up at all. */
async function nodesWired(cluster: LabCluster): Promise<boolean> {
  const wired = await inParallel(cluster.nodes, 8, async (node) => {
    const {stdout, exitCode} = await run(...inNetns(node.netns, 'ip', ['-j', 'addr', 'show', 'dev', 'eth0']), {allowFailure: true})
    return exitCode === 0 && (JSON.parse(stdout || '[]') as Array<{addr_info?: Array<{local?: string}>}>).some((l) => l.addr_info?.some((a) => a.local === node.ip))
  })
  return wired.every(Boolean)
}

function writeFlannelEnv(stateDir: string, cluster: LabCluster): void {
  if (cluster.flavor !== 'flannel') return
  for (const node of cluster.nodes) {
    writeStateFile(stateDir, nodeFile(cluster.lab, node.name, 'subnet.env'), flannelSubnetEnv(cluster, node))
  }
}

/** Whether BIRD takes a pool's routes over from Felix (its kernel filter rejects fewer pools than the running one). */
function birdGainsRoutes(stateDir: string, cluster: LabCluster, configs: Map<string, string>): boolean {
  return cluster.nodes.some((node) => {
    const current = readBirdConfig(stateDir, cluster.lab, node.name)
    return current !== undefined && poolsLeftToFelix(configs.get(node.name) ?? '') < poolsLeftToFelix(current)
  })
}

/**
 * Before a pool is written to a lab's datastore: can the lab carry it out? A flannel lab
 * does not follow a Calico pool's encapsulation; a calico lab needs the kernel's tunnel
 * module. Refused here, nothing is written (a real cluster's datastore has no such check).
 */
export async function admitPool(stateDir: string, name: string, pool: Resource): Promise<void> {
  const record = requireClusterLab(stateDir, name)
  const spec = (pool.spec ?? {}) as IPPoolSpec
  const on = (mode: unknown) => mode !== undefined && mode !== 'Never'
  const wanted: LinkKind[] = [...(on(spec.ipipMode) ? ['ipip' as const] : []), ...(on(spec.vxlanMode) ? ['vxlan' as const] : [])]
  if (wanted.length === 0) return
  if (record.topology.flavor === 'flannel') {
    throw new NetctlError('unsupported', `lab "${name}" is a flannel lab: flannel does not follow an IPPool's ipipMode or vxlanMode, so nothing was written`, `switch its backend instead: netctl lab set-backend vxlan --lab ${name}`)
  }
  checkPrivileges()
  try {
    await withLabLock(stateDir, name, () => timed('admission: kernel probe', () => checkKernel(stateDir, name, wanted, `the ${wanted.join(' and ')} encapsulation`, true, 'nothing was written')))
  } catch (error) {
    if (!isNetctlError(error, 'unsupported')) throw error
    throw new NetctlError('unsupported', `lab "${name}" cannot carry out this change: ${error.message}`, error.suggestion)
  }
}

/** After `netctl apply`, `ippool set`, … on a lab's datastore: the lab's agents' job, done by netctl. */
export async function reconcileLab(stateDir: string, name: string, onProgress?: Progress): Promise<{changes: number; bgp?: Convergence}> {
  checkPrivileges()
  const waiting = performance.now()
  return withLabLock(stateDir, name, () => {
    addPhase('reconcile: lab lock', performance.now() - waiting)
    return timed('reconcile: total inside the lock', () => reconcileLocked(stateDir, name, onProgress))
  })
}

async function reconcileLocked(stateDir: string, name: string, onProgress?: Progress): Promise<{changes: number; bgp?: Convergence}> {
  const record = await timed('reconcile: read lab record', () => requireClusterLab(stateDir, name))
  return withDatastore(stateDir, record, async (ds) => {
    const cluster = await timed('reconcile: read cluster from datastore', () => loadCluster(ds, name, record.topology))
    const specs = await timed('reconcile: plan namespaces', () => planLab(cluster))
    return programLab(stateDir, ds, cluster, specs, new Set(), onProgress ?? (() => {}), undefined, true)
  })
}

/** Switch a flannel lab's backend: recorded in lab.json (flannel keeps it in its net-conf), then reprogrammed. */
export async function setFlannelBackend(stateDir: string, name: string, backend: FlannelBackend, onProgress?: Progress): Promise<{changes: number}> {
  const record = requireClusterLab(stateDir, name)
  if (record.topology.flavor !== 'flannel') throw new NetctlError('usage', `lab "${name}" is a calico lab`, 'calico labs switch with netctl encap set ipip|vxlan|none')
  checkFlannelBackend(backend, record.topology.underlay.subnets.length)
  checkPrivileges()
  return withLabLock(stateDir, name, async () => {
    writeLabRecord(stateDir, {...record, topology: {...record.topology, backend}})
    return reconcileLocked(stateDir, name, onProgress)
  })
}

/** The control socket of each lab node's BIRD (all nodes, or one). */
export function labBirdSockets(stateDir: string, name: string, node?: string): Record<string, string> {
  const record = requireClusterLab(stateDir, name)
  if (record.topology.flavor === 'flannel') throw new NetctlError('usage', `lab "${name}" is a flannel lab: flannel programs routes itself and runs no BGP`, `see its routes with: netctl lab exec --lab ${name} ${record.topology.nodes[0]?.name ?? 'NODE'} -- ip route`)
  if (!record.topology.bgp) throw new NetctlError('usage', `lab "${name}" runs no BGP: it was built with static routes`, `rebuild it with BGP: netctl lab up --name ${name} --bgp on`)
  const nodes = record.topology.nodes.map((n) => n.name)
  if (node && !nodes.includes(node)) throw new NetctlError('not-found', `lab "${name}" has no node "${node}"`, `nodes: ${nodes.join(', ')}`)
  return Object.fromEntries((node ? [node] : nodes).map((n) => [n, birdFiles(stateDir, name, n).socket]))
}

function describe(cluster: LabCluster): Pick<LabSummary, 'name' | 'flavor' | 'nodes' | 'pods'> {
  return {
    name: cluster.lab,
    flavor: cluster.flavor,
    nodes: cluster.nodes.map((n) => ({name: n.name, ip: n.ip, blocks: n.blocks, netns: n.netns})),
    pods: cluster.pods.map((p) => ({name: p.name, namespace: p.namespace, node: p.node, ip: p.ip, interface: p.hostIf, netns: p.netns})),
  }
}

export interface BasicLabSummary {
  name: string
  kind: BasicLabKind
  description: string
  namespaces: Record<string, string>
  tryCommand: string
  seconds: number
}

/** Build one of seed 001's small labs (recreated from scratch if it exists). */
export async function basicLabUp(stateDir: string, kind: BasicLabKind, name: string = kind): Promise<BasicLabSummary> {
  checkLabName(name)
  checkPrivileges()
  return withLabLock(stateDir, name, () => buildBasicLab(stateDir, kind, name))
}

async function buildBasicLab(stateDir: string, kind: BasicLabKind, name: string): Promise<BasicLabSummary> {
  const started = performance.now()
  const previous = readLabRecord(stateDir, name)
  if (previous && previous.basic !== kind) {
    throw new NetctlError('usage', `lab "${name}" is a ${previous.basic ?? previous.topology?.flavor} lab`, `netctl lab down ${name} first, or pick another --name`)
  }
  const plan = planBasicLab(name, kind)
  await checkKernel(stateDir, name, plan.linkKinds, `the ${kind} lab`, Boolean(previous))
  writeLabRecord(stateDir, {apiVersion: 'netctl/v1', kind: 'Lab', name, basic: kind, datastore: {type: 'file'}, createdAt: previous?.createdAt ?? new Date().toISOString()})
  const {created} = await claimNamespaces(stateDir, name, plan.specs.map((s) => s.netns))
  await applySpecs(plan.specs, {fresh: created, diff: {existsElsewhere: (netns) => !created.has(netns)}})
  return {name, kind, description: plan.description, namespaces: plan.targets, tryCommand: plan.tryCommand, seconds: (performance.now() - started) / 1000}
}

export interface LabDownResult {
  name: string
  namespaces: number
  processes: number
  /** Objects removed from a shared etcd. */
  objects: number
  /** What could not be cleaned up. */
  warning?: string
}

/** Remove exactly what the lab recorded: its processes (by pid and start time), its namespaces, its directory. */
export async function labDown(stateDir: string, name: string): Promise<LabDownResult> {
  checkLabName(name)
  // A lab killed early may have a directory and nothing else: that is still a lab to take down.
  if (!labDirExists(stateDir, name)) {
    throw new NetctlError('not-found', `there is no lab "${name}"`, listLabs(stateDir).length ? `labs: ${listLabs(stateDir).join(', ')}` : 'nothing to take down')
  }
  return withLabLock(stateDir, name, () => takeDown(stateDir, name))
}

async function takeDown(stateDir: string, name: string): Promise<LabDownResult> {
  const record = readLabRecord(stateDir, name)
  // A lab in a shared etcd takes its own objects along (its file datastore goes with its directory).
  let objects = 0
  let warning: string | undefined
  if (record?.datastore.type === 'etcdv3') {
    try {
      objects = await withDatastore(stateDir, record, (ds) => removeClusterObjects(ds, name))
    } catch (error) {
      if (!isNetctlError(error)) throw error
      // The kernel side still goes: a lab must come down even when its etcd is gone.
      warning = `the lab's objects in etcd (labelled ${labOwnerLabel}=${name}) could not be removed: ${error.message}`
    }
  }
  const owned = readOwned(stateDir, name)
  if (owned.length > 0) checkPrivileges()
  let processes = 0
  for (const o of owned) if ('pid' in o && (await endProcess(o.pid, o.start))) processes++
  const namespaces = await ownNamespaces(stateDir, name)
  // A process started but killed before it was recorded still lives in one of them: end it too.
  processes += await removeOwnNamespaces(stateDir, name, namespaces)
  removeLabDir(stateDir, name)
  if (labOfContext(readCurrentContext(stateDir)) === name) writeCurrentContext(stateDir, undefined)
  return {name, namespaces: namespaces.length, processes, objects, warning}
}

/** Every lab down; one that cannot be taken down is reported, and the others still go. */
export async function labDownAll(stateDir: string): Promise<{down: LabDownResult[]; failed: Array<{name: string; error: string}>}> {
  const down: LabDownResult[] = []
  const failed: Array<{name: string; error: string}> = []
  for (const name of listLabs(stateDir)) {
    try {
      down.push(await labDown(stateDir, name))
    } catch (error) {
      if (!isNetctlError(error)) throw error
      failed.push({name, error: error.message})
    }
  }
  return {down, failed}
}

export interface LabStatus extends Pick<LabSummary, 'name' | 'flavor' | 'nodes' | 'pods'> {
  current: boolean
  health: LabHealth
}

/** A cluster lab's record, or a clear error for a basic lab. */
export function requireClusterLab(stateDir: string, name: string): LabRecord & {topology: Topology} {
  const record = requireLab(stateDir, name)
  if (!record.topology) throw new NetctlError('usage', `lab "${name}" is a basic ${record.basic} lab: it has no nodes, pods or datastore`, `its namespaces: netctl lab exec --lab ${name} ns1 -- ip addr`)
  return record as LabRecord & {topology: Topology}
}

export async function labStatus(stateDir: string, name: string): Promise<LabStatus> {
  const record = requireClusterLab(stateDir, name)
  const cluster = await withDatastore(stateDir, record, (ds) => loadCluster(ds, name, record.topology))
  return {...describe(cluster), current: labOfContext(readCurrentContext(stateDir)) === name, health: await labHealth(stateDir, cluster, record.topology.routeReflectors)}
}

export interface LabListing {
  name: string
  flavor: string
  mode: string
  bgp: string
  nodes: number
  pods: number
  /** "ok", or the first problem (and how many more). */
  health: string
  healthy: boolean
  current: boolean
}

/** One row per lab, with the same health lab status reports. */
export async function labList(stateDir: string): Promise<LabListing[]> {
  const current = labOfContext(readCurrentContext(stateDir))
  const rows: LabListing[] = []
  for (const name of listLabs(stateDir)) {
    const row = {name, flavor: '?', mode: '', bgp: '', nodes: 0, pods: 0, health: '', healthy: false, current: current === name}
    try {
      const record = readLabRecord(stateDir, name)
      if (!record) rows.push({...row, flavor: '(incomplete)', health: `no record: netctl lab down ${name}`})
      else if (!record.topology) rows.push({...row, ...(await basicHealth(name, record.basic as BasicLabKind))})
      else {
        const status = await labStatus(stateDir, name)
        const [first, ...more] = status.health.problems
        rows.push({...row, flavor: status.flavor, mode: status.health.mode, bgp: status.health.bgp, nodes: status.nodes.length, pods: status.pods.length, healthy: status.health.healthy, health: first ? `${short(first.problem)}${more.length ? ` (+${more.length} more)` : ''}` : 'ok'})
      }
    } catch (error) {
      if (!isNetctlError(error)) throw error
      rows.push({...row, health: error.message})
    }
  }
  return rows
}

/** A problem cut to fit a table cell; lab status has it whole. */
const short = (text: string): string => (text.length > 60 ? `${text.slice(0, 59)}…` : text)

async function basicHealth(name: string, kind: BasicLabKind): Promise<Partial<LabListing>> {
  const existing = await listNamespaces()
  const missing = planBasicLab(name, kind).specs.filter((s) => !existing.has(s.netns)).length
  return {flavor: kind, healthy: missing === 0, health: missing === 0 ? 'ok' : `${missing} namespaces are missing: netctl lab up ${kind} --name ${name}`}
}

/** How long a second command waits for the one changing a lab (a 2,500-pod build takes seconds, not minutes). */
const labLockWaitMs = 120_000

/** Labs whose lock this process holds: a nested withLabLock (a write's admission inside it) just runs. */
const heldLabLocks = new Set<string>()

/**
 * One lab, one writer: up, down, set-backend, writes to its datastore and the reconciles after
 * them hold the lab's lock (a lock held by a dead process is taken over at once). It is always
 * taken before the datastore's own lock, never after, so two commands cannot wait for each
 * other. The lock lives beside the lab's directory, not in it, so that taking the lab down
 * does not pull it from under a waiter.
 */
export async function withLabLock<T>(stateDir: string, name: string, fn: () => Promise<T>): Promise<T> {
  const key = `${stateDir}\0${name}`
  if (heldLabLocks.has(key)) return fn()
  const locks = ensureStateDirs(stateDir, 'locks')
  const release = await acquireLock(join(locks, `lab-${name}`), labLockWaitMs).catch((error: unknown) => {
    if (!isNetctlError(error)) throw error
    throw new NetctlError('unavailable', `lab "${name}" is busy: ${error.message}`, 'another netctl command is changing this lab; wait for it to finish (or end it), then retry')
  })
  heldLabLocks.add(key)
  try {
    return await fn()
  } finally {
    heldLabLocks.delete(key)
    await release()
  }
}

/** A lab's datastore: its own file store, or the etcd it was built against. */
export function openLabDatastore(stateDir: string, record: LabRecord): Promise<Datastore> {
  return openDatastore({datastoreType: record.datastore.type, stateDir, lab: record.name, fileDatastoreDir: labDir(stateDir, record.name), etcdEndpoints: record.datastore.etcdEndpoints})
}

export async function withDatastore<T>(stateDir: string, record: LabRecord, fn: (ds: Datastore) => Promise<T>): Promise<T> {
  const ds = await openLabDatastore(stateDir, record)
  try {
    return await fn(ds)
  } finally {
    await ds.close()
  }
}

/** The namespace behind a node or pod name (or "underlay"). */
export async function labTarget(stateDir: string, name: string, target: string): Promise<string> {
  const record = requireLab(stateDir, name)
  if (record.basic) {
    const plan = planBasicLab(name, record.basic as BasicLabKind)
    const netns = plan.targets[target]
    if (!netns) throw new NetctlError('not-found', `lab "${name}" has no namespace "${target}"`, `use one of: ${Object.keys(plan.targets).join(', ')}`)
    return netns
  }
  const cluster = await withDatastore(stateDir, record, (ds) => loadCluster(ds, name, record.topology!))
  if (target === 'underlay') return cluster.underlayNetns
  const found = cluster.nodes.find((n) => n.name === target)?.netns ?? cluster.pods.find((p) => p.name === target)?.netns
  if (!found) {
    throw new NetctlError('not-found', `lab "${name}" has no node or pod "${target}"`, `nodes: ${cluster.nodes.map((n) => n.name).join(', ')}; pods: ${cluster.pods.slice(0, 6).map((p) => p.name).join(', ')}${cluster.pods.length > 6 ? ', …' : ''}`)
  }
  return found
}

/**
 * Which lab a command means: the one named, else the current context's, else the only one.
 */
export function resolveLabName(stateDir: string, named: string | undefined): string {
  if (named) return checkLabName(named)
  const current = labOfContext(readCurrentContext(stateDir))
  if (current && readLabRecord(stateDir, current)) return current
  const labs = listLabs(stateDir)
  if (labs.length === 1) return labs[0]!
  throw new NetctlError('usage', labs.length === 0 ? 'there is no lab' : `which lab? there are ${labs.length}: ${labs.join(', ')}`, labs.length === 0 ? 'make one with: netctl lab up' : 'name it with --lab NAME')
}
