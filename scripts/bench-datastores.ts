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
const runs = Number(process.env.BENCH_RUNS ?? 5)

interface Run {
  ms: number
  peakMb: number
}

/** Asynchronous on purpose: the API test double answers from this very process. */
function runOnce(command: string[], env: Record<string, string>): Promise<Run> {
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

/** The double serving every page of pods to a client that reads each body and follows `continue`, in this process. */
async function servePages(api: {url: string; token: string}): Promise<Run> {
  const started = process.hrtime.bigint()
  let token: string | undefined
  do {
    const query = new URLSearchParams({limit: '500', ...(token ? {continue: token} : {})})
    const response = await fetch(`${api.url}/api/v1/pods?${query}`, {headers: {Authorization: `Bearer ${api.token}`}})
    const text = await response.text()
    token = /"continue":"([^"]*)"/.exec(text.slice(0, 2000))?.[1] || undefined
  } while (token)
  return {ms: Number(process.hrtime.bigint() - started) / 1e6, peakMb: Number.NaN}
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

interface Paired {
  ours: Run
  peer: Run
  /** The median of the ratios of runs made one right after the other: steadier than a ratio of medians on a busy machine. */
  ratio: number
  ratios: number[]
}

/**
 * Ours and the peer alternately, `runs` times each (the two cores are shared: a pair sees the same load).
 * Time and peak RSS are medians; the ratio is the median of each pair's ratio.
 */
async function paired(ours: () => Promise<Run>, peer: () => Promise<Run>): Promise<Paired> {
  const a: Run[] = []
  const b: Run[] = []
  for (let i = 0; i < runs; i++) {
    a.push(await ours())
    b.push(await peer())
  }
  const ratios = a.map((run, i) => run.ms / b[i]!.ms)
  const mid = (list: Run[]) => ({ms: median(list.map((r) => r.ms)), peakMb: median(list.map((r) => r.peakMb))})
  return {ours: mid(a), peer: mid(b), ratio: median(ratios), ratios}
}

const netctl = [process.execPath, 'bin/run.js', 'get', 'workloadendpoints', '-A']
const line = (name: string, m: Run, extra = '') =>
  console.log(`  ${name.padEnd(52)} ${(m.ms / 1000).toFixed(2).padStart(6)} s  ${Number.isNaN(m.peakMb) ? '       ' : `${m.peakMb.toFixed(0).padStart(4)} MB`}${extra}`)
const spread = (p: Paired) => `${Math.min(...p.ratios).toFixed(2)}-${Math.max(...p.ratios).toFixed(2)}`
const ratio = (p: Paired, peer: string) => `${p.ratio.toFixed(2)}x ${peer} (pairs ${spread(p)})`
const memory = (m: Run) => (m.peakMb < 150 ? 'met' : 'MISSED')
const verdict = (p: Paired) => (p.ratio <= 2 ? (p.ours.peakMb < 150 ? 'met' : 'memory MISSED') : p.ours.peakMb < 150 ? 'time MISSED' : 'time and memory MISSED')

const dir = mkdtempSync(join(tmpdir(), 'netctl-bench-ds-'))
const api = await startKubeApiDouble()
const etcd = await startEtcd()
try {
  console.log(`get workloadendpoints -A over ${count} objects (${runs} runs each, alternating with the peer; medians of wall time and peak RSS):`)
  api.seed('pods', Array.from({length: count}, (_, i) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: {name: `web-${i}`, namespace: `ns-${i % 50}`, labels: {app: 'web'}},
    spec: {nodeName: `node-${i % 100}`, serviceAccountName: 'default'},
    status: {phase: 'Running', podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`},
  })))
  const kubeconfig = join(dir, 'kubeconfig')
  api.writeKubeconfig(kubeconfig)
  // The double's first listing warms its code up; the figures are of warm ones.
  await servePages(api)
  const kube = await paired(() => runOnce(netctl, {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig}), () => servePages(api))
  line('kubernetes (API test double, 500 pods a page)', kube.ours, `   ${ratio(kube, 'the double serving')} (target: under 2x, under 150 MB: ${verdict(kube)})`)
  line('the double serving the 40 pages (no parsing)', kube.peer)

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
  const etcdEnv = {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint}
  const etcdctl = () => runOnce(['etcdctl', '--endpoints', etcd.endpoint, 'get', '--prefix', '-w', 'json', '/calico/resources/v3/projectcalico.org/workloadendpoints/'], {ETCDCTL_API: '3'})
  const table = await paired(() => runOnce(netctl, etcdEnv), etcdctl)
  line(`etcdv3 (real etcd, ${etcdPageSize} keys a page)`, table.ours, `   ${ratio(table, 'etcdctl')} (target: under 2x, under 150 MB: ${verdict(table)})`)
  line('etcdctl get --prefix -w json (same keys)', table.peer)
  const yaml = await paired(() => runOnce([...netctl, '-o', 'yaml'], etcdEnv), etcdctl)
  line('etcdv3 -o yaml', yaml.ours, `   ${ratio(yaml, 'etcdctl')} (memory under 150 MB: ${memory(yaml.ours)})`)
  const json = await paired(() => runOnce([...netctl, '-o', 'json'], etcdEnv), etcdctl)
  line('etcdv3 -o json', json.ours, `   ${ratio(json, 'etcdctl')} (memory under 150 MB: ${memory(json.ours)})`)
  const pools = [process.execPath, 'bin/run.js', 'get', 'ippools']
  const opening = await paired(() => runOnce(pools, etcdEnv), () => runOnce(pools, {DATASTORE_TYPE: 'file', NETCTL_STATE_DIR: join(dir, 'state')}))
  line('etcdv3 get ippools (none stored)', opening.ours, `   ${ratio(opening, "the embedded store's")}: what opening etcd costs`)
  line('embedded get ippools (none stored)', opening.peer)
} finally {
  await api.stop()
  await etcd.stop()
  rmSync(dir, {recursive: true, force: true})
}
