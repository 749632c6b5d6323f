/**
 * Prompts, through a real pseudo-terminal: No is exit 0 and Ctrl-C is exit 130, both with the one
 * line "cancelled, nothing changed"; ippool set confirms on a terminal as encap set does.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {netctlBin, repoRoot, runCli, tempDir} from '../helpers/cli.js'

const ptyRun = join(repoRoot, 'test/helpers/pty-run.py')
const ctrlC = '\u0003'
const cancelled = 'cancelled, nothing changed'

describe('prompts: No, Ctrl-C, and ippool set confirming', () => {
  let state: ReturnType<typeof tempDir>
  const onTerminal = (steps: Array<[string, string]>, args: string[]) => {
    const env: Record<string, string | undefined> = {...process.env, NETCTL_STATE_DIR: state.path, NO_COLOR: '1', CI: undefined}
    const r = spawnSync('python3', [ptyRun, JSON.stringify(steps), '--', process.execPath, netctlBin, ...args], {env, encoding: 'utf8', timeout: 60_000})
    // What came after the last answer: the command's own last words.
    return {code: r.status, output: r.stdout + r.stderr}
  }
  const spec = async (name: string) => JSON.parse((await runCli(['get', 'ippool', name, '-o', 'json'], {stateDir: state.path})).stdout).spec
  // The lines that say "cancelled", without the terminal control codes the prompt leaves (cursor moves).
  const cancelledLines = (output: string) =>
    output.split(/\r?\n/).map((line) => line.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')).filter((line) => line.includes('cancelled'))

  before(async () => {
    state = tempDir()
    assert.equal((await runCli(['apply', '-f', join(repoRoot, 'test/fixtures/pools.yaml')], {stateDir: state.path})).code, 0)
  })
  after(() => state.cleanup())

  it('encap set: No is exit 0 with one line, and nothing changed', async () => {
    const before = await spec('default-ipv4-ippool')
    const r = onTerminal([['Switch 2 pool\\(s\\) to none', 'n\r']], ['encap', 'set', 'none'])
    assert.equal(r.code, 0, r.output)
    assert.deepEqual(cancelledLines(r.output), [cancelled])
    assert.doesNotMatch(r.output, /Error/)
    assert.deepEqual(await spec('default-ipv4-ippool'), before)
  })

  it('encap set: Ctrl-C at the prompt is exit 130 with the same one line', async () => {
    const before = await spec('default-ipv4-ippool')
    const r = onTerminal([['Switch 2 pool\\(s\\) to none', ctrlC]], ['encap', 'set', 'none'])
    assert.equal(r.code, 130, r.output)
    assert.deepEqual(cancelledLines(r.output), [cancelled])
    assert.doesNotMatch(r.output, /Error|force closed|SIGINT/)
    assert.deepEqual(await spec('default-ipv4-ippool'), before)
  })

  it('ippool set: Ctrl-C at a choice is exit 130 too', async () => {
    const r = onTerminal([['Which pool', ctrlC]], ['ippool', 'set'])
    assert.equal(r.code, 130, r.output)
    assert.deepEqual(cancelledLines(r.output), [cancelled])
  })

  it('ippool set with flags asks on a terminal, shows the change, and No changes nothing', async () => {
    const before = await spec('default-ipv4-ippool')
    assert.equal(before.ipipMode, 'Always')
    const no = onTerminal([['Apply this change', 'n\r']], ['ippool', 'set', 'default-ipv4-ippool', '--ipip', 'Never'])
    assert.equal(no.code, 0, no.output)
    assert.match(no.output, /Always → Never/)
    assert.deepEqual(cancelledLines(no.output), [cancelled])
    assert.deepEqual(await spec('default-ipv4-ippool'), before)
    const yes = onTerminal([['Apply this change', 'y\r']], ['ippool', 'set', 'default-ipv4-ippool', '--ipip', 'Never'])
    assert.equal(yes.code, 0, yes.output)
    assert.match(yes.output, /Successfully updated IPPool "default-ipv4-ippool"/)
    assert.equal((await spec('default-ipv4-ippool')).ipipMode, 'Never')
    // --yes does not ask; off a terminal nothing is asked either.
    const flagged = onTerminal([], ['ippool', 'set', 'default-ipv4-ippool', '--ipip', 'Always', '--yes'])
    assert.equal(flagged.code, 0, flagged.output)
    assert.doesNotMatch(flagged.output, /Apply this change/)
    const piped = await runCli(['ippool', 'set', 'default-ipv4-ippool', '--ipip', 'Never'], {stateDir: state.path})
    assert.equal(piped.code, 0, piped.stderr)
    assert.equal((await spec('default-ipv4-ippool')).ipipMode, 'Never')
  })
})
