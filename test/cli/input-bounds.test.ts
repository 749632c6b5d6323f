/**
 * The real netctl binary given hostile or oversized input: it refuses quickly, before it opens
 * the datastore (so never while holding its lock), and the datastore stays as it was.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, afterEach, before, describe, it} from 'node:test'

import {acquireLock} from '../../src/datastore/lock.js'
import {inputLimits} from '../../src/resources/documents.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {bombPatch, bombPool} from '../helpers/hostile-yaml.js'

const pool = (name: string, cidr: string) => `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${name}\nspec:\n  cidr: ${cidr}\n`

describe('netctl refuses hostile input before touching the datastore', () => {
  let state: ReturnType<typeof tempDir>
  let files: ReturnType<typeof tempDir>
  const store = () => join(state.path, 'datastore.json')
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  let storedBefore: string

  before(async () => {
    state = tempDir()
    files = tempDir()
    writeFileSync(join(files.path, 'one.yaml'), pool('existing', '10.9.0.0/16'))
    const created = await netctl(['create', '-f', join(files.path, 'one.yaml')])
    assert.equal(created.code, 0, created.stderr)
    storedBefore = readFileSync(store(), 'utf8')
  })
  afterEach(() => assert.equal(readFileSync(store(), 'utf8'), storedBefore, 'the datastore changed'))
  after(() => {
    state.cleanup()
    files.cleanup()
  })

  /** Runs netctl, checks it exits 2 within maxMs with stderr matching pattern and no stack trace. */
  async function refused(args: string[], pattern: RegExp, options: {input?: string; maxMs?: number} = {}) {
    const started = performance.now()
    const result = await netctl(args, options.input)
    const elapsed = performance.now() - started
    assert.equal(result.code, 2, `exit ${result.code}: ${result.stderr}`)
    assert.match(result.stderr, pattern)
    assert.doesNotMatch(result.stderr, /Maximum call stack|RangeError|\n\s+at /)
    assert.ok(elapsed < (options.maxMs ?? 2000), `took ${Math.round(elapsed)} ms`)
    return result
  }

  it('apply -f: a 450-byte alias bomb is refused in under 2 s', async () => {
    const file = join(files.path, 'bomb.yaml')
    writeFileSync(file, bombPool())
    assert.ok(statSync(file).size < 600)
    await refused(['apply', '-f', file], /bomb\.yaml.*(alias|expand)/)
  })

  it('apply -f -: the bomb on stdin is refused in under 2 s', async () => {
    await refused(['apply', '-f', '-'], /stdin.*(alias|expand)/, {input: bombPool()})
  })

  it('patch -p: a bomb patch is refused in under 2 s', async () => {
    await refused(['patch', 'ippool', 'existing', '-p', bombPatch()], /the patch.*(alias|expand)/)
  })

  it('the bomb is refused at once while another process holds the datastore lock: parsing comes first', async () => {
    const file = join(files.path, 'bomb.yaml')
    writeFileSync(file, bombPool())
    const release = await acquireLock(join(state.path, 'datastore.lock'))
    try {
      await refused(['apply', '-f', file], /(alias|expand)/)
      await refused(['patch', 'ippool', 'existing', '-p', bombPatch()], /(alias|expand)/)
    } finally {
      await release()
    }
  })

  it('a file larger than the limit is refused without reading it all (even an endless one)', async () => {
    await refused(['apply', '-f', '/dev/zero'], /\/dev\/zero is larger than 16 MiB/, {maxMs: 5000})
    const big = join(files.path, 'big.yaml')
    writeFileSync(big, `${pool('big', '10.8.0.0/16')}# ${'x'.repeat(inputLimits.maxBytes)}\n`)
    await refused(['apply', '-f', big], /big\.yaml is larger than 16 MiB/, {maxMs: 5000})
  })

  it('stdin larger than the limit is refused', async () => {
    await refused(['create', '-f', '-'], /stdin is larger than 16 MiB/, {input: `${pool('big', '10.8.0.0/16')}# ${'x'.repeat(inputLimits.maxBytes)}\n`, maxMs: 5000})
  })

  it('a directory whose files together exceed the limit is refused, naming the directory', async () => {
    const dir = join(files.path, 'dir')
    mkdirSync(dir)
    const half = `# ${'x'.repeat(inputLimits.maxBytes / 2)}\n`
    writeFileSync(join(dir, 'a.yaml'), `${pool('a', '10.6.0.0/16')}${half}`)
    writeFileSync(join(dir, 'b.yaml'), `${pool('b', '10.7.0.0/16')}${half}`)
    await refused(['apply', '-f', dir], /dir: its \.yaml, \.yml and \.json files together are larger than 16 MiB/, {maxMs: 5000})
  })

  it('180 000 documents are refused with a clear message (they used to overflow the stack)', async () => {
    const file = join(files.path, 'many.yaml')
    writeFileSync(file, Array.from({length: 180_000}, (_, i) => `{apiVersion: projectcalico.org/v3, kind: IPPool, metadata: {name: p${i}}}`).join('\n---\n'))
    assert.ok(statSync(file).size < inputLimits.maxBytes)
    await refused(['apply', '-f', file], new RegExp(`many\\.yaml holds more than ${inputLimits.maxResources} resources`), {maxMs: 10_000})
    await refused(['delete', '-f', file], /more than \d+ resources/, {maxMs: 10_000})
  })

  it('ordinary files still apply', async () => {
    const file = join(files.path, 'fine.yaml')
    writeFileSync(file, pool('fine', '10.5.0.0/16'))
    const result = await netctl(['apply', '-f', file])
    assert.equal(result.code, 0, result.stderr)
    assert.ok(existsSync(store()))
    // A pipe (-f <(...)) cannot seek: it is read from where it stands.
    const fifo = join(files.path, 'fifo')
    execFileSync('mkfifo', [fifo])
    const [piped] = await Promise.all([netctl(['apply', '-f', fifo]), writeFile(fifo, pool('piped', '10.4.0.0/16'))])
    assert.equal(piped.code, 0, piped.stderr)
    // Put the store back for the afterEach check.
    assert.equal((await netctl(['delete', 'ippool', 'fine', 'piped'])).code, 0)
    storedBefore = readFileSync(store(), 'utf8')
  })
})
