/** netctl ipam on a running 2-node calico lab (root): its pods' addresses are real IPAM allocations. */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const lab = `ipam${process.pid % 100000}`

describe('ipam on a calico lab', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  before(async () => {
    state = tempDir()
    // No encapsulation first: the tunnel addresses join IPAM when encap set turns VXLAN on below.
    const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '2', '--pods-per-node', '2', '--bgp', 'off', '--encapsulation', 'None'])
    assert.equal(up.code, 0, up.stderr)
  })
  after(async () => {
    await netctl(['lab', 'down', lab])
    removeNamespaces(namespacesWithPrefix(`nc-${lab}.`))
    state.cleanup()
  })

  it('ipam show --show-blocks: the pool and each node\'s block with its pods', async () => {
    const show = await netctl(['ipam', 'show', '--show-blocks', '--lab', lab])
    assert.equal(show.code, 0, show.stderr)
    assert.equal(show.stdout, [
      '+----------+-----------------+-----------+------------+--------------+--------------+',
      '| GROUPING | CIDR            | IPS TOTAL | IPS IN USE | IPS RESERVED | IPS FREE     |',
      '+----------+-----------------+-----------+------------+--------------+--------------+',
      '| IP Pool  | 192.168.0.0/16  |     65536 |     4 (0%) |       0 (0%) | 65532 (100%) |',
      '| Block    | 192.168.0.0/26  |        64 |     2 (3%) |       0 (0%) |     62 (97%) |',
      '| Block    | 192.168.0.64/26 |        64 |     2 (3%) |       0 (0%) |     62 (97%) |',
      '+----------+-----------------+-----------+------------+--------------+--------------+',
      '',
    ].join('\n'))
    const ip = await netctl(['ipam', 'show', '--ip', '192.168.0.65', '--lab', lab])
    assert.match(ip.stdout, /^IP 192\.168\.0\.65 is in use\nHandle ID: k8s-pod-network\.[0-9a-f]{64}\nActive Owner Attributes:\n  namespace: default\n  node: node01\n  pod: busybox-node01-0\n/)
    // The address IPAM gave is the one the pod has.
    const addr = await netctl(['lab', 'exec', '--lab', lab, 'busybox-node01-0', '--', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])
    assert.match(addr.stdout, /inet 192\.168\.0\.65\/32/)
  })

  it('ipam check on the healthy lab: no problems', async () => {
    const check = await netctl(['ipam', 'check', '--lab', lab])
    assert.equal(check.code, 0, check.stderr)
    for (const line of ['Found 2 IPAM blocks.', 'IPAM blocks record 4 allocations.', 'Found 4 workload IPs.', 'Found 0 handles with no matching IPs (and 4 handles with matches).']) {
      assert.ok(check.stdout.split('\n').includes(line), `${line}\n${check.stdout}`)
    }
    assert.match(check.stdout, /\nCheck complete; found 0 problems\.\n$/)
  })

  it('a reconcile with more pods keeps the old addresses; still no problems', async () => {
    const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '2', '--pods-per-node', '3', '--bgp', 'off'])
    assert.equal(up.code, 0, up.stderr)
    const weps = await netctl(['get', 'weps', '--lab', lab, '-o', 'custom-columns=NAME,NETWORKS'])
    assert.match(weps.stdout, /busybox--node01--0-eth0\s+192\.168\.0\.65\/32/)
    assert.match(weps.stdout, /busybox--node01--2-eth0\s+192\.168\.0\.67\/32/)
    const check = await netctl(['ipam', 'check', '--lab', lab])
    assert.match(check.stdout, /\nCheck complete; found 0 problems\.\n$/)
  })

  it('encap set vxlan: each node\'s tunnel address is an IPAM allocation, and the check stays clean', async () => {
    const set = await netctl(['encap', 'set', 'vxlan', '--yes', '--lab', lab])
    assert.equal(set.code, 0, set.stderr)
    const ip = await netctl(['ipam', 'show', '--ip', '192.168.0.64', '--lab', lab])
    assert.equal(ip.stdout, 'IP 192.168.0.64 is in use\nHandle ID: vxlan-tunnel-addr-node01\nActive Owner Attributes:\n  node: node01\n  type: vxlanTunnelAddress\n')
    const check = await netctl(['ipam', 'check', '--lab', lab])
    assert.ok(check.stdout.split('\n').includes('Found 2 node tunnel IPs.'), check.stdout)
    assert.match(check.stdout, /\nCheck complete; found 0 problems\.\n$/)
  })
})
