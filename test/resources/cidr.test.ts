import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {formatCidr, formatIp, isMasked, overlaps, parseCidr, parseIp} from '../../src/resources/cidr.js'

describe('cidr', () => {
  it('parses IPv4 and IPv6 CIDRs and rejects garbage', () => {
    assert.equal(parseCidr('192.168.0.0/16')?.prefix, 16)
    assert.equal(parseCidr('fd00:10::/64')?.family, 6)
    for (const bad of ['192.168.0.0', '192.168.0.0/33', '300.1.1.1/8', 'fd00::/129', 'abc/8', '10.0.0.0/-1', '']) {
      assert.equal(parseCidr(bad), undefined, bad)
    }
  })

  it('knows a masked CIDR from one with host bits', () => {
    assert.equal(isMasked(parseCidr('10.0.0.0/16')!), true)
    assert.equal(isMasked(parseCidr('10.0.0.1/16')!), false)
    assert.equal(formatCidr(parseCidr('10.0.0.1/16')!), '10.0.0.0/16')
    assert.equal(isMasked(parseCidr('fd00::1/64')!), false)
  })

  it('detects overlap only within a family', () => {
    assert.equal(overlaps(parseCidr('10.0.0.0/8')!, parseCidr('10.1.0.0/16')!), true)
    assert.equal(overlaps(parseCidr('10.0.0.0/16')!, parseCidr('10.1.0.0/16')!), false)
    assert.equal(overlaps(parseCidr('::/0')!, parseCidr('10.0.0.0/8')!), false)
  })

  it('round-trips IPv6 text, including embedded IPv4', () => {
    assert.equal(formatIp(6, parseIp('fd00:0:0:0:0:0:0:1')!.value), 'fd00::1')
    assert.equal(formatIp(6, parseIp('::ffff:10.0.0.1')!.value), '::ffff:a00:1')
    assert.equal(formatIp(4, parseIp('172.17.0.32')!.value), '172.17.0.32')
  })
})
