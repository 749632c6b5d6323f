import {formatCidr, isMasked, linkLocal, overlaps, parseCidr, type Cidr} from './cidr.js'
import {name, text, type KindInfo, type ValidationContext} from './kind.js'
import {encapModes, type IPPool, type IPPoolSpec, type Resource} from './types.js'
import {selector} from './formats.js'
import {checkResource} from './metadata.js'
import {boolean, integer, invalid, list, object, oneOf, safeName, show, string, text as freeText} from './validate.js'

const allowedUses = ['Workload', 'Tunnel', 'LoadBalancer'] as const

// Calico's IPPoolSpec (api/pkg/apis/projectcalico/v3/ippool.go): types and bounds here, the
// cidr's format and the block size's range below, with their own messages.
const ipPoolSpecFields = {
  cidr: string({max: 49, fix: 'write it as address/prefix, e.g. 192.168.0.0/16 or fd00:10::/64'}),
  ipipMode: oneOf(encapModes),
  vxlanMode: oneOf(encapModes),
  natOutgoing: boolean,
  disabled: boolean,
  disableBGPExport: boolean,
  blockSize: integer(0, 128),
  nodeSelector: selector,
  namespaceSelector: selector,
  allowedUses: list(oneOf(allowedUses), {max: 10}),
  assignmentMode: oneOf(['Automatic', 'Manual']),
  disableNewAllocations: boolean,
}

const ipPoolStatusFields = {
  conditions: list(
    object(
      {
        type: string({max: 316, test: (v) => /^([A-Za-z0-9][-A-Za-z0-9_./]*)?[A-Za-z0-9]$/.test(v), what: 'a condition type'}),
        status: oneOf(['True', 'False', 'Unknown']),
        observedGeneration: integer(0, Number.MAX_SAFE_INTEGER),
        lastTransitionTime: string({max: 64, test: (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(v), what: 'an RFC 3339 time'}),
        reason: string({max: 1024, test: (v) => /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(v), what: 'a CamelCase reason'}),
        message: freeText(32768),
      },
      {required: ['type', 'status']},
    ),
    {max: 64},
  ),
}
const blockSizes = {4: {min: 20, max: 32, fallback: 26}, 6: {min: 116, max: 128, fallback: 122}} as const

const isOn = (mode: unknown): boolean => mode !== undefined && mode !== 'Never'

/** Calico fills these when a pool is stored; `get -o yaml` shows them. */
export function ipPoolDefaults(resource: Resource): Resource {
  const spec = {...(resource.spec ?? {})} as IPPoolSpec
  const cidr = typeof spec.cidr === 'string' ? parseCidr(spec.cidr) : undefined
  if (spec.blockSize === undefined && cidr) spec.blockSize = blockSizes[cidr.family].fallback
  spec.ipipMode ??= 'Never'
  spec.vxlanMode ??= 'Never'
  spec.nodeSelector ??= 'all()'
  spec.allowedUses ??= ['Workload', 'Tunnel']
  return {...resource, spec}
}

export function validateIpPool(resource: Resource, context: ValidationContext): void {
  const pool = resource as IPPool
  const spec = pool.spec
  if (!spec || typeof spec !== 'object') throw invalid(pool, 'spec', 'is required', 'add a spec with at least a cidr')
  if (spec.cidr === undefined || spec.cidr === '') throw invalid(pool, 'spec.cidr', 'is required', 'set spec.cidr, e.g. 192.168.0.0/16')
  checkResource(pool, {kind: 'IPPool', namespaced: false, spec: ipPoolSpecFields, status: ipPoolStatusFields})
  const cidr = parseCidr(spec.cidr)
  if (!cidr) {
    throw invalid(pool, 'spec.cidr', `${show(spec.cidr)} is not a valid CIDR`, 'write it as address/prefix, e.g. 192.168.0.0/16 or fd00:10::/64')
  }
  if (!isMasked(cidr)) {
    throw invalid(pool, 'spec.cidr', `${show(spec.cidr)} is not masked: it has host bits set`, `use ${formatCidr(cidr)}`)
  }
  if (isOn(spec.ipipMode) && isOn(spec.vxlanMode)) {
    throw invalid(
      pool,
      'spec',
      `enables both IPIP (${spec.ipipMode}) and VXLAN (${spec.vxlanMode}); only one encapsulation can be on`,
      `keep one: netctl ippool set ${pool.metadata.name} --vxlan Always --ipip Never, or switch every pool with netctl encap set vxlan`,
    )
  }
  if (cidr.family === 6 && isOn(spec.ipipMode)) {
    throw invalid(pool, 'spec.ipipMode', `is ${spec.ipipMode}, but IPIP cannot carry IPv6`, 'set ipipMode: Never (VXLAN works for IPv6)')
  }
  checkBlockSize(pool, cidr)
  const reserved = linkLocal(cidr.family)
  if (overlaps(cidr, reserved)) {
    throw invalid(pool, 'spec.cidr', `${spec.cidr} overlaps the link-local range ${formatCidr(reserved)}`, 'pick a range outside it; Calico uses 169.254.1.1 as the pods\' gateway')
  }
  if (context.existing) checkUnchanged(pool, context.existing as IPPool)
  else checkNoOverlap(pool, cidr, context.others as IPPool[])
}

function checkBlockSize(pool: IPPool, cidr: Cidr): void {
  const size = pool.spec!.blockSize
  if (size === undefined) return
  const {min, max} = blockSizes[cidr.family]
  if (typeof size !== 'number' || !Number.isInteger(size) || size < min || size > max) {
    throw invalid(pool, 'spec.blockSize', `${JSON.stringify(size)} is out of range for an IPv${cidr.family} pool`, `use a whole number from ${min} to ${max}`)
  }
  if (cidr.prefix > size && pool.spec!.disabled !== true) {
    throw invalid(pool, 'spec.blockSize', `/${size} is larger than the pool ${pool.spec!.cidr} itself`, `use a blockSize of at least ${cidr.prefix}, or a larger cidr`)
  }
}

function checkUnchanged(pool: IPPool, existing: IPPool): void {
  const before = existing.spec!
  const after = pool.spec!
  const sameCidr = (a: string, b: string) => {
    const x = parseCidr(a)
    const y = parseCidr(b)
    return x && y ? x.family === y.family && x.network === y.network && x.prefix === y.prefix : a === b
  }
  if (!sameCidr(after.cidr, before.cidr)) {
    throw invalid(pool, 'spec.cidr', `cannot change (it is ${parseCidr(String(before.cidr)) ? before.cidr : show(before.cidr)})`, 'create a new pool with the new cidr, then disable and delete the old one')
  }
  if (after.blockSize !== undefined && before.blockSize !== undefined && after.blockSize !== before.blockSize) {
    throw invalid(pool, 'spec.blockSize', `cannot change (it is ${show(before.blockSize)})`, 'create a new pool with the new block size instead')
  }
}

function checkNoOverlap(pool: IPPool, cidr: Cidr, others: IPPool[]): void {
  for (const other of others) {
    if (other.metadata.name === pool.metadata.name) continue
    const theirs = parseCidr(String(other.spec?.cidr))
    if (theirs && overlaps(cidr, theirs)) {
      throw invalid(pool, 'spec.cidr', `${pool.spec!.cidr} overlaps IPPool "${safeName(other.metadata.name)}" (${formatCidr(theirs)})`, 'pick a range that no other pool covers')
    }
  }
}

const spec = (r: Resource) => (r.spec ?? {}) as IPPoolSpec
const mode = (value: unknown) => (value ? String(value) : 'Never')

export const ipPoolKind: KindInfo = {
  kind: 'IPPool',
  plural: 'ippools',
  aliases: ['ippool', 'ippools', 'ipp', 'ipps', 'pool', 'pools'],
  namespaced: false,
  columns: {
    ps: ['NAME', 'CIDR', 'SELECTOR'],
    wide: ['NAME', 'CIDR', 'NAT', 'IPIPMODE', 'VXLANMODE', 'DISABLED', 'DISABLEBGPEXPORT', 'SELECTOR'],
  },
  cells: {
    NAME: name,
    CIDR: (r) => text(spec(r).cidr),
    NAT: (r) => String(spec(r).natOutgoing === true),
    IPIPMODE: (r) => mode(spec(r).ipipMode),
    VXLANMODE: (r) => mode(spec(r).vxlanMode),
    DISABLED: (r) => String(spec(r).disabled === true),
    DISABLEBGPEXPORT: (r) => String(spec(r).disableBGPExport === true),
    SELECTOR: (r) => text(spec(r).nodeSelector),
  },
  withDefaults: ipPoolDefaults,
  validate: validateIpPool,
  needsOthers: true,
}
