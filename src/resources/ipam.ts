/**
 * Calico IPAM's own objects, as its Kubernetes datastore keeps them (crd.projectcalico.org
 * IPAMBlock, IPAMHandle, IPAMConfig; BlockAffinity is in blockaffinity.ts): the allocation
 * blocks with their allocations, the handles that group a workload's addresses, and the
 * cluster-wide IPAM settings. IPAMBlocks and IPAMHandles are written by IPAM only (netctl
 * ipam release, a lab's pods): `get` shows them, writes are refused.
 */
import {NetctlError} from '../errors.js'
import {formatCidr, parseCidr} from './cidr.js'
import {maskedCidr} from './formats.js'
import {name, text as textCell, type KindInfo} from './kind.js'
import {checkResource} from './metadata.js'
import type {Resource} from './types.js'
import {boolean, integer, invalid, isPlainObject, list, map, object, oneOf, show, string, text, type Rule} from './validate.js'

/** One allocation's metadata (libcalico-go AllocationAttribute). */
export interface AllocationAttribute {
  handle_id?: string
  secondary?: Record<string, string>
  alternateOwnerAttrs?: Record<string, string>
  releasedAt?: string
}

export interface IPAMBlockSpec {
  cidr: string
  /** "host:<node>" (or "virtual:<name>"); absent for a block that belongs to no host. */
  affinity?: string
  affinityClaimTime?: string
  /** One entry per address of the block: null when free, else an index into attributes. */
  allocations: Array<number | null>
  /** The free ordinals, in the order IPAM hands them out. */
  unallocated: number[]
  attributes: AllocationAttribute[]
  sequenceNumber: number
  sequenceNumberForAllocation?: Record<string, number>
  deleted: boolean
  strictAffinity?: boolean
  [field: string]: unknown
}

export interface IPAMHandleSpec {
  handleID: string
  /** Block CIDR → how many addresses of this handle it holds. */
  block: Record<string, number>
  deleted?: boolean
  [field: string]: unknown
}

export interface IPAMConfigSpec {
  strictAffinity: boolean
  autoAllocateBlocks: boolean
  maxBlocksPerHost?: number
  ipCooldownSeconds?: number
  kubeVirtVMAddressPersistence?: string
  [field: string]: unknown
}

export type IPAMBlock = Resource<IPAMBlockSpec>
export type IPAMHandle = Resource<IPAMHandleSpec>
export type IPAMConfig = Resource<IPAMConfigSpec>

/** libcalico-go names.CIDRToName: 10.244.0.64/26 → 10-244-0-64-26. */
export const ipamBlockName = (cidr: string): string => cidr.replace(/[./:]/g, '-').replace(/^-+|-+$/g, '')
/** Kubernetes names are lower case: Calico's KDD names a handle by its lower-cased ID. */
export const ipamHandleName = (handleID: string): string => handleID.toLowerCase()
export const ipamConfigName = 'default'

/** How many addresses a block (or pool) holds; blocks are at most /64 for IPv6 in Calico, so this stays a safe number for blocks. */
export const addressCount = (cidr: string): number => {
  const parsed = parseCidr(cidr)!
  return 2 ** (parsed.bits - parsed.prefix)
}

const attributeValues = map(() => {}, text(1024), {max: 64})
const attribute: Rule = object({
  handle_id: string({max: 253, test: (v) => !/[\s/]/.test(v), what: 'a handle ID', fix: 'use the handle ID IPAM gave, e.g. k8s-pod-network.<container ID>'}),
  secondary: attributeValues,
  alternateOwnerAttrs: attributeValues,
  releasedAt: text(64),
})
const ordinal = (max: number): Rule => integer(0, max)
const timestamp = text(64)

function validateIPAMBlock(resource: Resource): void {
  checkResource(resource, {
    kind: 'IPAMBlock',
    namespaced: false,
    spec: {
      cidr: maskedCidr,
      affinity: string({max: 300, test: (v) => /^(host|virtual):[^\s]+$/.test(v), what: 'host:<node> or virtual:<name>', fix: 'write it like host:node01'}),
      affinityClaimTime: timestamp,
      allocations: (r, field, value) => {
        if (!Array.isArray(value)) throw invalid(r, field, `must be a list, not ${show(value)}`, 'write one entry per address of the block: null or an attribute index')
      },
      unallocated: list(ordinal(65535), {max: 65536}),
      attributes: list(attribute, {max: 65536}),
      sequenceNumber: integer(0, Number.MAX_SAFE_INTEGER),
      sequenceNumberForAllocation: map((r, field, key) => {
        if (!/^(0|[1-9]\d{0,4})$/.test(key)) throw invalid(r, `${field}.${show(key)}`, 'is not an ordinal of the block', 'key it by the allocation\'s ordinal: "0", "1", …')
      }, integer(0, Number.MAX_SAFE_INTEGER), {max: 65536}),
      deleted: boolean,
      strictAffinity: boolean,
    },
    specRequired: ['cidr', 'allocations', 'unallocated', 'attributes'],
  })
  const spec = resource.spec as IPAMBlockSpec
  const size = addressCount(spec.cidr)
  if (size > 65536) throw invalid(resource, 'spec.cidr', `${show(spec.cidr)} holds ${size} addresses; a block holds at most 65536`, 'use a block of /16 or smaller (IPv4), /112 or smaller (IPv6)')
  if (spec.allocations.length !== size) throw invalid(resource, 'spec.allocations', `has ${spec.allocations.length} entries, but ${spec.cidr} holds ${size} addresses`, 'give one entry per address of the block: null or an attribute index')
  spec.allocations.forEach((entry, i) => {
    if (entry !== null) integer(0, spec.attributes.length - 1)(resource, `spec.allocations[${i}]`, entry)
  })
  for (const [i, o] of spec.unallocated.entries()) {
    if (o >= size) throw invalid(resource, `spec.unallocated[${i}]`, `${o} is not an ordinal of ${spec.cidr} (0 to ${size - 1})`, 'list only the block\'s free ordinals')
  }
  if (ipamBlockName(formatCidr(parseCidr(spec.cidr)!)) !== resource.metadata.name) {
    throw invalid(resource, 'metadata.name', `is ${show(resource.metadata.name)}, but Calico names the block of ${spec.cidr} "${ipamBlockName(spec.cidr)}"`, `set metadata.name: ${ipamBlockName(spec.cidr)}`)
  }
}

function validateIPAMHandle(resource: Resource): void {
  checkResource(resource, {
    kind: 'IPAMHandle',
    namespaced: false,
    spec: {
      handleID: string({max: 253, test: (v) => !/[\s/]/.test(v), what: 'a handle ID', fix: 'use the handle ID IPAM gave, e.g. k8s-pod-network.<container ID>'}),
      block: map((r, field, key) => {
        const parsed = parseCidr(key)
        if (!parsed || parsed.address !== parsed.network) throw invalid(r, `${field}.${show(key)}`, 'is not a masked block CIDR', 'key it by the block\'s CIDR, e.g. 10.244.0.0/26')
      }, integer(0, 65536), {max: 10000}),
      deleted: boolean,
    },
    specRequired: ['handleID', 'block'],
  })
}

const ipamConfigFields = {
  strictAffinity: boolean,
  autoAllocateBlocks: boolean,
  maxBlocksPerHost: integer(0, 2147483647),
  ipCooldownSeconds: integer(0, 1200),
  kubeVirtVMAddressPersistence: oneOf(['Enabled', 'Disabled']),
}

/** As libcalico-go's SetIPAMConfig: the combinations IPAM cannot work with are refused. */
export function checkIPAMConfigSpec(resource: Resource): void {
  const spec = resource.spec as Partial<IPAMConfigSpec>
  if (spec.strictAffinity === false && spec.autoAllocateBlocks === false) {
    throw invalid(resource, 'spec', "cannot disable 'StrictAffinity' and 'AutoAllocateBlocks' at the same time", 'set strictAffinity: true or autoAllocateBlocks: true')
  }
  if ((spec.maxBlocksPerHost ?? 0) > 0 && !spec.strictAffinity) {
    throw invalid(resource, 'spec.maxBlocksPerHost', 'requires StrictAffinity to be enabled', 'set strictAffinity: true as well (netctl ipam configure --strictaffinity=true)')
  }
}

function validateIPAMConfig(resource: Resource): void {
  checkResource(resource, {kind: 'IPAMConfig', namespaced: false, spec: ipamConfigFields, specRequired: ['strictAffinity', 'autoAllocateBlocks']})
  if (resource.metadata.name !== ipamConfigName) {
    throw invalid(resource, 'metadata.name', `is ${show(resource.metadata.name)}; Calico has one IPAMConfig, named "default"`, 'set metadata.name: default')
  }
  checkIPAMConfigSpec(resource)
}

const blockSpec = (r: Resource): Partial<IPAMBlockSpec> => (isPlainObject(r.spec) ? (r.spec as Partial<IPAMBlockSpec>) : {})
const inUse = (r: Resource): number => (Array.isArray(blockSpec(r).allocations) ? blockSpec(r).allocations!.filter((a) => a !== null && a !== undefined).length : 0)

export const ipamBlockKind: KindInfo = {
  kind: 'IPAMBlock',
  plural: 'ipamblocks',
  aliases: ['ipamblock', 'ipamblocks'],
  namespaced: false,
  columns: {ps: ['NAME', 'CIDR', 'AFFINITY'], wide: ['NAME', 'CIDR', 'AFFINITY', 'IN USE', 'FREE']},
  cells: {
    NAME: name,
    CIDR: (r) => textCell(blockSpec(r).cidr),
    AFFINITY: (r) => textCell(blockSpec(r).affinity),
    'IN USE': (r) => String(inUse(r)),
    FREE: (r) => String(Array.isArray(blockSpec(r).unallocated) ? blockSpec(r).unallocated!.length : ''),
  },
  validate: validateIPAMBlock,
}

export const ipamHandleKind: KindInfo = {
  kind: 'IPAMHandle',
  plural: 'ipamhandles',
  aliases: ['ipamhandle', 'ipamhandles'],
  namespaced: false,
  columns: {ps: ['NAME', 'HANDLEID'], wide: ['NAME', 'HANDLEID', 'BLOCKS']},
  cells: {
    NAME: name,
    HANDLEID: (r) => textCell(r.spec?.handleID),
    BLOCKS: (r) => (isPlainObject(r.spec?.block) ? Object.entries(r.spec.block as Record<string, number>).map(([b, n]) => `${b}=${n}`).join(',') : ''),
  },
  validate: validateIPAMHandle,
}

export const ipamConfigKind: KindInfo = {
  kind: 'IPAMConfig',
  plural: 'ipamconfigs',
  aliases: ['ipamconfig', 'ipamconfigs', 'ipamconfiguration', 'ipamconfigurations'],
  namespaced: false,
  columns: {ps: ['NAME', 'STRICTAFFINITY', 'AUTOALLOCATEBLOCKS'], wide: ['NAME', 'STRICTAFFINITY', 'AUTOALLOCATEBLOCKS', 'MAXBLOCKSPERHOST']},
  cells: {
    NAME: name,
    STRICTAFFINITY: (r) => textCell(r.spec?.strictAffinity ?? false),
    AUTOALLOCATEBLOCKS: (r) => textCell(r.spec?.autoAllocateBlocks ?? false),
    MAXBLOCKSPERHOST: (r) => textCell(r.spec?.maxBlocksPerHost ?? 0),
  },
  withDefaults: (r) => ({...r, spec: {strictAffinity: false, autoAllocateBlocks: true, ...r.spec}}),
  validate: validateIPAMConfig,
}

/** The kinds only IPAM writes (calicoctl has no create/apply/delete for them). */
export const ipamOwnedKinds: readonly KindInfo[] = [ipamBlockKind, ipamHandleKind]

export function ipamObjectIsReadOnly(kind: string, operation: string): NetctlError {
  return new NetctlError(
    'unsupported',
    `${kind} is read-only: ${operation} is not supported on it (Calico IPAM writes its blocks and handles itself)`,
    'release an address with netctl ipam release --ip IP, or leaked ones with netctl ipam check -o report.json, then netctl ipam release --from-report report.json',
  )
}

