/** EtcdRangeClient: etcd's Range over node:http2, the same answers as the etcd3 client, and the client's errors when it cannot answer. */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createServer, type Http2Server} from 'node:http2'
import {after, before, describe, it} from 'node:test'

import {Etcd3} from 'etcd3'

import {EtcdDatastore} from '../../src/datastore/etcd.js'
import {decodeRangeResponse, EtcdRangeClient, EtcdRangeUnavailable, type RangeRequest} from '../../src/datastore/etcd-range.js'
import {NetctlError} from '../../src/errors.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import {repoRoot, runCli} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'

describe('etcd Range without the etcd3 client', () => {
  let etcd: EtcdServer
  let client: Etcd3
  let ranges: EtcdRangeClient
  let firstRevision = ''
  before(async () => {
    etcd = await startEtcd()
    client = new Etcd3({hosts: etcd.endpoint})
    firstRevision = (await client.put('/r/a').value('first')).header.revision
    await client.put('/r/a').value('second')
    await client.put('/r/b').value('')
    await client.put('/r/big').value('x'.repeat(300_000))
    for (let i = 0; i < 30; i++) await client.put(`/r/many/${String(i).padStart(2, '0')}`).value(JSON.stringify({i}))
    await client.put('/s/other').value('outside the prefix')
    ranges = EtcdRangeClient.for([etcd.endpoint], undefined, {callMs: 5000})!
  })
  after(async () => {
    ranges?.close()
    client?.close()
    await etcd?.stop()
  })

  const requests: Array<[string, RangeRequest]> = [
    ['one key', {key: Buffer.from('/r/a')}],
    ['a missing key', {key: Buffer.from('/r/none')}],
    ['an empty value', {key: Buffer.from('/r/b')}],
    ['a 300 KB value', {key: Buffer.from('/r/big')}],
    ['a prefix', {key: Buffer.from('/r/'), range_end: Buffer.from('/r0')}],
    ['a prefix in pages', {key: Buffer.from('/r/many/'), range_end: Buffer.from('/r/many0'), limit: 7}],
    ['an older revision', {key: Buffer.from('/r/'), range_end: Buffer.from('/r0')}],
  ]
  for (const [what, request] of requests) {
    it(`answers as the etcd3 client does: ${what}`, async () => {
      const at = what === 'an older revision' ? {...request, revision: firstRevision} : request
      const theirs = await client.kv.range(at)
      const ours = await ranges.range(at)
      assert.equal(ours.header.revision, theirs.header.revision)
      assert.equal(ours.more, theirs.more)
      assert.equal(ours.count, theirs.count)
      const fields = (kv: typeof ours.kvs[number]) => ({key: kv.key.toString(), value: kv.value.toString(), create_revision: kv.create_revision, mod_revision: kv.mod_revision, version: kv.version, lease: kv.lease})
      assert.deepEqual(ours.kvs.map(fields), theirs.kvs.map(fields))
    })
  }

  it('holds the process open while a read is under way, and not after: a datastore left unclosed cannot hang netctl', () => {
    const script = `
      const {EtcdDatastore} = await import(${JSON.stringify(`${repoRoot}/src/datastore/etcd.ts`)})
      const ds = await EtcdDatastore.open({datastoreType: 'etcdv3', stateDir: '', etcdEndpoints: ${JSON.stringify(etcd.endpoint)}})
      const [kv] = (await ds.list({kind: 'X', plural: 'x', namespaced: false, aliases: [], columns: {ps: [], wide: []}, cells: {}}))
      console.log('listed ' + String(kv === undefined))`
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: repoRoot, encoding: 'utf8', timeout: 8000})
    assert.equal(r.signal, null, 'the process did not exit on its own')
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'listed true\n')
  })

  it('leaves a reply over its size bound to the etcd3 client, and reads on after it', async () => {
    const bounded = EtcdRangeClient.for([etcd.endpoint], undefined, {callMs: 5000, maxReplyBytes: 100_000})!
    try {
      await assert.rejects(bounded.range({key: Buffer.from('/r/big')}), (error) => error instanceof EtcdRangeUnavailable && /more than 100000 bytes/.test(error.message))
      assert.equal((await bounded.range({key: Buffer.from('/r/a')})).kvs[0]!.value.toString(), 'second')
    } finally {
      bounded.close()
    }
  })

  it('reads int64 revisions beyond 2^53 exactly, and refuses a malformed reply', () => {
    // RangeResponse{header{revision: 2^60+1}, kvs[{key "k", mod_revision 2^60+1}], more true}
    const varint = (n: bigint) => {
      const out: number[] = []
      do {
        const low = Number(n & 0x7fn)
        n >>= 7n
        out.push(n > 0n ? low | 0x80 : low)
      } while (n > 0n)
      return out
    }
    const big = (1n << 60n) + 1n
    const header = [0x18, ...varint(big)]
    const kv = [0x0a, 1, 0x6b, 0x18, ...varint(big)]
    const reply = decodeRangeResponse(Buffer.from([0x0a, header.length, ...header, 0x12, kv.length, ...kv, 0x18, 1]))
    assert.equal(reply.header.revision, String(big))
    assert.equal(reply.kvs[0]!.mod_revision, String(big))
    assert.equal(reply.kvs[0]!.key.toString(), 'k')
    assert.equal(reply.more, true)
    assert.throws(() => decodeRangeResponse(Buffer.from([0x12, 50, 0x0a])), /past the end/)
  })

  it('is used only where it can do what the etcd3 client does: not with a username, nor across TLS settings', () => {
    const tls = {rootCertificate: Buffer.from('ca')}
    assert.ok(EtcdRangeClient.for(['http://127.0.0.1:2379'], undefined, {callMs: 1}))
    assert.ok(EtcdRangeClient.for(['https://127.0.0.1:2379'], undefined, {tls, callMs: 1}))
    assert.equal(EtcdRangeClient.for(['http://127.0.0.1:2379'], 'root', {callMs: 1}), undefined)
    assert.equal(EtcdRangeClient.for(['http://root:pw@127.0.0.1:2379'], undefined, {callMs: 1}), undefined)
    assert.equal(EtcdRangeClient.for(['https://127.0.0.1:2379'], undefined, {callMs: 1}), undefined)
    assert.equal(EtcdRangeClient.for(['http://127.0.0.1:2379'], undefined, {tls, callMs: 1}), undefined)
    assert.equal(EtcdRangeClient.for(['unix:///run/etcd.sock'], undefined, {callMs: 1}), undefined)
  })

  describe('a server that answers Range with a gRPC error', () => {
    let server: Http2Server
    let endpoint = ''
    before(async () => {
      server = createServer()
      server.on('stream', (stream) => {
        stream.on('data', () => {})
        stream.on('end', () => stream.respond({':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': 'etcdserver: permission denied'}, {endStream: true}))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      endpoint = `http://127.0.0.1:${(server.address() as {port: number}).port}`
    })
    after(() => new Promise<void>((resolve) => server.close(() => resolve())))

    it('is EtcdRangeUnavailable, not an answer', async () => {
      const denied = EtcdRangeClient.for([endpoint], undefined, {callMs: 5000})!
      try {
        await assert.rejects(denied.range({key: Buffer.from('/x')}), (error) => error instanceof EtcdRangeUnavailable && /gRPC status 7: etcdserver: permission denied/.test(error.message))
      } finally {
        denied.close()
      }
    })

    it('the datastore then asks through the etcd3 client, and says what it said, as before', async () => {
      const ds = await EtcdDatastore.open({datastoreType: 'etcdv3', stateDir: '', etcdEndpoints: endpoint})
      try {
        await assert.rejects(ds.list(ipPoolKind), (error) => error instanceof NetctlError && /refused netctl: 7 PERMISSION_DENIED/.test(error.message))
      } finally {
        await ds.close()
      }
      const r = await runCli(['get', 'ippools', '--datastore', 'etcdv3', '--etcd-endpoints', endpoint])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /refused netctl: 7 PERMISSION_DENIED: etcdserver: permission denied/)
      assert.match(r.stderr, /ETCD_USERNAME\/ETCD_PASSWORD/)
    })
  })
})
