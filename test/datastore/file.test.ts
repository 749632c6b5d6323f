import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {FileDatastore} from '../../src/datastore/file.js'
import {NetctlError} from '../../src/errors.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import type {Resource} from '../../src/resources/types.js'
import {workloadEndpointKind} from '../../src/resources/workloadendpoint.js'
import {repoRoot, tempDir} from '../helpers/cli.js'

const pool = (name: string, cidr: string): Resource => ({apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name}, spec: {cidr}})
const isError = (kind: string) => (error: unknown) => error instanceof NetctlError && error.kind === kind

function writer(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/helpers/store-writer.ts'), ...args], {cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const done = new Promise<{code: number | null; stdout: string; stderr: string}>((resolve) => child.on('close', (code) => resolve({code, stdout, stderr})))
  return {child, done, output: () => stdout}
}

describe('FileDatastore', () => {
  let dir: ReturnType<typeof tempDir>
  before(() => (dir = tempDir()))
  after(() => dir.cleanup())

  it('creates, reads, lists, updates and deletes with typed errors', async () => {
    const ds = new FileDatastore(join(dir.path, 'crud'))
    assert.deepEqual(await ds.list(ipPoolKind), [])
    const created = await ds.create(ipPoolKind, pool('a', '10.0.0.0/16'))
    assert.equal(created.metadata.resourceVersion, '1')
    assert.match(created.metadata.uid!, /^[0-9a-f-]{36}$/)
    await assert.rejects(ds.create(ipPoolKind, pool('a', '10.0.0.0/16')), isError('already-exists'))
    await ds.create(ipPoolKind, pool('b', '10.1.0.0/16'))
    assert.deepEqual((await ds.list(ipPoolKind)).map((p) => p.metadata.name), ['a', 'b'])
    const updated = await ds.update(ipPoolKind, {...created, spec: {cidr: '10.0.0.0/16', natOutgoing: true}})
    assert.equal(updated.metadata.resourceVersion, '3')
    assert.equal(updated.metadata.uid, created.metadata.uid)
    await assert.rejects(ds.get(ipPoolKind, 'zzz'), isError('not-found'))
    await assert.rejects(ds.update(ipPoolKind, pool('zzz', '10.9.0.0/16')), isError('not-found'))
    await ds.delete(ipPoolKind, 'b')
    await assert.rejects(ds.delete(ipPoolKind, 'b'), isError('not-found'))
    assert.deepEqual((await ds.list(ipPoolKind)).map((p) => p.metadata.name), ['a'])
  })

  it('keeps namespaced objects apart and lists one or all namespaces', async () => {
    const ds = new FileDatastore(join(dir.path, 'ns'))
    const wep = (ns: string, name: string): Resource => ({apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: {name, namespace: ns}, spec: {}})
    await ds.create(workloadEndpointKind, wep('default', 'x'))
    await ds.create(workloadEndpointKind, wep('kube-system', 'x'))
    assert.equal((await ds.list(workloadEndpointKind, {namespace: 'default'})).length, 1)
    assert.equal((await ds.list(workloadEndpointKind)).length, 2)
    assert.equal((await ds.get(workloadEndpointKind, 'x', 'kube-system')).metadata.namespace, 'kube-system')
  })

  it('refuses an update or delete carrying a stale resourceVersion', async () => {
    const ds = new FileDatastore(join(dir.path, 'cas'))
    const other = new FileDatastore(join(dir.path, 'cas'))
    await ds.create(ipPoolKind, pool('p', '10.0.0.0/16'))
    const mine = await ds.get(ipPoolKind, 'p')
    const theirs = await other.get(ipPoolKind, 'p')
    await other.update(ipPoolKind, {...theirs, spec: {...theirs.spec, natOutgoing: true}})
    await assert.rejects(ds.update(ipPoolKind, {...mine, spec: {...mine.spec, disabled: true}}), (error: unknown) => {
      assert.ok(error instanceof NetctlError && error.kind === 'conflict')
      assert.match(error.message, /changed by someone else \(your resourceVersion 1, stored 2\)/)
      return true
    })
    await assert.rejects(ds.delete(ipPoolKind, 'p', undefined, '1'), isError('conflict'))
    assert.equal((await ds.get(ipPoolKind, 'p')).spec!.natOutgoing, true)
  })

  it('reports a corrupt store clearly and leaves it untouched', async () => {
    const path = join(dir.path, 'corrupt')
    const ds = new FileDatastore(path)
    await ds.create(ipPoolKind, pool('p', '10.0.0.0/16'))
    writeFileSync(join(path, 'datastore.json'), '{"revision": 3, "objects": {')
    await assert.rejects(ds.list(ipPoolKind), (error: unknown) => {
      assert.ok(error instanceof NetctlError && error.kind === 'unavailable')
      assert.match(error.message, /datastore\.json is unreadable/)
      assert.match(error.suggestion!, /has not changed it/)
      return true
    })
    await assert.rejects(ds.create(ipPoolKind, pool('q', '10.1.0.0/16')), isError('unavailable'))
    assert.equal(readFileSync(join(path, 'datastore.json'), 'utf8'), '{"revision": 3, "objects": {')
  })

  it('loses no update when two processes change the same object at once', async () => {
    const path = join(dir.path, 'race')
    await new FileDatastore(path).create(ipPoolKind, pool('race', '10.0.0.0/16'))
    const count = 40
    const runs = [writer(['race', path, 'a', String(count)]), writer(['race', path, 'b', String(count)])]
    const results = await Promise.all(runs.map((r) => r.done))
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    const final = await new FileDatastore(path).get(ipPoolKind, 'race')
    assert.deepEqual(final.metadata.labels, {a: String(count), b: String(count)})
    // Every successful write bumped the revision once: 1 create + 2 × count updates.
    assert.equal(final.metadata.resourceVersion, String(1 + 2 * count))
    const conflicts = results.reduce((sum, r) => sum + JSON.parse(r.stdout).conflicts, 0)
    console.log(`# two writers, ${2 * count} updates, ${conflicts} conflicts retried`)
  })

  it('leaves the old or the new state when a writer is killed with SIGKILL at any point', async () => {
    const path = join(dir.path, 'crash')
    await new FileDatastore(path).create(ipPoolKind, pool('big', '10.0.0.0/16'))
    let lastRound = 0
    let killedMidWrite = 0
    // Kill at different phases: before the first write, while reading, inside the lock, mid-rename.
    for (const delay of [0, 1, 2, 3, 5, 7, 10, 13, 17, 21, 26, 31, 37, 45]) {
      const run = writer(['churn', path])
      // Start the clock once the writer is in its loop, so the kills spread over every phase of a write.
      while (!run.output().includes('\n') && run.child.exitCode === null) await sleep(2)
      await sleep(delay)
      run.child.kill('SIGKILL')
      await run.done
      if (readdirSync(path).some((f) => f.endsWith('.tmp') || f === 'datastore.lock')) killedMidWrite++
      const store = JSON.parse(readFileSync(join(path, 'datastore.json'), 'utf8')) as {revision: number; objects: Record<string, Resource>}
      const round = Number(store.objects['ippools/big']!.metadata.annotations?.round ?? 0)
      assert.ok(round >= lastRound, `the stored round went back from ${lastRound} to ${round}`)
      assert.equal(store.objects['ippools/big']!.metadata.resourceVersion, String(store.revision))
      lastRound = round
    }
    console.log(`# 14 SIGKILLs, ${killedMidWrite} inside a write; stored round ${lastRound}`)
    // A later writer gets through once the killed writer's lock goes stale, and tidies its temp files.
    const ds = new FileDatastore(path)
    const big = await ds.get(ipPoolKind, 'big')
    await ds.update(ipPoolKind, {...big, metadata: {...big.metadata, annotations: {round: 'final'}}})
    assert.equal((await ds.get(ipPoolKind, 'big')).metadata.annotations?.round, 'final')
    assert.deepEqual(readdirSync(path).filter((f) => f.endsWith('.tmp')), [])
  })
})
