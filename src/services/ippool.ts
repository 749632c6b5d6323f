/** Changing pools' encapsulation and flags: read, change, validate, compare-and-swap, retry on conflict. */
import type {Datastore} from '../datastore/datastore.js'
import {NetctlError} from '../errors.js'
import {parseCidr} from '../resources/cidr.js'
import {ipPoolKind} from '../resources/ippool.js'
import type {EncapMode, IPPool, IPPoolSpec} from '../resources/types.js'
import {changesNothing, prepare, retryOnConflict} from './resources.js'

export type PoolChange = Partial<Pick<IPPoolSpec, 'ipipMode' | 'vxlanMode' | 'natOutgoing' | 'disabled'>>

export interface PoolUpdate {
  before: IPPool
  after: IPPool
  /** How many read-change-write cycles it took (more than 1 when another writer raced us). */
  tries: number
  /** false when the pool was already so: nothing was written (its resourceVersion stays). */
  changed: boolean
}

export const isEmptyChange = (change: PoolChange): boolean => Object.values(change).every((v) => v === undefined)

export async function setIpPool(ds: Datastore, name: string, change: PoolChange): Promise<PoolUpdate> {
  if (isEmptyChange(change)) {
    throw new NetctlError('usage', 'nothing to change', 'give at least one of --ipip, --vxlan, --nat-outgoing, --disabled')
  }
  let before: IPPool | undefined
  let written = true
  const {value: after, tries} = await retryOnConflict(async () => {
    const current = (await ds.get(ipPoolKind, name)) as IPPool
    before ??= current
    const ready = await prepare(ds, ipPoolKind, withChange(current, change), current)
    written = !changesNothing(ready, current)
    return written ? ((await ds.update(ipPoolKind, ready)) as IPPool) : current
  })
  return {before: before!, after, tries, changed: written}
}

/** The pool with the change's given fields; a field the change leaves undefined keeps its value. */
const withChange = (pool: IPPool, change: PoolChange): IPPool => ({
  ...pool,
  spec: {...pool.spec!, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined))},
})

export type Encapsulation = 'ipip' | 'vxlan' | 'none'

/** What `encap set` writes: one encapsulation on (Always or CrossSubnet), the other off. */
export function encapChange(encapsulation: Encapsulation, crossSubnet: boolean): PoolChange {
  const on: EncapMode = crossSubnet ? 'CrossSubnet' : 'Always'
  switch (encapsulation) {
    case 'ipip':
      return {ipipMode: on, vxlanMode: 'Never'}
    case 'vxlan':
      return {ipipMode: 'Never', vxlanMode: on}
    case 'none':
      return {ipipMode: 'Never', vxlanMode: 'Never'}
  }
}

/** The IPv4 pools `encap set` acts on: the named ones, or all of them. */
export async function encapTargets(ds: Datastore, names: string[]): Promise<IPPool[]> {
  const pools = (await ds.list(ipPoolKind)) as IPPool[]
  const v4 = pools.filter((p) => parseCidr(String(p.spec?.cidr))?.family === 4)
  if (names.length === 0) {
    if (v4.length === 0) throw new NetctlError('not-found', 'there are no IPv4 pools to change', 'create one first: netctl apply -f pool.yaml')
    return v4
  }
  return names.map((name) => {
    const pool = pools.find((p) => p.metadata.name === name)
    if (!pool) throw new NetctlError('not-found', `IPPool "${name}" not found`, 'list the pools with: netctl get ippools')
    if (!v4.includes(pool)) throw new NetctlError('usage', `IPPool "${name}" is IPv6; encap set changes IPv4 pools`, 'use netctl ippool set for IPv6 pools')
    return pool
  })
}

/** Preview of an encap switch: each pool as it is and as it would be, validated and admitted (a lab refuses what it cannot carry out), nothing written. */
export async function planEncap(ds: Datastore, pools: IPPool[], change: PoolChange): Promise<Array<{before: IPPool; after: IPPool}>> {
  const preview = await Promise.all(
    pools.map(async (before) => ({before, after: (await prepare(ds, ipPoolKind, withChange(before, change), before)) as IPPool})),
  )
  for (const {after} of preview) await ds.admit?.(ipPoolKind, after)
  return preview
}
