import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {describe, it} from 'node:test'

import {inNetns, run, spawnRun} from '../../src/dataplane/run.js'
import {repoRoot} from '../helpers/cli.js'

const nasty = ["it's", 'a b', '$HOME', '`id`', '"q"', 'line\nbreak', '\\', '*', '', '-n', "''", '$(echo x)', 'ünï']

describe('run (commands through shell workers)', () => {
  it('passes every argument literally and keeps stdout, stderr and the exit status apart', async () => {
    const script = 'printf "<%s>" "$@"; printf "err:%s" "$#" >&2; exit 3'
    const args = ['-c', script, 'sh', ...nasty]
    const pooled = await run('sh', args, {allowFailure: true})
    assert.deepEqual(pooled, await spawnRun('sh', args, {allowFailure: true}))
    assert.equal(pooled.stdout, nasty.map((a) => `<${a}>`).join(''))
    assert.deepEqual([pooled.stderr, pooled.exitCode], [`err:${nasty.length}`, 3])
  })

  it('feeds input exactly: with and without a final newline, empty, a line like a marker, a large one', async () => {
    const large = Array.from({length: 20_000}, (_, i) => `line ${i} 'quoted' $x\n`).join('')
    for (const input of ['a\nb\n', 'no newline', '', '\n', 'EOF\n__netctl_\n', large, `${large}tail`]) {
      const result = await run('cat', [], {input})
      assert.equal(result.stdout, input)
    }
  })

  it('returns large output whole, and output without a final newline as it is', async () => {
    assert.equal((await run('head', ['-c', '3000000', '/dev/zero'])).stdout.length, 3_000_000)
    assert.equal((await run('printf', ['%s', 'x'])).stdout, 'x')
  })

  it('reports a failed command as before, and a missing one as not installed', async () => {
    await assert.rejects(run('sh', ['-c', 'echo nope >&2; exit 1']), /sh -c echo nope >&2; exit 1 failed: nope/)
    await assert.rejects(run('no-such-command-netctl', []), (error: Error & {kind?: string}) => error.kind === 'unsupported' && /not installed/.test(error.message))
  })

  it('forks commands from a few shells, not from Node (whose fork is slow and grows with its heap)', async () => {
    const parents = await Promise.all(Array.from({length: 40}, () => run('sh', ['-c', 'echo $PPID'])))
    const ppids = new Set(parents.map((r) => Number(r.stdout.trim())))
    assert.ok(!ppids.has(process.pid), 'a command was spawned by Node itself')
    assert.ok(ppids.size <= 8, `${ppids.size} workers`)
    // The same answers in the same order as the calls, even when they run at once.
    const echoed = await Promise.all(Array.from({length: 100}, (_, i) => run('sh', ['-c', `sleep 0.0$((${i} % 3)); echo ${i}`])))
    assert.deepEqual(echoed.map((r) => r.stdout), Array.from({length: 100}, (_, i) => `${i}\n`))
  })

  it('does not keep a process alive once its commands are done', () => {
    const code = "import {run} from './src/dataplane/run.ts'; const r = await run('echo', ['hi']); console.log(r.stdout.trim())"
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {cwd: repoRoot, encoding: 'utf8', timeout: 20_000})
    assert.equal(result.signal, null, 'the process did not exit by itself')
    assert.deepEqual([result.status, result.stdout], [0, 'hi\n'])
  })

  it('enters a namespace with nsenter (the network namespace only, no mount namespace copied), else with ip', () => {
    assert.deepEqual(inNetns('nc-a.n-x', 'ip', ['-batch', '-']), ['nsenter', ['--net=/run/netns/nc-a.n-x', 'ip', '-batch', '-']])
    const path = process.env.PATH
    process.env.PATH = '/nonexistent'
    try {
      assert.deepEqual(inNetns('nc-a.n-x', 'ip', ['-batch', '-']), ['ip', ['-n', 'nc-a.n-x', '-batch', '-']])
      assert.deepEqual(inNetns('nc-a.n-x', 'sysctl', ['-e', 'k']), ['ip', ['netns', 'exec', 'nc-a.n-x', 'sysctl', '-e', 'k']])
    } finally {
      process.env.PATH = path
    }
  })
})
