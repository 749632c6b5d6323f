import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {applyWaves} from '../../src/dataplane/apply.js'
import {batchSize, diffNetns, planLines, planSize} from '../../src/dataplane/diff.js'
import {emptyNetns, type NetnsSpec} from '../../src/dataplane/model.js'
import {emptyObserved, parseFdb, parseIpBatch, type ObservedState} from '../../src/dataplane/observe.js'

const fresh = (): ObservedState => ({...emptyObserved(), links: [{name: 'lo', up: false}]})

function calicoNode(): NetnsSpec {
  const spec = emptyNetns('node')
  spec.links.push({name: 'eth0', kind: 'veth', createdIn: 'underlay', mtu: 1500})
  spec.links.push({name: 'cali9861acf9f07', kind: 'veth', peer: {name: 'eth0', netns: 'pod'}, mac: 'ee:ee:ee:ee:ee:ee', mtu: 1500})
  spec.addresses.push({dev: 'eth0', cidr: '172.17.0.32/16'})
  spec.routes.push(
    {dst: '192.168.49.66/32', dev: 'cali9861acf9f07', scope: 'link'},
    {dst: 'default', via: '172.17.0.1', dev: 'eth0'},
    {dst: '192.168.49.64/26', type: 'blackhole'},
  )
  spec.sysctls['net.ipv4.conf.cali9861acf9f07.proxy_arp'] = '1'
  return spec
}

describe('dataplane diff', () => {
  it('builds a fresh calico node in one ordered batch', () => {
    const plan = diffNetns(calicoNode(), fresh())
    assert.deepEqual(planLines(plan).ip, [
      'link add cali9861acf9f07 address ee:ee:ee:ee:ee:ee mtu 1500 type veth peer name eth0 mtu 1500 netns pod',
      'link set dev lo up',
      'link set dev eth0 mtu 1500',
      'link set dev eth0 up',
      'link set dev cali9861acf9f07 up',
      'addr add 172.17.0.32/16 dev eth0',
      'route replace 192.168.49.66/32 dev cali9861acf9f07 scope link',
      'route replace blackhole 192.168.49.64/26',
      'route replace default via 172.17.0.1 dev eth0',
    ])
    assert.deepEqual(plan.sysctls, {'net.ipv4.conf.cali9861acf9f07.proxy_arp': '1'})
  })

  it('changes nothing when the namespace already matches', () => {
    const observed: ObservedState = {
      links: [
        {name: 'lo', up: true},
        {name: 'eth0', kind: 'veth', mtu: 1500, up: true},
        {name: 'cali9861acf9f07', kind: 'veth', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1500, up: true},
      ],
      addresses: [{dev: 'eth0', cidr: '172.17.0.32/16'}],
      routes: [
        {dst: '0.0.0.0/0', via: '172.17.0.1', dev: 'eth0', proto: 'boot'},
        {dst: '172.17.0.0/16', dev: 'eth0', proto: 'kernel', scope: 'link', src: '172.17.0.32'},
        {dst: '192.168.49.64/26', type: 'blackhole', proto: 'boot'},
        {dst: '192.168.49.66/32', dev: 'cali9861acf9f07', scope: 'link', proto: 'boot'},
      ],
      neighbours: [],
      fdb: [],
      sysctls: {'net.ipv4.conf.cali9861acf9f07.proxy_arp': '1'},
    }
    const plan = diffNetns(calicoNode(), observed)
    assert.equal(planSize(plan), 0, JSON.stringify(plan))
  })

  it('switches a route to a tunnel device and drops what is no longer wanted', () => {
    const want = emptyNetns('node')
    want.links.push({name: 'vxlan.calico', kind: 'vxlan', vxlan: {id: 4096, port: 4789, learning: false}, mac: '66:aa:99:2f:dc:24', mtu: 1450})
    want.routes.push({dst: '192.168.196.128/26', via: '192.168.196.128', dev: 'vxlan.calico', onlink: true})
    want.neighbours.push({dev: 'vxlan.calico', ip: '192.168.196.128', lladdr: '66:aa:99:00:00:01'})
    want.fdb.push({dev: 'vxlan.calico', mac: '66:aa:99:00:00:01', dst: '172.17.0.40'})
    const have: ObservedState = {
      ...emptyObserved(),
      links: [{name: 'lo', up: true}, {name: 'vxlan.calico', kind: 'vxlan', vxlan: {id: 1, port: 8472, learning: false}, up: true}],
      routes: [
        {dst: '192.168.196.128/26', via: '172.17.0.40', dev: 'eth0', proto: 'boot'},
        {dst: '10.9.0.0/16', via: '172.17.0.1', dev: 'eth0', proto: 'bird'},
      ],
      fdb: [{dev: 'vxlan.calico', mac: '66:aa:99:00:00:09', dst: '172.17.0.99'}],
    }
    const plan = diffNetns(want, have, {foreignRouteProtos: ['kernel', 'bird']})
    assert.deepEqual(plan.make, {
      ip: [
        'link del vxlan.calico',
        'link add vxlan.calico address 66:aa:99:2f:dc:24 mtu 1450 type vxlan id 4096 dstport 4789 nolearning',
        'link set dev vxlan.calico up',
        'neigh replace 192.168.196.128 lladdr 66:aa:99:00:00:01 dev vxlan.calico nud permanent',
      ],
      // The old device's fdb entry went with it: nothing to delete.
      bridge: ['fdb replace 66:aa:99:00:00:01 dev vxlan.calico dst 172.17.0.40 self permanent'],
    })
    assert.deepEqual(plan.switch, {ip: ['route replace 192.168.196.128/26 via 192.168.196.128 dev vxlan.calico onlink'], bridge: []})
    assert.deepEqual(plan.break, {ip: [], bridge: []})
  })

  it('makes before it breaks: the new device first, routes next, the old device last', () => {
    const want = emptyNetns('node')
    want.links.push({name: 'eth0', kind: 'veth', createdIn: 'underlay'}, {name: 'flannel0', kind: 'tun', mtu: 1472})
    want.addresses.push({dev: 'flannel0', cidr: '10.244.0.0/16'})
    want.routes.push({dst: '10.244.2.0/24', via: '172.17.0.48', dev: 'eth0'})
    const have: ObservedState = {
      ...emptyObserved(),
      links: [{name: 'lo', up: true}, {name: 'eth0', kind: 'veth', up: true}, {name: 'flannel.1', kind: 'vxlan', vxlan: {id: 1, port: 8472, learning: false}, up: true}],
      routes: [
        {dst: '10.244.1.0/24', via: '172.17.0.40', dev: 'eth0', proto: 'boot'},
        {dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'flannel.1', onlink: true, proto: 'boot'},
        {dst: '10.244.3.0/24', via: '10.244.3.0', dev: 'flannel.1', onlink: true, proto: 'boot'},
      ],
      neighbours: [{dev: 'flannel.1', ip: '10.244.2.0', lladdr: '6a:00:00:00:00:02'}],
      fdb: [{dev: 'flannel.1', mac: '6a:00:00:00:00:02', dst: '172.17.0.48'}],
    }
    const plan = diffNetns(want, have)
    // flannel0 is the proxy's (it makes it before this runs): only configured here.
    assert.deepEqual(plan.make, {ip: ['link set dev flannel0 mtu 1472', 'link set dev flannel0 up', 'addr add 10.244.0.0/16 dev flannel0'], bridge: []})
    // flannel.1's routes leave it in the switch, while it still decapsulates what peers send; its neighbour and fdb entry go with it.
    assert.deepEqual(plan.switch, {ip: ['route replace 10.244.2.0/24 via 172.17.0.48 dev eth0', 'route del 10.244.1.0/24 via 172.17.0.40 dev eth0 proto boot', 'route del 10.244.3.0/24 via 10.244.3.0 dev flannel.1 proto boot'], bridge: []})
    assert.deepEqual(plan.break, {ip: ['link del flannel.1'], bridge: []})
  })

  it('leaves a TUN device to the process that holds it: nothing of flannel0 is deleted, it goes with its proxy', () => {
    const want = emptyNetns('node')
    want.links.push({name: 'eth0', kind: 'veth', createdIn: 'underlay'})
    want.routes.push({dst: '10.244.1.0/24', via: '172.17.0.40', dev: 'eth0'})
    const have: ObservedState = {
      ...emptyObserved(),
      links: [{name: 'lo', up: true}, {name: 'eth0', kind: 'veth', up: true}, {name: 'flannel0', kind: 'tun', up: true}],
      addresses: [{dev: 'flannel0', cidr: '10.244.0.0/16'}],
      routes: [{dst: '10.244.0.0/16', dev: 'flannel0', proto: 'kernel'}],
    }
    const plan = diffNetns(want, have)
    assert.deepEqual(plan.switch.ip, ['route replace 10.244.1.0/24 via 172.17.0.40 dev eth0'])
    assert.deepEqual(plan.break, {ip: [], bridge: []})
  })

  it('replaces a route by one of another type in the switch: the old one goes just before', () => {
    const want = emptyNetns('node')
    want.routes.push({dst: '192.168.0.64/26', via: '172.17.0.40', dev: 'eth0'})
    const have: ObservedState = {...emptyObserved(), links: [{name: 'lo', up: true}], routes: [{dst: '192.168.0.64/26', type: 'blackhole', proto: 'boot'}]}
    const plan = diffNetns(want, have)
    assert.deepEqual(plan.switch.ip, ['route del blackhole 192.168.0.64/26 proto boot', 'route replace 192.168.0.64/26 via 172.17.0.40 dev eth0'])
    assert.deepEqual(plan.break.ip, [])
  })

  it('replaces a route BIRD left behind with its own, so that BIRD\'s withdrawal cannot take it', () => {
    const want = emptyNetns('node')
    want.routes.push({dst: '192.168.0.64/26', via: '172.17.0.40', dev: 'eth0'})
    const have: ObservedState = {...emptyObserved(), links: [{name: 'lo', up: true}], routes: [{dst: '192.168.0.64/26', via: '172.17.0.40', dev: 'eth0', proto: 'bird'}]}
    assert.deepEqual(diffNetns(want, have).switch.ip, ['route replace 192.168.0.64/26 via 172.17.0.40 dev eth0'])
  })

  it('deletes its own route by metric, via and protocol, never BIRD\'s beside it', () => {
    const have: ObservedState = {
      ...emptyObserved(),
      links: [{name: 'lo', up: true}],
      routes: [
        {dst: '192.168.0.64/26', via: '172.17.0.40', dev: 'eth0', proto: 'bird'},
        {dst: '192.168.0.64/26', via: '192.168.0.64', dev: 'vxlan.calico', onlink: true, proto: 'boot', metric: 1},
      ],
    }
    const plan = diffNetns(emptyNetns('node'), have, {foreignRouteProtos: ['kernel', 'bird']})
    assert.deepEqual(plan.switch.ip, ['route del 192.168.0.64/26 via 192.168.0.64 dev vxlan.calico proto boot metric 1'])
  })

  it('deletes links, addresses, neighbours and routes it no longer wants, but not the kernel\'s', () => {
    const have: ObservedState = {
      ...emptyObserved(),
      links: [{name: 'lo', up: true}, {name: 'caliold', kind: 'veth', up: true}, {name: 'tunl0', kind: 'ipip', up: false}],
      addresses: [{dev: 'lo', cidr: '127.0.0.1/8'}, {dev: 'eth0', cidr: '10.0.0.5/24'}],
      routes: [{dst: '192.168.0.9/32', dev: 'caliold', scope: 'link', proto: 'boot'}, {dst: '10.0.0.0/24', dev: 'eth0', proto: 'kernel'}],
      neighbours: [{dev: 'eth0', ip: '10.0.0.1', lladdr: 'aa:bb:cc:dd:ee:ff'}],
    }
    const plan = diffNetns(emptyNetns('x'), have)
    assert.deepEqual(plan.switch.ip, ['route del 192.168.0.9/32 dev caliold proto boot'])
    assert.deepEqual(plan.break.ip, ['neigh del 10.0.0.1 dev eth0', 'addr del 10.0.0.5/24 dev eth0', 'link del caliold'])
    assert.equal(batchSize(plan.make), 0)
  })

  it('orders namespaces so a veth is made before its far end is configured', () => {
    const underlay = emptyNetns('underlay')
    underlay.links.push({name: 'un0', kind: 'veth', peer: {name: 'eth0', netns: 'node'}})
    const pod = emptyNetns('pod')
    pod.links.push({name: 'eth0', kind: 'veth', createdIn: 'node'})
    const waves = applyWaves([pod, calicoNode(), underlay]).map((w) => w.map((s) => s.netns))
    assert.deepEqual(waves, [['underlay'], ['node'], ['pod']])
  })

  it('sets a transmit queue length and an address\'s broadcast where they differ, and leaves them when they do not', () => {
    const spec = emptyNetns('node')
    spec.links.push({name: 'cali1', kind: 'veth', peer: {name: 'eth0', netns: 'pod'}, txqueuelen: 0})
    spec.addresses.push({dev: 'cni0', cidr: '10.244.0.1/24', broadcast: true})
    const seen = (txqlen: number, broadcast?: string): ObservedState => ({
      ...emptyObserved(),
      links: [{name: 'lo', up: true}, {name: 'cali1', kind: 'veth', up: true, txqlen}],
      addresses: [{dev: 'cni0', cidr: '10.244.0.1/24', ...(broadcast ? {broadcast} : {})}],
    })
    assert.deepEqual(diffNetns(spec, seen(1000)).make.ip, ['link set dev cali1 txqueuelen 0', 'addr replace 10.244.0.1/24 brd + dev cni0'])
    assert.deepEqual(planLines(diffNetns(spec, seen(0, '10.244.0.255'))).ip, [])
    assert.deepEqual(diffNetns(spec, fresh()).make.ip.slice(0, 1), ['link add cali1 txqueuelen 0 type veth peer name eth0 netns pod'])
  })

  it('parses ip -d -j batch output and bridge fdb JSON', () => {
    const text = [
      JSON.stringify([{ifname: 'lo', flags: ['LOOPBACK', 'UP']}, {ifname: 'vxlan.calico', address: '66:aa:99:2f:dc:24', mtu: 1450, flags: ['BROADCAST', 'UP'], linkinfo: {info_kind: 'vxlan', info_data: {id: 4096, port: 4789, learning: false}}}]),
      JSON.stringify([{ifname: 'eth0', addr_info: [{family: 'inet', local: '172.17.0.32', prefixlen: 16}, {family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link'}]}]),
      JSON.stringify([{dst: 'default', gateway: '172.17.0.1', dev: 'eth0', protocol: 'boot', flags: []}, {type: 'blackhole', dst: '192.168.49.64/26', protocol: 'bird', flags: []}, {dst: '192.168.196.128/26', gateway: '172.17.0.40', dev: 'tunl0', protocol: 'bird', flags: ['onlink']}]),
      JSON.stringify([{dst: '192.168.196.128', dev: 'vxlan.calico', lladdr: '66:aa:99:00:00:01', state: ['PERMANENT']}]),
    ].join('\n')
    const parsed = parseIpBatch(text)
    assert.deepEqual(parsed.links[1], {name: 'vxlan.calico', kind: 'vxlan', mac: '66:aa:99:2f:dc:24', mtu: 1450, master: undefined, up: true, txqlen: 0, vxlan: {id: 4096, port: 4789, local: undefined, learning: false}})
    assert.deepEqual(parsed.addresses, [{dev: 'eth0', cidr: '172.17.0.32/16'}])
    assert.deepEqual(parsed.routes, [
      {dst: '0.0.0.0/0', via: '172.17.0.1', dev: 'eth0', proto: 'boot'},
      {dst: '192.168.49.64/26', type: 'blackhole', proto: 'bird'},
      {dst: '192.168.196.128/26', via: '172.17.0.40', dev: 'tunl0', onlink: true, proto: 'bird'},
    ])
    assert.deepEqual(parsed.neighbours, [{dev: 'vxlan.calico', ip: '192.168.196.128', lladdr: '66:aa:99:00:00:01'}])
    assert.deepEqual(parseFdb(JSON.stringify([{mac: '66:aa:99:00:00:01', ifname: 'vxlan.calico', dst: '172.17.0.40', flags: ['self'], state: 'permanent'}, {mac: '33:33:00:00:00:01', ifname: 'eth0', flags: ['self'], state: 'permanent'}])), [
      {dev: 'vxlan.calico', mac: '66:aa:99:00:00:01', dst: '172.17.0.40'},
    ])
  })
})
