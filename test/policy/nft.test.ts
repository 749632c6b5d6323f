/**
 * The policy → nft compiler: the script text for typical policies, each script checked by nft
 * itself (`nft -c -f -` inside a throwaway namespace this test makes and deletes), and hostile
 * names that must never break a script or reach it.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {after, before, describe, it} from 'node:test'

import {compileNodePolicy, collapseCidrs, mergeRanges, type NodePolicyInput} from '../../src/policy/nft.js'
import {buildWorld} from '../../src/policy/world.js'
import {nftComment, nftInteger} from '../../src/render/nft.js'
import {parseCidr} from '../../src/resources/cidr.js'
import type {Resource} from '../../src/resources/types.js'
import {kernelSkipReason} from '../helpers/kernel.js'
import {gnetset, gnp, netset, np, sgnp, tier, wep} from './fixtures.js'

const skip = kernelSkipReason()
const netns = `nftc${process.pid % 10000}`
const a = wep('default', 'a', {app: 'web'}, '10.0.0.1', {ports: [{name: 'http', port: 8080, protocol: 'TCP'}, {name: 'dns', port: 53, protocol: 'UDP'}]})
const b = wep('default', 'b', {app: 'db'}, '10.0.0.2')
const workloads: NodePolicyInput['workloads'] = [{interfaceName: 'calia', name: 'a', namespace: 'default'}, {interfaceName: 'calib', name: 'b', namespace: 'default'}]

const compile = (resources: Resource[], input: Partial<NodePolicyInput> = {}) => compileNodePolicy(buildWorld({resources: [a, b, ...resources]}), {node: 'node1', workloads, ...input})

/** The body of one chain, as lines without indentation. */
function chain(script: string, name: string): string[] {
  const start = Math.max(script.indexOf(`\tchain ${name} {\n`), script.indexOf(`\tset ${name} {\n`))
  assert.ok(start >= 0, `no chain ${name} in\n${script}`)
  const body = script.slice(start).split('\n').slice(1)
  return body.slice(0, body.indexOf('\t}')).map((l) => l.trim())
}

/** nft's own verdict on a script, in the throwaway namespace. */
function nftCheck(script: string): void {
  if (skip) return
  const r = spawnSync('ip', ['netns', 'exec', netns, 'nft', '-c', '-f', '-'], {input: script, encoding: 'utf8'})
  assert.equal(r.status, 0, `nft -c refused the script: ${r.stderr}\n${script}`)
}

describe('policy → nft', () => {
  before(() => {
    if (!skip) assert.equal(spawnSync('ip', ['netns', 'add', netns]).status, 0)
  })
  after(() => {
    if (!skip) spawnSync('ip', ['netns', 'del', netns])
  })

  it('no policy: the kns profile allows, behind conntrack, in one replaceable table', () => {
    const script = compile([])
    assert.match(script, /^table inet netctl \{\}\ndelete table inet netctl\ntable inet netctl \{\n/)
    assert.deepEqual(chain(script, 'from-wl'), [
      'type filter hook forward priority filter; policy accept;',
      'ct state established,related accept',
      'ct state invalid drop',
      // Endpoints with the same policies and profiles share their chains.
      'iifname vmap { "calia" : jump from-wl0, "calib" : jump from-wl0 }',
    ])
    assert.deepEqual(chain(script, 'to-wl').slice(0, 1), ['type filter hook forward priority filter + 1; policy accept;'])
    assert.deepEqual(chain(script, 'to-wl0'), ['jump to-wl0-p0', 'drop comment "no profile allowed"'])
    assert.deepEqual(chain(script, 'to-wl0-p0'), ['accept comment "profile/kns.default/ingress/0"'])
    assert.equal(compile([]), script, 'the same world gives the same script')
    nftCheck(script)
  })

  it('default deny: the tier ends in a drop, profiles are never reached', () => {
    const script = compile([np('default', 'deny', {selector: 'all()', types: ['Ingress', 'Egress']})])
    assert.deepEqual(chain(script, 'to-wl0'), ['jump to-wl0-t0', 'jump to-wl0-p0', 'drop comment "no profile allowed"'])
    assert.deepEqual(chain(script, 'to-wl0-t0'), ['drop comment "end of tier default"'])
    assert.deepEqual(chain(script, 'from-wl0-t0'), ['drop comment "end of tier default"'])
    assert.doesNotMatch(script, /from-wl1/)
    nftCheck(script)
  })

  it('the same members make one named set, whichever rules and endpoints use them', () => {
    const script = compile([
      np('default', 'one', {selector: 'all()', ingress: [{action: 'Allow', protocol: 'TCP', source: {selector: 'all()'}}]}),
      np('default', 'two', {selector: 'all()', egress: [{action: 'Allow', destination: {selector: "has(app)"}}]}),
    ])
    assert.equal(script.match(/\tset /g)?.length, 1)
    assert.deepEqual(chain(script, 'sel4_0'), ['type ipv4_addr', 'flags interval', 'elements = { 10.0.0.1, 10.0.0.2 }'])
    assert.equal(script.match(/@sel4_0/g)?.length, 2)
    nftCheck(script)
  })

  it('allow from a selector to ports: the selected addresses as a set, ports and ranges merged', () => {
    const script = compile([
      // A NetworkPolicy's selectors are namespaced: the global set is not selected, the namespaced one is.
      gnetset('gext', {role: 'ext'}, ['203.0.113.0/24']),
      netset('default', 'ext', {role: 'ext'}, ['192.0.2.0/24', '192.0.2.7/32']),
      np('default', 'web', {selector: "app == 'web'", ingress: [{action: 'Allow', protocol: 'TCP', source: {selector: "app == 'db' || role == 'ext'"}, destination: {ports: [80, '1000:2000', 1500, 2001]}}]}),
    ])
    assert.deepEqual(chain(script, 'to-wl0-t0'), [
      'meta nfproto ipv4 meta l4proto 6 ip saddr @sel4_0 th dport { 80, 1000-2001 } accept comment "default/default/web/ingress/0"',
      'drop comment "end of tier default"',
    ])
    assert.deepEqual(chain(script, 'sel4_0'), ['type ipv4_addr', 'flags interval', 'elements = { 10.0.0.2, 192.0.2.0/24 }'])
    // b is not selected by the policy: no tier for it.
    assert.deepEqual(chain(script, 'to-wl1'), ['jump to-wl1-p0', 'drop comment "no profile allowed"'])
    nftCheck(script)
  })

  it('a selector that selects nothing never matches: the rule is left out', () => {
    const script = compile([np('default', 'web', {ingress: [{action: 'Allow', source: {selector: "app == 'nobody'"}}]})])
    assert.deepEqual(chain(script, 'to-wl0-t0'), ['drop comment "end of tier default"'])
    nftCheck(script)
  })

  it('tiers in order, Pass returns to the next tier, a Pass tier ends in return, Log goes on', () => {
    const script = compile([
      tier('security', 100, 'Pass'),
      gnp('sec', {tier: 'security', order: 1, selector: 'all()', ingress: [{action: 'Log'}, {action: 'Pass', source: {selector: "app == 'db'"}}, {action: 'Deny', protocol: 'UDP'}]}),
      np('default', 'app', {ingress: [{action: 'Allow', protocol: 'TCP'}]}),
    ])
    assert.deepEqual(chain(script, 'to-wl0'), ['jump to-wl0-t0', 'jump to-wl0-t1', 'jump to-wl0-p0', 'drop comment "no profile allowed"'])
    assert.deepEqual(chain(script, 'to-wl0-t0'), [
      'log prefix "calico-packet: " comment "security/sec/ingress/0"',
      'meta nfproto ipv4 ip saddr 10.0.0.2 return comment "security/sec/ingress/1"',
      'meta l4proto 17 drop comment "security/sec/ingress/2"',
      'return comment "end of tier security"',
    ])
    assert.deepEqual(chain(script, 'to-wl0-t1'), ['meta l4proto 6 accept comment "default/default/app/ingress/0"', 'drop comment "end of tier default"'])
    nftCheck(script)
  })

  it('staged policies are not rendered, and a tier of only staged ones is skipped', () => {
    const script = compile([tier('audit', 10), sgnp('watch', {tier: 'audit', selector: 'all()', ingress: [{action: 'Deny'}]})])
    assert.deepEqual(chain(script, 'to-wl0'), ['jump to-wl0-p0', 'drop comment "no profile allowed"'])
    assert.doesNotMatch(script, /audit|watch/)
    nftCheck(script)
  })

  it('named ports resolve on the destination endpoints, per protocol, OR-ed with numeric ports', () => {
    const script = compile([np('default', 'named', {ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: ['http', 'dns', 9000]}}]})])
    assert.deepEqual(chain(script, 'to-wl0-t0'), [
      'meta nfproto ipv4 meta l4proto 6 th dport 9000 accept comment "default/default/named/ingress/0"',
      'meta nfproto ipv4 meta l4proto 6 ip daddr . meta l4proto . th dport { 10.0.0.1 . 6 . 8080 } accept comment "default/default/named/ingress/0"',
      // (the UDP port dns is not in a TCP rule's set; a has no IPv6 address, so only the numeric port stays there)
      'meta nfproto ipv6 meta l4proto 6 th dport 9000 accept comment "default/default/named/ingress/0"',
      'drop comment "end of tier default"',
    ])
    nftCheck(script)
  })

  it('ICMP type and code, notICMP, and ports without a protocol only for ported protocols', () => {
    const script = compile([
      np('default', 'icmp', {
        ingress: [
          {action: 'Allow', protocol: 'ICMP', icmp: {type: 8, code: 0}},
          {action: 'Deny', protocol: 'ICMP', notICMP: {type: 3}},
          {action: 'Allow', protocol: 'ICMPv6', icmp: {type: 128}},
          {action: 'Allow', destination: {ports: [22]}},
        ],
      }),
    ])
    assert.deepEqual(chain(script, 'to-wl0-t0'), [
      'meta nfproto ipv4 meta l4proto 1 icmp type . icmp code { 8 . 0 } accept comment "default/default/icmp/ingress/0"',
      'meta nfproto ipv4 meta l4proto 1 icmp type != 3 drop comment "default/default/icmp/ingress/1"',
      'meta nfproto ipv6 meta l4proto 58 icmpv6 type 128 accept comment "default/default/icmp/ingress/2"',
      'meta l4proto { 6, 17, 132, 136 } th dport 22 accept comment "default/default/icmp/ingress/3"',
      'drop comment "end of tier default"',
    ])
    nftCheck(script)
  })

  it('nets and notNets per IP version; a catch-all notNets or nets of the other version drop the rule', () => {
    const script = compile([
      netset('default', 'office', {zone: 'office'}, ['203.0.113.0/24']),
      np('default', 'nets', {
        egress: [
          {action: 'Allow', destination: {nets: ['198.51.100.0/24', '198.51.100.128/25', '2001:db8::/32'], notNets: ['198.51.100.7']}},
          {action: 'Deny', destination: {notNets: ['0.0.0.0/0']}},
          {action: 'Allow', destination: {nets: ['2001:db8::/64']}, ipVersion: 6},
          {action: 'Allow', destination: {selector: "zone == 'office'"}, source: {notSelector: "app == 'db'"}},
        ],
      }),
    ])
    assert.deepEqual(chain(script, 'from-wl0-t0'), [
      'meta nfproto ipv4 ip daddr 198.51.100.0/24 ip daddr != 198.51.100.7 accept comment "default/default/nets/egress/0"',
      // (rule 0 has no IPv6 notNets, so Felix renders it for IPv4 only)
      'meta nfproto ipv6 ip6 daddr 2001:db8::/64 accept comment "default/default/nets/egress/2"',
      // notSelector in a NetworkPolicy is namespaced too: the sources are default's endpoints and sets but b.
      'meta nfproto ipv4 ip saddr @sel4_0 ip daddr 203.0.113.0/24 accept comment "default/default/nets/egress/3"',
      'drop comment "end of tier default"',
    ])
    nftCheck(script)
  })

  it('an interface without a workload endpoint is dropped, an endpoint without profiles ends in a drop', () => {
    const lonely = wep('default', 'c', {}, '10.0.0.3', {profiles: []})
    const script = compileNodePolicy(buildWorld({resources: [lonely]}), {node: 'node1', workloads: [{interfaceName: 'calic', name: 'c', namespace: 'default'}, {interfaceName: 'calid', name: 'gone', namespace: 'default'}, {interfaceName: 'calie'}]})
    assert.match(script, /iifname vmap \{ "calic" : jump from-wl0, "calid" : drop, "calie" : drop \}/)
    assert.deepEqual(chain(script, 'to-wl0'), ['drop comment "no profiles"'])
    nftCheck(script)
  })

  it('natOutgoing: from the NAT pools to outside every pool, leaving the uplink', () => {
    const script = compile([], {pools: [{cidr: '192.168.0.0/16', natOutgoing: true}, {cidr: '10.10.0.0/16', natOutgoing: false}, {cidr: '10.20.0.0/16', natOutgoing: true, disabled: true}, {cidr: 'fd00::/64', natOutgoing: true}]})
    assert.deepEqual(chain(script, 'nat-outgoing'), [
      'type nat hook postrouting priority srcnat; policy accept;',
      'oifname "eth0" ip saddr 192.168.0.0/16 ip daddr != { 10.10.0.0/16, 10.20.0.0/16, 192.168.0.0/16 } masquerade comment "natOutgoing"',
      'oifname "eth0" ip6 saddr fd00::/64 ip6 daddr != fd00::/64 masquerade comment "natOutgoing"',
    ])
    assert.doesNotMatch(compile([], {pools: [{cidr: '192.168.0.0/16', natOutgoing: false}]}), /nat-outgoing/)
    nftCheck(script)
  })

  it('hostile names and labels never break the script nor reach it', () => {
    const evil = 'x" ; flush ruleset ; add rule inet filter input accept comment "\n}'
    const hostile: Resource[] = [
      {...wep('default', 'h', {app: evil, [`k/${'a'.repeat(60)}`]: '"'}, '10.0.0.9'), metadata: {name: 'h', namespace: 'default', labels: {app: evil}}},
      tier('t"}\nflush ruleset', 5),
      gnp('p"; flush ruleset #', {tier: 't"}\nflush ruleset', selector: `app == '${evil.replace(/'/g, '')}'`, ingress: [{action: 'Allow', source: {selector: `app == '${evil.replace(/'/g, '')}'`}}]}),
      np('default', `n${'\\'.repeat(300)}`, {ingress: [{action: 'Deny', source: {nets: ['10.0.0.0/8; flush ruleset']}}]}),
      {apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: {name: 'kns.default'}, spec: {labelsToApply: {'pcns.x': evil}, ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: ['"; flush', 70000]}}]}},
    ]
    const script = compileNodePolicy(buildWorld({resources: [a, ...hostile]}), {node: 'node1', workloads: [{interfaceName: 'calia', name: 'a', namespace: 'default'}, {interfaceName: 'calih', name: 'h', namespace: 'default'}]})
    // Whatever the names hold stays inside sanitised comments: outside the quotes, nothing of them.
    assert.doesNotMatch(script.replace(/"[^"\n]*"/g, '""'), /flush|ruleset|add rule/)
    for (const line of script.split('\n')) assert.equal((line.match(/"/g) ?? []).length % 2, 0, `unbalanced quotes in ${line}`)
    nftCheck(script)
    // A hostile interface name is refused outright, never written.
    assert.throws(() => compileNodePolicy(buildWorld({resources: [a]}), {node: 'node1', workloads: [{interfaceName: 'x" accept', name: 'a', namespace: 'default'}]}), /refusing to write/)
  })

  it('nftInteger and nftComment: only inert tokens', () => {
    for (const value of [-1, 256, 1.5, '8', NaN, null]) assert.throws(() => nftInteger(value, 0, 255), /refusing to write/)
    assert.equal(nftInteger(255, 0, 255), '255')
    for (const value of ['a"b', 'a\\b', 'a\nb', 'a\u0000b', '}; flush ruleset', 'é'.repeat(500)]) {
      const out = nftComment(value)
      assert.match(out, /^"[A-Za-z0-9 ._:/@=+,-]{0,120}"$/, `comment of ${JSON.stringify(value)}`)
    }
  })

  it('set helpers: contained prefixes and overlapping ranges merge', () => {
    const cidrs = ['10.0.0.0/8', '10.1.2.3/32', '10.0.0.0/8', '192.0.2.0/24', '2001:db8::/32', '2001:db8::1/128'].map((c) => parseCidr(c)!)
    assert.deepEqual(collapseCidrs(cidrs).map((c) => `${c.network}/${c.prefix}`), [`${parseCidr('10.0.0.0/8')!.network}/8`, `${parseCidr('192.0.2.0/24')!.network}/24`, `${parseCidr('2001:db8::/32')!.network}/32`])
    assert.deepEqual(mergeRanges([{min: 5, max: 9}, {min: 1, max: 3}, {min: 4, max: 4}, {min: 20, max: 30}, {min: 25, max: 26}]), [{min: 1, max: 9}, {min: 20, max: 30}])
  })

  it('a lab node\'s script (src/lab/daemons/policy.ts) takes the WorkloadEndpoint on this node with the pod\'s interface, and every pool for natOutgoing', async () => {
    const {compileLabPolicy, natPools} = await import('../../src/lab/daemons/policy.js')
    const here = wep('default', 'pod-a', {}, '192.168.0.1', {node: 'n1', interfaceName: 'cali1'})
    // Same interface name on another node: not this pod's endpoint.
    const elsewhere = wep('default', 'pod-x', {}, '192.168.0.99', {node: 'n2', interfaceName: 'cali2'})
    const world = buildWorld({resources: [here, elsewhere, np('default', 'deny', {selector: 'all()'})]})
    const cluster = {
      lab: 'x', flavor: 'calico', nodes: [{name: 'n1', netns: 'nc-x.n-n1'}],
      pods: [{name: 'pod-a', node: 'n1', hostIf: 'cali1'}, {name: 'pod-b', node: 'n1', hostIf: 'cali2'}, {name: 'pod-c', node: 'n2', hostIf: 'cali3'}],
    } as unknown as Parameters<typeof compileLabPolicy>[1]
    const pools = natPools([{apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name: 'p'}, spec: {cidr: '192.168.0.0/16', natOutgoing: true}}])
    assert.deepEqual(pools, [{cidr: '192.168.0.0/16', natOutgoing: true, disabled: false}])
    const script = compileLabPolicy(world, cluster, pools).get('n1')!
    assert.match(script, /iifname vmap \{ "cali1" : jump from-wl0, "cali2" : drop \}/)
    assert.match(script, /oifname "eth0" ip saddr 192\.168\.0\.0\/16 ip daddr != 192\.168\.0\.0\/16 masquerade/)
    assert.doesNotMatch(script, /cali3/)
    nftCheck(script)
  })

  it('a flannel node (Canal): bridge ports marked and pinned to their pod address, egress by mark, ingress by address via cni0, flanneld IPMASQ', async () => {
    const {compileLabPolicy} = await import('../../src/lab/daemons/policy.js')
    const here = wep('default', 'pod-a', {}, '10.244.1.2', {node: 'n1', interfaceName: 'veth0a'})
    const world = buildWorld({resources: [here, np('default', 'deny', {selector: 'all()'})]})
    const cluster = {
      lab: 'x', flavor: 'flannel', nodes: [{name: 'n1', netns: 'nc-x.n-n1', blocks: ['10.244.1.0/24']}],
      pods: [{name: 'pod-a', node: 'n1', hostIf: 'veth0a', ip: '10.244.1.2'}, {name: 'pod-b', node: 'n1', hostIf: 'veth0b', ip: '10.244.1.3'}],
      pool: {spec: {cidr: '10.244.0.0/16'}},
    } as unknown as Parameters<typeof compileLabPolicy>[1]
    const script = compileLabPolicy(world, cluster, [{cidr: '10.244.0.0/16', natOutgoing: true}]).get('n1')!
    assert.deepEqual(chain(script, 'from-wl').slice(3), ['iifname "cni0" meta mark and 0xffff0000 vmap { 0x00010000 : jump from-wl0, 0x00020000 : drop }'])
    assert.deepEqual(chain(script, 'to-wl').slice(3), ['oifname "cni0" ip daddr vmap { 10.244.1.2 : jump to-wl0, 10.244.1.3 : drop }'])
    assert.deepEqual(chain(script, 'ports').slice(1), ['iifname vmap { "veth0a" : jump port0, "veth0b" : jump port1 }'])
    assert.deepEqual(chain(script, 'port0'), [
      'ether type ip ip saddr != 10.244.1.2 drop comment "not the pod address"',
      'ether type arp arp saddr ip != 10.244.1.2 drop comment "not the pod address"',
      'meta mark set 0x00010000',
    ])
    assert.deepEqual(chain(script, 'flannel-postrtg').slice(1), [
      'meta mark 0x00004000 return comment "flanneld masq"',
      'ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return comment "flanneld masq"',
      'ip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return comment "flanneld masq"',
      'ip saddr != 10.244.1.0/24 ip daddr 10.244.0.0/16 return comment "flanneld masq"',
      'ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random comment "flanneld masq"',
      'ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random comment "flanneld masq"',
    ])
    // Calico's natOutgoing is not a flannel node's: flanneld masquerades.
    assert.doesNotMatch(script, /nat-outgoing/)
    assert.match(script, /^table bridge netctl \{\}\ndelete table bridge netctl\n/m)
    nftCheck(script)
  })
})
