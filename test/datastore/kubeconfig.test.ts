/**
 * Kubeconfigs as kubectl reads them, through the CLI against the Kubernetes API test double:
 * a plain-HTTP server as `kubectl proxy` serves it (no user), no kubeconfig at all, a KUBECONFIG
 * list, client certificates over TLS (certificates made with openssl), an exec credential plugin
 * over TLS, and a context with no user against a private CA.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer as createHttpServer, request, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {TLSSocket} from 'node:tls'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

interface Kubeconfig {
  server: string
  user?: Record<string, unknown>
  cluster?: Record<string, unknown>
  namespace?: string
}

const kubeconfigYaml = (c: Kubeconfig) =>
  JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'here',
    clusters: [{name: 'here', cluster: {server: c.server, ...c.cluster}}],
    users: c.user ? [{name: 'me', user: c.user}] : [],
    contexts: [{name: 'here', context: {cluster: 'here', ...(c.user ? {user: 'me'} : {}), ...(c.namespace ? {namespace: c.namespace} : {})}}],
  })

/** Forward a request to the double, with the double's token when `authorized` says the caller is known (as an API server or kubectl proxy would). */
function forward(api: KubeApiDouble, authorized: (req: IncomingMessage) => boolean) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const headers = {...req.headers}
    delete headers.host
    if (authorized(req)) headers.authorization = `Bearer ${api.token}`
    const target = new URL(req.url ?? '/', api.url)
    const upstream = request(target, {method: req.method, headers}, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers)
      reply.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  }
}

const listen = (server: Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(String((server.address() as {port: number}).port))))
const close = (server: Server | undefined) => new Promise<void>((resolve) => (server ? (server.closeAllConnections(), server.close(() => resolve())) : resolve()))

describe('kubeconfig as kubectl reads it', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  const servers: Server[] = []
  const file = (name: string) => join(dir.path, name)
  const netctl = (args: string[], env: Record<string, string>) => runCli(args, {env: {DATASTORE_TYPE: 'kubernetes', HOME: file('home'), ...env}})

  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir('netctl-kubeconfig-')
    mkdirSync(file('home'))
    api.seed('ippools', [{metadata: {name: 'seeded-pool'}, spec: {cidr: '10.9.0.0/16'}}])
  })
  after(async () => {
    for (const server of servers) await close(server)
    await api?.stop()
    dir?.cleanup()
  })

  it('a plain-HTTP server with no user, as kubectl proxy serves it', async () => {
    // kubectl proxy: plain HTTP on 127.0.0.1, adds the credentials itself.
    const proxy = createHttpServer(forward(api, () => true))
    servers.push(proxy)
    const port = await listen(proxy)
    writeFileSync(file('proxy.yaml'), kubeconfigYaml({server: `http://127.0.0.1:${port}`}))
    const r = await netctl(['get', 'ippools'], {KUBECONFIG: file('proxy.yaml')})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /seeded-pool\s+10\.9\.0\.0\/16/)
  })

  it('no kubeconfig at all: says so and where it looked', async () => {
    const r = await netctl(['get', 'ippools'], {})
    assert.equal(r.code, 2)
    const home = file('home')
    assert.equal(r.stderr, `Error: no kubeconfig found: KUBECONFIG is not set and ${home}/.kube/config does not exist\n  point KUBECONFIG or --kubeconfig at a kubeconfig file (or run inside a pod, with its service account)\n`)
    const listed = await netctl(['get', 'ippools'], {KUBECONFIG: `${file('a.yaml')}:${file('b.yaml')}`})
    assert.equal(listed.code, 2)
    assert.match(listed.stderr, /^Error: no kubeconfig found: none of the files in KUBECONFIG exists \(.*a\.yaml, .*b\.yaml\)\n/)
    const flag = await netctl(['get', 'ippools', '--kubeconfig', file('nope.yaml')], {})
    assert.equal(flag.code, 2)
    assert.match(flag.stderr, /^Error: cannot load the kubeconfig .*nope\.yaml \(from flag --kubeconfig\): it does not exist\n/)
  })

  it('~/.kube/config when KUBECONFIG is not set; a KUBECONFIG list merged as kubectl merges it', async () => {
    mkdirSync(join(file('home'), '.kube'), {recursive: true})
    api.writeKubeconfig(join(file('home'), '.kube', 'config'))
    const home = await netctl(['get', 'ippools'], {})
    assert.equal(home.code, 0, home.stderr)
    assert.match(home.stdout, /seeded-pool/)
    // The first file names the current context; the second holds it. A missing entry is skipped.
    api.writeKubeconfig(file('holder.yaml'))
    const holder = JSON.parse(readFileSync(file('holder.yaml'), 'utf8'))
    writeFileSync(file('current.yaml'), JSON.stringify({apiVersion: 'v1', kind: 'Config', 'current-context': 'double', clusters: [], users: [], contexts: []}))
    writeFileSync(file('holder.yaml'), JSON.stringify({...holder, 'current-context': 'elsewhere'}))
    const merged = await netctl(['get', 'ippools'], {KUBECONFIG: [file('current.yaml'), file('missing.yaml'), file('holder.yaml')].join(':')})
    assert.equal(merged.code, 0, merged.stderr)
    assert.match(merged.stdout, /seeded-pool/)
  })

  describe('over TLS (certificates made with openssl)', () => {
    let tlsPort: string
    const pem = (name: string) => file(`tls/${name}`)

    before(async () => {
      const tls = file('tls')
      mkdirSync(tls)
      const openssl = (args: string[]) => assert.equal(spawnSync('openssl', args, {cwd: tls, stdio: 'ignore'}).status, 0, `openssl ${args.join(' ')}`)
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=netctl-test-ca'])
      writeFileSync(join(tls, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
      for (const [name, cn, ext] of [['server', '127.0.0.1', ['-extfile', 'san.ext']], ['client', 'netctl-test', []]] as const) {
        openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`])
        openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', ...ext])
      }
      // An API server that authenticates a client certificate signed by its CA (or passes a bearer token on).
      const server = createHttpsServer(
        {cert: readFileSync(pem('server.crt')), key: readFileSync(pem('server.key')), ca: readFileSync(pem('ca.crt')), requestCert: true, rejectUnauthorized: false},
        forward(api, (req) => (req.socket as TLSSocket).authorized || req.headers.authorization === `Bearer ${api.token}`),
      )
      servers.push(server)
      tlsPort = await listen(server)
    })

    const server = () => `https://127.0.0.1:${tlsPort}`

    it('client certificate and key files, and the same as data', async () => {
      writeFileSync(file('certs.yaml'), kubeconfigYaml({server: server(), cluster: {'certificate-authority': pem('ca.crt')}, user: {'client-certificate': pem('client.crt'), 'client-key': pem('client.key')}}))
      const files = await netctl(['get', 'ippools'], {KUBECONFIG: file('certs.yaml')})
      assert.equal(files.code, 0, files.stderr)
      assert.match(files.stdout, /seeded-pool/)
      const b64 = (name: string) => readFileSync(pem(name)).toString('base64')
      writeFileSync(file('certs-data.yaml'), kubeconfigYaml({server: server(), cluster: {'certificate-authority-data': b64('ca.crt')}, user: {'client-certificate-data': b64('client.crt'), 'client-key-data': b64('client.key')}}))
      const data = await netctl(['get', 'ippools'], {KUBECONFIG: file('certs-data.yaml')})
      assert.equal(data.code, 0, data.stderr)
      assert.match(data.stdout, /seeded-pool/)
    })

    it('without the client certificate the server refuses (401), and without the CA the certificate is not trusted', async () => {
      writeFileSync(file('no-cert.yaml'), kubeconfigYaml({server: server(), cluster: {'certificate-authority': pem('ca.crt')}}))
      // A context with no user still trusts its cluster's CA: the refusal is the server's, not TLS's.
      const noCert = await netctl(['get', 'ippools'], {KUBECONFIG: file('no-cert.yaml')})
      assert.equal(noCert.code, 1)
      assert.match(noCert.stderr, /did not accept netctl's credentials \(401\)/)
      assert.doesNotMatch(noCert.stderr, /self[- ]signed|unable to verify|TLS/i)
      writeFileSync(file('no-ca.yaml'), kubeconfigYaml({server: server(), user: {'client-certificate': pem('client.crt'), 'client-key': pem('client.key')}}))
      const noCa = await netctl(['get', 'ippools'], {KUBECONFIG: file('no-ca.yaml')})
      assert.equal(noCa.code, 1)
      assert.match(noCa.stderr, /self[- ]signed|unable to verify/i)
    })

    it('an exec credential plugin over TLS', async () => {
      const plugin = file('credential-plugin.mjs')
      writeFileSync(plugin, `console.log(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: {token: ${JSON.stringify(api.token)}}}))`)
      writeFileSync(file('exec.yaml'), kubeconfigYaml({
        server: server(), cluster: {'certificate-authority': pem('ca.crt')},
        user: {exec: {apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: [plugin], interactiveMode: 'Never'}},
      }))
      const r = await netctl(['get', 'ippools'], {KUBECONFIG: file('exec.yaml')})
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /seeded-pool/)
    })
  })
})
