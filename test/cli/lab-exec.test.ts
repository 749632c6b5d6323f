/**
 * `netctl lab exec`: the command after `--` reaches `ip netns exec` exactly as given. No kernel
 * and no lab: a basic lab's record names its namespaces, and a stand-in `ip` on PATH prints
 * the argv it was given instead of entering a namespace.
 */
import assert from 'node:assert/strict'
import {chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {commandToRun, needsDashes, splitAtDashes} from '../../src/commands/lab/exec.js'
import {NetctlError} from '../../src/errors.js'
import {planBasicLab} from '../../src/lab/plan/basic.js'
import {writeLabRecord} from '../../src/lab/state.js'
import {runCli, tempDir} from '../helpers/cli.js'

const usageError = (pattern: RegExp) => (error: unknown) => error instanceof NetctlError && error.kind === 'usage' && pattern.test(error.message)

describe('lab exec argument extraction', () => {
  it('keeps everything after the first -- as given: order, repeats, empty strings, dashes, a second --', () => {
    const command = ['ping', '-c', '1', '-W', '1', '', '--', '-x', '--lab', 'ns1', '1']
    const {netctlArgv, afterDashes} = splitAtDashes(['--lab', 'veth', 'ns1', '--', ...command])
    assert.deepEqual(netctlArgv, ['--lab', 'veth', 'ns1'])
    assert.deepEqual(afterDashes, command)
    assert.deepEqual(commandToRun('ns1', ['ns1'], afterDashes), command)
    assert.deepEqual(commandToRun('ns1', ['ns1'], ['echo', 'a', '1', 'b', '1', 'c']), ['echo', 'a', '1', 'b', '1', 'c'])
  })

  it('without --, takes a plain command in order, and asks for -- when it has options', () => {
    assert.deepEqual(splitAtDashes(['node01', 'ip', 'route']), {netctlArgv: ['node01', 'ip', 'route']})
    assert.deepEqual(commandToRun('node01', ['node01', 'echo', '1', 'x', '1'], undefined), ['echo', '1', 'x', '1'])
    assert.ok(usageError(/-c is not a netctl flag.*after --/)(needsDashes('-c')))
  })

  it('refuses an empty command and a second target before --', () => {
    assert.throws(() => commandToRun('ns1', ['ns1'], []), usageError(/no command to run/))
    assert.throws(() => commandToRun('ns1', ['ns1'], undefined), usageError(/no command to run/))
    assert.throws(() => commandToRun('ns1', ['ns1', 'ping'], ['-c', '1']), usageError(/unexpected "ping" between the target and --/))
  })
})

describe('netctl lab exec (stand-in ip, no kernel)', () => {
  let state: ReturnType<typeof tempDir>
  let bin: ReturnType<typeof tempDir>
  const netns = planBasicLab('veth', 'veth').targets.ns1!
  const exec = (args: string[]) => runCli(['lab', 'exec', ...args], {stateDir: state.path, env: {PATH: `${bin.path}:${process.env.PATH}`}})

  before(() => {
    state = tempDir()
    bin = tempDir()
    writeLabRecord(state.path, {apiVersion: 'netctl/v1', kind: 'Lab', name: 'veth', basic: 'veth', datastore: {type: 'file'}, createdAt: new Date().toISOString()})
    const ip = join(bin.path, 'ip')
    writeFileSync(ip, `#!${process.execPath}\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)))\n`)
    chmodSync(ip, 0o755)
  })
  after(() => {
    state.cleanup()
    bin.cleanup()
  })

  it('passes repeated values, empty strings and dash options in order', async () => {
    const command = ['echo', 'a', '1', 'b', '1', 'c', '', '-n', '--debug', '--', 'ns1']
    const result = await exec(['--lab', 'veth', 'ns1', '--', ...command])
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(JSON.parse(result.stdout), ['netns', 'exec', netns, ...command])
    const ping = await exec(['ns1', '--', 'ping', '-c', '1', '-W', '1', '1.1.1.2'])
    assert.deepEqual(JSON.parse(ping.stdout), ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', '1.1.1.2'])
  })

  it('still runs a plain command given without --', async () => {
    const result = await exec(['ns1', 'echo', 'x', '1', 'y', '1'])
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(JSON.parse(result.stdout), ['netns', 'exec', netns, 'echo', 'x', '1', 'y', '1'])
  })

  it('refuses what it cannot pass on exactly, with exit 2 and a hint', async () => {
    for (const [args, pattern] of [
      [['ns1', '--'], /no command to run/],
      [['ns1', 'ping', '-c', '1', '1.1.1.2'], /-c is not a netctl flag; a command with options must come after --/],
      [['ns1', 'ping', '--', '-c', '1'], /unexpected "ping" between the target and --/],
      [['ns1', '-c', '--', 'ping'], /Nonexistent flag: -c/],
    ] as const) {
      const result = await exec([...args])
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, pattern)
      assert.equal(result.stdout, '')
    }
  })
})
