/** Switching encapsulation on a running calico lab, proven on the wire (root; tcpdump). */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {captureDuring} from '../helpers/capture.js'
import {repoRoot, runCli, tempDir} from '../helpers/cli.js'
import {pingDuring} from '../../src/lab/inspect/ping.js'
import {processStartTime} from '../../src/lab/daemons/proc.js'
import {readOwned} from '../../src/lab/state.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const tag = `v${process.pid % 10000}`
const lab = `${tag}x`

/** A bounded capture on the underlay bridge while `during` runs. */
const capture = (netns: string, filter: string, during: () => Promise<unknown>, flags: string[] = []) =>
  captureDuring(netns, {iface: 'br0', filter, count: 4, seconds: 5, flags: ['-v', ...flags]}, during)

describe('encapsulation switched live (calico, real BIRD)', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const ping = () => netctl(['lab', 'exec', 'busybox-controlplane-0', '--', 'ping', '-c2', '-i', '0.2', '-W1', '192.168.0.65'])
  const routes = async () => (await netctl(['lab', 'exec', 'controlplane', '--', 'ip', 'route'])).stdout
  before(async () => {
    state = tempDir()
    const up = await netctl(['lab', 'up', '--name', lab, '--pods-per-node', '1', '--encapsulation', 'None'])
    assert.equal(up.code, 0, up.stderr)
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
  })

  it('no encapsulation: plain IP with pod addresses on the underlay, BIRD\'s route', async () => {
    assert.match(await routes(), /^192\.168\.0\.64\/26 via 172\.17\.0\.40 dev eth0 proto bird $/m)
    const wire = await capture(`nc-${lab}.underlay`, 'icmp', ping)
    assert.match(wire, /192\.168\.0\.1 > 192\.168\.0\.65: ICMP echo request/)
    assert.match(wire, /ttl 63/, 'one hop (the sending node) before the wire')
  })

  it('encap set vxlan: vxlan.calico, neighbour, fdb and onlink route; UDP 4789 VNI 4096 on the wire; pods at MTU 1450', async () => {
    const set = await netctl(['encap', 'set', 'vxlan', '--yes'])
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stderr, /Lab "\w+" reprogrammed: \d+ kernel changes/)
    assert.match(await routes(), /^192\.168\.0\.64\/26 via 192\.168\.0\.64 dev vxlan\.calico onlink $/m)
    const node = JSON.parse((await netctl(['get', 'node', 'node01', '-o', 'json'])).stdout)
    assert.equal(node.spec.ipv4VXLANTunnelAddr, '192.168.0.64', 'calico-node records its tunnel address on the Node')
    assert.match(node.spec.vxlanTunnelMACAddr, /^66(:[0-9a-f]{2}){5}$/)
    const fdb = (await netctl(['lab', 'exec', 'controlplane', '--', 'bridge', 'fdb', 'show', 'dev', 'vxlan.calico'])).stdout
    assert.match(fdb, /^66(:[0-9a-f]{2}){5} dst 172\.17\.0\.40 self permanent/m)
    const neigh = (await netctl(['lab', 'exec', 'controlplane', '--', 'ip', 'neigh', 'show', 'dev', 'vxlan.calico'])).stdout
    assert.match(neigh, /^192\.168\.0\.64 lladdr 66(:[0-9a-f]{2}){5} PERMANENT/m)
    const wire = await capture(`nc-${lab}.underlay`, 'udp port 4789', ping)
    assert.match(wire, /172\.17\.0\.32\.\d+ > 172\.17\.0\.40\.4789: VXLAN, flags \[I\] \(0x08\), vni 4096/)
    assert.match(wire, /192\.168\.0\.1 > 192\.168\.0\.65: ICMP echo request/)
    const r = await ping()
    assert.match(r.stdout, /ttl=62/)
    const mtu = (await netctl(['lab', 'exec', 'busybox-controlplane-0', '--', 'ip', 'link', 'show', 'eth0'])).stdout
    assert.match(mtu, /mtu 1450/)
  })

  it('loses no packet of a 100 pps ping across switches of encapsulation and of BGP itself', async () => {
    const switches = [['encap', 'set', 'none', '--yes'], ['encap', 'set', 'vxlan', '--yes'], ['ippool', 'set', 'default-ipv4-ippool', '--vxlan', 'Never'], ['lab', 'up', '--name', lab, '--pods-per-node', '1', '--bgp', 'off'], ['lab', 'up', '--name', lab, '--pods-per-node', '1', '--bgp', 'on']]
    const {sent, lost} = await pingDuring(`nc-${lab}.p-busybox-controlplane-0`, '192.168.0.65', async () => {
      for (const args of switches) assert.equal((await netctl(args)).code, 0, args.join(' '))
    })
    console.log(`# ${switches.length} live switches (none, vxlan, none, BGP off, BGP on) under a 100 pps ping: ${lost} of ${sent} lost`)
    assert.equal(lost, 0)
    assert.equal(JSON.parse((await netctl(['get', 'node', 'node01', '-o', 'json'])).stdout).spec.ipv4VXLANTunnelAddr, undefined)
    assert.match(await routes(), /^192\.168\.0\.64\/26 via 172\.17\.0\.40 dev eth0 proto bird $/m)
    assert.equal((await netctl(['lab', 'ping', '--count', '1'])).code, 0)
  })

  it('IPIP is refused where the kernel has no ipip module, saying so', async () => {
    const r = await netctl(['ippool', 'set', 'default-ipv4-ippool', '--ipip', 'Always'])
    if (r.code === 0) {
      console.log('# this kernel has ipip: IPIP was switched on for real')
      assert.match(await routes(), /via 172\.17\.0\.40 dev tunl0 proto 80 onlink/, 'Felix\'s IPIP route (BIRD\'s only where BGPConfiguration gives it the pool)')
    } else {
      console.log('# IPIP skipped: this kernel has no ipip module (the IPIP plan is unit-tested in lab/plan.test.ts)')
      assert.equal(r.code, 1)
      assert.match(r.stderr, /lab "\w+" cannot carry out this change: this kernel cannot build the ipip encapsulation: it lacks ipip \(kernel module ipip: .*\); nothing was written\n/)
      assert.match(r.stderr, /VXLAN or no encapsulation work without it \(netctl encap set vxlan\|none --lab \w+\)/, 'the way back')
      const pool = JSON.parse((await netctl(['get', 'ippool', 'default-ipv4-ippool', '-o', 'json'])).stdout)
      assert.equal(pool.spec.ipipMode, 'Never', 'nothing was written')
      const encap = await netctl(['encap', 'set', 'ipip', '--yes'])
      assert.equal(encap.code, 1, 'encap set is refused the same way')
      assert.equal(encap.stdout, '', 'and shows no preview of a change the lab refuses')
      assert.equal((await netctl(['ippool', 'set', 'default-ipv4-ippool', '--nat-outgoing'])).code, 0, 'later writes still work')
    }
    assert.equal((await netctl(['encap', 'set', 'none', '--yes'])).code, 0)
    assert.equal((await netctl(['lab', 'ping', '--count', '1'])).code, 0)
  })
})

describe('flannel backends switched live', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const name = `${tag}f`
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const ping = () => netctl(['lab', 'exec', 'busybox-controlplane-0', '--', 'ping', '-c2', '-i', '0.2', '-W1', '10.244.1.2'])
  before(async () => {
    state = tempDir()
    assert.equal((await netctl(['lab', 'up', '--name', name, '--flavor', 'flannel', '--pods-per-node', '1'])).code, 0)
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${name}`))
    state.cleanup()
  })

  it('host-gw sends pod addresses bare; vxlan wraps them in UDP 8472 VNI 1; and back', async () => {
    const bare = await capture(`nc-${name}.underlay`, 'icmp', ping)
    assert.match(bare, /10\.244\.0\.2 > 10\.244\.1\.2: ICMP echo request/)
    const set = await netctl(['lab', 'set-backend', 'vxlan'])
    assert.equal(set.code, 0, set.stderr)
    const routes = (await netctl(['lab', 'exec', 'controlplane', '--', 'ip', 'route'])).stdout
    assert.match(routes, /^10\.244\.1\.0\/24 via 10\.244\.1\.0 dev flannel\.1 onlink $/m)
    const wrapped = await capture(`nc-${name}.underlay`, 'udp port 8472', ping)
    // tcpdump names UDP 8472 after OTV, which shares VXLAN's header: "instance 1" is VNI 1.
    assert.match(wrapped, /> 172\.17\.0\.40\.8472: (VXLAN|OTV), flags \[I\] \(0x08\), (vni|overlay 0, instance) 1\n/)
    assert.match(wrapped, /10\.244\.0\.2 > 10\.244\.1\.2: ICMP echo request/)
    assert.match(readFileSync(join(state.path, 'labs', name, 'controlplane', 'subnet.env'), 'utf8'), /FLANNEL_MTU=1450/)
    assert.equal((await netctl(['lab', 'set-backend', 'host-gw'])).code, 0)
    assert.match((await netctl(['lab', 'exec', 'controlplane', '--', 'ip', 'route'])).stdout, /^10\.244\.1\.0\/24 via 172\.17\.0\.40 dev eth0 $/m)
    assert.equal((await netctl(['lab', 'ping', '--count', '1'])).code, 0)
  })

  it('a Calico encapsulation on a flannel lab is refused with the command that does it, and nothing is written', async () => {
    const r = await netctl(['encap', 'set', 'vxlan', '--yes'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /is a flannel lab: flannel does not follow an IPPool's ipipMode or vxlanMode, so nothing was written\n  switch its backend instead: netctl lab set-backend vxlan --lab /)
    assert.equal(JSON.parse((await netctl(['get', 'ippool', 'default-ipv4-ippool', '-o', 'json'])).stdout).spec.vxlanMode, 'Never')
    const status = await netctl(['node', 'status'])
    assert.match(status.stderr, /is a flannel lab: flannel programs routes itself and runs no BGP/)
  })

  it('udp: flannel0 and a proxy per node; pod packets ride UDP 8285 and count two extra hops; the proxies end with the backend', async () => {
    const set = await netctl(['lab', 'set-backend', 'udp'])
    assert.equal(set.code, 0, set.stderr)
    const routes = (await netctl(['lab', 'exec', 'controlplane', '--', 'ip', 'route'])).stdout
    assert.match(routes, /^10\.244\.0\.0\/16 dev flannel0 proto kernel scope link src 10\.244\.0\.0 $/m, 'one route for the whole network')
    assert.doesNotMatch(routes, /10\.244\.1\.0\/24/)
    // Made by the proxy and then set up, as flanneld does: the kernel never saw its carrier change, so "state UNKNOWN".
    const flannel0 = (await netctl(['lab', 'exec', 'controlplane', '--', 'ip', '-d', 'link', 'show', 'flannel0'])).stdout
    assert.match(flannel0, /mtu 1472 .*state UNKNOWN .*\n.*\n\s+tun type tun pi off .*persist off/)
    assert.match(readFileSync(join(state.path, 'labs', name, 'controlplane', 'subnet.env'), 'utf8'), /FLANNEL_MTU=1472/)
    const proxies = () => readOwned(state.path, name).flatMap((o) => ('pid' in o && o.what.startsWith('flannel-udp-proxy ') ? [o] : []))
    assert.deepEqual(proxies().map((o) => o.what).sort(), ['flannel-udp-proxy controlplane', 'flannel-udp-proxy node01'])
    assert.ok(proxies().every((o) => processStartTime(o.pid) === o.start), 'both proxies run')
    // -x: the hex shows the pod addresses (0a f4 00 02 -> 0a f4 01 02) right after the outer IP and UDP headers.
    const wire = await capture(`nc-${name}.underlay`, 'udp port 8285', ping, ['-x'])
    assert.match(wire, /172\.17\.0\.32\.8285 > 172\.17\.0\.40\.8285: UDP, length 84/)
    assert.match(wire, /0x0020:\s+(\S{4}\s+){4}0af4 0002 0af4 0102/)
    assert.match((await ping()).stdout, /ttl=60/, 'each proxy is a hop, as flanneld\'s is')

    const backends = ['vxlan', 'host-gw', 'udp', 'host-gw', 'vxlan', 'udp', 'host-gw']
    const {sent, lost} = await pingDuring(`nc-${name}.p-busybox-controlplane-0`, '10.244.1.2', async () => {
      for (const backend of backends) assert.equal((await netctl(['lab', 'set-backend', backend])).code, 0, backend)
    })
    console.log(`# ${backends.length} live flannel backend switches (udp, ${backends.join(', ')}) under a 100 pps ping: ${lost} of ${sent} lost`)
    assert.equal(lost, 0)
    assert.deepEqual(proxies(), [], 'host-gw needs no proxy')
    assert.ok(readOwned(state.path, name).every((o) => !('pid' in o)), 'nothing left running')
  })
})

describe('netctl lab bench', {skip}, () => {
  it('measures pods against nodes in every mode, switching live, and restores the mode', async () => {
    const state = tempDir()
    const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
    const name = `${tag}b`
    try {
      assert.equal((await netctl(['lab', 'up', '--name', name, '--pods-per-node', '1', '--encapsulation', 'None'])).code, 0)
      const r = await netctl(['lab', 'bench', '--modes', '--seconds', '1', '--rounds', '1', '--json'])
      assert.equal(r.code, 0, r.stderr)
      const {rows, skipped} = JSON.parse(r.stdout) as {rows: Array<{mode: string; ratio: number; pods: {gbps: number; rttMs: number}}>; skipped: Array<{mode: string; reason: string}>}
      assert.deepEqual(rows.map((row) => row.mode).concat(skipped.map((s) => s.mode)).sort(), ['ipip', 'none', 'vxlan'])
      for (const row of rows) {
        assert.ok(row.pods.gbps > 0 && row.pods.rttMs > 0)
        console.log(`# ${row.mode}: pods ${row.pods.gbps.toFixed(2)} Gbit/s, ${row.ratio.toFixed(2)}x the nodes'`)
      }
      for (const s of skipped) console.log(`# ${s.mode} skipped: ${s.reason}`)
      const pool = JSON.parse((await netctl(['get', 'ippool', 'default-ipv4-ippool', '-o', 'json'])).stdout)
      assert.deepEqual([pool.spec.ipipMode, pool.spec.vxlanMode], ['Never', 'Never'], 'the original mode is back')
    } finally {
      await netctl(['lab', 'down', '--all'])
      removeNamespaces(namespacesWithPrefix(`nc-${name}`))
      state.cleanup()
    }
  })
})

describe('calico CrossSubnet across two underlay subnets', {skip}, () => {
  it('tunnels only to the node in the other subnet; the same subnet gets Felix\'s plain route (a VXLAN pool is all Felix\'s)', async () => {
    const state = tempDir()
    const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
    const name = `${tag}c`
    try {
      const up = await netctl(['lab', 'up', '--name', name, '-f', join(repoRoot, 'examples/cross-subnet-lab.yaml')])
      assert.equal(up.code, 0, up.stderr)
      const set = await netctl(['encap', 'set', 'vxlan', '--cross-subnet', '--yes'])
      assert.equal(set.code, 0, set.stderr)
      const routes = (await netctl(['lab', 'exec', 'controlplane', '--', 'ip', 'route'])).stdout
      assert.match(routes, /^192\.168\.0\.64\/26 via 172\.17\.0\.40 dev eth0 proto 80 $/m, 'node01 shares the subnet: no tunnel')
      assert.doesNotMatch(routes, /proto bird/, 'BIRD keeps out of a VXLAN pool, as confd\'s kernel filter has it')
      assert.match(routes, /^192\.168\.0\.128\/26 via 192\.168\.0\.128 dev vxlan\.calico onlink $/m, 'node02 is across the router: VXLAN')
      const matrix = await netctl(['lab', 'ping', '--count', '1'])
      assert.equal(matrix.code, 0, matrix.stdout)
      const far = await netctl(['lab', 'exec', 'busybox-a', '--', 'ping', '-c1', '-W2', '192.168.0.129'])
      assert.match(far.stdout, /ttl=62/, 'encapsulated, the router hop does not show in the inner TTL')
    } finally {
      await netctl(['lab', 'down', '--all'])
      removeNamespaces(namespacesWithPrefix(`nc-${name}`))
      state.cleanup()
    }
  })
})
