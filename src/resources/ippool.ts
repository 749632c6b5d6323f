import {formatCidr, isMasked, linkLocal, overlaps, parseCidr, type Cidr} from './cidr.js'
import {name, text, type KindInfo, type ValidationContext} from './kind.js'
import {encapModes, type IPPool, type IPPoolSpec, type Resource} from './types.js'
import {checkBoolean, checkEnum, checkKnownFields, invalid} from './validate.js'

const specFields = [
  'cidr', 'ipipMode', 'vxlanMode', 'natOutgoing', 'disabled', 'disableBGPExport', 'blockSize',
  'nodeSelector', 'allowedUses', 'assignmentMode', 'namespaceSelector', 'disableNewAllocations',
] as const
const allowedUses = ['Workload', 'Tunnel', 'LoadBalancer'] as const
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
  checkKnownFields(pool, 'spec', spec, specFields)
  if (typeof spec.cidr !== 'string' || spec.cidr === '') {
    throw invalid(pool, 'spec.cidr', 'is required', 'set spec.cidr, e.g. 192.168.0.0/16')
  }
  const cidr = parseCidr(spec.cidr)
  if (!cidr) {
    throw invalid(pool, 'spec.cidr', `"${spec.cidr}" is not a valid CIDR`, 'write it as address/prefix, e.g. 192.168.0.0/16 or fd00:10::/64')
  }
  if (!isMasked(cidr)) {
    throw invalid(pool, 'spec.cidr', `"${spec.cidr}" is not masked: it has host bits set`, `use ${formatCidr(cidr)}`)
  }
  checkEnum(pool, 'spec.ipipMode', spec.ipipMode, encapModes)
  checkEnum(pool, 'spec.vxlanMode', spec.vxlanMode, encapModes)
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
  checkBoolean(pool, 'spec.natOutgoing', spec.natOutgoing)
  checkBoolean(pool, 'spec.disabled', spec.disabled)
  checkBoolean(pool, 'spec.disableBGPExport', spec.disableBGPExport)
  checkBlockSize(pool, cidr)
  if (spec.nodeSelector !== undefined && typeof spec.nodeSelector !== 'string') {
    throw invalid(pool, 'spec.nodeSelector', 'must be a selector string such as all()')
  }
  if (spec.allowedUses !== undefined) {
    if (!Array.isArray(spec.allowedUses)) throw invalid(pool, 'spec.allowedUses', `must be a list of ${allowedUses.join(', ')}`)
    for (const use of spec.allowedUses) checkEnum(pool, 'spec.allowedUses', use, allowedUses)
  }
  checkEnum(pool, 'spec.assignmentMode', spec.assignmentMode, ['Automatic', 'Manual'])
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
    throw invalid(pool, 'spec.cidr', `cannot change (it is ${before.cidr})`, 'create a new pool with the new cidr, then disable and delete the old one')
  }
  if (after.blockSize !== undefined && before.blockSize !== undefined && after.blockSize !== before.blockSize) {
    throw invalid(pool, 'spec.blockSize', `cannot change (it is ${before.blockSize})`, 'create a new pool with the new block size instead')
  }
}

function checkNoOverlap(pool: IPPool, cidr: Cidr, others: IPPool[]): void {
  for (const other of others) {
    if (other.metadata.name === pool.metadata.name) continue
    const theirs = parseCidr(String(other.spec?.cidr))
    if (theirs && overlaps(cidr, theirs)) {
      throw invalid(pool, 'spec.cidr', `${pool.spec!.cidr} overlaps IPPool "${other.metadata.name}" (${other.spec!.cidr})`, 'pick a range that no other pool covers')
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
