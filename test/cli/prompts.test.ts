/** On a terminal, commands ask for what is missing: driven through a real pseudo-terminal. */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {netctlBin, repoRoot, runCli, tempDir} from '../helpers/cli.js'

const ptyRun = join(repoRoot, 'test/helpers/pty-run.py')
const down = '\u001b[B'

describe('prompts on a terminal', () => {
  let state: ReturnType<typeof tempDir>
  const onTerminal = (steps: Array<[string, string]>, args: string[]) => {
    const env: Record<string, string | undefined> = {...process.env, NETCTL_STATE_DIR: state.path, NO_COLOR: '1', CI: undefined}
    const r = spawnSync('python3', [ptyRun, JSON.stringify(steps), '--', process.execPath, netctlBin, ...args], {env, encoding: 'utf8', timeout: 60_000})
    return {code: r.status, output: r.stdout + r.stderr}
  }
  const spec = async (name: string) => JSON.parse((await runCli(['get', 'ippool', name, '-o', 'json'], {stateDir: state.path})).stdout).spec
  before(async () => {
    state = tempDir()
    assert.equal((await runCli(['apply', '-f', join(repoRoot, 'test/fixtures/pools.yaml')], {stateDir: state.path})).code, 0)
  })
  after(() => state.cleanup())

  it('ippool set with no flags: choose the pool, choose the mode, confirm', async () => {
    const r = onTerminal([['Which pool', '\r'], ['Encapsulation', `${down}${down}\r`], ['Apply this change', 'y\r']], ['ippool', 'set'])
    assert.equal(r.code, 0, r.output)
    assert.match(r.output, /Always → Never.*Never → Always/)
    assert.match(r.output, /Successfully updated IPPool "default-ipv4-ippool"/)
    const after = await spec('default-ipv4-ippool')
    assert.deepEqual([after.ipipMode, after.vxlanMode], ['Never', 'Always'])
  })

  it('encap set asks before switching, and a "no" changes nothing', async () => {
    const r = onTerminal([['Switch 2 pool\\(s\\) to none', 'n\r']], ['encap', 'set', 'none'])
    assert.equal(r.code, 0, r.output)
    assert.match(r.output, /cancelled, nothing changed/)
    assert.equal((await spec('default-ipv4-ippool')).vxlanMode, 'Always')
    const yes = onTerminal([], ['encap', 'set', 'none', '--yes'])
    assert.equal(yes.code, 0, yes.output)
    assert.equal((await spec('default-ipv4-ippool')).vxlanMode, 'Never')
  })

  it('get with no kind asks which kind', async () => {
    const r = onTerminal([['Which kind', '\r']], ['get'])
    assert.equal(r.code, 0, r.output)
    assert.match(r.output, /default-ipv4-ippool\s+192\.168\.0\.0\/16\s+all\(\)/)
  })
})
