/**
 * Where a BIRD reply ends: netctl stops reading at the line that closes it (0000, 0001-0029,
 * 8xxx/9xxx, or any code followed by a space) and reports a garbled line at once, instead of
 * waiting for its 5 s timeout.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {birdQuery, replyEnd} from '../../src/bgp/birdc.js'
import {parseProtocols, parseReply} from '../../src/bgp/protocols.js'
import {repoRoot, runCli, tempDir} from '../helpers/cli.js'
import {startFakeBird} from '../helpers/fake-bird.js'

const mesh = readFileSync(join(repoRoot, 'test/bgp/replies/bird16-mesh.txt'), 'utf8')

/** A BIRD double that sends its reply in parts, pausing between them, and never closes first. */
async function startChunkedBird(path: string, parts: string[], pauseMs = 200): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.write('0001 BIRD 1.6.8 ready.\n')
    socket.once('data', async () => {
      for (const part of parts) {
        if (socket.destroyed) return
        socket.write(part)
        await new Promise((resolve) => setTimeout(resolve, pauseMs))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return server
}

describe('BIRD replies: where they end', () => {
  it('replyEnd finds the closing line and ignores what follows', () => {
    assert.equal(replyEnd('2002-name proto\n1002-x\n'), undefined)
    assert.deepEqual(replyEnd('2002-name proto\n0000 \ngarbage after\n'), {end: 22})
    assert.deepEqual(replyEnd('9000\n'), {end: 5})
    assert.deepEqual(replyEnd('9001 syntax error\nmore'), {end: 18})
    assert.deepEqual(replyEnd('8001 Access denied\n'), {end: 19})
    assert.deepEqual(replyEnd('1000-BIRD 1.6.8\n0013 Daemon is up and running\nafter'), {end: '1000-BIRD 1.6.8\n0013 Daemon is up and running\n'.length})
    assert.deepEqual(replyEnd('0000\r\n'), {end: 6})
    // An unfinished line is not judged yet.
    assert.equal(replyEnd('2002-name proto\n0000'), undefined)
    assert.deepEqual(replyEnd('2002-name proto\nthis is no BIRD line\n'), {garbled: 'this is no BIRD line'})
    assert.deepEqual(replyEnd(' leading continuation\n'), {garbled: ' leading continuation'})
  })

  it('parseReply reads a bare 9000 as an error and stops at 0001-0029', () => {
    assert.deepEqual(parseReply('9000\n').error, {code: '9000', text: ''})
    assert.throws(() => parseProtocols('9000\n'), /BIRD answered with error 9000/)
    const status = parseReply('1000-BIRD 1.6.8\n0013 Daemon is up and running\njunk\n')
    assert.equal(status.complete, true)
    assert.deepEqual(status.lines.map((l) => l.code), ['1000', '0013'])
  })

  describe('over a socket', () => {
    let dir: ReturnType<typeof tempDir>
    const servers: Server[] = []
    before(() => (dir = tempDir()))
    after(() => {
      for (const s of servers) s.close()
      dir.cleanup()
    })
    const bird = async (name: string, reply: string) => {
      const socket = join(dir.path, name)
      servers.push(await startFakeBird(socket, reply))
      return socket
    }
    const timed = async <T>(fn: () => Promise<T>): Promise<{value: T; ms: number}> => {
      const start = performance.now()
      const value = await fn()
      return {value, ms: performance.now() - start}
    }

    it('a table with junk after its 0000 line is parsed at once', async () => {
      const socket = await bird('junk.ctl', `${mesh}some junk BIRD never sends\nand more\n`)
      const {value: r, ms} = await timed(() => runCli(['node', 'status', '--socket', socket]))
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /\| 172\.17\.0\.40\s+\| node-to-node mesh \| up\s+\| 00:24:04 \| Established\s+\|/)
      assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms: netctl waited for more input`)
    })

    it('a 9000 error line is reported at once', async () => {
      for (const [name, reply] of [['bare.ctl', '9000\n'], ['text.ctl', '9000 Internal error\ntrailing\n']] as const) {
        const socket = await bird(name, reply)
        const {value: r, ms} = await timed(() => runCli(['node', 'status', '--socket', socket]))
        assert.equal(r.code, 1)
        assert.match(r.stderr, /BIRD answered with error 9000/, name)
        assert.ok(ms < 3000, `${name} took ${ms.toFixed(0)} ms`)
      }
    })

    it('a garbled line is reported at once, naming the line', async () => {
      const socket = join(dir.path, 'garbled.ctl')
      // Never ends its reply: only the garbled line can stop the wait before the timeout.
      servers.push(await startChunkedBird(socket, ['2002-name     proto    table    state  since       info\n', 'HTTP/1.1 400 Bad Request\n']))
      const start = performance.now()
      await assert.rejects(birdQuery(socket, 'show protocols', {timeoutMs: 4000}), /sent a line netctl cannot read: "HTTP\/1\.1 400 Bad Request"/)
      assert.ok(performance.now() - start < 2000)
    })

    it('a reply in parts is read to its end, and nothing after it', async () => {
      const socket = join(dir.path, 'parts.ctl')
      const lines = mesh.split('\n')
      servers.push(await startChunkedBird(socket, [lines.slice(0, 3).join('\n') + '\n', lines.slice(3, 5).join('\n') + '\n', lines.slice(5).join('\n'), 'junk\n'], 100))
      const reply = await birdQuery(socket, 'show protocols', {timeoutMs: 4000})
      assert.equal(reply, mesh)
    })
  })
})
