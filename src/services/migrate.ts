/**
 * calicoctl datastore migrate: lock a datastore, export its Calico data in calicoctl's file
 * format, import that file into an empty datastore, unlock. calicoctl moves etcd → Kubernetes
 * only; netctl moves between any two of its backends (etcd v3, Kubernetes, the embedded file).
 *
 * The file (calicoctl/commands/datastore/migrate/export.go):
 *   one YAML <Kind>List document per kind, each followed by "---", in a fixed order (Nodes
 *   before what names nodes), metadata without uid/resourceVersion/creationTimestamp;
 *   "===";
 *   ClusterInformation "default" as indented JSON;
 *   "===";
 *   the IPAM objects as calicoctl's JSON: {"block_affinities": [{Key, Value, TTL}], "blocks",
 *   "handles", "config"} with libcalico-go's etcd keys and values.
 */
import {BatchWriteError, type Datastore, type DatastoreType, type WriteOp} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {blockAffinityName} from '../resources/blockaffinity.js'
import {InputBudget, parseDocuments, parseOneDocument, type SourcedResource} from '../resources/documents.js'
import {calicoVersion as netctlCalicoVersion, clusterInformationKind, newClusterInformation} from '../resources/felixconfiguration.js'
import {DEFAULT_ALLOW_PROFILE, KNP_PREFIX, NAMESPACE_PROFILE_PREFIX, SERVICE_ACCOUNT_PROFILE_PREFIX} from '../resources/k8s-networkpolicy.js'
import type {KindInfo} from '../resources/kind.js'
import {kinds} from '../resources/registry.js'
import {API_VERSION, type Resource, type WorkloadEndpointSpec} from '../resources/types.js'
import {workloadEndpointName} from '../resources/workloadendpoint.js'
import {validateDocument} from './resources.js'

/**
 * calicoctl's export order (allV3Resources): tiers before policies, Nodes before everything that
 * names a node. netctl's own kinds follow (Profiles, then WorkloadEndpoints, which name nodes and
 * profiles), then any kind registered later, in registry order.
 */
const calicoctlOrder = [
  'ippools', 'bgppeers', 'tiers', 'globalnetworkpolicies', 'stagedglobalnetworkpolicies', 'globalnetworksets', 'hostendpoints',
  'kubecontrollersconfigurations', 'networkpolicies', 'stagednetworkpolicies', 'stagedkubernetesnetworkpolicies', 'networksets', 'nodes',
  'bgpconfigurations', 'felixconfigurations', 'ipreservations', 'bgpfilters', 'profiles', 'workloadendpoints',
]

/** The IPAM kinds and the key of calicoctl's IPAM JSON each goes to (the others are v3 YAML). */
const ipamSections: Record<string, IpamSection> = {
  BlockAffinity: 'block_affinities',
  IPAMBlock: 'blocks',
  IPAMHandle: 'handles',
  IPAMConfig: 'config',
  IPAMConfiguration: 'config',
}
type IpamSection = 'block_affinities' | 'blocks' | 'handles' | 'config'

/** The tiers Calico makes itself in every datastore (names.TierIsProtected): they do not make a datastore "not empty". */
const protectedTiers = new Set(['default', 'kube-admin', 'kube-baseline'])

/** Tunnel address handles name their node (migrateipam.go's ipamHandlePrefixes). */
const tunnelHandlePrefixes = ['ipip-tunnel-addr-', 'vxlan-tunnel-addr-', 'wireguard-tunnel-addr-']

/** The v3 kinds in export order, without ClusterInformation and the IPAM kinds. */
export function exportKinds(): KindInfo[] {
  const v3 = kinds.filter((k) => k !== clusterInformationKind && !ipamSections[k.kind])
  const rank = (k: KindInfo) => {
    const i = calicoctlOrder.indexOf(k.plural)
    return i >= 0 ? i : calicoctlOrder.length + kinds.indexOf(k)
  }
  return [...v3].sort((a, b) => rank(a) - rank(b))
}

export const ipamKinds = (): KindInfo[] => kinds.filter((k) => ipamSections[k.kind])

// --- lock -------------------------------------------------------------------------------

export async function readClusterInformation(ds: Datastore): Promise<Resource | undefined> {
  try {
    return await ds.get(clusterInformationKind, 'default')
  } catch (error) {
    if (isNetctlError(error) && error.kind === 'not-found') return undefined
    throw error
  }
}

const isLocked = (info: Resource | undefined) => info !== undefined && info.spec?.datastoreReady === false

/** datastoreReady false: Calico's components stop acting on the datastore (lock.go). Makes ClusterInformation if there is none. */
export async function lockDatastore(ds: Datastore): Promise<Resource> {
  return setDatastoreReady(ds, false)
}

/** datastoreReady true again (unlock.go). */
export async function unlockDatastore(ds: Datastore): Promise<Resource> {
  return setDatastoreReady(ds, true)
}

async function setDatastoreReady(ds: Datastore, ready: boolean): Promise<Resource> {
  const current = await readClusterInformation(ds)
  if (!current) {
    if (ready) {
      throw new NetctlError('not-found', `${ds.location} has no ClusterInformation "default" to unlock`, 'nothing to unlock: lock it first with netctl datastore migrate lock, or import into it')
    }
    // As EnsureInitialized: a new cluster record, then locked.
    const fresh = newClusterInformation()
    return ds.create(clusterInformationKind, {...fresh, spec: {...fresh.spec, datastoreReady: false}})
  }
  return ds.update(clusterInformationKind, {...current, spec: {...current.spec, datastoreReady: ready}})
}

/**
 * calicoctl's CheckVersionMismatch: the cluster's Calico version (major.minor.patch, no "v",
 * no suffix) against the one netctl speaks; undefined when they agree or the cluster names none.
 */
export function versionMismatch(info: Resource | undefined): string | undefined {
  const cluster = info?.spec?.calicoVersion
  if (typeof cluster !== 'string' || cluster === '') return undefined
  const bare = (v: string) => v.replace(/^v/, '').split('-')[0]
  return bare(cluster) === bare(netctlCalicoVersion) ? undefined : cluster
}

export async function checkVersionMismatch(ds: Datastore, allow: boolean): Promise<void> {
  if (allow) return
  const cluster = versionMismatch(await readClusterInformation(ds))
  if (cluster !== undefined) {
    throw new NetctlError(
      'conflict',
      `version mismatch: netctl speaks Calico ${netctlCalicoVersion}, the cluster at ${ds.location} runs ${cluster}`,
      'use --allow-version-mismatch to override',
    )
  }
}

// --- export -----------------------------------------------------------------------------

export interface ExportResult {
  text: string
  /** Objects written per kind. */
  counts: Record<string, number>
  /** What was left out and why, one line each. */
  skipped: string[]
}

export interface IpamKv {
  Key: string
  Value: Record<string, unknown>
  TTL: number
  /** netctl's addition (calicoctl ignores it): the object's labels, so a round trip keeps them. */
  Labels?: Record<string, string>
}
type IpamJson = Partial<Record<Exclude<IpamSection, 'config'>, IpamKv[]>> & {config?: IpamKv}

const cleanMetadata = (resource: Resource): Resource => {
  const {uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, deletionTimestamp: _dt, deletionGracePeriodSeconds: _dg, generation: _g, managedFields: _mf, ...metadata} = resource.metadata
  return {...resource, metadata}
}

const derivedProfile = (name: string) => name === DEFAULT_ALLOW_PROFILE || name.startsWith(NAMESPACE_PROFILE_PREFIX) || name.startsWith(SERVICE_ACCOUNT_PROFILE_PREFIX)

/** calicoctl's ConvertIptablesFields: "ACCEPT" from the v1 API becomes "Accept". */
const iptablesActionFields = ['defaultEndpointToHostAction', 'iptablesFilterAllowAction', 'iptablesMangleAllowAction', 'iptablesFilterDenyAction']
const titleCase = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase()

export async function exportDatastore(ds: Datastore, type: DatastoreType): Promise<ExportResult> {
  const info = await readClusterInformation(ds)
  if (!isLocked(info)) {
    throw new NetctlError('conflict', `${ds.location} is not locked`, 'run netctl datastore migrate lock (with the same datastore flags) before exporting')
  }
  const {dump} = await import('js-yaml')
  const counts: Record<string, number> = {}
  const skipped: string[] = []
  const documents: string[] = []
  // etcd node name → Kubernetes node name (the k8s orchestrator reference), as calicoctl renames.
  const nodeNames = new Map<string, string>()
  const renamed = (node: unknown) => (typeof node === 'string' ? nodeNames.get(node) ?? node : node)
  const renameNodeScoped = (name: string) => (name.startsWith('node.') && nodeNames.has(name.slice(5)) ? `node.${nodeNames.get(name.slice(5))}` : name)

  for (const kind of exportKinds()) {
    let items = (await listServed(ds, kind, skipped)).map(cleanMetadata)
    const before = items.length
    if (kind.kind === 'NetworkPolicy') {
      items = items.filter((r) => !r.metadata.name.startsWith(KNP_PREFIX))
      if (items.length < before) skipped.push(`${before - items.length} NetworkPolicies ${KNP_PREFIX}*: Kubernetes NetworkPolicies, which stay in Kubernetes`)
    }
    if (kind.kind === 'Profile') {
      items = items.filter((r) => !derivedProfile(r.metadata.name))
      if (items.length < before) skipped.push(`${before - items.length} Profiles ${NAMESPACE_PROFILE_PREFIX}*, ${SERVICE_ACCOUNT_PROFILE_PREFIX}*, ${DEFAULT_ALLOW_PROFILE}: Calico derives them from Namespaces and ServiceAccounts`)
    }
    if (kind.kind === 'WorkloadEndpoint' && type === 'kubernetes') {
      if (items.length) skipped.push(`${items.length} WorkloadEndpoints: in the Kubernetes datastore Calico derives them from Pods`)
      items = []
    }
    if (kind.kind === 'Node' && type !== 'kubernetes') {
      items = items.map((node) => {
        const refs = (node.spec?.orchRefs ?? []) as Array<{orchestrator?: string; nodeName?: string}>
        const k8sName = refs.find((r) => r.orchestrator === 'k8s')?.nodeName
        if (!k8sName || k8sName === node.metadata.name) return node
        nodeNames.set(node.metadata.name, k8sName)
        return {...node, metadata: {...node.metadata, name: k8sName}}
      })
    }
    if ((kind.kind === 'FelixConfiguration' || kind.kind === 'BGPConfiguration') && nodeNames.size) {
      items = items.map((r) => ({...r, metadata: {...r.metadata, name: renameNodeScoped(r.metadata.name)}}))
    }
    if (kind.kind === 'FelixConfiguration') {
      items = items.map((r) => {
        const spec = {...r.spec}
        for (const field of iptablesActionFields) if (typeof spec[field] === 'string' && spec[field]) spec[field] = titleCase(spec[field] as string)
        return {...r, spec}
      })
    }
    if (kind.kind === 'WorkloadEndpoint' && nodeNames.size) {
      items = items.map((r) => {
        const spec = r.spec as WorkloadEndpointSpec
        if (!spec?.node || !nodeNames.has(spec.node)) return r
        const node = nodeNames.get(spec.node)!
        // The name spells the node too: a name Calico derived gets the new node in it.
        const derived = spec.pod ? workloadEndpointName({node: spec.node, pod: spec.pod, endpoint: spec.endpoint, orchestrator: spec.orchestrator}) : undefined
        const name = derived === r.metadata.name ? workloadEndpointName({node, pod: spec.pod!, endpoint: spec.endpoint, orchestrator: spec.orchestrator}) : r.metadata.name
        return {...r, metadata: {...r.metadata, name}, spec: {...spec, node}}
      })
    }
    counts[kind.kind] = items.length
    documents.push(dump({apiVersion: API_VERSION, kind: `${kind.kind}List`, items}, {lineWidth: -1, noRefs: true, noArrayIndent: true, quotingType: '"'}) + '---\n')
  }

  const ipam: IpamJson = {}
  for (const kind of ipamKinds()) {
    const section = ipamSections[kind.kind]!
    for (const resource of await listServed(ds, kind, skipped)) {
      const kv = toIpamKv(kind.kind, resource, renamed)
      if (section === 'config') ipam.config = kv
      else (ipam[section] ??= []).push(kv)
      counts[kind.kind] = (counts[kind.kind] ?? 0) + 1
    }
  }
  // calicoctl prints ClusterInformation as Go's json.MarshalIndent of the whole object.
  const text = `${documents.join('')}===\n${JSON.stringify(info, null, 2)}\n===\n${JSON.stringify(ipam, null, 2)}\n`
  return {text, counts, skipped}
}

/** A kind the Kubernetes API does not serve (no CRD for it) has no objects to move. */
async function listServed(ds: Datastore, kind: KindInfo, skipped: string[]): Promise<Resource[]> {
  try {
    return await ds.list(kind)
  } catch (error) {
    if (isNetctlError(error) && error.kind === 'unavailable' && /does not serve/.test(error.message)) {
      skipped.push(`${kind.plural}: ${error.message}`)
      return []
    }
    throw error
  }
}

// --- the IPAM section: libcalico-go's keys and values ----------------------------------------

const cidrKey = (cidr: string) => cidr.replace('/', '-')
const ipVersion = (cidr: string) => (cidr.includes(':') ? 6 : 4)

export function toIpamKv(kind: string, resource: Resource, renamed: (node: unknown) => unknown): IpamKv {
  const spec = (resource.spec ?? {}) as Record<string, unknown>
  const labels = resource.metadata.labels && Object.keys(resource.metadata.labels).length ? {Labels: resource.metadata.labels} : {}
  switch (kind) {
    case 'BlockAffinity': {
      const cidr = String(spec.cidr)
      const affinityType = spec.type === 'virtual' ? 'virtual' : 'host'
      const Value = {state: spec.state ?? '', deleted: spec.deleted === true || spec.deleted === 'true'}
      return {Key: `/calico/ipam/v2/${affinityType}/${String(renamed(spec.node))}/ipv${ipVersion(cidr)}/block/${cidrKey(cidr)}`, Value, TTL: 0, ...labels}
    }
    case 'IPAMBlock': {
      const cidr = String(spec.cidr)
      const {affinityClaimTime, ...rest} = spec
      const Value: Record<string, unknown> = {...rest}
      if (affinityClaimTime !== undefined) Value.affinity_claim_time = affinityClaimTime
      if (typeof spec.affinity === 'string' && spec.affinity.startsWith('host:')) Value.affinity = `host:${String(renamed(spec.affinity.slice(5)))}`
      if (Array.isArray(spec.attributes)) {
        Value.attributes = spec.attributes.map((a: Record<string, unknown>) => {
          const handle = typeof a.handle_id === 'string' ? renameHandle(a.handle_id, renamed) : a.handle_id
          return {...a, handle_id: handle}
        })
      }
      return {Key: `/calico/ipam/v2/assignment/ipv${ipVersion(cidr)}/block/${cidrKey(cidr)}`, Value, TTL: 0, ...labels}
    }
    case 'IPAMHandle': {
      const id = renameHandle(String(spec.handleID ?? resource.metadata.name), renamed)
      const {handleID: _id, ...Value} = spec
      return {Key: `/calico/ipam/v2/handle/${id}`, Value, TTL: 0, ...labels}
    }
    default: {
      // IPAMConfig(uration) "default": libcalico-go's model field names.
      const {strictAffinity, autoAllocateBlocks, ...rest} = spec
      const Value: Record<string, unknown> = {...rest}
      if (strictAffinity !== undefined) Value.strict_affinity = strictAffinity
      if (autoAllocateBlocks !== undefined) Value.auto_allocate_blocks = autoAllocateBlocks
      return {Key: '/calico/ipam/v2/config', Value, TTL: 0, ...labels}
    }
  }
}

function renameHandle(handle: string, renamed: (node: unknown) => unknown): string {
  for (const prefix of tunnelHandlePrefixes) if (handle.startsWith(prefix)) return prefix + String(renamed(handle.slice(prefix.length)))
  return handle
}

export function fromIpamKv(kind: KindInfo, kv: IpamKv): Resource {
  const bad = () => new NetctlError('invalid', `the IPAM section has a ${kind.kind} with the key ${JSON.stringify(kv?.Key)}, which is not libcalico-go's`, 'recreate the file with netctl datastore migrate export (or calicoctl datastore migrate export)')
  if (!kv || typeof kv.Key !== 'string' || typeof kv.Value !== 'object' || kv.Value === null) throw bad()
  const metadata = (name: string) => ({name, ...(kv.Labels ? {labels: kv.Labels} : {})})
  const value = kv.Value
  switch (kind.kind) {
    case 'BlockAffinity': {
      const m = /^\/?calico\/ipam\/v2\/(host|virtual)\/([^/]+)\/ipv[46]\/block\/([^/]+)$/.exec(kv.Key)
      if (!m) throw bad()
      const [, type, node, dashed] = m
      const cidr = dashed!.replace(/-(\d+)$/, '/$1')
      const spec: Record<string, unknown> = {state: value.state ?? '', node, cidr, deleted: String(value.deleted === true)}
      if (type === 'virtual') spec.type = 'virtual'
      return {apiVersion: API_VERSION, kind: kind.kind, metadata: metadata(blockAffinityName(node!, cidr)), spec}
    }
    case 'IPAMBlock': {
      const m = /^\/?calico\/ipam\/v2\/assignment\/ipv[46]\/block\/([^/]+)$/.exec(kv.Key)
      if (!m) throw bad()
      const {affinity_claim_time, ...rest} = value
      const spec: Record<string, unknown> = {...rest}
      if (affinity_claim_time !== undefined && affinity_claim_time !== null) spec.affinityClaimTime = affinity_claim_time
      // libcalico-go's names.CIDRToName: 10.244.0.64/26 → 10-244-0-64-26.
      const name = m[1]!.replace(/[./:]/g, '-').replace(/^-+|-+$/g, '')
      return {apiVersion: API_VERSION, kind: kind.kind, metadata: metadata(name), spec}
    }
    case 'IPAMHandle': {
      const m = /^\/?calico\/ipam\/v2\/handle\/([^/]+)$/.exec(kv.Key)
      if (!m) throw bad()
      return {apiVersion: API_VERSION, kind: kind.kind, metadata: metadata(m[1]!.toLowerCase()), spec: {handleID: m[1], ...value}}
    }
    default: {
      const {strict_affinity, auto_allocate_blocks, ...rest} = value
      const spec: Record<string, unknown> = {...rest}
      if (strict_affinity !== undefined) spec.strictAffinity = strict_affinity
      if (auto_allocate_blocks !== undefined) spec.autoAllocateBlocks = auto_allocate_blocks
      return {apiVersion: API_VERSION, kind: kind.kind, metadata: metadata('default'), spec}
    }
  }
}

// --- import -----------------------------------------------------------------------------

export interface ImportResult {
  /** Objects written per kind. */
  counts: Record<string, number>
  /** Objects not written and why (a Node with no Kubernetes Node, a WorkloadEndpoint into Kubernetes). */
  warnings: string[]
}

/** The three parts of an export file, split at "===" lines as calicoctl's splitImportFile does. */
export function splitExportFile(text: string, source: string): {v3: string; clusterInformation: string; ipam: string} {
  const parts = text.split(/^===\n/m)
  if (parts.length !== 3) {
    throw new NetctlError('invalid', `${source} is not a migration file: it has ${parts.length - 1} "===" separators where there are 2`, 'recreate it with netctl datastore migrate export')
  }
  return {v3: parts[0]!, clusterInformation: parts[1]!, ipam: parts[2]!}
}

/**
 * What the datastore holds that an import would collide with (checkCalicoResourcesNotExist):
 * every kind but Nodes (Kubernetes' own in KDD), Kubernetes NetworkPolicies, the tiers Calico
 * makes itself and derived Profiles and WorkloadEndpoints; ClusterInformation counts unless it
 * is locked (netctl's one addition: a datastore locked for the import is not refused for it).
 */
export async function occupants(ds: Datastore, type: DatastoreType): Promise<string[]> {
  const found: string[] = []
  const info = await readClusterInformation(ds)
  if (info && !isLocked(info)) found.push('ClusterInformation "default" (not locked)')
  const skipped: string[] = []
  for (const kind of [...exportKinds(), ...ipamKinds()]) {
    if (kind.kind === 'Node' && type === 'kubernetes') continue
    if (kind.kind === 'WorkloadEndpoint' && type === 'kubernetes') continue
    const items = (await listServed(ds, kind, skipped)).filter((r) => {
      if (kind.kind === 'NetworkPolicy') return !r.metadata.name.startsWith(KNP_PREFIX)
      if (kind.kind === 'Tier') return !protectedTiers.has(r.metadata.name)
      if (kind.kind === 'Profile') return !derivedProfile(r.metadata.name)
      return true
    })
    if (items.length) found.push(`${items.length} ${kind.kind} (${items.slice(0, 3).map((r) => (r.metadata.namespace ? `${r.metadata.namespace}/` : '') + r.metadata.name).join(', ')}${items.length > 3 ? ', …' : ''})`)
  }
  return found
}

export async function importDatastore(ds: Datastore, type: DatastoreType, text: string, source: string): Promise<ImportResult> {
  const parts = splitExportFile(text, source)
  // Everything is read and checked before the first write.
  const {documents, unknownKinds} = await parseV3Part(parts.v3, `${source} (v3 resources)`)
  let exportedInfo: Resource
  let ipam: IpamJson
  try {
    exportedInfo = JSON.parse(parts.clusterInformation) as Resource
    ipam = JSON.parse(parts.ipam) as IpamJson
  } catch (error) {
    throw new NetctlError('invalid', `${source}: its ClusterInformation or IPAM part is not JSON: ${(error as Error).message}`, 'recreate it with netctl datastore migrate export')
  }
  if (exportedInfo?.kind !== 'ClusterInformation') throw new NetctlError('invalid', `${source}: the part after the first "===" is not a ClusterInformation`, 'recreate it with netctl datastore migrate export')
  const byKind = new Map(ipamKinds().map((k) => [ipamSections[k.kind]!, k]))
  const ipamObjects: Array<{kind: KindInfo; resource: Resource}> = []
  for (const section of ['block_affinities', 'blocks', 'handles', 'config'] as const) {
    const entries = section === 'config' ? (ipam.config ? [ipam.config] : []) : (ipam[section] ?? [])
    if (!Array.isArray(entries)) throw new NetctlError('invalid', `${source}: the IPAM "${section}" is not a list`, 'recreate it with netctl datastore migrate export')
    if (entries.length === 0) continue
    const kind = byKind.get(section)
    if (!kind) throw new NetctlError('unsupported', `${source} has ${entries.length} IPAM ${section}, which this netctl has no kind for`, 'import it with a netctl that knows Calico\'s IPAM kinds, or with calicoctl')
    for (const kv of entries) ipamObjects.push({kind, resource: fromIpamKv(kind, kv)})
  }
  const notImported = unknownKinds.map(({kind, count}) => `${count} ${kind}: netctl has no such kind (not imported)`)
  const writes = [
    ...documents.map((d) => ({kind: d.writeAs ?? findExportKind(d.resource.kind), resource: d.resource, origin: d.origin})),
    ...ipamObjects.map((o) => ({...o, origin: `${source} (IPAM ${o.kind.kind} ${o.resource.metadata.name})`})),
  ]
  const seen = new Map<string, string>()
  for (const w of writes) {
    const key = `${w.kind.kind}/${w.kind.namespaced ? `${w.resource.metadata.namespace || 'default'}/` : ''}${w.resource.metadata.name}`
    const before = seen.get(key)
    if (before) throw new NetctlError('invalid', `${source} has ${w.kind.kind} "${w.resource.metadata.name}" twice (${before}; ${w.origin})`, 'keep one of them')
    seen.set(key, w.origin)
    try {
      validateDocument(w.kind, w.resource)
    } catch (error) {
      if (isNetctlError(error)) throw new NetctlError(error.kind, `${w.origin}: ${error.message}`, error.suggestion)
      throw error
    }
  }

  // The check and the writes as one: on the file store a single locked transaction (all or nothing).
  const write = async (target: Datastore): Promise<ImportResult> => {
    const found = await occupants(target, type)
    if (found.length) {
      throw new NetctlError(
        'conflict',
        `${target.location} already has Calico data: ${found.join('; ')}`,
        'import only into an empty datastore (a ClusterInformation there must be locked: netctl datastore migrate lock); remove what is there first',
      )
    }
    // The target stays locked until the user has checked it and unlocks (as calicoctl leaves it).
    const current = await readClusterInformation(target)
    if (!current) await lockDatastore(target)

    const counts: Record<string, number> = {}
    const warnings: string[] = [...notImported]
    if (target.writeBatch && type !== 'kubernetes') {
      // etcd: transactions of many creates instead of one round trip per object.
      await writeAsBatch(target, writes)
      for (const w of writes) counts[w.kind.kind] = (counts[w.kind.kind] ?? 0) + 1
    } else {
      for (const w of writes) {
        const outcome = await writeOne(target, type, w.kind, w.resource)
        if (outcome === 'written') counts[w.kind.kind] = (counts[w.kind.kind] ?? 0) + 1
        else warnings.push(`${w.kind.kind} "${w.resource.metadata.name}": ${outcome}`)
      }
    }

    // updateClusterInfo: the GUID and version travel; datastoreReady stays false (locked).
    const info = (await readClusterInformation(target))!
    const from = (exportedInfo.spec ?? {}) as Record<string, unknown>
    const spec: Record<string, unknown> = {...info.spec, datastoreReady: false}
    for (const field of ['clusterGUID', 'calicoVersion'] as const) if (from[field] !== undefined) spec[field] = from[field]
    await target.update(clusterInformationKind, {...info, spec})
    return {counts, warnings}
  }
  return ds.transaction ? ds.transaction(write) : write(ds)
}

/** Creates, and updates of the tiers Calico made itself; a failure says how far it got. */
async function writeAsBatch(target: Datastore, writes: Array<{kind: KindInfo; resource: Resource; origin: string}>): Promise<void> {
  const tierKind = kinds.find((k) => k.kind === 'Tier')
  const tiers = new Map((tierKind && writes.some((w) => w.kind === tierKind) ? await target.list(tierKind) : []).map((t) => [t.metadata.name, t]))
  const ops: WriteOp[] = writes.map(({kind, resource}) => {
    const current = kind === tierKind ? tiers.get(resource.metadata.name) : undefined
    return current ? {type: 'update', kind, resource, current} : {type: 'create', kind, resource}
  })
  try {
    await target.writeBatch!(ops)
  } catch (error) {
    if (!(error instanceof BatchWriteError)) throw error
    const failed = writes[error.failedAt]
    const unknown = error.uncertain ? `, ${error.uncertain} more may or may not be` : ''
    throw new NetctlError(
      error.kind,
      `${failed ? `${failed.kind.kind} "${failed.resource.metadata.name}": ` : ''}${error.message}; ${error.written.length} of ${writes.length} objects were written${unknown}`,
      `${error.suggestion ? `${error.suggestion}; ` : ''}${target.location} is locked and partly filled: remove what was written, then import again`,
      {cause: error},
    )
  }
}

/**
 * The v3 part, a List document per kind: each list read with -f's bounds (so a list may hold
 * up to inputLimits.maxResources, not the whole file). A kind netctl does not know (calicoctl
 * exports KubeControllersConfigurations) is counted, not refused.
 */
async function parseV3Part(text: string, source: string): Promise<{documents: SourcedResource[]; unknownKinds: Array<{kind: string; count: number}>}> {
  const documents: SourcedResource[] = []
  const unknownKinds: Array<{kind: string; count: number}> = []
  const chunks = text.split(/^---[ \t]*\n/m).filter((chunk) => chunk.trim() !== '')
  for (const [index, chunk] of chunks.entries()) {
    const origin = `${source}, document ${index + 1}`
    const doc = (await parseOneDocument(chunk, origin, Math.max(Buffer.byteLength(chunk), 1))) as {kind?: unknown; items?: unknown} | null
    const listKind = typeof doc?.kind === 'string' && doc.kind.endsWith('List') ? doc.kind.slice(0, -4) : undefined
    if (listKind && Array.isArray(doc!.items) && !kinds.some((k) => k.kind === listKind)) {
      if (doc!.items.length) unknownKinds.push({kind: listKind, count: doc!.items.length})
      continue
    }
    if (listKind && Array.isArray(doc!.items) && doc!.items.length === 0) continue
    documents.push(...(await parseDocuments(chunk, origin, new InputBudget(Math.max(Buffer.byteLength(chunk), 1)))))
  }
  return {documents, unknownKinds}
}

function findExportKind(kind: string): KindInfo {
  const info = kinds.find((k) => k.kind === kind)
  if (!info) throw new NetctlError('invalid', `the migration file has objects of kind "${kind}", which netctl does not know`, 'recreate the file with this netctl')
  return info
}

/** Create; a protected tier that is already there is updated; what the target derives itself is skipped. */
async function writeOne(ds: Datastore, type: DatastoreType, kind: KindInfo, resource: Resource): Promise<'written' | string> {
  if (kind.kind === 'WorkloadEndpoint' && type === 'kubernetes') return 'skipped: in the Kubernetes datastore Calico derives WorkloadEndpoints from Pods'
  if (kind.kind === 'Profile' && type === 'kubernetes') return 'skipped: the Kubernetes datastore keeps no Profiles of its own (Calico derives them from Namespaces and ServiceAccounts)'
  if (kind.kind === 'Node' && type === 'kubernetes') {
    // calicoctl applies Nodes onto the Kubernetes Nodes; one with no Kubernetes Node is skipped with a warning.
    let current: Resource
    try {
      current = await ds.get(kind, resource.metadata.name)
    } catch (error) {
      if (isNetctlError(error) && error.kind === 'not-found') return 'skipped: the Kubernetes datastore has no Kubernetes Node of that name (non-Kubernetes nodes do not exist in it)'
      throw error
    }
    await ds.update(kind, {...resource, metadata: {...current.metadata, labels: {...current.metadata.labels, ...resource.metadata.labels}}})
    return 'written'
  }
  try {
    await ds.create(kind, resource)
  } catch (error) {
    if (!(isNetctlError(error) && error.kind === 'already-exists' && kind.kind === 'Tier' && protectedTiers.has(resource.metadata.name))) throw error
    const current = await ds.get(kind, resource.metadata.name)
    await ds.update(kind, {...resource, metadata: {...resource.metadata, resourceVersion: current.metadata.resourceVersion}})
  }
  return 'written'
}
