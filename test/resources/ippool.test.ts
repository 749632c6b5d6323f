import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {NetctlError} from '../../src/errors.js'
import {ipPoolDefaults, validateIpPool} from '../../src/resources/ippool.js'
import type {IPPool, IPPoolSpec} from '../../src/resources/types.js'

const pool = (spec: Partial<IPPoolSpec> & Record<string, unknown>, name = 'p'): IPPool =>
  ({apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name}, spec: {cidr: '10.0.0.0/16', ...spec}}) as IPPool

const rejects = (candidate: IPPool, pattern: RegExp, context: {existing?: IPPool; others?: IPPool[]} = {}) =>
  assert.throws(
    () => validateIpPool(ipPoolDefaults(candidate), {existing: context.existing, others: context.others ?? []}),
    (error: unknown) => error instanceof NetctlError && error.kind === 'invalid' && pattern.test(error.message),
  )
const accepts = (candidate: IPPool, context: {existing?: IPPool; others?: IPPool[]} = {}) =>
  assert.doesNotThrow(() => validateIpPool(ipPoolDefaults(candidate), {existing: context.existing, others: context.others ?? []}))

describe('IPPool validation (REFERENCE.md §1)', () => {
  it('requires a CIDR that parses', () => {
    rejects(pool({cidr: '10.0.0.0'}), /spec\.cidr "10\.0\.0\.0" is not a valid CIDR/)
    rejects(pool({cidr: undefined as unknown as string}), /spec\.cidr is required/)
    accepts(pool({cidr: '10.0.0.0/16'}))
  })

  it('requires the CIDR to be masked, and names the masked form', () => {
    assert.throws(
      () => validateIpPool(pool({cidr: '10.0.0.1/16'}), {others: []}),
      (e: NetctlError) => /not masked/.test(e.message) && e.suggestion === 'use 10.0.0.0/16',
    )
    accepts(pool({cidr: '10.0.0.0/16'}))
  })

  it('refuses IPIP and VXLAN together', () => {
    rejects(pool({ipipMode: 'Always', vxlanMode: 'CrossSubnet'}), /both IPIP \(Always\) and VXLAN \(CrossSubnet\)/)
    accepts(pool({ipipMode: 'Never', vxlanMode: 'CrossSubnet'}))
    accepts(pool({ipipMode: 'CrossSubnet', vxlanMode: 'Never'}))
  })

  it('refuses IPIP on an IPv6 pool', () => {
    rejects(pool({cidr: 'fd00:10::/64', ipipMode: 'Always'}), /IPIP cannot carry IPv6/)
    accepts(pool({cidr: 'fd00:10::/64', vxlanMode: 'Always'}))
  })

  it('only accepts known modes', () => {
    rejects(pool({ipipMode: 'Sometimes' as 'Always'}), /spec\.ipipMode "Sometimes" is not one of Always, CrossSubnet, Never/)
    rejects(pool({vxlanMode: 'always' as 'Always'}), /spec\.vxlanMode/)
  })

  it('keeps IPv4 block sizes within 20..32', () => {
    rejects(pool({blockSize: 19}), /spec\.blockSize 19 is out of range for an IPv4 pool/)
    rejects(pool({blockSize: 33}), /out of range/)
    accepts(pool({blockSize: 20}))
    accepts(pool({blockSize: 32}))
  })

  it('keeps IPv6 block sizes within 116..128', () => {
    rejects(pool({cidr: 'fd00:10::/64', blockSize: 115}), /out of range for an IPv6 pool/)
    accepts(pool({cidr: 'fd00:10::/64', blockSize: 116}))
    assert.equal(ipPoolDefaults(pool({cidr: 'fd00:10::/64'})).spec!.blockSize, 122)
  })

  it('refuses a pool smaller than its block unless the pool is disabled', () => {
    rejects(pool({cidr: '10.0.0.0/27', blockSize: 26}), /larger than the pool/)
    accepts(pool({cidr: '10.0.0.0/27', blockSize: 26, disabled: true}))
    accepts(pool({cidr: '10.0.0.0/26', blockSize: 26}))
  })

  it('refuses the link-local ranges', () => {
    rejects(pool({cidr: '169.254.0.0/16'}), /overlaps the link-local range 169\.254\.0\.0\/16/)
    rejects(pool({cidr: '169.0.0.0/8'}), /link-local/)
    rejects(pool({cidr: 'fe80::/64'}), /link-local range fe80::\/10/)
    accepts(pool({cidr: '169.255.0.0/16'}))
  })

  it('refuses overlap with another pool on create only', () => {
    const other = pool({cidr: '10.0.0.0/8'}, 'other')
    rejects(pool({cidr: '10.1.0.0/16'}), /overlaps IPPool "other" \(10\.0\.0\.0\/8\)/, {others: [other]})
    accepts(pool({cidr: '11.0.0.0/16'}), {others: [other]})
    const existing = ipPoolDefaults(pool({cidr: '10.1.0.0/16'})) as IPPool
    accepts(pool({cidr: '10.1.0.0/16', natOutgoing: true}), {existing, others: [other]})
  })

  it('refuses changing cidr or blockSize on update', () => {
    const existing = ipPoolDefaults(pool({cidr: '10.1.0.0/16'})) as IPPool
    rejects(pool({cidr: '10.2.0.0/16'}), /spec\.cidr cannot change \(it is 10\.1\.0\.0\/16\)/, {existing})
    rejects(pool({cidr: '10.1.0.0/16', blockSize: 24}), /spec\.blockSize cannot change \(it is 26\)/, {existing})
    accepts(pool({cidr: '10.1.0.0/16', blockSize: 26, ipipMode: 'Always'}), {existing})
  })

  it('names unknown and mistyped fields', () => {
    rejects(pool({ipipmode: 'Always'}), /spec\.ipipmode is not a known field/)
    rejects(pool({natOutgoing: 'yes' as unknown as boolean}), /spec\.natOutgoing must be true or false/)
    rejects(pool({allowedUses: ['Everything']}), /spec\.allowedUses\[0\] "Everything" is not one of/)
  })

  it('fills the defaults Calico stores', () => {
    assert.deepEqual(ipPoolDefaults(pool({})).spec, {
      cidr: '10.0.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', nodeSelector: 'all()', allowedUses: ['Workload', 'Tunnel'],
    })
  })
})
