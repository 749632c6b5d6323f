/** Real BIRD daemons in lab nodes (root; Debian bird2). */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'
import {killPid} from '../helpers/process.js'

const skip = kernelSkipReason()
const tag = `g${process.pid % 10000}`

interface Peer {peerAddress: string; peerType: string; info: string}

describe('BGP in calico labs (real BIRD)', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  const peersOf = async (lab: string, node: string): Promise<Peer[]> => {
    const r = await netctl(['node', 'status', '--lab', lab, '--node', node, '-o', 'json'])
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout).nodes[node].ipv4
  }
  before(() => (state = tempDir()))
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
  })

  it('meshes 3 nodes: two Established mesh peers each, blocks as proto bird routes, pings across', async () => {
    const lab = `${tag}m`
    const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '3', '--pods-per-node', '1', '--encapsulation', 'None'])
    assert.equal(up.code, 0, up.stderr)
    assert.match(up.stdout, /BGP: 6 sessions Established and every block routed/)
    for (const node of ['controlplane', 'node01', 'node02']) {
      const peers = await peersOf(lab, node)
      assert.equal(peers.length, 2)
      for (const p of peers) assert.deepEqual([p.peerType, p.info], ['node-to-node mesh', 'Established'])
    }
    const routes = (await netctl(['lab', 'exec', 'controlplane', '--', 'ip', 'route'])).stdout
    assert.match(routes, /^blackhole 192\.168\.0\.0\/26 proto bird $/m)
    assert.match(routes, /^192\.168\.0\.64\/26 via 172\.17\.0\.40 dev eth0 proto bird $/m)
    assert.match(routes, /^192\.168\.0\.128\/26 via 172\.17\.0\.48 dev eth0 proto bird $/m)
    assert.doesNotMatch(routes, /192\.168\.0\.65 .*proto bird/, 'pod /32s are never announced')
    const ping = await netctl(['lab', 'exec', 'busybox-controlplane-0', '--', 'ping', '-c1', '-W2', '192.168.0.65'])
    assert.match(ping.stdout, /ttl=62/)
    const table = (await netctl(['node', 'status', '--lab', lab, '--node', 'node01'])).stdout
    assert.match(table, /\| 172\.17\.0\.32 +\| node-to-node mesh \| up +\| [\d:.]+ \| Established \|/)
  })

  it('shows a peer leaving Established when its BIRD dies, and back after lab up restarts it', async () => {
    const lab = `${tag}m`
    const owned = readFileSync(join(state.path, 'labs', lab, 'owned.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    const bird = owned.find((o: {what?: string}) => o.what === 'bird node01')
    killPid(bird.pid)
    let info = 'Established'
    for (let i = 0; i < 100 && info === 'Established'; i++) {
      await sleep(100)
      info = (await peersOf(lab, 'controlplane')).find((p) => p.peerAddress === '172.17.0.40')!.info
    }
    assert.notEqual(info, 'Established')
    console.log(`# node01's BIRD killed: controlplane sees it as "${info}"`)
    const again = await netctl(['lab', 'up', '--name', lab, '--nodes', '3', '--pods-per-node', '1', '--encapsulation', 'None'])
    assert.equal(again.code, 0, again.stderr)
    assert.equal((await peersOf(lab, 'controlplane')).find((p) => p.peerAddress === '172.17.0.40')!.info, 'Established')
  })

  it('switches the running mesh to a route reflector with netctl apply, without a rebuild', async () => {
    const lab = `${tag}m`
    const node = JSON.parse((await netctl(['get', 'node', 'controlplane', '-o', 'json'])).stdout)
    node.metadata.labels['route-reflector'] = 'true'
    node.spec.bgp.routeReflectorClusterID = '244.0.0.1'
    const file = join(state.path, 'rr.yaml')
    writeFileSync(file, [
      JSON.stringify(node),
      JSON.stringify({apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: {name: 'default'}, spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}}),
      JSON.stringify({apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: {name: 'peer-with-route-reflectors'}, spec: {nodeSelector: 'all()', peerSelector: "route-reflector == 'true'"}}),
    ].join('\n---\n'))
    const namespacesBefore = namespacesWithPrefix(`nc-${lab}.`).sort()
    const applied = await netctl(['apply', '-f', file])
    assert.equal(applied.code, 0, applied.stderr)
    assert.match(applied.stderr, /Lab "\w+" reprogrammed: 0 kernel changes; BGP converged/)
    assert.deepEqual((await peersOf(lab, 'node01')).map((p) => [p.peerAddress, p.peerType, p.info]), [['172.17.0.32', 'node specific', 'Established']])
    assert.equal((await peersOf(lab, 'controlplane')).length, 2)
    assert.deepEqual(namespacesWithPrefix(`nc-${lab}.`).sort(), namespacesBefore)
    const matrix = await netctl(['lab', 'ping', lab, '--count', '1'])
    assert.equal(matrix.code, 0, matrix.stdout)
  })

  it('builds a route-reflector lab (1 RR, 4 clients) that converges and pings all pairs', async () => {
    const lab = `${tag}r`
    const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '5', '--pods-per-node', '1', '--route-reflectors', '1', '--encapsulation', 'None'])
    assert.equal(up.code, 0, up.stderr)
    assert.match(up.stdout, /BGP: 8 sessions Established/)
    const clientRoutes = (await netctl(['lab', 'exec', 'node03', '--', 'ip', 'route'])).stdout
    assert.match(clientRoutes, /^192\.168\.0\.64\/26 via 172\.17\.0\.40 dev eth0 proto bird $/m, 'reflected routes keep the real next hop')
    const matrix = await netctl(['lab', 'ping', lab, '--count', '1'])
    assert.equal(matrix.code, 0, matrix.stdout)
    assert.match(matrix.stdout, /20\/20 pairs without loss/)
  })

  it('--bgp off keeps static routes and runs no BIRD', async () => {
    const lab = `${tag}s`
    const up = await netctl(['lab', 'up', '--name', lab, '--bgp', 'off', '--pods-per-node', '1', '--encapsulation', 'None'])
    assert.equal(up.code, 0, up.stderr)
    assert.doesNotMatch(up.stdout, /BGP:/)
    // Felix's no-encapsulation route, with its protocol 80.
    assert.match((await netctl(['lab', 'exec', 'controlplane', '--', 'ip', 'route'])).stdout, /^192\.168\.0\.64\/26 via 172\.17\.0\.40 dev eth0 proto 80 $/m)
    const status = await netctl(['node', 'status', '--lab', lab])
    assert.equal(status.code, 2)
    assert.match(status.stderr, /runs no BGP: it was built with static routes/)
  })
})
