// Policy benchmark: `netctl policy eval` over 10,000 workload endpoints and 1,000 policies in
// 5 tiers on the embedded datastore, timed as a user runs it (startup included), beside
// `node -e 0`; then the evaluator alone (world built once, one flow at a time).
// As root, then: policy reconcile on a 100-pod lab (4 nodes × 25 pods, 200 policies) after one
// policy changes, in-process (compile + diff + load of the nodes whose script changed) and as
// `netctl apply --lab` (the whole lab reconcile). NETCTL_BENCH_POLICY_LAB=0 skips it.
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

if (process.getuid?.() !== 0 || process.env.NETCTL_BENCH_POLICY_LAB === '0') {
  console.log('policy reconcile on a lab skipped: it needs root (NETCTL_BENCH_POLICY_LAB=0 skips it too)')
} else {
  await labReconcile()
}

async function labReconcile(): Promise<void> {
  const labState = mkdtempSync(join(tmpdir(), 'netctl-bench-policy-lab-'))
  const lab = `polb${process.pid % 10000}`
  const env = {...process.env, NETCTL_STATE_DIR: labState, XDG_CONFIG_HOME: join(labState, 'config')}
  const netctl = (args: string[], input?: string) => {
    const started = process.hrtime.bigint()
    const r = spawnSync(process.execPath, ['bin/run.js', ...args], {env, input, encoding: 'utf8'})
    if (r.status !== 0) throw new Error(`netctl ${args.join(' ')}: ${r.stderr}`)
    return Number(process.hrtime.bigint() - started) / 1e6
  }
  const {openLabDatastore, requireClusterLab} = await import('../src/lab/lab.js')
  const {loadCluster} = await import('../src/lab/plan/cluster.js')
  const {applyLabPolicy} = await import('../src/lab/daemons/policy.js')
  const {networkPolicyKind} = await import('../src/resources/policy.js')
  const {workloadEndpointKind} = await import('../src/resources/workloadendpoint.js')
  try {
    netctl(['lab', 'up', '--name', lab, '--bgp', 'off', '--nodes', '4', '--pods-per-node', '25'])
    const record = requireClusterLab(labState, lab)
    const ds = await openLabDatastore(labState, record)
    try {
      const cluster = await loadCluster(ds, lab, record.topology)
      // Each pod labelled with its node (as a DaemonSet's pods would be told apart), written without a reconcile.
      for (const wep of await ds.list(workloadEndpointKind)) {
        await ds.update(workloadEndpointKind, {...wep, metadata: {...wep.metadata, labels: {...wep.metadata.labels, node: String(wep.spec?.node)}}})
      }
      const policy = (i: number, port: number) => ({
        apiVersion, kind: 'NetworkPolicy', metadata: {name: `p${i}`, namespace: 'default'},
        spec: {order: i, selector: i === 0 ? `node == '${cluster.nodes[1]!.name}'` : i % 2 === 0 ? 'all()' : "projectcalico.org/orchestrator == 'k8s'", types: ['Ingress', 'Egress'],
          ingress: [{action: 'Allow', protocol: 'TCP', source: {selector: i % 3 === 0 ? 'all()' : `node == '${cluster.nodes[i % 4]!.name}'`}, destination: {ports: [port, `${2000 + i}:${2010 + i}`]}}],
          egress: [{action: 'Allow', protocol: 'UDP', destination: {nets: [`10.${i}.0.0/16`], ports: [53]}}]},
      })
      for (let i = 0; i < 200; i++) await ds.create(networkPolicyKind, policy(i, 1000 + i))
      const firstStarted = performance.now()
      const first = await applyLabPolicy(labState, ds, cluster)
      const firstMs = performance.now() - firstStarted
      const runs: Array<{ms: number; loaded: number; compileMs: number; loadMs: number}> = []
      for (let k = 0; k < 5; k++) {
        // One policy changes: p0, which selects the pods of one node only.
        const current = await ds.get(networkPolicyKind, 'p0', 'default')
        await ds.update(networkPolicyKind, {...current, ...{spec: policy(0, 3000 + k).spec}})
        const started = performance.now()
        const result = await applyLabPolicy(labState, ds, cluster)
        runs.push({ms: performance.now() - started, loaded: result.loaded.length, compileMs: result.compileMs, loadMs: result.loadMs})
      }
      const run = [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!
      console.log('policy on a lab, 100 pods on 4 nodes, 200 policies:')
      console.log(`  first render and load on every node         ${firstMs.toFixed(0).padStart(6)} ms   target < 2000 ms   (compile ${first.compileMs.toFixed(0)} ms, load ${first.loadMs.toFixed(0)} ms)`)
      console.log(`  one policy changed, median of ${runs.length}:`)
      console.log(`  in-process reconcile                      ${run.ms.toFixed(0).padStart(6)} ms   target < 1000 ms   (compile ${run.compileMs.toFixed(0)} ms, load ${run.loadMs.toFixed(0)} ms; ${run.loaded} of 4 nodes reloaded)`)
      const file = JSON.stringify({...policy(0, 4000), spec: policy(0, 4000).spec})
      const cli = netctl(['apply', '-f', '-', '--lab', lab], file)
      console.log(`  netctl apply --lab (whole lab reconcile)    ${cli.toFixed(0).padStart(6)} ms`)
    } finally {
      await ds.close()
    }
  } finally {
    spawnSync(process.execPath, ['bin/run.js', 'lab', 'down', '--all'], {env, encoding: 'utf8'})
    rmSync(labState, {recursive: true, force: true})
  }
}
