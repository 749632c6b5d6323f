/**
 * Host endpoints enforced in a real calico lab (netctl plays Felix): a HostEndpoint on
 * controlplane's eth0 and GlobalNetworkPolicies, measured with TCP connections from node01 (the
 * host), from node01's pod (forwarded through controlplane) and from controlplane's own pod:
 * failsafe ports (ssh, BGP) pass whatever the policy, a HEP without policy or profile drops the
 * rest, applyOnForward, preDNAT and doNotTrack behave as Felix's chains do, and pod → own node
 * follows DefaultEndpointToHostAction after the pod's egress policy. Root only.
 */
import assert from 'node:assert/strict'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const tag = `hep${process.pid % 10000}`
const sh = (args: string[]) => spawnSync(args[0]!, args.slice(1), {encoding: 'utf8', timeout: 15_000})
const TCP_CLIENT = 'import socket,sys\ns=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2)\ns.close()'
const yaml = (kind: string, name: string, spec: Record<string, unknown>, extra = '') => `apiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata: {name: ${name}${extra}}\nspec: ${JSON.stringify(spec)}\n`

describe('lab host endpoints: failsafe, normal, applyOnForward, preDNAT, doNotTrack, workload to host', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  const lab = `${tag}l`
  const nodeNs = (node: string) => `nc-${lab}.n-${node}`
  const podNs = (pod: string) => `nc-${lab}.p-${pod}`
  const cpPod = 'busybox-controlplane-0'
  const n1Pod = 'busybox-node01-0'
  const address = (netns: string) => /inet (\d+\.\d+\.\d+\.\d+)\//.exec(sh(['ip', 'netns', 'exec', netns, 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']).stdout)?.[1]
  let cpIp: string
  let cpPodIp: string
  const children: ChildProcess[] = []
  const tcp = (netns: string, to: string, port: number) => sh(['ip', 'netns', 'exec', netns, 'python3', '-c', TCP_CLIENT, to, String(port)]).status === 0
  let n1Ip: string
  /** `policy eval`'s verdict for a flow (exit 0 allowed, 1 denied). */
  const evaluate = async (from: string, to: string, port: number) => {
    const r = await netctl(['policy', 'eval', '--lab', lab, '--from', from, '--to', to, '--protocol', 'TCP', '--port', String(port)])
    assert.ok(r.code === 0 || r.code === 1, r.stderr)
    return r.code === 0
  }
  /** What the lab measures, checked against policy eval (they must agree). */
  const measure = async (netns: string, from: string, to: string, toIp: string, port: number) => {
    const measured = tcp(netns, toIp, port)
    const predicted = await evaluate(from, to, port)
    assert.equal(predicted, measured, `${from} → ${to}:${port}: the lab measured ${measured ? 'allowed' : 'denied'}, policy eval says ${predicted ? 'allowed' : 'denied'}`)
    return measured
  }
  /** node01 (the host) → controlplane's address. */
  const fromNode01 = (port: number) => measure(nodeNs('node01'), n1Ip, cpIp, cpIp, port)
  const podToOwnNode = (port: number) => measure(podNs(cpPod), cpPod, cpIp, cpIp, port)
  const podToPod = (port: number) => measure(podNs(n1Pod), n1Pod, cpPod, cpPodIp, port)
  const apply = async (doc: string) => {
    const r = await netctl(['apply', '-f', '-', '--lab', lab], doc)
    assert.equal(r.code, 0, r.stderr)
  }
  const remove = async (doc: string) => {
    const r = await netctl(['delete', '-f', '-', '--lab', lab], doc)
    assert.equal(r.code, 0, r.stderr)
  }
  const bgpEstablished = async () => {
    const r = await netctl(['node', 'status', '--lab', lab, '--node', 'controlplane', '-o', 'json'])
    assert.equal(r.code, 0, r.stderr)
    const peers = JSON.parse(r.stdout).nodes.controlplane.ipv4 as Array<{info: string}>
    return peers.length > 0 && peers.every((p) => p.info === 'Established')
  }
  const listen = (netns: string, ip: string, port: number) => {
    children.push(spawn('ip', ['netns', 'exec', netns, 'python3', '-m', 'http.server', '--bind', ip, String(port)], {stdio: 'ignore'}))
  }

  const hep = () => yaml('HostEndpoint', 'controlplane-eth0', {node: 'controlplane', interfaceName: 'eth0', expectedIPs: [cpIp]}, ', labels: {role: node}')
  /** Normal host policy: ingress tcp 8080 only; egress nothing (failsafes and established replies still pass). */
  const hostPolicy = yaml('GlobalNetworkPolicy', 'host', {selector: "role == 'node'", types: ['Ingress', 'Egress'], ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [8080]}}], egress: []})

  before(async () => {
    state = tempDir()
    const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '2', '--pods-per-node', '1', '--encapsulation', 'None'])
    assert.equal(up.code, 0, up.stderr)
    cpIp = address(nodeNs('controlplane'))!
    cpPodIp = address(podNs(cpPod))!
    n1Ip = address(nodeNs('node01'))!
    assert.ok(cpIp && cpPodIp && n1Ip)
    for (const port of [22, 8080, 8081, 8082]) listen(nodeNs('controlplane'), cpIp, port)
    for (const port of [9090, 9091]) listen(podNs(cpPod), cpPodIp, port)
    // Local connections meet no policy: they say when all listen.
    for (let i = 0; i < 100; i++) {
      const ready = [22, 8080, 8081, 8082].every((p) => tcp(nodeNs('controlplane'), cpIp, p)) && [9090, 9091].every((p) => tcp(podNs(cpPod), cpPodIp, p))
      if (ready) break
      await sleep(100)
    }
    assert.equal(await fromNode01(8081), true, 'without host endpoints the node is open')
    assert.equal(await bgpEstablished(), true)
  })
  after(async () => {
    for (const child of children) if (child.pid && child.exitCode === null) child.kill('SIGKILL')
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
  })

  it('a HEP with no policy and no profile drops all but the failsafe ports: ssh and BGP keep working', async () => {
    await apply(hep())
    assert.equal(await fromNode01(8080), false, 'tcp 8080 to the node is dropped')
    assert.equal(await fromNode01(22), true, 'tcp 22 is an inbound failsafe port')
    assert.equal(await measure(podNs(n1Pod), n1Pod, cpIp, cpIp, 8080), false, 'from a pod of another node too')
    // BIRD's sessions: tcp 179 in and out are failsafe; a session re-established proves new connections pass.
    sh(['ip', 'netns', 'exec', nodeNs('controlplane'), 'ss', '-Ktn', 'sport', '=', ':179', 'or', 'dport', '=', ':179'])
    let established = false
    for (let i = 0; i < 150 && !established; i++) {
      await sleep(200)
      established = await bgpEstablished()
    }
    assert.equal(established, true, 'BGP re-established through the host endpoint')
  })

  it('normal policy polices the host: an allowed port passes, another is dropped, failsafe still passes', async () => {
    await apply(hostPolicy)
    assert.equal(await fromNode01(8080), true)
    assert.equal(await fromNode01(8081), false)
    assert.equal(await fromNode01(22), true)
    assert.equal(await bgpEstablished(), true)
  })

  it("pod → own node: not the HEP's policy but the pod's egress policy, then DefaultEndpointToHostAction", async () => {
    // 8081 is denied to others by the HEP, yet the node's own pod reaches it (Accept, as the calico-node manifest sets).
    assert.equal(await podToOwnNode(8081), true)
    const egress = yaml('NetworkPolicy', 'no-8081', {selector: 'all()', types: ['Egress'], egress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [8081]}}, {action: 'Allow'}]}, ', namespace: default')
    await apply(egress)
    try {
      assert.equal(await podToOwnNode(8081), false, "the pod's egress policy applies")
      assert.equal(await podToOwnNode(8082), true)
      const drop = yaml('FelixConfiguration', 'default', {defaultEndpointToHostAction: 'Drop'})
      await apply(drop)
      try {
        assert.equal(await podToOwnNode(8082), false, 'DefaultEndpointToHostAction Drop')
      } finally {
        await remove(drop)
      }
      assert.equal(await podToOwnNode(8082), true)
    } finally {
      await remove(egress)
    }
  })

  it('applyOnForward: forwarded traffic through the HEP is policed only by applyOnForward policies', async () => {
    // The host policy (no applyOnForward) does not police pod traffic forwarded through eth0.
    assert.equal(await podToPod(9090), true)
    const forward = yaml('GlobalNetworkPolicy', 'forward', {selector: "role == 'node'", order: 10, applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [9090]}}, {action: 'Allow', protocol: 'TCP', destination: {ports: [9091, 8081]}}]})
    await apply(forward)
    try {
      assert.equal(await podToPod(9090), false, 'denied on forward')
      assert.equal(await podToPod(9091), true, 'allowed on forward')
      // It is a normal policy for the host too, before the host policy (order 10).
      assert.equal(await fromNode01(8081), true)
    } finally {
      await remove(forward)
    }
    assert.equal(await podToPod(9090), true)
  })

  it('preDNAT: ingress before the normal policy; its Allow skips the normal policy, its Deny drops what normal policy allows', async () => {
    const pre = yaml('GlobalNetworkPolicy', 'pre', {selector: "role == 'node'", preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [8080]}}, {action: 'Allow', protocol: 'TCP', destination: {ports: [8081]}}]})
    await apply(pre)
    try {
      assert.equal(await fromNode01(8080), false, 'preDNAT Deny')
      assert.equal(await fromNode01(8081), true, 'preDNAT Allow')
      assert.equal(await fromNode01(8082), false, 'no preDNAT match: the normal policy drops it')
      assert.equal(await fromNode01(22), true)
    } finally {
      await remove(pre)
    }
  })

  it('doNotTrack: stateless, so a connection passes only when both directions are allowed', async () => {
    const ingressOnly = {selector: "role == 'node'", doNotTrack: true, applyOnForward: true, types: ['Ingress'], ingress: [{action: 'Allow', protocol: 'TCP', destination: {ports: [8082]}}]}
    await apply(yaml('GlobalNetworkPolicy', 'untracked', ingressOnly))
    try {
      assert.equal(await fromNode01(8082), false, 'the SYN is let in untracked, the reply meets the normal egress policy and is dropped')
      const both = {...ingressOnly, types: ['Ingress', 'Egress'], egress: [{action: 'Allow', protocol: 'TCP', source: {ports: [8082]}}]}
      await apply(yaml('GlobalNetworkPolicy', 'untracked', both))
      assert.equal(await fromNode01(8082), true, 'allowed both ways')
      assert.equal(await fromNode01(8081), false, 'other ports still meet the normal policy')
      assert.equal(await bgpEstablished(), true)
      // Forwarded traffic in by eth0 meets it too: Deny drops; Allow lets the request in untracked, and the TCP reply, unknown to conntrack, is dropped.
      const forwarded = {...ingressOnly, ingress: [{action: 'Deny', protocol: 'TCP', destination: {ports: [9090]}}, {action: 'Allow', protocol: 'TCP', destination: {ports: [9091]}}]}
      await apply(yaml('GlobalNetworkPolicy', 'untracked', forwarded))
      assert.equal(await podToPod(9090), false)
      assert.equal(await podToPod(9091), false)
    } finally {
      await remove(yaml('GlobalNetworkPolicy', 'untracked', ingressOnly))
    }
    assert.equal(await podToPod(9091), true)
  })
})

describe('lab host endpoints: encapsulation between the hosts passes them, as Felix lets it', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  let lab = ''
  const nodeNs = (node: string) => `nc-${lab}.n-${node}`
  const podNs = (pod: string) => `nc-${lab}.p-${pod}`
  const address = (netns: string) => /inet (\d+\.\d+\.\d+\.\d+)\//.exec(sh(['ip', 'netns', 'exec', netns, 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']).stdout)?.[1]
  const children: ChildProcess[] = []
  after(async () => {
    for (const child of children) if (child.pid && child.exitCode === null) child.kill('SIGKILL')
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state?.cleanup()
  })

  for (const encapsulation of ['IPIP', 'VXLAN']) {
    it(`${encapsulation}: HEPs without policy on both nodes' eth0 still carry pod traffic between the nodes; the nodes' other ports are closed`, async (t) => {
      state ??= tempDir()
      lab = `${tag}${encapsulation === 'IPIP' ? 'i' : 'v'}`
      const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '2', '--pods-per-node', '1', '--bgp', 'off', '--encapsulation', encapsulation])
      if (up.code !== 0 && /lacks ipip/.test(up.stderr)) return t.skip('this kernel has no ipip')
      assert.equal(up.code, 0, up.stderr)
      const podIp = address(podNs('busybox-node01-0'))!
      const cpIp = address(nodeNs('controlplane'))!
      children.push(spawn('ip', ['netns', 'exec', podNs('busybox-node01-0'), 'python3', '-m', 'http.server', '--bind', podIp, '9090'], {stdio: 'ignore'}))
      children.push(spawn('ip', ['netns', 'exec', nodeNs('controlplane'), 'python3', '-m', 'http.server', '--bind', cpIp, '8080'], {stdio: 'ignore'}))
      const reach = (netns: string, ip: string, port: number) => sh(['ip', 'netns', 'exec', netns, 'python3', '-c', TCP_CLIENT, ip, String(port)]).status === 0
      for (let i = 0; i < 100 && !(reach(podNs('busybox-node01-0'), podIp, 9090) && reach(nodeNs('controlplane'), cpIp, 8080)); i++) await sleep(100)
      const heps = ['controlplane', 'node01'].map((node) => yaml('HostEndpoint', `${node}-eth0`, {node, interfaceName: 'eth0', expectedIPs: [address(nodeNs(node))]})).join('---\n')
      const applied = await netctl(['apply', '-f', '-', '--lab', lab], heps)
      assert.equal(applied.code, 0, applied.stderr)
      assert.equal(reach(podNs('busybox-controlplane-0'), podIp, 9090), true, `pod to pod across the nodes, ${encapsulation}-encapsulated`)
      assert.equal(reach(nodeNs('node01'), cpIp, 8080), false, 'a node port: dropped')
    })
  }
})
