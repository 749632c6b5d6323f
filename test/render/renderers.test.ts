/**
 * Every renderer is fed hostile values (newlines, ";", quotes, braces, NUL, "#", spaces,
 * 10 kB strings) and must refuse each one: nothing may reach a batch line, bird.conf, an nft
 * script, a sysctl key or a file name except the value as one inert token.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {renderBirdConfig, type BirdConfigInput} from '../../src/bgp/config.js'
import {diffNetns, routeLine} from '../../src/dataplane/diff.js'
import {emptyNetns} from '../../src/dataplane/model.js'
import {emptyObserved} from '../../src/dataplane/observe.js'
import {isNetctlError} from '../../src/errors.js'
import {birdIp, birdNumber, birdPrefix, birdString, birdSymbol} from '../../src/render/bird.js'
import {ipLine, ipWord} from '../../src/render/ip.js'
import {nftAddress, nftName, nftPort, nftString} from '../../src/render/nft.js'
import {pathSegment} from '../../src/render/path.js'
import {sysctlAssignment, sysctlKey} from '../../src/render/sysctl.js'

const hostile = [
  '192.168.0.64/26\nnetns exec nc-x.n-controlplane touch /tmp/x',
  '244.0.0.1; }\nlog "/tmp/x" all; protocol device {',
  'a;touch x',
  'eth0 type veth',
  'a"b',
  "a'b",
  'a}b',
  'a{b',
  'a\u0000b',
  'a#b',
  'a\\b',
  'a b',
  '\ttab',
  'x'.repeat(10_000),
  '',
]

const refuses = (fn: () => unknown, value: string) =>
  assert.throws(fn, (error: unknown) => isNetctlError(error, 'invalid') && /refusing to write/.test(error.message), `accepted ${JSON.stringify(value.slice(0, 40))}`)

describe('renderers refuse what their language cannot carry as one token', () => {
  it('ip -batch words', () => {
    for (const value of [...hostile, '-n', '--force']) refuses(() => ipWord(value), value)
    assert.equal(ipLine('route', 'replace', '192.168.0.64/26', 'via', '172.17.0.40', 'dev', 'eth0', 'onlink'), 'route replace 192.168.0.64/26 via 172.17.0.40 dev eth0 onlink')
    assert.equal(ipLine('link', 'add', 'vxlan.calico', 'address', '66:aa:bb:cc:dd:ee', 'mtu', 1450), 'link add vxlan.calico address 66:aa:bb:cc:dd:ee mtu 1450')
    assert.equal(ipLine('netns', 'add', 'nc-demo.p-busybox-node01-0'), 'netns add nc-demo.p-busybox-node01-0')
  })

  it('bird.conf addresses, prefixes, numbers, strings and names', () => {
    for (const value of hostile) {
      refuses(() => birdIp(value), value)
      refuses(() => birdPrefix(value), value)
      refuses(() => birdSymbol(value), value)
    }
    for (const value of ['a"b', 'a\\b', 'a\nb', 'a\u0000b', 'x'.repeat(10_000)]) refuses(() => birdString(value), value)
    for (const value of [-1, 1.5, 2 ** 32, Number.NaN, '64512' as unknown as number]) refuses(() => birdNumber(value), String(value))
    refuses(() => birdIp('fd00::1', 4), 'fd00::1')
    refuses(() => birdPrefix('192.168.0.65/26'), 'host bits')
    assert.equal(birdIp('244.0.0.1', 4), '244.0.0.1')
    assert.equal(birdPrefix('192.168.0.64/26'), '192.168.0.64/26')
    assert.equal(birdString('/var/lib/netctl/labs/demo/node01/bird.log'), '"/var/lib/netctl/labs/demo/node01/bird.log"')
    assert.equal(birdSymbol('Mesh_172_17_0_40'), 'Mesh_172_17_0_40')
    assert.equal(birdNumber(64512), '64512')
  })

  it('nft names, strings, addresses and ports', () => {
    for (const value of hostile) {
      refuses(() => nftName(value), value)
      refuses(() => nftAddress(value), value)
    }
    for (const value of ['a"b', 'a\\b', 'a\nb', 'a\u0000b', 'x'.repeat(10_000)]) refuses(() => nftString(value), value)
    for (const value of [-1, 65536, 1.5]) refuses(() => nftPort(value), String(value))
    assert.equal(nftName('cali-fw-cali9861acf9f07'), 'cali-fw-cali9861acf9f07')
    assert.equal(nftString('allow from frontend; not a rule'), '"allow from frontend; not a rule"')
    assert.equal(nftAddress('192.168.0.64/26'), '192.168.0.64/26')
    assert.equal(nftAddress('10.0.0.1'), '10.0.0.1')
    assert.equal(nftPort(443), '443')
  })

  it('sysctl keys and values', () => {
    for (const value of [...hostile, '..', '../../kernel/core_pattern', 'a/b', 'a=b']) refuses(() => sysctlKey('net', 'ipv4', 'conf', value, 'proxy_arp'), value)
    for (const value of ['1\n2', '1 2', '', 'x'.repeat(10_000)]) refuses(() => sysctlAssignment('net.ipv4.ip_forward', value), value)
    for (const key of ['net.ipv4.conf.a=b.proxy_arp', 'net..ipv4', 'net.ipv4.conf.a b', 'kernel']) refuses(() => sysctlAssignment(key, '1'), key)
    // sysctl writes an interface's dots as "/" inside a key.
    assert.equal(sysctlKey('net', 'ipv4', 'conf', 'vxlan.calico', 'forwarding'), 'net.ipv4.conf.vxlan/calico.forwarding')
    assert.equal(sysctlAssignment('net.ipv4.conf.cali9861acf9f07.proxy_arp', '1'), 'net.ipv4.conf.cali9861acf9f07.proxy_arp=1')
  })

  it('file names', () => {
    for (const value of [...hostile, '.', '..', '../x', 'a/b', '.hidden']) refuses(() => pathSegment(value), value)
    assert.equal(pathSegment('node01'), 'node01')
  })
})

describe('hostile values stop the planners before any line is written', () => {
  it('a block from the datastore with a command in it never becomes an ip line', () => {
    const spec = emptyNetns('nc-x.n-node01')
    spec.routes.push({dst: '192.168.0.64/26\nnetns exec nc-x.n-controlplane touch /tmp/x', type: 'blackhole'})
    refuses(() => diffNetns(spec, emptyObserved()), 'route')
    refuses(() => routeLine('replace', {dst: '192.168.0.64/26', via: '172.17.0.40 dev lo'}), 'via')
  })

  it('an interface name with a command in it never becomes a link line', () => {
    const spec = emptyNetns('nc-x.n-node01')
    spec.links.push({name: 'a;touch x', kind: 'bridge'})
    refuses(() => diffNetns(spec, emptyObserved()), 'link')
  })

  it('a route reflector cluster ID that is not an IPv4 address never reaches bird.conf', () => {
    const input = (routeReflectorClusterID: string): BirdConfigInput => ({
      node: {name: 'controlplane', ip: '172.17.0.32', labels: {}, routeReflectorClusterID},
      asNumber: 64512,
      sessions: [{name: 'Node_172_17_0_40', peerIp: '172.17.0.40', peerAs: 64512, rrClient: true}],
      blocks: ['192.168.0.0/26'],
      pools: [{cidr: '192.168.0.0/16'}],
      logFile: '/tmp/bird.log',
    })
    assert.match(renderBirdConfig(input('244.0.0.1')), /rr cluster id 244\.0\.0\.1;/)
    refuses(() => renderBirdConfig(input('244.0.0.1; }\nlog "/tmp/x" all; protocol device {')), 'cluster id')
    refuses(() => renderBirdConfig({...input('244.0.0.1'), logFile: '/tmp/x" all; #'}), 'log file')
    refuses(() => renderBirdConfig({...input('244.0.0.1'), blocks: ['192.168.0.0/26 blackhole; }']}), 'block')
  })
})
