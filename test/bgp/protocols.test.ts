import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {bgpPeers, parseProtocols, parseReply, peerFromName} from '../../src/bgp/protocols.js'
import {NetctlError} from '../../src/errors.js'
import {repoRoot} from '../helpers/cli.js'

const reply = (name: string) => readFileSync(join(repoRoot, 'test/bgp/replies', name), 'utf8')

describe('BIRD show protocols replies', () => {
  it('reads a real BIRD 2.0.12 reply: mesh Established, a node-specific peer Active with its socket error', () => {
    assert.deepEqual(bgpPeers(parseProtocols(reply('bird2-real.txt'))), [
      {peerType: 'node-to-node mesh', peerAddress: '10.77.0.2', family: 4, state: 'up', since: '19:59:06.844', info: 'Established'},
      {peerType: 'node specific', peerAddress: '10.77.0.99', family: 4, state: 'start', since: '19:59:02.680', info: 'Active Socket: No route to host'},
    ])
  })

  it('keeps BIRD 2 SINCE values with a date and a time, and reads every state, type, IPv6 and ports', () => {
    const peers = bgpPeers(parseProtocols(reply('bird2-states.txt')))
    assert.deepEqual(peers.map((p) => [p.peerAddress, p.port, p.peerType, p.state, p.since, p.info, p.family]), [
      ['172.17.0.40', undefined, 'node-to-node mesh', 'up', '2026-11-20 08:14:07', 'Established', 4],
      ['172.17.0.48', undefined, 'node-to-node mesh', 'start', '2026-11-20 08:14:02', 'Connect', 4],
      ['172.17.0.250', undefined, 'global', 'start', '2026-11-20 08:14:02', 'OpenSent', 4],
      ['172.17.0.251', 1790, 'node specific', 'down', '2026-11-20 08:14:02', '', 4],
      ['fd00::40', undefined, 'node-to-node mesh', 'up', '2026-11-20 08:14:08', 'Established', 6],
      ['fd00:1::250', undefined, 'global', 'start', '2026-11-20 08:14:02', 'Active Socket: Connection refused', 6],
    ])
  })

  it('reads BIRD 1.6 replies (lower-case header, time-only SINCE), IPv4 and IPv6', () => {
    assert.deepEqual(bgpPeers(parseProtocols(reply('bird16-mesh.txt'))).map((p) => [p.peerAddress, p.peerType, p.state, p.since, p.info]), [
      ['172.17.0.40', 'node-to-node mesh', 'up', '00:24:04', 'Established'],
      ['172.17.0.99', 'node specific', 'start', '00:24:01', 'Active Socket: Connection refused'],
    ])
    assert.deepEqual(bgpPeers(parseProtocols(reply('bird16-v6.txt'))).map((p) => [p.peerAddress, p.family]), [['fd00::32', 6]])
  })

  it('reports BIRD error codes and garbled replies clearly', () => {
    assert.throws(() => parseProtocols(reply('bird-error.txt')), (e: unknown) => e instanceof NetctlError && /BIRD answered with error 9001: syntax error/.test(e.message))
    assert.throws(() => parseProtocols(reply('bird-denied.txt')), /error 8001: Access denied/)
    assert.throws(() => parseProtocols('hello there\n'), /BIRD sent a line netctl cannot read: "hello there"/)
    assert.throws(() => parseProtocols('1002-x y z\n0000 \n'), /no protocol table header/)
    assert.equal(parseReply('2002-Name Proto\n').complete, false)
  })

  it('maps protocol names to peers like calicoctl', () => {
    assert.deepEqual(peerFromName('Mesh_172_17_0_40'), {peerType: 'node-to-node mesh', peerAddress: '172.17.0.40', family: 4})
    assert.deepEqual(peerFromName('Global_fd00__1_port_1790'), {peerType: 'global', peerAddress: 'fd00::1', family: 6, port: 1790})
    assert.equal(peerFromName('kernel1'), undefined)
  })
})
