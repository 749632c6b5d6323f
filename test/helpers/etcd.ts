/** A real etcd (Debian's etcd-server) on 127.0.0.1, free ports, a temp data dir; stopped by pid. */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

export interface EtcdServer {
  endpoint: string
  /** etcd's pid, for a test that kills it mid-write. */
  pid: number
  etcdctl(args: string[], input?: string): {code: number | null; stdout: string; stderr: string}
  stop(): Promise<void>
}

export interface EtcdTls {
  ca: string
  cert: string
  key: string
  /** The client certificate and key etcdctl uses. */
  clientCert: string
  clientKey: string
}

/** With dataDir, etcd starts on that data (after a killed one) and stop() leaves it to the caller; args are extra etcd flags. */
export async function startEtcd(tls?: EtcdTls, options: {dataDir?: string; args?: string[]} = {}): Promise<EtcdServer> {
  const [clientPort, peerPort] = [await freePort(), await freePort()]
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'netctl-etcd-'))
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`
  const peer = `http://127.0.0.1:${peerPort}`
  const child: ChildProcess = spawn('etcd', [
    '--name', 'netctl-test', '--data-dir', dataDir,
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `netctl-test=${peer}`, '--log-level', 'error', '--logger', 'zap',
    ...(tls ? ['--cert-file', tls.cert, '--key-file', tls.key, '--trusted-ca-file', tls.ca, '--client-cert-auth'] : []),
    ...(options.args ?? []),
  ], {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  // If the test process dies before stop(), take etcd with it.
  const reap = () => child.kill('SIGKILL')
  process.once('exit', reap)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const etcdctl = (args: string[], input?: string) => {
    const auth = tls ? ['--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey] : []
    const r = spawnSync('etcdctl', ['--endpoints', endpoint, ...auth, ...args], {input, encoding: 'utf8', env: {...process.env, ETCDCTL_API: '3'}})
    return {code: r.status, stdout: r.stdout, stderr: r.stderr}
  }
  const stop = async () => {
    process.removeListener('exit', reap)
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(5000)])
      if (child.exitCode === null) child.kill('SIGKILL')
      await exited
    }
    if (!options.dataDir) rmSync(dataDir, {recursive: true, force: true})
  }
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break
    if (etcdctl(['endpoint', 'health']).code === 0) return {endpoint, pid: child.pid!, etcdctl, stop}
    await sleep(100)
  }
  await stop()
  throw new Error(`etcd did not become healthy on ${endpoint}: ${stderr}`)
}
