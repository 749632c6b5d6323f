import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {containsIp, formatCidr, formatIp, isMasked, overlaps, parseCidr, parseCidrOrIp, parseIp} from '../../src/resources/cidr.js'

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

  it('is strict, as Go\'s net.ParseCIDR: no spaces, no leading zeros, no zone', () => {
    for (const bad of [
      '10.80.0.0/016', '10.0.0.0/08', '10.0.0.0/00', ' 10.0.0.0/8', '10.0.0.0/8 ', '10.0.0.0 /8', '10.0.0.0/ 8', '\t10.0.0.0/8', '10.0.0.0/8\n',
      '010.0.0.0/8', '10.00.0.0/16', '10.0.0.01/32', 'fe80::1%eth0/64', 'fd00::/064', '10.0.0.0/8;', '10.0.0.0/+8', '10.0.0.0/8/8', '0x0a.0.0.0/8',
    ]) {
      assert.equal(parseCidr(bad), undefined, JSON.stringify(bad))
    }
    for (const good of ['10.0.0.0/8', '0.0.0.0/0', '10.80.0.0/16', '255.255.255.255/32', 'fd00::/64', '::/0', '::ffff:10.0.0.1/128', 'FD00::/8', '0:0:0:0:0:0:0:0/0']) {
      assert.ok(parseCidr(good), good)
    }
    for (const bad of ['010.0.0.1', '10.0.0.1 ', ' 10.0.0.1', 'fe80::1%eth0', '1.2.3', '1.2.3.4.5', '::ffff:010.0.0.1', '1:2:3:4:5:6:7:8:9', 'x'.repeat(10000)]) {
      assert.equal(parseIp(bad), undefined, JSON.stringify(bad).slice(0, 40))
    }
    assert.equal(parseCidr(7 as unknown as string), undefined)
  })

  it('takes a bare address as /32 or /128 when asked (Calico\'s ParseCIDROrIP)', () => {
    assert.equal(parseCidrOrIp('10.0.0.1')?.prefix, 32)
    assert.equal(parseCidrOrIp('fd00::1')?.prefix, 128)
    assert.equal(parseCidrOrIp('10.0.0.0/8')?.prefix, 8)
    assert.equal(parseCidrOrIp('10.0.0.1/')?.prefix, undefined)
    const block = parseCidr('192.168.0.64/26')!
    assert.equal(containsIp(block, 4, parseIp('192.168.0.127')!.value), true)
    assert.equal(containsIp(block, 4, parseIp('192.168.0.128')!.value), false)
    assert.equal(containsIp(block, 6, parseIp('::c0a8:41')!.value), false)
  })
})
