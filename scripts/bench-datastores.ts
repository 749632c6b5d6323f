/**
 * `get workloadendpoints -A` over 20,000 objects: pods in the Kubernetes API test double,
 * and WorkloadEndpoints in a real etcd, with `etcdctl get --prefix -w json` reading the same keys
 * as the yardstick (the target: netctl within 2x of it, and under 150 MB), and for Kubernetes the
 * time the test double takes to serve the same pages to a client that only follows `continue`
 * (the target: within 2x of it, under 150 MB). Prints wall time and peak RSS (GNU time's %M) for
 * each, beside its target and its peer; the listing prints page by page (see writeListingPages).
 * Also `get ippools` on the etcd (no pools there) beside the embedded store's: what opening etcd costs.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Etcd3} from 'etcd3'

import {etcdPageSize} from '../src/datastore/etcd.js'

import {startEtcd} from '../test/helpers/etcd.js'
import {startKubeApiDouble} from '../test/helpers/kube-api-double.js'

const count = Number(process.env.BENCH_OBJECTS ?? 20_000)
const runs = 3

/** Asynchronous on purpose: the API test double answers from this very process. */
function runOnce(command: string[], env: Record<string, string>): Promise<{ms: number; peakMb: number}> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn('/usr/bin/time', ['-f', '%M', ...command], {env: {...process.env, XDG_CONFIG_HOME: join(dir, 'config'), ...env}, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (code !== 0) reject(new Error(`${command.join(' ')} failed: ${stderr}`))
      else resolve({ms, peakMb: Number(stderr.trim().split('\n').at(-1)) / 1024})
    })
  })
}

async function measure(command: string[], env: Record<string, string>): Promise<{ms: number; peakMb: number}> {
  const results = []
  for (let i = 0; i < runs; i++) results.push(await runOnce(command, env))
  results.sort((a, b) => a.ms - b.ms)
  return results[Math.floor(runs / 2)]!
}

/** The double serving every page of pods to a client that reads each body and follows `continue`, in this process. */
async function servePages(api: {url: string; token: string}): Promise<{ms: number; peakMb: number}> {
  const results = []
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint()
    let token: string | undefined
    do {
      const query = new URLSearchParams({limit: '500', ...(token ? {continue: token} : {})})
      const response = await fetch(`${api.url}/api/v1/pods?${query}`, {headers: {Authorization: `Bearer ${api.token}`}})
      const text = await response.text()
      token = /"continue":"([^"]*)"/.exec(text.slice(0, 2000))?.[1] || undefined
    } while (token)
    results.push({ms: Number(process.hrtime.bigint() - started) / 1e6, peakMb: Number.NaN})
  }
  results.sort((a, b) => a.ms - b.ms)
  return results[Math.floor(runs / 2)]!
}

const netctl = [process.execPath, 'bin/run.js', 'get', 'workloadendpoints', '-A']
const line = (name: string, m: {ms: number; peakMb: number}, extra = '') =>
  console.log(`  ${name.padEnd(52)} ${(m.ms / 1000).toFixed(2).padStart(6)} s  ${Number.isNaN(m.peakMb) ? '       ' : `${m.peakMb.toFixed(0).padStart(4)} MB`}${extra}`)
const ratio = (m: {ms: number}, peer: {ms: number}) => `${(m.ms / peer.ms).toFixed(2)}x`
const memory = (m: {peakMb: number}) => (m.peakMb < 150 ? 'met' : 'MISSED')
const verdict = (m: {ms: number; peakMb: number}, peer: {ms: number}) => (m.ms <= 2 * peer.ms ? (m.peakMb < 150 ? 'met' : 'memory MISSED') : m.peakMb < 150 ? 'time MISSED' : 'time and memory MISSED')

const dir = mkdtempSync(join(tmpdir(), 'netctl-bench-ds-'))
const api = await startKubeApiDouble()
const etcd = await startEtcd()
try {
  console.log(`get workloadendpoints -A over ${count} objects (median of ${runs}; wall time, peak RSS):`)
  api.seed('pods', Array.from({length: count}, (_, i) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: {name: `web-${i}`, namespace: `ns-${i % 50}`, labels: {app: 'web'}},
    spec: {nodeName: `node-${i % 100}`, serviceAccountName: 'default'},
    status: {phase: 'Running', podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`},
  })))
  const kubeconfig = join(dir, 'kubeconfig')
  api.writeKubeconfig(kubeconfig)
  const kube = await measure(netctl, {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig})
  const served = await servePages(api)
  line('kubernetes (API test double, 500 pods a page)', kube, `   ${ratio(kube, served)} the double serving (target: under 2x, under 150 MB: ${verdict(kube, served)})`)
  line('the double serving the 40 pages (no parsing)', served)

  const client = new Etcd3({hosts: etcd.endpoint})
  for (let start = 0; start < count; start += 500) {
    await Promise.all(Array.from({length: Math.min(500, count - start)}, (_, j) => {
      const i = start + j
      const namespace = `ns-${i % 50}`
      const name = `node--${i % 100}-k8s-web--${i}-eth0`
      const value = {
        kind: 'WorkloadEndpoint', apiVersion: 'projectcalico.org/v3',
        metadata: {name, namespace, uid: `uid-${i}`, creationTimestamp: '2026-01-01T00:00:00Z', labels: {app: 'web', 'projectcalico.org/namespace': namespace, 'projectcalico.org/orchestrator': 'k8s'}},
        spec: {orchestrator: 'k8s', node: `node-${i % 100}`, pod: `web-${i}`, endpoint: 'eth0', ipNetworks: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`], profiles: [`kns.${namespace}`], interfaceName: `cali${String(i).padStart(11, '0')}`},
      }
      return client.put(`/calico/resources/v3/projectcalico.org/workloadendpoints/${namespace}/${name}`).value(JSON.stringify(value))
    }))
  }
  client.close()
  const etcdNetctl = await measure(netctl, {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint})
  const etcdctl = await measure(['etcdctl', '--endpoints', etcd.endpoint, 'get', '--prefix', '-w', 'json', '/calico/resources/v3/projectcalico.org/workloadendpoints/'], {ETCDCTL_API: '3'})
  line(`etcdv3 (real etcd, ${etcdPageSize} keys a page)`, etcdNetctl, `   ${ratio(etcdNetctl, etcdctl)} etcdctl (target: under 2x, under 150 MB: ${verdict(etcdNetctl, etcdctl)})`)
  line('etcdctl get --prefix -w json (same keys)', etcdctl)
  const etcdYaml = await measure([...netctl, '-o', 'yaml'], {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint})
  line('etcdv3 -o yaml', etcdYaml, `   ${ratio(etcdYaml, etcdctl)} etcdctl (memory under 150 MB: ${memory(etcdYaml)})`)
  const etcdJson = await measure([...netctl, '-o', 'json'], {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint})
  line('etcdv3 -o json', etcdJson, `   ${ratio(etcdJson, etcdctl)} etcdctl (memory under 150 MB: ${memory(etcdJson)})`)
  const pools = [process.execPath, 'bin/run.js', 'get', 'ippools']
  const etcdPools = await measure(pools, {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint})
  const filePools = await measure(pools, {DATASTORE_TYPE: 'file', NETCTL_STATE_DIR: join(dir, 'state')})
  line('etcdv3 get ippools (none stored)', etcdPools, `   ${ratio(etcdPools, filePools)} the embedded store's (what opening etcd costs)`)
  line('embedded get ippools (none stored)', filePools)
} finally {
  await api.stop()
  await etcd.stop()
  rmSync(dir, {recursive: true, force: true})
}
