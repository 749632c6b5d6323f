/**
 * The etcd backend's writes and reads under trouble, against a real etcd: multi-document
 * applies in chunked transactions that report exactly what was written, check-and-write in one
 * transaction, strict decoding of what is stored, and etcd's own words in errors.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {BatchWriteError, type WriteOp} from '../../src/datastore/datastore.js'
import {EtcdDatastore, etcdKey} from '../../src/datastore/etcd.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import type {Resource} from '../../src/resources/types.js'
import {workloadEndpointKind} from '../../src/resources/workloadendpoint.js'
import {netctlBin, runCli} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {poolYaml, wep, writeWeps} from '../helpers/manifests.js'
import {killPid} from '../helpers/process.js'

const wepPrefix = '/calico/resources/v3/projectcalico.org/workloadendpoints/'
const countKeys = (etcd: EtcdServer, prefix: string) => Number(JSON.parse(etcd.etcdctl(['get', prefix, '--prefix', '--keys-only', '--limit', '1', '-w', 'json']).stdout).count ?? 0)

describe('etcd v3 datastore: writes and reads under trouble', () => {
  let etcd: EtcdServer
  let work: string
  const netctl = (args: string[], input?: string, endpoint = etcd.endpoint) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', endpoint], {input})
  before(async () => {
    etcd = await startEtcd()
    work = mkdtempSync(join(tmpdir(), 'netctl-etcd-writes-'))
  })
  after(async () => {
    await etcd?.stop()
    rmSync(work, {recursive: true, force: true})
  })

  it('refuses a value at a Calico key that is not a Calico object, naming the key', async () => {
    const key = etcdKey(ipPoolKind, 'broken')
    const good = await netctl(['apply', '-f', '-'], poolYaml('fine', '10.70.0.0/16'))
    assert.equal(good.code, 0, good.stderr)
    for (const value of ['not json {', 'null', '42', '"text"', '[]', '{"kind":"IPPool"}', '{"kind":"IPPool","metadata":null}', '{"kind":"IPPool","metadata":{}}']) {
      assert.equal(etcd.etcdctl(['put', key, value]).code, 0)
      for (const args of [['get', 'ippools'], ['get', 'ippool', 'broken'], ['encap', 'set', 'ipip', '--yes'], ['ippool', 'set', 'broken', '--ipip', 'Never']]) {
        const r = await netctl(args)
        assert.equal(r.code, 1, `${args.join(' ')} with ${value}: ${r.stderr}`)
        assert.doesNotMatch(r.stderr, /TypeError|Cannot read|Unexpected token/, `${args.join(' ')} with ${value}`)
        assert.match(r.stderr, new RegExp(`^Error: etcd key ${key} .*holds .*not a Calico IPPool`, 'm'), `${args.join(' ')} with ${value}: ${r.stderr}`)
        assert.match(r.stderr, new RegExp(`etcdctl get ${key}.*etcdctl del ${key}`))
      }
    }
    etcd.etcdctl(['del', key])
    assert.equal((await netctl(['get', 'ippools'])).code, 0)
  })

  it('says what etcd said: authentication not enabled, request too large', async () => {
    const noAuth = await runCli(['get', 'ippools'], {env: {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint, ETCD_USERNAME: 'root', ETCD_PASSWORD: 'x'}})
    assert.equal(noAuth.code, 1)
    assert.doesNotMatch(noAuth.stderr, /cannot reach/)
    assert.match(noAuth.stderr, /authentication is not enabled/)
    assert.match(noAuth.stderr, /ETCD_USERNAME/)
    // netctl refuses objects over 1.5 MiB (and annotations over 256 kB) itself: an etcd with a
    // smaller request limit is what refuses a valid 200 kB object.
    const small = await startEtcd(undefined, {args: ['--max-request-bytes', '100000']})
    try {
      const big = `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: big, annotations: {pad: ${'x'.repeat(200_000)}}}\nspec: {cidr: 10.71.0.0/16}\n`
      const r = await netctl(['apply', '-f', '-'], big, small.endpoint)
      assert.equal(r.code, 1, r.stderr)
      assert.doesNotMatch(r.stderr, /cannot reach/)
      assert.match(r.stderr, /request is too large/)
      assert.match(r.stderr, /--max-request-bytes/)
    } finally {
      await small.stop()
    }
  })

  it('says so when etcd is out of space (RESOURCE_EXHAUSTED: database space exceeded)', async () => {
    const full = await startEtcd(undefined, {args: ['--quota-backend-bytes', String(4 * 1024 * 1024)]})
    try {
      // Fill etcd past its quota with keys outside Calico's tree.
      let filled = false
      for (let i = 0; i < 200 && !filled; i++) filled = full.etcdctl(['put', `/filler/${i}`, 'x'.repeat(100_000)]).code !== 0
      assert.ok(filled, 'etcd never ran out of space')
      const r = await netctl(['apply', '-f', '-'], poolYaml('spaceless', '10.72.0.0/16'), full.endpoint)
      assert.equal(r.code, 1, r.stderr)
      assert.doesNotMatch(r.stderr, /cannot reach/)
      assert.match(r.stderr, /out of space: .*database space exceeded/)
      assert.match(r.stderr, /etcdctl alarm disarm/)
    } finally {
      await full.stop()
    }
  })

  it('keeps credentials in endpoints out of messages', async () => {
    const gone = await startEtcd()
    await gone.stop()
    const withPassword = gone.endpoint.replace('http://', 'http://user:s3cret@')
    const r = await runCli(['get', 'ippools'], {env: {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: withPassword}})
    assert.equal(r.code, 1)
    assert.doesNotMatch(r.stderr, /s3cret/)
    assert.match(r.stderr, /cannot reach etcd at http:\/\/\*\*\*\*@127\.0\.0\.1/)
  })

  it('of many concurrent creates of overlapping pools exactly one is stored', async () => {
    const n = 12
    const results = await Promise.all(Array.from({length: n}, (_, i) => netctl(['create', '-f', '-'], poolYaml(`race-${i}`, '10.60.0.0/16'))))
    const ok = results.filter((r) => r.code === 0)
    assert.equal(ok.length, 1, results.map((r) => r.stderr).join(''))
    for (const r of results.filter((x) => x.code !== 0)) assert.match(r.stderr, /overlaps IPPool "race-\d+"/)
    const stored = JSON.parse((await netctl(['get', 'ippools', '-o', 'json'])).stdout).items.filter((p: Resource) => p.metadata.name.startsWith('race-'))
    assert.equal(stored.length, 1)
  })

  it('delete of several names removes those that exist and reports the missing one (calicoctl); patch still works', async () => {
    for (const i of [1, 2, 3, 4]) assert.equal((await netctl(['create', '-f', '-'], poolYaml(`del-${i}`, `10.8${i}.0.0/16`))).code, 0)
    const missing = await netctl(['delete', 'ippool', 'del-1', 'del-nope', 'del-2'])
    assert.equal(missing.code, 1)
    assert.equal(missing.stdout, "Successfully deleted 2 'IPPool' resource(s)\n")
    assert.match(missing.stderr, /^Error: Failed to delete 'IPPool' resource: resource does not exist: IPPool\(del-nope\)\n/)
    assert.equal(countKeys(etcd, etcdKey(ipPoolKind, 'del-')), 2)
    const patched = await netctl(['patch', 'ippool', 'del-3', '-p', '{"spec":{"disabled":true}}'])
    assert.equal(patched.code, 0, patched.stderr)
    assert.equal(JSON.parse(etcd.etcdctl(['get', etcdKey(ipPoolKind, 'del-3'), '--print-value-only']).stdout).spec.disabled, true)
    const deleted = await netctl(['delete', 'ippool', 'del-3', 'del-4', 'del-3'])
    assert.equal(deleted.code, 0, deleted.stderr)
    assert.match(deleted.stdout, /Successfully deleted 2 'IPPool' resource\(s\)/)
    assert.equal(countKeys(etcd, etcdKey(ipPoolKind, 'del-')), 0)
  })

  it('a 3,000-object apply that fails at document 2,500 says exactly what was written and how to finish', async (t) => {
    const file = join(work, 'weps.yaml')
    // A valid 200 kB object that this etcd's 150 kB request limit refuses, whatever transaction it is in.
    const small = await startEtcd(undefined, {args: ['--max-request-bytes', '150000']})
    t.after(() => small.stop())
    writeWeps(file, 3000, (i) => (i === 2499 ? wep(i, {pad: 'x'.repeat(200_000)}) : undefined))
    const r = await netctl(['apply', '-f', file], undefined, small.endpoint)
    assert.equal(r.code, 1, r.stderr)
    assert.equal(countKeys(small, wepPrefix), 2499)
    assert.match(r.stderr, /weps\.yaml, document 2500: WorkloadEndpoint "default\/node1-k8s-pod02499-eth0"/)
    assert.match(r.stderr, /request is too large/)
    assert.match(r.stderr, /netctl wrote 2499 of 3000 objects, .*document 1\) to .*document 2499\); the other 501, from .*document 2500\) on, were not written/)
    assert.match(r.stderr, new RegExp(`netctl apply -f ${file.replace(/[.]/g, '\\.')}`))
    writeWeps(file, 3000)
    const finished = await netctl(['apply', '-f', file], undefined, small.endpoint)
    assert.equal(finished.code, 0, finished.stderr)
    assert.equal(countKeys(small, wepPrefix), 3000)
  })

  it('a conflicting change in a later chunk stops the batch there and says how far it got', async () => {
    etcd.etcdctl(['del', '--prefix', wepPrefix])
    const ds = await EtcdDatastore.open({datastoreType: 'etcdv3', stateDir: '', etcdEndpoints: etcd.endpoint})
    try {
      const victim = await ds.create(workloadEndpointKind, wep(90000))
      await ds.update(workloadEndpointKind, {...victim, metadata: {...victim.metadata, labels: {changed: 'yes'}}})
      const ops: WriteOp[] = Array.from({length: 400}, (_, i) => ({type: 'create', kind: workloadEndpointKind, resource: wep(i)}) as WriteOp)
      ops.splice(350, 0, {type: 'update', kind: workloadEndpointKind, resource: victim, current: victim})
      await assert.rejects(ds.writeBatch!(ops), (error: unknown) => {
        assert.ok(error instanceof BatchWriteError, String(error))
        assert.equal(error.cause.kind, 'conflict')
        assert.equal(error.failedAt, 350)
        assert.equal(error.uncertain, 0)
        assert.equal(error.written.length, countKeys(etcd, wepPrefix) - 1)
        assert.ok(error.written.length > 0 && error.written.length <= 350, `${error.written.length} written`)
        return true
      })
    } finally {
      await ds.close()
      etcd.etcdctl(['del', '--prefix', wepPrefix])
    }
  })

  it('SIGTERM in the middle of a 3,000-object apply stops between transactions and says exactly what was written', async () => {
    etcd.etcdctl(['del', '--prefix', wepPrefix])
    const file = join(work, 'term.yaml')
    writeWeps(file, 3000)
    try {
      const child = spawn(process.execPath, [netctlBin, 'apply', '-f', file, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint], {stdio: ['ignore', 'pipe', 'pipe']})
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      const code = new Promise<number | null>((resolve) => child.on('close', resolve))
      while (countKeys(etcd, wepPrefix) < 200 && child.exitCode === null) await sleep(5)
      child.kill('SIGTERM')
      assert.equal(await code, 130, stderr)
      const kept = countKeys(etcd, wepPrefix)
      assert.ok(kept < 3000, 'stopped too late to test anything')
      assert.match(stderr, /interrupted \(SIGTERM\)/)
      assert.match(stderr, new RegExp(`netctl wrote ${kept} of 3000 objects, .*; the other ${3000 - kept}, from .*document ${kept + 1}\\) on, were not written`))
      assert.doesNotMatch(stderr, /may or may not/)
      assert.match(stderr, new RegExp(`finish with: netctl apply -f ${file.replace(/[.]/g, '\\.')}`))
      console.log(`# SIGTERM mid-apply: ${kept} of 3000 written, as netctl said`)
    } finally {
      etcd.etcdctl(['del', '--prefix', wepPrefix])
    }
  })

  it('etcd killed in the middle of a 3,000-object apply: the message matches what etcd kept', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'netctl-etcd-crash-'))
    let dying: EtcdServer | undefined
    let reborn: EtcdServer | undefined
    try {
      dying = await startEtcd(undefined, {dataDir})
      const file = join(work, 'crash.yaml')
      writeWeps(file, 3000)
      const child = spawn(process.execPath, [netctlBin, 'apply', '-f', file, '--datastore', 'etcdv3', '--etcd-endpoints', dying.endpoint], {stdio: ['ignore', 'pipe', 'pipe']})
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      const code = new Promise<number | null>((resolve) => child.on('close', resolve))
      // Kill etcd once the apply is writing, well before it is done.
      while (countKeys(dying, wepPrefix) < 200 && child.exitCode === null) await sleep(5)
      killPid(dying.pid)
      assert.equal(await code, 1, stderr)
      await dying.stop()
      reborn = await startEtcd(undefined, {dataDir})
      const kept = countKeys(reborn, wepPrefix)
      const said = /wrote (\d+) of 3000 objects/.exec(stderr)
      assert.ok(said, stderr)
      const written = Number(said[1])
      const maybe = Number(/the next (\d+), .*may or may not have been written/.exec(stderr)?.[1] ?? 0)
      assert.ok(kept === written || kept === written + maybe, `etcd kept ${kept}; netctl said ${written} written, ${maybe} unknown:\n${stderr}`)
      assert.ok(kept < 3000, 'etcd was killed too late to test anything')
      assert.match(stderr, /cannot reach etcd/)
      assert.match(stderr, new RegExp(`netctl apply -f ${file.replace(/[.]/g, '\\.')}`))
      console.log(`# etcd killed mid-apply: ${kept} of 3000 kept; netctl said ${written} written${maybe ? `, ${maybe} unknown` : ''}`)
      const finished = await netctl(['apply', '-f', file], undefined, reborn.endpoint)
      assert.equal(finished.code, 0, finished.stderr)
      assert.equal(countKeys(reborn, wepPrefix), 3000)
    } finally {
      await dying?.stop()
      await reborn?.stop()
      rmSync(dataDir, {recursive: true, force: true})
    }
  })
})
