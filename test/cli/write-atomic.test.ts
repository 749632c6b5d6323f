/** apply/create on the embedded datastore: all documents or none, also when killed; check and write together. */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import type {Resource} from '../../src/resources/types.js'
import {netctlBin, runCli, tempDir} from '../helpers/cli.js'
import {poolYaml, writeWeps} from '../helpers/manifests.js'

/** What the datastore file holds now, read the way a crash-recovering reader would. */
function stored(stateDir: string): Record<string, Resource> {
  const file = join(stateDir, 'datastore.json')
  if (!existsSync(file)) return {}
  return (JSON.parse(readFileSync(file, 'utf8')) as {objects: Record<string, Resource>}).objects
}
const countOf = (stateDir: string, plural: string) => Object.keys(stored(stateDir)).filter((k) => k.startsWith(`${plural}/`)).length

describe('writes to the embedded datastore are all or nothing', () => {
  let dir: ReturnType<typeof tempDir>
  before(() => (dir = tempDir()))
  after(() => dir.cleanup())

  it('refuses a file that defines one object twice, naming both documents, before writing anything', async () => {
    const state = join(dir.path, 'dup')
    const file = join(dir.path, 'dup.yaml')
    const wep = (namespace: string) =>
      `apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: n-k8s-p-eth0${namespace}}\nspec: {node: n}\n`
    writeFileSync(file, [poolYaml('dup', '10.50.0.0/16'), poolYaml('other', '10.51.0.0/16'), poolYaml('dup', '10.52.0.0/16')].join('---\n'))
    const r = await runCli(['apply', '-f', file], {stateDir: state})
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /dup\.yaml, document 3: IPPool "dup" is also in .*dup\.yaml, document 1/)
    assert.match(r.stderr, /nothing was written/)
    assert.equal(countOf(state, 'ippools'), 0)
    // An object without a namespace lands in "default": the same object as one that says so.
    writeFileSync(file, [wep(', namespace: default'), poolYaml('other', '10.51.0.0/16'), wep('')].join('---\n'))
    const weps = await runCli(['create', '-f', file], {stateDir: state})
    assert.equal(weps.code, 2, weps.stderr)
    assert.match(weps.stderr, /document 3: WorkloadEndpoint "default\/n-k8s-p-eth0" is also in .*document 1/)
    assert.deepEqual(stored(state), {})
  })

  it('a 3,000-object apply killed at any point leaves none or all of them', async () => {
    const file = join(dir.path, 'weps.yaml')
    writeWeps(file, 3000)
    const apply = (state: string) => {
      const child = spawn(process.execPath, [netctlBin, 'apply', '-f', file], {env: {...process.env, NETCTL_STATE_DIR: state, DATASTORE_TYPE: '', ETCD_ENDPOINTS: ''}, stdio: 'ignore'})
      const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      return {child, done}
    }
    const started = Date.now()
    const whole = apply(join(dir.path, 'whole'))
    assert.equal(await whole.done, 0)
    const took = Date.now() - started
    assert.equal(countOf(join(dir.path, 'whole'), 'workloadendpoints'), 3000)
    const outcomes: number[] = []
    // Kills spread from process start to past the end of a normal run: parsing, planning, writing, renaming.
    for (let k = 0; k < 12; k++) {
      const state = join(dir.path, `kill-${k}`)
      const delay = Math.round((took * 1.4 * (k + 1)) / 12)
      const run = apply(state)
      await sleep(delay)
      run.child.kill('SIGKILL')
      await run.done
      const count = countOf(state, 'workloadendpoints')
      assert.ok(count === 0 || count === 3000, `a kill after ${delay} ms left ${count} of 3000 stored`)
      outcomes.push(count)
    }
    console.log(`# 3000-object apply took ${took} ms; 12 SIGKILLs left ${outcomes.filter((c) => c === 0).length}× none, ${outcomes.filter((c) => c === 3000).length}× all`)
  })

  it('of many concurrent creates of overlapping pools exactly one is stored', async () => {
    const state = join(dir.path, 'race')
    const n = 12
    const results = await Promise.all(Array.from({length: n}, (_, i) => runCli(['create', '-f', '-'], {stateDir: state, input: poolYaml(`race-${i}`, '10.60.0.0/16')})))
    const ok = results.filter((r) => r.code === 0)
    assert.equal(ok.length, 1, results.map((r) => r.stderr).join(''))
    for (const r of results.filter((x) => x.code !== 0)) assert.match(r.stderr, /overlaps IPPool "race-\d+"/)
    assert.equal(countOf(state, 'ippools'), 1)
  })
})
