/**
 * calicoctl's ipam commands on a datastore (calicoctl/commands/ipam, libcalico-go lib/ipam):
 * usage per pool and block, one address's owner, borrowed addresses, the IPAM configuration,
 * the consistency check and its report, releasing addresses, splitting a pool. Each returns
 * the lines calicoctl prints; nothing here prints.
 */
import type {Datastore} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {formatCidr, formatIp, overlaps, parseCidr, parseCidrOrIp, parseIp} from '../resources/cidr.js'
import {clusterInformationKind} from '../resources/felixconfiguration.js'
import {ipamBlockKind, ipamConfigKind, ipamConfigName, ipamHandleKind, addressCount, type AllocationAttribute, type IPAMBlock, type IPAMConfig, type IPAMConfigSpec, type IPAMHandle} from '../resources/ipam.js'
import {ipPoolKind} from '../resources/ippool.js'
import {nodeKind} from '../resources/node.js'
import {API_VERSION, type IPPool, type NodeSpec, type Resource, type WorkloadEndpointSpec} from '../resources/types.js'
import {workloadEndpointKind} from '../resources/workloadendpoint.js'
import {allocationsOf, blockHost, blockProblem, ipToOrdinal, ordinalToIp, withAllocations} from './block.js'

export {blockProblem} from './block.js'
import {boxTable, goG, withPercentage} from './format.js'

/** The blocks, each with the arrays IPAM reads (calicoctl would fail to decode one without them). */
async function listBlocks(ds: Datastore): Promise<IPAMBlock[]> {
  const blocks = (await ds.list(ipamBlockKind)) as IPAMBlock[]
  for (const block of blocks) {
    const spec = block.spec as Partial<IPAMBlock['spec']> | undefined
    const cidr = typeof spec?.cidr === 'string' ? parseCidr(spec.cidr) : undefined
    const fault = !cidr ? 'has no valid spec.cidr'
      : !Array.isArray(spec!.allocations) || spec!.allocations.length !== addressCount(spec!.cidr!) ? `has no spec.allocations list of ${addressCount(spec!.cidr!)} entries`
      : !Array.isArray(spec!.unallocated) ? 'has no spec.unallocated list'
      : !Array.isArray(spec!.attributes) ? 'has no spec.attributes list' : undefined
    if (fault) throw new NetctlError('unavailable', `IPAMBlock "${block.metadata.name}" in ${ds.location} ${fault}: IPAM cannot read it`, 'inspect it with netctl get ipamblock NAME -o yaml; repair or remove it with the datastore\'s own tool (etcdctl, kubectl)')
  }
  return blocks
}
const byCidr = (a: {cidr: string}, b: {cidr: string}) => {
  const x = parseCidr(a.cidr)!
  const y = parseCidr(b.cidr)!
  return x.family - y.family || (x.network < y.network ? -1 : x.network > y.network ? 1 : x.prefix - y.prefix)
}

/** A parsed address, as calicoctl's argutils.ValidateIP wants it. */
export function validateIp(text: string): string {
  const parsed = parseIp(text.trim())
  if (!parsed) throw new NetctlError('usage', `invalid IP address specified: ${text}`, 'give one address, e.g. 192.168.0.5 or fd00::5')
  return formatIp(parsed.family, parsed.value)
}

// --- ipam show -----------------------------------------------------------------------------

export interface BlockUsage {
  cidr: string
  capacity: number
  inUse: number
  reserved: number
  free: number
}

export interface PoolUsage extends BlockUsage {
  name: string
  blocks: BlockUsage[]
}

/** libcalico-go GetUtilization: every pool with the blocks inside it; blocks in no pool are "orphaned". */
export async function ipamUtilization(ds: Datastore): Promise<{pools: PoolUsage[]; orphaned: BlockUsage[]}> {
  const [pools, blocks] = await Promise.all([ds.list(ipPoolKind) as Promise<IPPool[]>, listBlocks(ds)])
  const usage = pools.map<PoolUsage>((p) => ({name: p.metadata.name, cidr: formatCidr(parseCidr(String(p.spec?.cidr))!), capacity: addressCount(String(p.spec?.cidr)), inUse: 0, reserved: 0, free: 0, blocks: []}))
  const orphaned: BlockUsage[] = []
  for (const block of blocks.map((b) => b.spec!).sort(byCidr)) {
    const capacity = block.allocations.length
    const inUse = capacity - block.unallocated.length
    const row = {cidr: block.cidr, capacity, inUse, reserved: 0, free: capacity - inUse}
    const pool = usage.find((p) => overlaps(parseCidr(p.cidr)!, parseCidr(block.cidr)!))
    if (pool) pool.blocks.push(row)
    else orphaned.push(row)
  }
  for (const pool of usage) {
    pool.inUse = pool.blocks.reduce((sum, b) => sum + b.inUse, 0)
    pool.free = pool.capacity - pool.inUse
  }
  return {pools: usage, orphaned}
}

const usageColumns = [
  {header: 'GROUPING'}, {header: 'CIDR'}, {header: 'IPS TOTAL', right: true}, {header: 'IPS IN USE', right: true}, {header: 'IPS RESERVED', right: true}, {header: 'IPS FREE', right: true},
]

/** calicoctl ipam show [--show-blocks]. */
export async function showBlockUtilization(ds: Datastore, showBlocks: boolean): Promise<string> {
  const {pools, orphaned} = await ipamUtilization(ds)
  const row = (grouping: string, u: BlockUsage) => [grouping, u.cidr, goG(u.capacity), withPercentage(u.inUse, u.capacity), withPercentage(u.reserved, u.capacity), withPercentage(u.free, u.capacity)]
  const rows: string[][] = []
  for (const pool of pools) {
    rows.push(row('IP Pool', pool))
    if (showBlocks) rows.push(...pool.blocks.map((b) => row('Block', b)))
  }
  if (showBlocks) rows.push(...orphaned.map((b) => row('Block', b)))
  return boxTable(usageColumns, rows)
}

/** calicoctl ipam show --ip: who holds the address. */
export async function showIp(ds: Datastore, ip: string): Promise<string> {
  const address = validateIp(ip)
  const found = findAllocation(await listBlocks(ds), address)
  if (!found?.attribute) return `${address} is not assigned`
  const lines = [`IP ${address} is in use`, `Handle ID: ${found.attribute.handle_id ?? '<none>'}`]
  const owner = (title: string, attrs?: Record<string, string>) => {
    const keys = Object.keys(attrs ?? {}).sort()
    return keys.length === 0 ? [] : [`${title}:`, ...keys.map((k) => `  ${k}: ${attrs![k]}`)]
  }
  const active = owner('Active Owner Attributes', found.attribute.secondary)
  lines.push(...(active.length ? active : ['No Active Owner attributes defined']))
  lines.push(...owner('Alternate Owner Attributes', found.attribute.alternateOwnerAttrs))
  return lines.join('\n')
}

function findAllocation(blocks: IPAMBlock[], ip: string): {block: IPAMBlock; ordinal: number; attribute?: AllocationAttribute} | undefined {
  for (const block of blocks) {
    const ordinal = ipToOrdinal(block.spec!.cidr, ip)
    if (ordinal === undefined) continue
    return {block, ordinal, attribute: allocationsOf(block.spec!).get(ordinal)}
  }
  return undefined
}

export interface BorrowedIp {
  ip: string
  borrowingNode: string
  block: string
  blockOwner: string
  type: string
  allocatedTo: string
}

/** calicoctl ipam show --show-borrowed: addresses a node took from a block affine to another (or to none). */
export async function showBorrowed(ds: Datastore): Promise<string> {
  const borrowed: BorrowedIp[] = []
  let unclassified = 0
  for (const block of (await listBlocks(ds)).map((b) => b.spec!).sort(byCidr)) {
    const owner = block.affinity ? (block.affinity.split(':').length === 2 ? block.affinity.split(':')[1]! : block.affinity) : ''
    for (const [ordinal, attr] of allocationsOf(block)) {
      const attrs = attr.secondary ?? {}
      if (attrs.node === undefined) {
        unclassified++
        continue
      }
      if (attrs.node === owner) continue
      const ns = attrs.namespace ?? ''
      const [type, to] = attrs['vmi-name'] !== undefined ? ['vmi', `${ns}/${attrs['vmi-name']}`] : attrs.pod !== undefined ? ['pod', `${ns}/${attrs.pod}`] : [attrs.type ?? '', '']
      borrowed.push({ip: ordinalToIp(block.cidr, ordinal), borrowingNode: attrs.node, block: block.cidr, blockOwner: owner, type: type!, allocatedTo: to!})
    }
  }
  const table = boxTable(['IP', 'BORROWING-NODE', 'BLOCK', 'BLOCK OWNER', 'TYPE', 'ALLOCATED-TO'].map((header) => ({header})), borrowed.map((b) => [b.ip, b.borrowingNode, b.block, b.blockOwner, b.type, b.allocatedTo]))
  return unclassified ? `${table}\n\nNote: found ${unclassified} IP allocations without an explicit node association. Unable to determine if they are borrowed.` : table
}

// --- ipam configure / show --show-configuration ----------------------------------------------

/** libcalico-go GetIPAMConfig: the stored configuration, or Calico's default when there is none. */
export async function getIpamConfig(ds: Datastore): Promise<{config: IPAMConfigSpec; stored?: IPAMConfig}> {
  try {
    const stored = (await ds.get(ipamConfigKind, ipamConfigName)) as IPAMConfig
    return {config: {strictAffinity: false, autoAllocateBlocks: false, maxBlocksPerHost: 0, ipCooldownSeconds: 0, ...stored.spec}, stored}
  } catch (error) {
    if (!isNetctlError(error, 'not-found')) throw error
    return {config: {strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0, kubeVirtVMAddressPersistence: 'Enabled', ipCooldownSeconds: 0}}
  }
}

/** calicoctl ipam show --show-configuration: the IPAMConfig fields, Go-formatted. */
export async function showConfiguration(ds: Datastore): Promise<string> {
  const {config} = await getIpamConfig(ds)
  const rows = [
    ['StrictAffinity', String(config.strictAffinity)],
    ['AutoAllocateBlocks', String(config.autoAllocateBlocks)],
    ['MaxBlocksPerHost', String(config.maxBlocksPerHost ?? 0)],
    ['KubeVirtVMAddressPersistence', JSON.stringify(config.kubeVirtVMAddressPersistence ?? 'Enabled')],
    ['IPCooldownSeconds', String(config.ipCooldownSeconds ?? 0)],
  ]
  return boxTable([{header: 'PROPERTY'}, {header: 'VALUE'}], rows)
}

/** calicoctl ipam configure: parse as Go's strconv does, then SetIPAMConfig's checks. */
export async function configureIpam(ds: Datastore, options: {strictAffinity?: string; maxBlocksPerHost?: string; kubeVirtIpPersistence?: string; ipCooldownSeconds?: number}): Promise<string[]> {
  let strictAffinity: boolean | undefined
  if (options.strictAffinity !== undefined && options.strictAffinity !== '') {
    const value = {1: true, t: true, T: true, TRUE: true, true: true, True: true, 0: false, f: false, F: false, FALSE: false, false: false, False: false}[options.strictAffinity]
    if (value === undefined) throw new NetctlError('usage', 'invalid value. Use true or false to set strictaffinity', 'write --strictaffinity=true or --strictaffinity=false')
    strictAffinity = value
  }
  let maxBlocks: number | undefined
  if (options.maxBlocksPerHost !== undefined && options.maxBlocksPerHost !== '') {
    if (!/^[+-]?\d{1,10}$/.test(options.maxBlocksPerHost) || Math.abs(Number(options.maxBlocksPerHost)) > 2147483647) {
      throw new NetctlError('usage', 'invalid value for maxblockhost. Use a valid number', 'write --max-blocks-per-host N, e.g. 4 (0: no limit)')
    }
    maxBlocks = Number(options.maxBlocksPerHost)
  }
  let persistence: string | undefined
  if (options.kubeVirtIpPersistence !== undefined && options.kubeVirtIpPersistence !== '') {
    if (options.kubeVirtIpPersistence !== 'Enabled' && options.kubeVirtIpPersistence !== 'Disabled') {
      throw new NetctlError('usage', 'invalid value for --kubevirt-ip-persistence. Use Enabled or Disabled', 'write --kubevirt-ip-persistence Enabled or Disabled')
    }
    persistence = options.kubeVirtIpPersistence
  }
  // calicoctl's flag defaults to -1: "not given".
  const cooldown = options.ipCooldownSeconds !== undefined && options.ipCooldownSeconds >= 0 ? options.ipCooldownSeconds : undefined
  if (strictAffinity === undefined && maxBlocks === undefined && persistence === undefined && cooldown === undefined) {
    throw new NetctlError('usage', 'at least one configuration option must be specified', 'give --strictaffinity=true|false, --max-blocks-per-host N, --kubevirt-ip-persistence or --ip-cooldown-seconds')
  }
  const {config, stored} = await getIpamConfig(ds)
  const spec: IPAMConfigSpec = {...config}
  if (strictAffinity !== undefined) spec.strictAffinity = strictAffinity
  if (maxBlocks !== undefined) spec.maxBlocksPerHost = maxBlocks
  if (persistence !== undefined) spec.kubeVirtVMAddressPersistence = persistence
  if (cooldown !== undefined) spec.ipCooldownSeconds = cooldown
  const resource: IPAMConfig = {apiVersion: API_VERSION, kind: 'IPAMConfig', metadata: {name: ipamConfigName}, spec}
  if (JSON.stringify(spec) !== JSON.stringify(config) || !stored) {
    // libcalico-go SetIPAMConfig's own words first, then the field checks every IPAMConfig passes.
    if (!spec.strictAffinity && !spec.autoAllocateBlocks) throw new NetctlError('invalid', "Cannot disable 'StrictAffinity' and 'AutoAllocateBlocks' at the same time", 'keep --strictaffinity=true, or enable autoAllocateBlocks in the IPAMConfig')
    if ((spec.maxBlocksPerHost ?? 0) > 0 && !spec.strictAffinity) throw new NetctlError('invalid', 'MaxBlocksPerHost requires StrictAffinity to be enabled', 'add --strictaffinity=true')
    ipamConfigKind.validate!(resource, {others: []})
    if (stored) await ds.update(ipamConfigKind, {...resource, metadata: {...stored.metadata, name: ipamConfigName}})
    else await ds.create(ipamConfigKind, resource)
  }
  const lines: string[] = []
  if (strictAffinity !== undefined) lines.push(`Successfully set StrictAffinity to: ${strictAffinity}`)
  if (maxBlocks !== undefined) lines.push(`Successfully set MaxBlocksPerHost to: ${maxBlocks}`)
  if (persistence !== undefined) lines.push(`Successfully set KubeVirtVMAddressPersistence to: ${persistence}`)
  if (cooldown !== undefined) lines.push(`Successfully set IPCooldownSeconds to: ${cooldown}`)
  return lines
}

// --- ipam check --------------------------------------------------------------------------------

export interface Allocation {
  ip: string
  handle?: string
  sequenceNumber?: number
  pod?: string
  namespace?: string
  node?: string
  type?: string
  creationTimestamp?: string
  inUse: boolean
  borrowed?: boolean
  coolingDown?: boolean
  owners: string[] | null
}

export interface HandleInfo {
  ID: string
  UID: string | null
  Revision: string
}

/** calicoctl's CheckReport, field for field. */
export interface CheckReport {
  version: string
  clusterGUID: string
  datastoreLocked: boolean
  clusterInformationRevision: string
  clusterType: string
  allocations: Record<string, Allocation[]>
  leakedHandles?: HandleInfo[]
}

export interface CheckResult {
  lines: string[]
  problems: number
  report: CheckReport
}

const kvs = (m?: Record<string, string>) => Object.keys(m ?? {}).sort().map((k) => `${k}=${m![k]}`).join(',')
const attrString = (a: AllocationAttribute) => `Main:${a.handle_id ?? '<none>'} Extra:${kvs(a.secondary)}${Object.keys(a.alternateOwnerAttrs ?? {}).length ? ` Alternate:${kvs(a.alternateOwnerAttrs)}` : ''}`
/** Go's net.IP.String of an address written with or without a prefix. */
const normaliseIp = (text: string): string | undefined => {
  const c = parseCidrOrIp(text)
  return c ? formatCidr({...c, network: c.address}).split('/')[0] : undefined
}

/** calicoctl ipam check: what IPAM records against what nodes and workloads use. */
export async function checkIpam(ds: Datastore, options: {showAllIps?: boolean; showProblemIps?: boolean; version: string}): Promise<CheckResult> {
  const showAll = Boolean(options.showAllIps)
  const showProblems = showAll || Boolean(options.showProblemIps)
  const out: string[] = ['Checking IPAM for inconsistencies...', '']
  let clusterInfo: Resource
  try {
    clusterInfo = await ds.get(clusterInformationKind, 'default')
  } catch (error) {
    if (!isNetctlError(error, 'not-found')) throw error
    throw new NetctlError('not-found', `ClusterInformation "default" not found in ${ds.location}: ipam check reads the cluster's GUID from it`, 'calico-node (and netctl, when the first Node is written) creates it: write the cluster\'s Nodes first')
  }
  const allocations = new Map<string, Array<Allocation & {attr: AllocationAttribute}>>()
  const byNode = new Map<string, number>()
  const inUse = new Map<string, string[]>()
  const inUseHandles = new Set<string>()

  out.push('Loading all IPAM blocks...')
  const blocks = (await listBlocks(ds)).sort((a, b) => byCidr(a.spec!, b.spec!))
  out.push(`Found ${blocks.length} IPAM blocks.`)
  let numAllocs = 0
  for (const block of blocks) {
    const spec = block.spec!
    out.push(` IPAM block ${spec.cidr} affinity=${spec.affinity ?? '<none>'}:`)
    const host = blockHost(spec) && spec.affinity?.startsWith('host:') ? blockHost(spec)! : ''
    spec.allocations.forEach((index, ordinal) => {
      if (index === null || index === undefined) return
      numAllocs++
      const ip = ordinalToIp(spec.cidr, ordinal)
      const attr = spec.attributes[index] ?? {}
      const a: Allocation & {attr: AllocationAttribute} = {ip, inUse: false, owners: null, attr}
      if (attr.handle_id !== undefined) {
        if (attr.handle_id === 'windows-reserved-ipam-handle') recordInUse(ip, 'Reserved for Windows')
        else {
          a.handle = attr.handle_id
          inUseHandles.add(attr.handle_id)
        }
      }
      if (attr.releasedAt) a.coolingDown = true
      const s = attr.secondary ?? {}
      let node = host
      if (s.node) node = s.node
      if (s.pod) a.pod = s.pod
      if (s.namespace) a.namespace = s.namespace
      if (s.type) a.type = s.type
      if (s.timestamp) a.creationTimestamp = s.timestamp
      a.sequenceNumber = spec.sequenceNumberForAllocation?.[String(ordinal)] ?? 0
      a.node = node || undefined
      if (node !== host) a.borrowed = true
      allocations.set(ip, [...(allocations.get(ip) ?? []), a])
      byNode.set(node, (byNode.get(node) ?? 0) + 1)
      if (showAll) out.push(`  ${ip} allocated; attrs ${attrString(attr)}`)
    })
  }
  out.push(`IPAM blocks record ${numAllocs} allocations.`, '')

  function recordInUse(ip: string, friendlyName: string) {
    if (showAll) out.push(`  ${ip} belongs to ${friendlyName}`)
    inUse.set(ip, [...(inUse.get(ip) ?? []), friendlyName])
    for (const a of allocations.get(ip) ?? []) {
      a.inUse = true
      a.owners = [...(a.owners ?? []), friendlyName]
    }
  }

  out.push('Loading all IPAM pools...')
  const activePools: string[] = []
  for (const pool of (await ds.list(ipPoolKind)) as IPPool[]) {
    if (pool.spec?.disabled) continue
    out.push(`  ${pool.spec?.cidr}`)
    activePools.push(String(pool.spec?.cidr))
  }
  out.push(`Found ${activePools.length} active IP pools.`, '')

  out.push('Loading all nodes.')
  let nodeIps = 0
  for (const node of await ds.list(nodeKind)) {
    const spec = (node.spec ?? {}) as NodeSpec
    for (const address of [spec.ipv4VXLANTunnelAddr, spec.wireguard?.interfaceIPv4Address, spec.bgp?.ipv4IPIPTunnelAddr]) {
      if (!address) continue
      const ip = normaliseIp(address)
      if (!ip) throw new NetctlError('invalid', `failed to parse a tunnel address (${address}) of node ${node.metadata.name}`, 'fix the Node\'s tunnel address fields')
      recordInUse(ip, `Node(${node.metadata.name})`)
      nodeIps++
    }
  }
  out.push(`Found ${nodeIps} node tunnel IPs.`, '')

  out.push('Loading all service load balancer IPs.', 'No configuration for LoadBalancer kubecontroller found, skipping service check', '')

  out.push('Loading all workload endpoints.')
  let wepIps = 0
  for (const wep of await ds.list(workloadEndpointKind)) {
    for (const network of ((wep.spec ?? {}) as WorkloadEndpointSpec).ipNetworks ?? []) {
      const ip = normaliseIp(network)
      if (!ip) throw new NetctlError('invalid', `failed to parse IP (${network}) of workload ${wep.metadata.namespace}/${wep.metadata.name}`, 'fix the WorkloadEndpoint\'s spec.ipNetworks')
      recordInUse(ip, `Workload(${wep.metadata.namespace}/${wep.metadata.name})`)
      wepIps++
    }
  }
  out.push(`Found ${wepIps} workload IPs.`, `Workloads and nodes are using ${inUse.size} IPs.`, '')

  out.push('Loading all handles')
  const handles = new Map<string, HandleInfo>()
  for (const h of (await ds.list(ipamHandleKind)) as IPAMHandle[]) {
    const id = h.spec?.handleID ?? h.metadata.name
    handles.set(id, {ID: id, UID: h.metadata.uid ?? null, Revision: h.metadata.resourceVersion ?? ''})
  }

  const nodesToPrint = 20
  out.push(`Looking for top (up to ${nodesToPrint}) nodes by allocations...`)
  const allNodes = [...byNode.keys()].sort((a, b) => byNode.get(b)! - byNode.get(a)! || (a < b ? -1 : 1))
  for (const n of allNodes.slice(0, nodesToPrint)) out.push(`  ${n} has ${byNode.get(n)} allocations`)
  if (allNodes.length > 0) out.push(`Node with most allocations has ${byNode.get(allNodes[0]!)}; median is ${byNode.get(allNodes[Math.floor(allNodes.length / 2)]!)}`)
  out.push('')

  let problems = 0
  out.push('Scanning for IPs that are allocated but not actually in use...')
  const leaked = [...allocations.entries()].filter(([ip, list]) => !inUse.has(ip) && !list.some((a) => a.coolingDown))
  for (const [ip, list] of leaked) if (showProblems) for (const a of list) out.push(`  ${ip} leaked; attrs ${attrString(a.attr)}`)
  problems += leaked.length
  out.push(`Found ${leaked.length} IPs that are allocated in IPAM but not actually in use.`)

  out.push('Scanning for IPs that are in use by a workload or node but not allocated in IPAM...')
  let notInPools = 0
  let notAllocated = 0
  for (const [ip, owners] of inUse) {
    if (showProblems && owners.length > 1) out.push(`  ${ip} has multiple owners.`)
    if (allocations.has(ip)) continue
    const inPool = activePools.some((cidr) => {
      const pool = parseCidr(cidr)
      const address = parseCidrOrIp(ip)
      return pool && address && overlaps(pool, {...address, prefix: address.bits, network: address.address})
    })
    if (!inPool) {
      if (showProblems) for (const owner of owners) out.push(`  ${ip} in use by ${owner} is not in any active IP pool.`)
      notInPools++
      continue
    }
    if (showProblems) for (const owner of owners) out.push(`  ${ip} in use by ${owner} and in active IPAM pool but has no IPAM allocation.`)
    notAllocated++
  }
  problems += notInPools + notAllocated
  out.push(`Found ${notInPools} in-use IPs that are not in active IP pools.`)
  out.push(`Found ${notAllocated} in-use IPs that are in active IP pools but have no corresponding IPAM allocation.`, '')

  out.push('Scanning for IPAM handles with no matching IPs...')
  const leakedHandles: HandleInfo[] = []
  let goodHandles = 0
  for (const [id, info] of handles) {
    if (inUseHandles.has(id)) {
      goodHandles++
      continue
    }
    if (showAll) out.push(`  ${id} doesn't have any active IPs.`)
    leakedHandles.push(info)
  }
  problems += leakedHandles.length
  out.push(`Found ${leakedHandles.length} handles with no matching IPs (and ${goodHandles} handles with matches).`)

  out.push('Scanning for IPs with missing handle...')
  const missing = [...inUseHandles].filter((id) => !handles.has(id))
  if (showProblems) for (const id of missing) out.push(`  ${id} is in use in a block but doesn't exist.`)
  out.push(`Found ${missing.length} handles mentioned in blocks with no matching handle resource.`)

  out.push('Validating IPAMBlock structures...')
  let invalidBlocks = 0
  for (const block of blocks) {
    const problem = blockProblem(block)
    if (!problem) continue
    out.push(`  IPAMBlock BlockKey(cidr=${block.spec!.cidr}) is invalid: ${problem}`)
    invalidBlocks++
  }
  problems += invalidBlocks
  out.push(`Found ${invalidBlocks} invalid IPAMBlocks.`)
  out.push(`Check complete; found ${problems} problems.`)

  const spec = (clusterInfo.spec ?? {}) as {clusterGUID?: string; clusterType?: string; datastoreReady?: boolean}
  const report: CheckReport = {
    version: options.version,
    clusterGUID: spec.clusterGUID ?? '',
    datastoreLocked: spec.datastoreReady === false,
    clusterInformationRevision: clusterInfo.metadata.resourceVersion ?? '',
    clusterType: spec.clusterType ?? '',
    allocations: Object.fromEntries([...allocations].map(([ip, list]) => [ip, list.map(inGoOrder)])),
  }
  if (leakedHandles.length) report.leakedHandles = leakedHandles
  return {lines: out, problems, report}
}

/** An allocation's fields in the order calicoctl's report has them (Go writes struct fields in order). */
const inGoOrder = (a: Allocation): Allocation => {
  const out: Record<string, unknown> = {}
  for (const key of ['ip', 'handle', 'sequenceNumber', 'pod', 'namespace', 'node', 'type', 'creationTimestamp', 'inUse', 'borrowed', 'coolingDown', 'owners'] as const) {
    if (a[key] !== undefined) out[key] = a[key]
  }
  return out as unknown as Allocation
}

// --- ipam release -------------------------------------------------------------------------------

export interface ReleaseOptions {
  address: string
  handle?: string
  sequenceNumber?: number
}

/**
 * libcalico-go ReleaseIPs: free each address in its block (compare-and-swap on the block), and
 * take it off its handle (deleting the handle when nothing is left). Returns the addresses that
 * were not allocated (or no longer as the options say).
 */
export async function releaseIps(ds: Datastore, releases: ReleaseOptions[]): Promise<string[]> {
  const unallocated: string[] = []
  for (const release of releases) {
    for (let attempt = 0; ; attempt++) {
      const found = findAllocation(await listBlocks(ds), release.address)
      const attr = found?.attribute
      const block = found?.block
      const seq = found && block!.spec!.sequenceNumberForAllocation?.[String(found.ordinal)]
      if (!found || !attr || (release.handle && attr.handle_id !== release.handle) || (release.sequenceNumber !== undefined && (seq ?? 0) !== release.sequenceNumber)) {
        unallocated.push(release.address)
        break
      }
      const allocations = allocationsOf(block!.spec!)
      allocations.delete(found.ordinal)
      try {
        await ds.update(ipamBlockKind, {...block!, spec: withAllocations(block!.spec!, allocations)})
      } catch (error) {
        // Someone else wrote the block in between: read it again, as IPAM retries.
        if (isNetctlError(error, 'conflict') && attempt < 5) continue
        throw error
      }
      if (attr.handle_id) await releaseFromHandle(ds, attr.handle_id, block!.spec!.cidr)
      break
    }
  }
  return unallocated
}

async function releaseFromHandle(ds: Datastore, handleID: string, cidr: string): Promise<void> {
  const handles = (await ds.list(ipamHandleKind)) as IPAMHandle[]
  const handle = handles.find((h) => h.spec?.handleID === handleID)
  if (!handle?.spec) return
  const block = {...handle.spec.block}
  if (block[cidr] === undefined) return
  block[cidr] -= 1
  if (block[cidr]! <= 0) delete block[cidr]
  if (Object.keys(block).length === 0) await ds.delete(ipamHandleKind, handle.metadata.name, undefined, handle.metadata.resourceVersion)
  else await ds.update(ipamHandleKind, {...handle, spec: {...handle.spec, block}})
}

/** calicoctl ipam release --ip. */
export async function releaseIp(ds: Datastore, ip: string): Promise<string> {
  const address = validateIp(ip)
  const unallocated = await releaseIps(ds, [{address}])
  if (unallocated.length) throw new NetctlError('not-found', `IP address ${address} is not assigned`, `see who holds what with: netctl ipam show --show-blocks, or netctl ipam show --ip ${address}`)
  return `Successfully released IP address ${address}`
}

/** calicoctl ipam release --from-report: the leaked addresses and handles of up-to-date reports. */
export async function releaseFromReports(ds: Datastore, reports: Array<{file: string; report: CheckReport}>, options: {force: boolean; version: string}): Promise<string[]> {
  const out: string[] = []
  const clusterInfo = await ds.get(clusterInformationKind, 'default')
  const spec = (clusterInfo.spec ?? {}) as {clusterGUID?: string; datastoreReady?: boolean}
  let foundCurrent = false
  for (const {file, report} of reports) {
    if ((spec.clusterGUID ?? '') !== report.clusterGUID) {
      throw new NetctlError('conflict', `cluster does not match the provided report (${file}): mismatched cluster GUID. Refusing to release`, 'run netctl ipam check -o FILE against this datastore and release from that report')
    }
    if (options.version !== report.version) {
      if (!options.force) throw new NetctlError('conflict', `the provided report (${file}) was produced using a different version (${report.version}) of netctl. Refusing to release`, 'produce a new report with this netctl, or pass --force')
      out.push('WARNING: Report was produced using a different version of calicoctl. Ignoring due to --force option')
    }
    if (clusterInfo.metadata.resourceVersion === report.clusterInformationRevision) foundCurrent = true
  }
  if (!foundCurrent) {
    throw new NetctlError('conflict', 'the provided reports are all stale - at least one should be up-to-date. Please generate a new report while the data store is locked and try again', 'run netctl ipam check -o FILE again')
  }
  if (spec.datastoreReady === undefined || spec.datastoreReady) {
    if (!options.force) throw new NetctlError('conflict', 'data store is not locked. Either lock the data store, or re-run with --force', 'lock it first: netctl datastore migrate lock (and unlock after); or pass --force when nothing allocates addresses meanwhile')
    out.push('WARNING: Data store is not locked. Ignoring due to --force option')
  }
  // Only what every report calls leaked (and, for handles, at the same revision).
  let ips: Map<string, ReleaseOptions> | undefined
  let handles: Map<string, HandleInfo> | undefined
  for (const {report} of reports) {
    const mergedIps = new Map<string, ReleaseOptions>()
    for (const list of Object.values(report.allocations ?? {})) {
      for (const a of list) {
        if (a.inUse || a.coolingDown) continue
        if (ips && !ips.has(a.ip)) continue
        mergedIps.set(a.ip, {address: a.ip, handle: a.handle, sequenceNumber: a.sequenceNumber})
      }
    }
    ips = mergedIps
    const mergedHandles = new Map<string, HandleInfo>()
    for (const h of report.leakedHandles ?? []) if (!handles || handles.get(h.ID)?.Revision === h.Revision) mergedHandles.set(h.ID, h)
    handles = mergedHandles
  }
  if (ips && ips.size > 0) {
    out.push(`Releasing ${ips.size} old IPs...`)
    try {
      const unallocated = await releaseIps(ds, [...ips.values()])
      out.push(`Released ${ips.size - unallocated.length} IPs successfully`)
      if (unallocated.length) out.push(`${unallocated.length} addresses marked as leaked in the report had already been cleaned up.`)
    } catch (error) {
      out.push(`An error occurred while releasing some IPs: ${(error as Error).message}.  Problems are often caused by an out-of-date IPAM report.  Try regenerating the IPAM report and retry.`)
    }
  } else out.push("Report didn't contain any leaked IPs to clean up.")
  if (handles && handles.size > 0) {
    out.push(`Deleting ${handles.size} handles...`, "Key: '.' = Deleted OK; 'x' = skip, handle missing/changed.")
    let released = 0
    let skipped = 0
    let errors = 0
    let marks = ''
    const failures: string[] = []
    const stored = new Map(((await ds.list(ipamHandleKind)) as IPAMHandle[]).map((h) => [h.spec?.handleID ?? h.metadata.name, h]))
    for (const info of handles.values()) {
      const current = stored.get(info.ID)
      if (!current || current.metadata.resourceVersion !== info.Revision || (info.UID ?? null) !== (current.metadata.uid ?? null)) {
        skipped++
        marks += 'x'
        continue
      }
      try {
        await ds.delete(ipamHandleKind, current.metadata.name, undefined, info.Revision)
        released++
        marks += '.'
      } catch (error) {
        if (isNetctlError(error, 'not-found') || isNetctlError(error, 'conflict')) {
          skipped++
          marks += 'x'
        } else {
          errors++
          failures.push(`Deleting handle ${info.ID} failed: ${(error as Error).message}.`)
        }
      }
    }
    out.push(marks, ...failures, `Released ${released} handles; ${skipped} skipped; ${errors} errors.`)
  } else out.push("Report didn't contain any handles to clean up.")
  out.push('You may now unlock the data store.')
  return out
}

// --- ipam split ---------------------------------------------------------------------------------

/** calicoctl's splitCIDR: `parts` (a power of two) equal CIDRs. */
export function splitCidr(cidr: string, parts: number): string[] {
  const power = Math.log2(parts)
  if (!Number.isInteger(parts) || parts < 2 || !Number.isInteger(power)) {
    throw new NetctlError('usage', `error splitting the CIDR ${cidr} into ${parts} CIDRs: number to split CIDR into is not a valid power of 2: ${parts}`, 'split into 2, 4, 8, … pools')
  }
  const c = parseCidr(cidr)
  if (!c) throw new NetctlError('invalid', `error reading CIDR ${cidr} before attempting to split it`, 'fix the pool\'s spec.cidr')
  if (c.prefix + power > c.bits) throw new NetctlError('usage', `error splitting the CIDR ${cidr} into ${parts} CIDRs: the CIDR ${cidr} is not large enough to be split into ${parts} parts`, 'split into fewer pools')
  const size = 1n << BigInt(c.bits - c.prefix - power)
  return Array.from({length: parts}, (_, i) => formatCidr({...c, network: c.network + BigInt(i) * size, prefix: c.prefix + power}))
}

/** calicoctl ipam split: the pool disabled, `parts` pools over its CIDR created, the old one deleted. */
export async function splitPool(ds: Datastore, options: {parts: number; cidr?: string; name?: string; force?: boolean}): Promise<string[]> {
  const {parts, cidr, name} = options
  if (!cidr && !name) throw new NetctlError('usage', 'no name or CIDR provided. Provide a name or CIDR to denote the IP pool to split', 'give --cidr CIDR or --name POOL')
  const info = await ds.get(clusterInformationKind, 'default').catch(() => undefined)
  const locked = (info?.spec as {datastoreReady?: boolean} | undefined)?.datastoreReady === false
  const out: string[] = []
  if (!locked) {
    if (!options.force) throw new NetctlError('conflict', 'datastore is not locked. Run the `netctl datastore migrate lock` command in order split the IP pools', 'lock it first: netctl datastore migrate lock (and unlock after); or pass --force when nothing allocates from the pool meanwhile')
    out.push('WARNING: Data store is not locked. Ignoring due to --force option')
  }
  let old: IPPool | undefined
  if (name) {
    try {
      old = (await ds.get(ipPoolKind, name)) as IPPool
    } catch (error) {
      if (!isNetctlError(error, 'not-found')) throw error
      throw new NetctlError('not-found', `unable to find IP pool with name ${name}: ${error.message}`, 'list the pools with: netctl get ippools')
    }
  } else old = ((await ds.list(ipPoolKind)) as IPPool[]).find((p) => p.spec?.cidr === cidr)
  if (!old) throw new NetctlError('not-found', `unable to find IP pool ${name ?? ''} covering the specified CIDR ${cidr ?? ''}`, 'list the pools with: netctl get ippools')
  const cidrs = splitCidr(String(old.spec?.cidr), parts)
  old = (await ds.update(ipPoolKind, {...old, spec: {...old.spec!, disabled: true}})) as IPPool
  const created: IPPool[] = []
  for (const [i, c] of cidrs.entries()) {
    const base = old.metadata.name.length + `split--${i}`.length > 253 ? old.metadata.name.slice(0, 245) : old.metadata.name
    const {uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, generation: _g, ...metadata} = old.metadata
    const pool: IPPool = {...old, metadata: {...metadata, name: `split-${base}-${i}`}, spec: {...old.spec!, cidr: c, disabled: false}}
    try {
      created.push((await ds.create(ipPoolKind, pool)) as IPPool)
    } catch (error) {
      throw new NetctlError('unavailable', `error using unsafe create to make split pool with cidr ${c}: ${(error as Error).message}`, `the pool ${old.metadata.name} is disabled; ${created.length} split pools were created: fix the cause and finish by hand (netctl get ippools)`)
    }
  }
  await ds.delete(ipPoolKind, old.metadata.name)
  // calicoctl prints the first line without its newline, and the last one too.
  out.push(`IP Pool ${old.metadata.name} was successfully split into ${parts} smaller pools.Created ${created[0]!.metadata.name} with CIDR ${created[0]!.spec!.cidr}.`)
  for (const p of created.slice(1)) out.push(`Created ${p.metadata.name} with CIDR ${p.spec!.cidr}.`)
  out.push('Please refer to the documentation for final steps.')
  return out
}
