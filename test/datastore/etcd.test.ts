/** The etcd v3 backend against a real etcd started for the test (Debian etcd-server). */
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {createServer, type Socket} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {toJson, toYaml} from '../../src/cli/output.js'
import {EtcdDatastore, etcdKey} from '../../src/datastore/etcd.js'
import {NetctlError} from '../../src/errors.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import type {Resource} from '../../src/resources/types.js'
import {workloadEndpointKind} from '../../src/resources/workloadendpoint.js'
import {repoRoot, runCli} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {startTimedRelay} from '../helpers/relay.js'

const pool = (name: string, cidr: string): Resource => ({apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name}, spec: {cidr}})
const isError = (kind: string) => (error: unknown) => error instanceof NetctlError && error.kind === kind

describe('etcd v3 datastore', () => {
  let etcd: EtcdServer
  let ds: EtcdDatastore
  const netctl = (args: string[], input?: string) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint], {input})
  before(async () => {
    etcd = await startEtcd()
    ds = await EtcdDatastore.open({datastoreType: 'etcdv3', stateDir: '', etcdEndpoints: etcd.endpoint})
  })
  after(async () => {
    await ds?.close()
    await etcd?.stop()
  })

  it('creates, reads, updates and deletes with compare-and-swap on mod revision', async () => {
    const created = await ds.create(ipPoolKind, pool('crud', '10.1.0.0/16'))
    assert.match(created.metadata.resourceVersion!, /^\d+$/)
    await assert.rejects(ds.create(ipPoolKind, pool('crud', '10.1.0.0/16')), isError('already-exists'))
    const updated = await ds.update(ipPoolKind, {...created, spec: {cidr: '10.1.0.0/16', natOutgoing: true}})
    assert.ok(BigInt(updated.metadata.resourceVersion!) > BigInt(created.metadata.resourceVersion!))
    assert.equal(updated.metadata.uid, created.metadata.uid)
    await assert.rejects(ds.update(ipPoolKind, {...created, spec: {cidr: '10.1.0.0/16'}}), (e: unknown) => {
      assert.ok(e instanceof NetctlError && e.kind === 'conflict')
      assert.match(e.message, new RegExp(`your resourceVersion ${created.metadata.resourceVersion}, stored ${updated.metadata.resourceVersion}`))
      return true
    })
    await assert.rejects(ds.delete(ipPoolKind, 'crud', undefined, created.metadata.resourceVersion), isError('conflict'))
    await ds.delete(ipPoolKind, 'crud')
    await assert.rejects(ds.get(ipPoolKind, 'crud'), isError('not-found'))
    await assert.rejects(ds.update(ipPoolKind, pool('crud', '10.1.0.0/16')), isError('not-found'))
  })

  it('writes what etcdctl reads as Calico JSON under Calico keys', async () => {
    const r = await netctl(['apply', '-f', join(repoRoot, 'test/fixtures/pools.yaml')])
    assert.equal(r.code, 0, r.stderr)
    const got = etcd.etcdctl(['get', '/calico/resources/v3/projectcalico.org/ippools/default-ipv4-ippool', '--print-value-only'])
    const value = JSON.parse(got.stdout)
    assert.equal(value.apiVersion, 'projectcalico.org/v3')
    assert.equal(value.kind, 'IPPool')
    assert.equal(value.metadata.name, 'default-ipv4-ippool')
    assert.equal(value.metadata.resourceVersion, undefined, 'the mod revision is the version, not a stored field')
    assert.equal(value.spec.ipipMode, 'Always')
    const wep = await netctl(['apply', '-f', join(repoRoot, 'test/fixtures/workloadendpoints.yaml')])
    assert.equal(wep.code, 0, wep.stderr)
    const keys = etcd.etcdctl(['get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/workloadendpoints/']).stdout.split('\n').filter(Boolean)
    assert.deepEqual(keys, [
      '/calico/resources/v3/projectcalico.org/workloadendpoints/default/controlplane-k8s-busybox--deployment--8c7dc8548--x6ljh-eth0',
      '/calico/resources/v3/projectcalico.org/workloadendpoints/default/node01-k8s-busybox--deployment--8c7dc8548--btnkv-eth0',
      '/calico/resources/v3/projectcalico.org/workloadendpoints/kube-system/node01-k8s-coredns--66bff467f8--52tkd-eth0',
    ])
    const all = await netctl(['get', 'weps', '-A'])
    assert.match(all.stdout, /kube-system\s+coredns-66bff467f8-52tkd\s+node01\s+192\.168\.196\.129\/32\s+calid4f00d97cb5/)
  })

  it('reads objects that Calico put with etcdctl', async () => {
    const calicoValue = JSON.stringify({
      kind: 'IPPool', apiVersion: 'projectcalico.org/v3',
      metadata: {name: 'from-calico', uid: '3a3b1c7e-0000-4000-8000-000000000001', creationTimestamp: '2020-10-20T08:00:00Z'},
      spec: {cidr: '172.30.0.0/16', vxlanMode: 'CrossSubnet', ipipMode: 'Never', natOutgoing: true, blockSize: 26, nodeSelector: 'all()'},
    })
    assert.equal(etcd.etcdctl(['put', etcdKey(ipPoolKind, 'from-calico'), calicoValue]).code, 0)
    const rev = JSON.parse(etcd.etcdctl(['get', etcdKey(ipPoolKind, 'from-calico'), '-w', 'json']).stdout).kvs[0].mod_revision
    const r = await netctl(['get', 'ippool', 'from-calico', '-o', 'json'])
    assert.equal(r.code, 0, r.stderr)
    const object = JSON.parse(r.stdout)
    assert.equal(object.metadata.resourceVersion, String(rev))
    assert.equal(object.spec.vxlanMode, 'CrossSubnet')
    const set = await netctl(['ippool', 'set', 'from-calico', '--vxlan', 'Never'])
    assert.equal(set.code, 0, set.stderr)
    assert.equal(JSON.parse(etcd.etcdctl(['get', etcdKey(ipPoolKind, 'from-calico'), '--print-value-only']).stdout).spec.vxlanMode, 'Never')
  })

  it('lists in pages, across namespaces or one', async () => {
    const namespaces = ['alpha', 'beta']
    for (let i = 0; i < 1100; i++) {
      const namespace = namespaces[i % 2]!
      await ds.create(workloadEndpointKind, {apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: {name: `n-k8s-p${String(i).padStart(4, '0')}-eth0`, namespace}, spec: {node: 'n'}})
    }
    const all = await ds.list(workloadEndpointKind)
    assert.equal(all.filter((w) => namespaces.includes(w.metadata.namespace!)).length, 1100)
    const alpha = await ds.list(workloadEndpointKind, {namespace: 'alpha'})
    assert.equal(alpha.length, 550)
    assert.deepEqual(alpha.map((w) => w.metadata.name), [...alpha.map((w) => w.metadata.name)].sort())
  })

  it('hands the listing out a page at a time, and get prints it whole, the same bytes as from one list', async () => {
    const pages: Resource[][] = []
    for await (const page of ds.listPages(workloadEndpointKind)) pages.push(page)
    assert.ok(pages.length >= 2 && pages.every((p) => p.length <= 1000), `pages of ${pages.map((p) => p.length).join(', ')}`)
    const all = await ds.list(workloadEndpointKind)
    assert.deepEqual(pages.flat(), all)
    const json = await netctl(['get', 'weps', '-A', '-o', 'json'])
    assert.equal(json.code, 0, json.stderr)
    assert.equal(json.stdout, `${toJson({apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpointList', items: all})}\n`)
    const yaml = await netctl(['get', 'weps', '-A', '-o', 'yaml'])
    assert.equal(yaml.stdout, `${await toYaml({apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpointList', items: all})}\n`)
    const table = await netctl(['get', 'weps', '-n', 'alpha'])
    const rows = table.stdout.trimEnd().split('\n')
    assert.match(rows[0]!, /^NAMESPACE +WORKLOAD +NODE/)
    assert.equal(rows.slice(1).filter((line) => line.startsWith('alpha ')).length, 550)
  })

  it('has the next page\'s Range request on the wire before a page is handed out, however long the caller then works', async () => {
    // A relay in another process notes when bytes from netctl reach it, while this process works on
    // page 1 for 300 ms without yielding, as printing a big page does. HTTP/2 sends what is queued
    // as the event loop turns: a request not yet sent when the page is handed out waits for the work.
    const relay = await startTimedRelay(Number(new URL(etcd.endpoint).port))
    const relayed = await EtcdDatastore.open({datastoreType: 'etcdv3', stateDir: '', etcdEndpoints: `http://127.0.0.1:${relay.port}`})
    try {
      const pages = relayed.listPages(workloadEndpointKind)
      assert.equal((await pages.next()).done, false)
      const busyUntil = Date.now() + 300
      while (Date.now() < busyUntil);
      for await (const page of {[Symbol.asyncIterator]: () => pages}) assert.ok(page.length > 0)
      // Chunks that can hold a Range request (HEADERS and DATA, ~190 bytes; the first also carries the
      // connection preface); SETTINGS acks and WINDOW_UPDATEs are 9-26 bytes.
      const requests = relay.arrivals().filter((a) => a.bytes >= 100)
      assert.ok(requests.length >= 2, JSON.stringify(relay.arrivals()))
      assert.ok(requests[1]!.at < busyUntil, `page 2's request reached etcd ${requests[1]!.at - busyUntil} ms after page 1's work ended`)
    } finally {
      await relayed.close()
      relay.stop()
    }
  })

  it('loses no update when two processes race on one pool', async () => {
    await ds.create(ipPoolKind, pool('race', '10.9.0.0/16'))
    const race = (label: string) =>
      new Promise<{code: number | null; out: string}>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/helpers/store-writer.ts'), 'race', etcd.endpoint, label, '25'], {cwd: repoRoot})
        let out = ''
        child.stdout.on('data', (d) => (out += d))
        child.stderr.on('data', (d) => (out += d))
        child.on('close', (code) => resolve({code, out}))
      })
    const [a, b] = await Promise.all([race('a'), race('b')])
    assert.equal(a.code, 0, a.out)
    assert.equal(b.code, 0, b.out)
    assert.deepEqual((await ds.get(ipPoolKind, 'race')).metadata.labels, {a: '25', b: '25'})
    console.log(`# etcd: 50 racing updates, ${JSON.parse(a.out).conflicts + JSON.parse(b.out).conflicts} conflicts retried`)
  })

  it('two concurrent ippool set processes both land', async () => {
    const made = await netctl(['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: duel}\nspec: {cidr: 10.20.0.0/16}\n')
    assert.equal(made.code, 0, made.stderr)
    for (let round = 0; round < 3; round++) {
      const [x, y] = await Promise.all([
        netctl(['ippool', 'set', 'duel', round % 2 ? '--no-nat-outgoing' : '--nat-outgoing']),
        netctl(['ippool', 'set', 'duel', round % 2 ? '--no-disabled' : '--disabled']),
      ])
      assert.equal(x.code, 0, x.stderr)
      assert.equal(y.code, 0, y.stderr)
      const spec = JSON.parse((await netctl(['get', 'ippool', 'duel', '-o', 'json'])).stdout).spec
      assert.equal(Boolean(spec.natOutgoing), round % 2 === 0)
      assert.equal(Boolean(spec.disabled), round % 2 === 0)
    }
  })

  it('fails within the deadline, naming the endpoint, when etcd is down', async () => {
    const gone = await startEtcd()
    await gone.stop()
    const started = Date.now()
    const r = await runCli(['get', 'ippools', '--datastore', 'etcdv3', '--etcd-endpoints', gone.endpoint])
    const seconds = (Date.now() - started) / 1000
    assert.equal(r.code, 1)
    assert.match(r.stderr, new RegExp(`^Error: cannot reach etcd at ${gone.endpoint} within 5 s`))
    assert.ok(seconds < 9, `took ${seconds} s`)
    console.log(`# etcd down: failed after ${seconds.toFixed(1)} s`)
  })

  it('never hangs on an endpoint that accepts connections but never answers', async () => {
    const sockets: Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const endpoint = `http://127.0.0.1:${(silent.address() as {port: number}).port}`
    try {
      const started = Date.now()
      const r = await runCli(['get', 'ippools', '--datastore', 'etcdv3', '--etcd-endpoints', endpoint])
      const seconds = (Date.now() - started) / 1000
      assert.equal(r.code, 1)
      assert.match(r.stderr, new RegExp(`cannot reach etcd at ${endpoint} within 5 s`))
      assert.ok(seconds < 10, `took ${seconds} s`)
      console.log(`# etcd silent: failed after ${seconds.toFixed(1)} s`)
    } finally {
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })

  it('talks TLS with client certificates (ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netctl-tls-'))
    const openssl = (args: string[]) => assert.equal(spawnSync('openssl', args, {cwd: dir, stdio: 'ignore'}).status, 0, `openssl ${args[0]}`)
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=netctl-test-ca'])
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
    for (const [name, cn, ext] of [['server', '127.0.0.1', ['-extfile', 'san.ext']], ['client', 'root', []]] as const) {
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`])
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', ...ext])
    }
    const file = (f: string) => join(dir, f)
    const secure = await startEtcd({ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key'), clientCert: file('client.crt'), clientKey: file('client.key')})
    try {
      const env = {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: secure.endpoint, ETCD_CA_CERT_FILE: file('ca.crt'), ETCD_CERT_FILE: file('client.crt'), ETCD_KEY_FILE: file('client.key')}
      const applied = await runCli(['apply', '-f', join(repoRoot, 'test/fixtures/pools.yaml')], {env})
      assert.equal(applied.code, 0, applied.stderr)
      assert.match(secure.etcdctl(['get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/ippools/']).stdout, /ippools\/pool-b/)
      const noCert = await runCli(['get', 'ippools'], {env: {...env, ETCD_CERT_FILE: '', ETCD_KEY_FILE: ''}})
      assert.equal(noCert.code, 1)
      assert.match(noCert.stderr, /refused the TLS connection: .*bad certificate/)
      assert.match(noCert.stderr, /ETCD_CERT_FILE/)
      const badPath = await runCli(['get', 'ippools'], {env: {...env, ETCD_CA_CERT_FILE: file('missing.crt')}})
      assert.equal(badPath.code, 2)
      assert.match(badPath.stderr, /cannot read the etcd CA certificate .*missing\.crt/)
    } finally {
      await secure.stop()
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('authenticates with username and password, and says so when refused', async () => {
    const secured = await startEtcd()
    try {
      assert.equal(secured.etcdctl(['user', 'add', 'root:s3cret']).code, 0)
      assert.equal(secured.etcdctl(['auth', 'enable']).code, 0)
      const env = {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: secured.endpoint, ETCD_USERNAME: 'root', ETCD_PASSWORD: 's3cret'}
      const ok = await runCli(['apply', '-f', join(repoRoot, 'test/fixtures/pools.yaml')], {env})
      assert.equal(ok.code, 0, ok.stderr)
      const denied = await runCli(['get', 'ippools'], {env: {...env, ETCD_PASSWORD: 'wrong'}})
      assert.equal(denied.code, 1)
      assert.match(denied.stderr, /refused netctl/)
      assert.match(denied.stderr, /ETCD_USERNAME\/ETCD_PASSWORD/)
      const anonymous = await runCli(['get', 'ippools'], {env: {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: secured.endpoint}})
      assert.equal(anonymous.code, 1)
    } finally {
      await secured.stop()
    }
  })
})
