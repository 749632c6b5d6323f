import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {acquireLock} from '../../src/datastore/lock.js'
import {NetctlError} from '../../src/errors.js'
import {repoRoot, tempDir} from '../helpers/cli.js'

const run = (args: string[]) =>
  new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/helpers/store-writer.ts'), ...args], {cwd: repoRoot, stdio: 'inherit'})
    child.on('close', resolve)
  })

describe('cross-process lock', () => {
  let dir: ReturnType<typeof tempDir>
  before(() => (dir = tempDir()))
  after(() => dir.cleanup())

  it('lets exactly one process in at a time', async () => {
    writeFileSync(join(dir.path, 'counter'), '0')
    const codes = await Promise.all([0, 1, 2].map(() => run(['count', dir.path, '-', '60'])))
    assert.deepEqual(codes, [0, 0, 0])
    assert.equal(readFileSync(join(dir.path, 'counter'), 'utf8'), '180')
    assert.deepEqual(readdirSync(dir.path).filter((f) => f.startsWith('counter.lock')), [])
  })

  it('breaks at once a lock whose owner process is gone', async () => {
    const lock = join(dir.path, 'dead.lock')
    mkdirSync(lock)
    // pid 2^22+1 is above Linux's pid_max: no such process can exist.
    writeFileSync(join(lock, 'owner'), JSON.stringify({pid: 4194305, token: '00000000deadbeef'}))
    const started = Date.now()
    const release = await acquireLock(lock, 2000)
    assert.ok(Date.now() - started < 1000)
    await release()
  })

  it('takes an owner pid of 0 or below as corrupt, not as the process group kill(2) would ask about', async () => {
    for (const pid of [0, -1]) {
      const lock = join(dir.path, `group${pid}.lock`)
      mkdirSync(lock)
      writeFileSync(join(lock, 'owner'), JSON.stringify({pid, token: '00000000deadbeef'}))
      const started = Date.now()
      await (await acquireLock(lock, 2000))()
      assert.ok(Date.now() - started < 1000, `pid ${pid}`)
    }
  })

  it('times out naming the live holder', async () => {
    const lock = join(dir.path, 'live.lock')
    const release = await acquireLock(lock)
    await assert.rejects(acquireLock(lock, 200), (error: unknown) => error instanceof NetctlError && error.message.includes(`process ${process.pid}`))
    await release()
    await (await acquireLock(lock, 200))()
  })
})
