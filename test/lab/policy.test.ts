/**
 * Network policy end to end on a real calico lab: policies applied to the lab's datastore are
 * compiled and loaded into each node's namespace (netctl plays Felix), what the lab measures
 * agrees with `netctl policy eval`, natOutgoing masquerades to the outside host, and the host's
 * own nftables are never touched. Root only.
 */
import assert from 'node:assert/strict'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'

import {captureDuring} from '../helpers/capture.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const tag = `n${process.pid % 10000}`
const hostTables = () => spawnSync('nft', ['list', 'tables'], {encoding: 'utf8'}).stdout
const sh = (args: string[]) => spawnSync(args[0]!, args.slice(1), {encoding: 'utf8', timeout: 15_000})

const TCP_CLIENT = 'import socket,sys\ns=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2)\ns.close()'
/** Connects, says so, then on a line of stdin sends a request over the same connection and prints the status line. */
const HELD_CLIENT = [
  'import socket,sys',
  's=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=3)',
  'print("connected",flush=True)',
  'sys.stdin.readline()',
  's.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")',
  'print(s.recv(100).split(b"\\r\\n")[0].decode(),flush=True)',
].join('\n')

const policy = (name: string, spec: Record<string, unknown>) => `apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: default}\nspec: ${JSON.stringify(spec)}\n`

describe('lab network policy: netctl plays Felix', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const lab = `${tag}p`
  const podNs = (pod: string) => `nc-${lab}.p-${pod}`
  const nodeNs = (node: string) => `nc-${lab}.n-${node}`
  const a = 'busybox-controlplane-0'
  const b = 'busybox-node01-0'
  const address = (netns: string) => /inet (\d+\.\d+\.\d+\.\d+)\//.exec(sh(['ip', 'netns', 'exec', netns, 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']).stdout)?.[1]
  let ipA: string
  let ipB: string
  let before0: string
  const children: ChildProcess[] = []

  const apply = async (name: string, yaml: string) => {
    const file = join(state.path, `${name}.yaml`)
    writeFileSync(file, yaml)
    const r = await netctl(['apply', '-f', file, '--lab', lab])
    assert.equal(r.code, 0, r.stderr)
  }
  const ping = (from: string, to: string) => sh(['ip', 'netns', 'exec', podNs(from), 'ping', '-c1', '-W1', to]).status === 0
  const tcp = (from: string, to: string, port: number) => sh(['ip', 'netns', 'exec', podNs(from), 'python3', '-c', TCP_CLIENT, to, String(port)]).status === 0
  const evaluate = async (protocol: string, port?: number) => {
    const r = await netctl(['policy', 'eval', '--from', a, '--to', b, '--protocol', protocol, ...(port ? ['--port', String(port)] : []), '--lab', lab])
    assert.ok(r.code === 0 || r.code === 1, r.stderr)
    return r.code === 0
  }
  /** The lab's measurement and the evaluator's verdict, which must agree. */
  const both = async (protocol: 'ICMP' | 'TCP', port?: number) => {
    const measured = protocol === 'ICMP' ? ping(a, ipB) : tcp(a, ipB, port!)
    const evaluated = await evaluate(protocol, port)
    assert.equal(measured, evaluated, `${protocol} ${port ?? ''}: the lab measured ${measured ? 'allowed' : 'denied'}, policy eval says ${evaluated ? 'allowed' : 'denied'}`)
    return measured
  }
  const tableHandle = (node: string) => /# handle (\d+)/.exec(sh(['ip', 'netns', 'exec', nodeNs(node), 'nft', '-a', 'list', 'table', 'inet', 'netctl']).stdout)?.[1]

  before(async () => {
    state = tempDir()
    before0 = hostTables()
    const up = await netctl(['lab', 'up', '--name', lab, '--bgp', 'off', '--pods-per-node', '1'])
    assert.equal(up.code, 0, up.stderr)
    ipA = address(podNs(a))!
    ipB = address(podNs(b))!
    assert.ok(ipA && ipB)
    // Listeners in b, bound to its address: 8080 allowed later, 8081 never.
    for (const port of [8080, 8081]) {
      const child = spawn('ip', ['netns', 'exec', podNs(b), 'python3', '-m', 'http.server', '--bind', ipB, String(port)], {stdio: 'ignore'})
      children.push(child)
    }
    // Local traffic inside b's namespace meets no forward hook: it says when they listen.
    for (let i = 0; i < 100; i++) {
      if (sh(['ip', 'netns', 'exec', podNs(b), 'python3', '-c', TCP_CLIENT, ipB, '8081']).status === 0 && sh(['ip', 'netns', 'exec', podNs(b), 'python3', '-c', TCP_CLIENT, ipB, '8080']).status === 0) break
      await sleep(100)
    }
  })
  after(async () => {
    for (const child of children) if (child.pid && child.exitCode === null) child.kill('SIGKILL')
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
  })

  it('without policy the kns profile allows; each node has its table, the host none of it', async () => {
    assert.equal(await both('ICMP'), true)
    assert.equal(await both('TCP', 8081), true)
    for (const node of ['controlplane', 'node01']) {
      assert.ok(tableHandle(node), `no table inet netctl in ${node}`)
      assert.ok(existsSync(join(state.path, 'labs', lab, node, 'policy.nft')), 'the loaded script is kept in the node directory')
    }
    assert.equal(hostTables(), before0, "the host's nftables are unchanged")
  })

  it('a reconcile with nothing changed loads nothing', async () => {
    const handle = tableHandle('controlplane')
    const again = await netctl(['lab', 'up', '--name', lab, '--bgp', 'off', '--pods-per-node', '1'])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(tableHandle('controlplane'), handle, 'the table was not replaced')
  })

  it('default deny: cross-node ping and TCP fail, and policy eval says so', async () => {
    await apply('deny', policy('default-deny', {selector: 'all()', types: ['Ingress', 'Egress']}))
    assert.equal(await both('ICMP'), false)
    assert.equal(await both('TCP', 8080), false)
    assert.equal(hostTables(), before0)
  })

  it('an allow policy opens ICMP; a TCP allow opens one port and not another', async () => {
    await apply('icmp', policy('allow-icmp', {selector: 'all()', types: ['Ingress', 'Egress'], ingress: [{action: 'Allow', protocol: 'ICMP'}], egress: [{action: 'Allow', protocol: 'ICMP'}]}))
    assert.equal(await both('ICMP'), true)
    assert.equal(await both('TCP', 8080), false)
    await apply(
      'web',
      policy('allow-web', {selector: 'all()', types: ['Ingress', 'Egress'], ingress: [{action: 'Allow', protocol: 'TCP', source: {selector: 'all()'}, destination: {ports: [8080]}}], egress: [{action: 'Allow', protocol: 'TCP'}]}),
    )
    assert.equal(await both('TCP', 8080), true)
    assert.equal(await both('TCP', 8081), false)
    assert.equal(hostTables(), before0)
  })

  it('an established connection survives a policy change that blocks new ones', async () => {
    const client = spawn('ip', ['netns', 'exec', podNs(a), 'python3', '-c', HELD_CLIENT, ipB, '8080'], {stdio: ['pipe', 'pipe', 'pipe']})
    children.push(client)
    // Listen for the end now: a client that ends early must fail the test, not hang it.
    const done = new Promise<number>((resolve) => client.on('close', (code) => resolve(code ?? -1)))
    let out = ''
    client.stdout!.on('data', (d) => (out += d))
    for (let i = 0; i < 50 && !out.includes('connected'); i++) await sleep(100)
    assert.match(out, /connected/)
    const handle = tableHandle('node01')
    const r = await netctl(['delete', 'networkpolicy', 'allow-web', '-n', 'default', '--lab', lab])
    assert.equal(r.code, 0, r.stderr)
    assert.notEqual(tableHandle('node01'), handle, 'the changed script was loaded')
    assert.equal(await both('TCP', 8080), false, 'new connections are blocked now')
    client.stdin!.end('go\n')
    assert.equal(await done, 0)
    assert.match(out, /HTTP\/1\.0 200/)
  })

  it('natOutgoing: a pod reaches the outside host, masqueraded to its node address', async () => {
    const nodeIp = address(nodeNs('controlplane'))!
    let exec = {code: -1 as number | null, stdout: '', stderr: ''}
    const seen = await captureDuring(`nc-${lab}.outside`, {iface: 'eth0', filter: 'icmp and dst host 198.51.100.1', count: 1, seconds: 10}, async () => {
      exec = await netctl(['lab', 'exec', '--lab', lab, a, '--', 'ping', '-c1', '-W2', '198.51.100.1'])
    })
    assert.equal(exec.code, 0, `${exec.stdout}${exec.stderr}`)
    assert.match(seen, new RegExp(`IP ${nodeIp.replace(/\./g, '\\.')} > 198\\.51\\.100\\.1: ICMP echo request`), seen)
    assert.doesNotMatch(seen, new RegExp(ipA.replace(/\./g, '\\.')))
    assert.equal(hostTables(), before0)
  })
})

describe('lab network policy at scale', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const lab = `${tag}s`

  before(() => {
    state = tempDir()
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
  })

  it('200 policies on a 100-pod lab: compile and load time', async () => {
    const up = await netctl(['lab', 'up', '--name', lab, '--bgp', 'off', '--nodes', '4', '--pods-per-node', '25'])
    assert.equal(up.code, 0, up.stderr)
    const docs = Array.from({length: 200}, (_, i) =>
      policy(`p${i}`, {
        order: i,
        selector: i % 2 === 0 ? 'all()' : `projectcalico.org/orchestrator == 'k8s'`,
        types: ['Ingress', 'Egress'],
        ingress: [{action: 'Allow', protocol: 'TCP', source: {selector: i % 3 === 0 ? 'all()' : "has(projectcalico.org/serviceaccount)"}, destination: {ports: [1000 + i, `${2000 + i}:${2010 + i}`]}}],
        egress: [{action: 'Allow', protocol: 'UDP', destination: {nets: [`10.${i}.0.0/16`], ports: [53]}}, {action: 'Deny', protocol: 'ICMP', icmp: {type: 8}}],
      }),
    )
    const file = join(state.path, 'many.yaml')
    writeFileSync(file, docs.join('---\n'))
    const started = performance.now()
    const applied = await netctl(['apply', '-f', file, '--lab', lab])
    const applySeconds = (performance.now() - started) / 1000
    assert.equal(applied.code, 0, applied.stderr)
    // Compile and load alone, in-process, forcing every node to reload.
    const {applyLabPolicy} = await import('../../src/lab/daemons/policy.js')
    const {requireClusterLab, openLabDatastore} = await import('../../src/lab/lab.js')
    const {loadCluster} = await import('../../src/lab/plan/cluster.js')
    const record = requireClusterLab(state.path, lab)
    const ds = await openLabDatastore(state.path, record)
    try {
      const cluster = await loadCluster(ds, lab, record.topology)
      for (const node of cluster.nodes) writeFileSync(join(state.path, 'labs', lab, node.name, 'policy.nft'), 'stale\n')
      const result = await applyLabPolicy(state.path, ds, cluster)
      assert.equal(result.loaded.length, 4)
      const size = spawnSync('ip', ['netns', 'exec', cluster.nodes[0]!.netns, 'nft', 'list', 'table', 'inet', 'netctl'], {encoding: 'utf8', maxBuffer: 1 << 28}).stdout.split('\n').length
      console.log(`# 200 policies, 100 pods on 4 nodes: apply+reconcile ${applySeconds.toFixed(2)} s; compile ${(result.compileMs / 1000).toFixed(2)} s (datastore read included), load ${(result.loadMs / 1000).toFixed(2)} s; ${size} lines in one node's table`)
      // One policy for one node's pods: only that node's script changes, so only it reloads.
      const {networkPolicyKind} = await import('../../src/resources/policy.js')
      const {workloadEndpointKind} = await import('../../src/resources/workloadendpoint.js')
      const target = cluster.nodes[2]!.name
      for (const wep of await ds.list(workloadEndpointKind)) {
        await ds.update(workloadEndpointKind, {...wep, metadata: {...wep.metadata, labels: {...wep.metadata.labels, node: String(wep.spec?.node)}}})
      }
      assert.deepEqual((await applyLabPolicy(state.path, ds, cluster)).loaded, [], 'a label no selector reads changes no script')
      await ds.create(networkPolicyKind, {apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: {name: 'one-node', namespace: 'default'}, spec: {order: 1, selector: `node == '${target}'`, ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [7000]}}]}})
      const one = await applyLabPolicy(state.path, ds, cluster)
      assert.deepEqual(one.loaded, [target])
      console.log(`# one policy changed: reconcile ${((one.compileMs + one.loadMs) / 1000).toFixed(2)} s, ${one.loaded.length} of ${cluster.nodes.length} nodes reloaded`)
    } finally {
      await ds.close()
    }
  })
})
