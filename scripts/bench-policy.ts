// Policy benchmark: `netctl policy eval` over 10,000 workload endpoints and 1,000 policies in
// 5 tiers on the embedded datastore, timed as a user runs it (startup included), beside
// `node -e 0`; then the evaluator alone (world built once, one flow at a time).
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {buildWorld, evaluate} from '../src/policy/index.js'
import type {Resource} from '../src/resources/types.js'

const endpoints = 10_000
const policies = 1_000
const tiers = 5
const apiVersion = 'projectcalico.org/v3'

function world(): Resource[] {
  const out: Resource[] = []
  for (let t = 0; t < tiers; t++) out.push({apiVersion, kind: 'Tier', metadata: {name: `tier-${t}`}, spec: {order: 100 * (t + 1), defaultAction: t < tiers - 1 ? 'Pass' : 'Deny'}})
  for (let i = 0; i < endpoints; i++) {
    const namespace = `ns-${i % 50}`
    const pod = `pod-${i}`
    out.push({
      apiVersion, kind: 'WorkloadEndpoint',
      metadata: {name: `node${i % 100}-k8s-${pod}-eth0`, namespace, labels: {app: `app-${i % 200}`, tier: i % 3 === 0 ? 'frontend' : 'backend', 'projectcalico.org/namespace': namespace, 'projectcalico.org/orchestrator': 'k8s'}},
      spec: {node: `node${i % 100}`, orchestrator: 'k8s', pod, endpoint: 'eth0', interfaceName: `cali${String(i).padStart(11, '0')}`, ipNetworks: [`10.${Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}/32`], profiles: [`kns.${namespace}`]},
    })
  }
  for (let i = 0; i < policies; i++) {
    const tier = `tier-${i % tiers}`
    out.push({
      apiVersion, kind: 'GlobalNetworkPolicy', metadata: {name: `${tier}.p-${i}`},
      spec: {tier, order: i, selector: `app == 'app-${i % 200}'`, types: ['Ingress'], ingress: [{action: i % 7 === 0 ? 'Deny' : 'Allow', protocol: 'TCP', source: {selector: `tier == '${i % 2 ? 'frontend' : 'backend'}'`}, destination: {ports: [80 + (i % 20)]}}, {action: 'Pass'}]},
    })
  }
  return out
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const state = mkdtempSync(join(tmpdir(), 'netctl-bench-policy-'))
try {
  const resources = world()
  // The embedded datastore's own file format: written directly, as 11,005 creates would take minutes.
  const objects: Record<string, Resource> = {}
  resources.forEach((r, i) => {
    const plural = {Tier: 'tiers', WorkloadEndpoint: 'workloadendpoints', GlobalNetworkPolicy: 'globalnetworkpolicies'}[r.kind]!
    objects[r.metadata.namespace ? `${plural}/${r.metadata.namespace}/${r.metadata.name}` : `${plural}/${r.metadata.name}`] = {...r, metadata: {...r.metadata, resourceVersion: String(i + 1)}}
  })
  writeFileSync(join(state, 'datastore.json'), JSON.stringify({apiVersion: 'netctl/v1', kind: 'FileDatastore', revision: resources.length, objects}), {mode: 0o600})
  const env = {...process.env, NETCTL_STATE_DIR: state, XDG_CONFIG_HOME: join(state, 'config')}
  const time = (args: string[]) => {
    const started = process.hrtime.bigint()
    const r = spawnSync(args[0]!, args.slice(1), {env, encoding: 'utf8'})
    if (r.status !== 0 && r.status !== 1) throw new Error(`${args.join(' ')}: ${r.stderr}`)
    return Number(process.hrtime.bigint() - started) / 1e6
  }
  const evalArgs = [process.execPath, 'bin/run.js', 'policy', 'eval', '--from', 'pod-3', '--to', 'pod-4', '--protocol', 'TCP', '--port', '83']
  const runs = 5
  const cli = median(Array.from({length: runs}, () => time(evalArgs)))
  const node = median(Array.from({length: runs}, () => time([process.execPath, '-e', '0'])))
  console.log(`policy eval, ${endpoints} endpoints and ${policies} policies in ${tiers} tiers (embedded datastore), median of ${runs}:`)
  console.log(`  netctl policy eval (startup included)       ${cli.toFixed(0).padStart(6)} ms   target < 500 ms   (node -e 0: ${node.toFixed(0)} ms)`)
  const started = performance.now()
  const w = buildWorld({resources})
  const built = performance.now() - started
  const flows = Array.from({length: 200}, (_, i) => ({from: `10.0.${Math.floor(i / 256)}.${i % 256}`, to: `10.0.${Math.floor((i + 7) / 256)}.${(i + 7) % 256}`, protocol: 'TCP', port: 80 + (i % 20)}))
  const perFlow = flows.map((flow) => {
    const t = performance.now()
    evaluate(flow, w)
    return performance.now() - t
  })
  console.log(`  evaluator alone: world built in ${built.toFixed(0)} ms, one flow median ${median(perFlow).toFixed(2)} ms (200 flows)`)
} finally {
  rmSync(state, {recursive: true, force: true})
}
