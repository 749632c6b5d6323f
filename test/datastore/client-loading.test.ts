/**
 * The datastore clients a command loads: the bundles `npm run build` makes (scripts/bundle-vendor.js),
 * not the packages, and never client-node's generated API clients (0.6 s and 75 MB for nothing);
 * reading etcd loads no etcd3 client at all (EtcdRangeClient).
 * That the bundles work (TLS, client certificates, exec plugins, auth, errors) is what the
 * CLI tests of etcd.test.ts and kubeconfig.test.ts show, which run the built CLI.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {after, before, describe, it} from 'node:test'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'
import {moduleRecorder, requireRecorder} from '../helpers/module-recorder.js'

const recorder = moduleRecorder
/** Where dist/cached-require.js keeps the code cache of a bundle under dist/vendor/. */
const vendorCache = (bundle: string) => join(repoRoot, 'dist', 'vendor', bundle.replace(/\.js$/, '.cache'))

describe('datastore clients as the built CLI loads them', () => {
  const dir = tempDir()
  const log = join(dir.path, 'modules.txt')
  const hook = join(dir.path, 'record.mjs')
  let etcd: EtcdServer
  let api: KubeApiDouble

  before(async () => {
    writeFileSync(join(dir.path, 'hook.mjs'), recorder)
    writeFileSync(hook, `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(join(dir.path, 'hook.mjs')).href)}, {data: {file: ${JSON.stringify(log)}}})\n`)
    writeFileSync(join(dir.path, 'record.cjs'), requireRecorder(log))
    ;[etcd, api] = await Promise.all([startEtcd(), startKubeApiDouble()])
    api.writeKubeconfig(join(dir.path, 'kubeconfig'))
  })
  after(async () => {
    await Promise.all([etcd?.stop(), api?.stop()])
    dir.cleanup()
  })

  const loadedBy = async (env: Record<string, string>, args = ['get', 'workloadendpoints', '-A'], input?: string): Promise<string> => {
    writeFileSync(log, '')
    const result = await runCli(args, {input, stateDir: dir.path, env: {...env, NODE_OPTIONS: `--import ${pathToFileURL(hook).href} --require ${join(dir.path, 'record.cjs')}`}})
    assert.equal(result.code, 0, result.stderr)
    const loaded = readFileSync(log, 'utf8')
    assert.match(loaded, /bin\/run\.js/, 'the recorder saw the CLI start')
    return loaded
  }

  it('the Kubernetes datastore loads the bundled KubeConfig, not @kubernetes/client-node and its API clients', async () => {
    rmSync(vendorCache('kubeconfig.js'), {force: true})
    const loaded = await loadedBy({DATASTORE_TYPE: 'kubernetes', KUBECONFIG: join(dir.path, 'kubeconfig')})
    assert.ok(!loaded.includes('@kubernetes/client-node'), 'loaded @kubernetes/client-node')
    // The bundle runs from dist/cached-require.js, which wrote its code cache at exit.
    assert.match(loaded, /\/dist\/cached-require\.js/)
    assert.ok(existsSync(vendorCache('kubeconfig.js')), 'no code cache of dist/vendor/kubeconfig.js was written')
  })

  it('a bundle runs once per process, however many datastores ask for it', () => {
    const {requireCached} = createRequire(import.meta.url)(join(repoRoot, 'dist/cached-require.js')) as {requireCached: (file: string) => {exports: unknown}}
    const bundle = join(repoRoot, 'dist/vendor/kubeconfig.js')
    assert.equal(requireCached(bundle).exports, requireCached(bundle).exports)
  })

  it('the bundled KubeConfig still makes proxy agents for a proxy-url (bundled, loaded on first use)', async () => {
    const {KubeConfig} = (await import(pathToFileURL(join(repoRoot, 'dist/vendor/kubeconfig.js')).href)) as typeof import('@kubernetes/client-node')
    const agentFor = async (server: string, proxy: string) => {
      const kc = new KubeConfig()
      kc.loadFromOptions({
        clusters: [{name: 'c', server, proxyUrl: proxy, skipTLSVerify: false}],
        users: [{name: 'u', token: 't'}],
        contexts: [{name: 'c', cluster: 'c', user: 'u'}],
        currentContext: 'c',
      })
      const options: {agent?: object} = {}
      await kc.applyToHTTPSOptions(options)
      return options.agent?.constructor.name
    }
    assert.match((await agentFor('https://10.0.0.1:6443', 'socks5://127.0.0.1:1080'))!, /^SocksProxyAgent/)
    assert.match((await agentFor('https://10.0.0.1:6443', 'http://127.0.0.1:3128'))!, /^HttpsProxyAgent/)
  })

  const etcdPackages = ['/node_modules/etcd3/', '/node_modules/@grpc/', '/node_modules/protobufjs/', '/node_modules/cockatiel/']

  it('reading etcd loads no etcd3 client; writing loads the bundled one, not the packages', async () => {
    const env = {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint}
    const read = await loadedBy(env)
    for (const name of [...etcdPackages, '/dist/vendor/etcd3/']) assert.ok(!read.includes(name), `get loaded ${name}`)
    const pool = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: loading}\nspec: {cidr: 10.9.0.0/16}\n'
    rmSync(vendorCache('etcd3/lib/etcd3.js'), {force: true})
    const written = await loadedBy(env, ['create', '-f', '-'], pool)
    assert.match(written, /\/dist\/cached-require\.js/)
    assert.ok(existsSync(vendorCache('etcd3/lib/etcd3.js')), 'no code cache of dist/vendor/etcd3/lib/etcd3.js was written')
    for (const name of etcdPackages) assert.ok(!written.includes(name), `create loaded ${name}`)
  })
})
