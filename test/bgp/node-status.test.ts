/** netctl node status against BIRD socket test doubles: tables, formats, and every way of not finding BIRD. */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'
import {startFakeBird} from '../helpers/fake-bird.js'

describe('netctl node status', () => {
  let dir: ReturnType<typeof tempDir>
  const servers: Array<{close: () => void}> = []
  before(() => (dir = tempDir()))
  after(() => {
    for (const s of servers) s.close()
    dir.cleanup()
  })

  it('prints calicoctl\'s table from a BIRD socket', async () => {
    const socket = join(dir.path, 'bird.ctl')
    servers.push(await startFakeBird(socket, readFileSync(join(repoRoot, 'test/bgp/replies/bird16-mesh.txt'), 'utf8')))
    const r = await runCli(['node', 'status', '--socket', socket])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, [
      `BIRD is running (${socket}).`,
      '',
      'IPv4 BGP status',
      '+--------------+-------------------+-------+----------+-----------------------------------+',
      '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |               INFO                |',
      '+--------------+-------------------+-------+----------+-----------------------------------+',
      '| 172.17.0.40  | node-to-node mesh | up    | 00:24:04 | Established                       |',
      '| 172.17.0.99  | node specific     | start | 00:24:01 | Active Socket: Connection refused |',
      '+--------------+-------------------+-------+----------+-----------------------------------+',
      '',
      'IPv6 BGP status',
      'No IPv6 peers found.',
      '',
    ].join('\n'))
    assert.match(r.stdout, /\| 172\.17\.0\.40\s+\| node-to-node mesh \| up\s+\| 00:24:04 \| Established\s+\|/)
    assert.match(r.stdout, /IPv6 BGP status\nNo IPv6 peers found\./)
    const json = JSON.parse((await runCli(['node', 'status', '--socket', socket, '-o', 'json'])).stdout)
    assert.deepEqual(json.ipv4[0], {family: 4, info: 'Established', peerAddress: '172.17.0.40', peerType: 'node-to-node mesh', since: '00:24:04', state: 'up'})
    const yaml = (await runCli(['node', 'status', '--socket', socket, '-o', 'yaml'])).stdout
    assert.match(yaml, /peerType: node-to-node mesh/)
  })

  it('says what it looked for and where when there is no BIRD', async () => {
    const missing = await runCli(['node', 'status', '--socket', join(dir.path, 'none.ctl')])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^Error: there is no BIRD control socket at .*none\.ctl\n  run this on a Calico node .*pass --socket PATH, or use --lab/)
    const defaults = await runCli(['node', 'status'])
    assert.equal(defaults.code, 1)
    assert.match(defaults.stderr, /no BIRD answered: looked for \/var\/run\/calico\/bird\.ctl, \/var\/run\/calico\/bird6\.ctl, \/var\/run\/bird\/bird\.ctl/)
  })

  it('tells a stale socket, a non-socket and a garbled greeting apart', async () => {
    const stale = join(dir.path, 'stale.ctl')
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(stale, resolve))
    // Closing the listener while keeping the file leaves a socket nobody answers on.
    const {unlinkSync, linkSync} = await import('node:fs')
    linkSync(stale, `${stale}.keep`)
    await new Promise<void>((resolve) => server.close(() => resolve()))
    linkSync(`${stale}.keep`, stale)
    unlinkSync(`${stale}.keep`)
    const r = await runCli(['node', 'status', '--socket', stale])
    assert.match(r.stderr, /exists but no BIRD is listening on it \(a stale socket\)/)
    const file = join(dir.path, 'plain.txt')
    writeFileSync(file, 'x')
    assert.match((await runCli(['node', 'status', '--socket', file])).stderr, /is not a socket|no BIRD is listening/)
    const odd = join(dir.path, 'odd.ctl')
    servers.push(await startFakeBird(odd, '', 'HTTP/1.1 200 OK\n'))
    assert.match((await runCli(['node', 'status', '--socket', odd])).stderr, /did not greet like BIRD \(got "HTTP\/1\.1 200 OK"\)/)
  })
})
