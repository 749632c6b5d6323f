/**
 * A flannel lab enforces Calico policy as Canal does (bridged pods on cni0: see src/policy/nft.ts)
 * and masquerades as flanneld's IPMASQ does: a pod reaches the outside host with its node's
 * address as source. Root only; the host's own nftables are never touched.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {captureDuring} from '../helpers/capture.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const lab = `polf${process.pid % 10000}`
const hostTables = () => spawnSync('nft', ['list', 'tables'], {encoding: 'utf8'}).stdout
const sh = (args: string[]) => spawnSync(args[0]!, args.slice(1), {encoding: 'utf8', timeout: 15_000})

describe('flannel lab: Canal policy and flanneld IPMASQ', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const podNs = (pod: string) => `nc-${lab}.p-${pod}`
  const nodeNs = (node: string) => `nc-${lab}.n-${node}`
  const address = (netns: string) => /inet (\d+\.\d+\.\d+\.\d+)\//.exec(sh(['ip', 'netns', 'exec', netns, 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']).stdout)?.[1]
  const a = 'busybox-controlplane-0'
  const sameNode = 'busybox-controlplane-1'
  const otherNode = 'busybox-node01-0'
  const ping = (from: string, to: string) => sh(['ip', 'netns', 'exec', podNs(from), 'ping', '-c1', '-W1', to]).status === 0
  let before0: string

  before(async () => {
    state = tempDir()
    before0 = hostTables()
    const up = await netctl(['lab', 'up', '--name', lab, '--flavor', 'flannel', '--pods-per-node', '2'])
    assert.equal(up.code, 0, up.stderr)
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${lab}`))
    state.cleanup()
  })

  it('IPMASQ: lab exec <pod> -- ping 198.51.100.1 works, and the outside host sees the node address', async () => {
    const nodeIp = address(nodeNs('controlplane'))!
    const podIp = address(podNs(a))!
    let exec = {code: -1 as number | null, stdout: '', stderr: ''}
    const seen = await captureDuring(`nc-${lab}.outside`, {iface: 'eth0', filter: 'icmp and dst host 198.51.100.1', count: 1, seconds: 10}, async () => {
      exec = await netctl(['lab', 'exec', '--lab', lab, a, '--', 'ping', '-c1', '-W2', '198.51.100.1'])
    })
    assert.equal(exec.code, 0, `${exec.stdout}${exec.stderr}`)
    assert.match(seen, new RegExp(`IP ${nodeIp.replace(/\./g, '\\.')} > 198\\.51\\.100\\.1: ICMP echo request`), seen)
    assert.doesNotMatch(seen, new RegExp(podIp.replace(/\./g, '\\.')))
    assert.equal(hostTables(), before0, "the host's nftables are unchanged")
  })

  it('policy holds for bridged pods on one node and routed pods across nodes, as policy eval says', async () => {
    const ipSame = address(podNs(sameNode))!
    const ipOther = address(podNs(otherNode))!
    assert.equal(ping(a, ipSame), true, 'no policy: same-node ping')
    assert.equal(ping(a, ipOther), true, 'no policy: cross-node ping')
    const file = join(state.path, 'deny.yaml')
    writeFileSync(file, 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: default}\nspec: {selector: all(), types: [Ingress, Egress]}\n')
    const applied = await netctl(['apply', '-f', file, '--lab', lab])
    assert.equal(applied.code, 0, applied.stderr)
    assert.equal(ping(a, ipSame), false, 'default deny: same-node (bridged) ping')
    assert.equal(ping(a, ipOther), false, 'default deny: cross-node ping')
    const evaluated = await netctl(['policy', 'eval', '--lab', lab, '--from', a, '--to', sameNode, '--protocol', 'ICMP'])
    assert.equal(evaluated.code, 1, evaluated.stdout + evaluated.stderr)
    // lab trace ends the flow where the source node's nftables drop it, and the capture agrees.
    const trace = await netctl(['lab', 'trace', a, otherNode, '--lab', lab, '--verify', '-o', 'json'])
    assert.equal(trace.code, 1, trace.stderr)
    const traced = JSON.parse(trace.stdout) as {result: {delivered: boolean; reason: string}; hops: Array<{at: string}>; verified: {agrees: boolean}}
    assert.equal(traced.result.delivered, false)
    assert.match(traced.result.reason, /^node controlplane: policy egress deny/)
    assert.equal(traced.hops.at(-1)?.at, 'node controlplane')
    assert.equal(traced.verified.agrees, true, trace.stdout)
    // A pod cannot get past its egress policy by taking another pod's address.
    assert.equal(sh(['ip', 'netns', 'exec', podNs(a), 'ip', 'addr', 'add', `${ipSame}/32`, 'dev', 'eth0']).status, 0)
    const deleted = await netctl(['delete', '-f', file, '--lab', lab])
    assert.equal(deleted.code, 0, deleted.stderr)
    assert.equal(ping(a, ipOther), true, 'policy gone: cross-node ping again')
    const spoofed = sh(['ip', 'netns', 'exec', podNs(a), 'ping', '-c1', '-W1', '-I', ipSame, ipOther])
    assert.notEqual(spoofed.status, 0, 'a packet with another pod\'s source address is dropped at the bridge port')
    assert.equal(hostTables(), before0)
  })
})
