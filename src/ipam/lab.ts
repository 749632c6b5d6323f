/**
 * A lab's IPAM objects in its datastore: the blocks affine to its nodes and the handles of its
 * pods and tunnels. A lab owns a block when the block is affine to one of its nodes, and a
 * handle when one of its blocks allocates to it (or its label says so): Calico's etcd format
 * keeps no labels, so ownership follows from the data itself, as it does for Calico.
 */
import type {Datastore, WriteOp} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {blockAffinityKind} from '../resources/blockaffinity.js'
import {ipamBlockKind, ipamHandleKind, type IPAMBlock, type IPAMBlockSpec, type IPAMHandle} from '../resources/ipam.js'
import type {KindInfo} from '../resources/kind.js'
import type {Resource} from '../resources/types.js'
import {allocationsOf, blockHost, blockProblem, blockResource} from './block.js'

const labLabel = 'netctl.io/lab'

export interface LabIpam {
  /** The lab's blocks (affine to its nodes). */
  blocks: IPAMBlock[]
  /** The lab's handles. */
  handles: IPAMHandle[]
  /** CIDRs of everyone else's blocks: never handed out again. */
  foreignBlocks: string[]
}

/** The lab's blocks and handles, given the names of its nodes. */
export async function readLabIpam(ds: Datastore, lab: string, nodes: ReadonlySet<string>): Promise<LabIpam> {
  const [blocks, handles] = (await Promise.all([ds.list(ipamBlockKind), ds.list(ipamHandleKind)])) as [IPAMBlock[], IPAMHandle[]]
  const ours = blocks.filter((b) => nodes.has(blockHost(b.spec ?? {affinity: undefined}) ?? '') || b.metadata.labels?.[labLabel] === lab)
  // Others may write a lab's datastore: what the lab allocates from is checked like input.
  for (const block of ours) {
    try {
      ipamBlockKind.validate!(block, {others: []})
      const problem = blockProblem(block)
      if (problem) throw new NetctlError('invalid', problem)
    } catch (error) {
      if (!isNetctlError(error)) throw error
      throw new NetctlError('invalid', `${ds.location} holds an invalid IPAMBlock "${block.metadata.name}" (${error.message}); the lab was not changed`, 'see what holds it with netctl ipam check; a block that IPAM cannot read must be repaired or removed by hand (etcdctl, kubectl)')
    }
  }
  const referenced = new Set(ours.flatMap((b) => [...allocationsOf(b.spec!).values()].map((a) => a.handle_id)))
  return {
    blocks: ours,
    handles: handles.filter((h) => referenced.has(h.spec?.handleID) || h.metadata.labels?.[labLabel] === lab),
    foreignBlocks: blocks.filter((b) => !ours.includes(b)).map((b) => b.spec!.cidr),
  }
}

/** Whether a BlockAffinity is the lab's: its label says so, or (etcd keeps no labels) it is unlabelled and its node is the lab's. */
export const isLabAffinity = (affinity: Resource, lab: string, nodes: ReadonlySet<string>): boolean => {
  const owner = affinity.metadata.labels?.[labLabel]
  return owner === lab || (owner === undefined && nodes.has(String(affinity.spec?.node)))
}

/** Make the datastore hold exactly these blocks and handles of the lab: create, update what changed (by spec), delete the rest. */
export async function syncLabIpam(ds: Datastore, lab: string, have: LabIpam, blocks: IPAMBlockSpec[], handles: IPAMHandle[]): Promise<void> {
  const labels = {[labLabel]: lab}
  await syncBySpec(ds, ipamBlockKind, have.blocks, blocks.map((spec) => blockResource(spec, labels)))
  await syncBySpec(ds, ipamHandleKind, have.handles, handles.map((h) => ({...h, metadata: {...h.metadata, labels}})))
}

/** Write a planned cluster's IPAM (after a change of encapsulation: the tunnel addresses). */
export async function writeClusterIpam(ds: Datastore, lab: string, nodes: readonly string[], ipam: {blocks: IPAMBlockSpec[]; handles: IPAMHandle[]}): Promise<void> {
  await syncLabIpam(ds, lab, await readLabIpam(ds, lab, new Set(nodes)), ipam.blocks, ipam.handles)
}

async function syncBySpec(ds: Datastore, kind: KindInfo, have: Resource[], want: Resource[]): Promise<void> {
  const haveByName = new Map(have.map((r) => [r.metadata.name, r]))
  const wanted = new Set(want.map((r) => r.metadata.name))
  const ops: WriteOp[] = []
  for (const r of want) {
    const current = haveByName.get(r.metadata.name)
    if (!current) ops.push({type: 'create', kind, resource: r})
    else if (stableJson(current.spec) !== stableJson(r.spec)) {
      ops.push({type: 'update', kind, current, resource: {...r, metadata: {...current.metadata, labels: {...current.metadata.labels, ...r.metadata.labels}, resourceVersion: current.metadata.resourceVersion}}})
    }
  }
  for (const r of have) if (!wanted.has(r.metadata.name)) ops.push({type: 'delete', kind, current: r})
  // etcd writes a lab's thousand handles in a few transactions instead of a thousand round trips.
  if (ds.writeBatch && ops.length > 1) {
    await ds.writeBatch(ops)
    return
  }
  for (const op of ops) {
    if (op.type === 'create') await ds.create(kind, op.resource)
    else if (op.type === 'update') await ds.update(kind, op.resource)
    else await deleteIfThere(ds, kind, op.current)
  }
}

async function deleteIfThere(ds: Datastore, kind: KindInfo, r: Resource): Promise<boolean> {
  try {
    await ds.delete(kind, r.metadata.name, undefined, r.metadata.resourceVersion)
    return true
  } catch (error) {
    if (!isNetctlError(error, 'not-found')) throw error
    return false
  }
}

/** lab down: the lab's handles, blocks and block affinities go. Returns how many objects were deleted. */
export async function removeLabIpam(ds: Datastore, lab: string, nodes: ReadonlySet<string>): Promise<number> {
  const ipam = await readLabIpam(ds, lab, nodes)
  let removed = 0
  for (const h of ipam.handles) if (await deleteIfThere(ds, ipamHandleKind, h)) removed++
  for (const b of ipam.blocks) if (await deleteIfThere(ds, ipamBlockKind, b)) removed++
  for (const a of await ds.list(blockAffinityKind)) if (isLabAffinity(a, lab, nodes) && (await deleteIfThere(ds, blockAffinityKind, a))) removed++
  return removed
}

/** JSON with every object's keys sorted: datastores give fields back in their own order. */
export const stableJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v))
