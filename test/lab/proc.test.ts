/** What a lab reads back before it signals anything: only single, well-formed processes. */
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {NetctlError} from '../../src/errors.js'
import {endProcess, processStartTime, signalProcess} from '../../src/lab/daemons/proc.js'
import {readOwned} from '../../src/lab/state.js'
import {tempDir} from '../helpers/cli.js'

describe('owned processes', () => {
  const state = tempDir()
  after(() => state.cleanup())

  it('reads back only well-formed lines of owned.jsonl: pids 0, -1, 1 or strings would signal groups or init', () => {
    mkdirSync(join(state.path, 'labs', 'x'), {recursive: true, mode: 0o700})
    const good = [{netns: 'nc-x.n-a', ino: '4026532000'}, {pid: 4194305, start: '123', what: 'bird a'}]
    const bad = [{pid: 0, start: '1', what: 'bird a'}, {pid: -1, start: '1', what: 'bird a'}, {pid: 1, start: '1', what: 'init'},
      {pid: '4194305', start: '1', what: 'bird a'}, {pid: 4194305, start: 'x', what: 'bird a'}, {pid: 4194305, start: '1'}, {netns: 5}, 'text', null]
    writeFileSync(join(state.path, 'labs', 'x', 'owned.jsonl'), [...bad, ...good].map((o) => JSON.stringify(o) + '\n').join('') + '{"pid": 12')
    assert.deepEqual(readOwned(state.path, 'x'), good)
  })

  it('refuses to signal anything but one process', async () => {
    for (const pid of [0, -1, 1, Number.NaN, 2.5]) {
      assert.throws(() => signalProcess(pid, 'SIGTERM'), (error: unknown) => error instanceof NetctlError && /not a single process/.test(error.message), String(pid))
      assert.equal(await endProcess(pid, processStartTime(process.pid)!), false, String(pid))
    }
  })
})
