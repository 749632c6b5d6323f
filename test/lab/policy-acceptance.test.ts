/**
 * The acceptance test that cannot be tuned: for random policy sets (tiers, orders, Pass,
 * Deny, selectors, ports; several seeds) the matrix `policy eval` predicts must equal the
 * matrix the lab measures with real TCP connections through its nftables rules. Root only.
 * On a calico lab, and on a flannel lab (Canal: the same policy on bridged pods). The calico lab also
 * has host endpoints (one node's eth0, the other node's all-interfaces one, which polices the
 * workload and tunnel interfaces) and some policies are applyOnForward or preDNAT: forwarded pod
 * traffic meets them as Felix's chains say, and policy eval must predict it.
 * More seeds: NETCTL_POLICY_SEEDS=20 (npm run bench runs it so); NETCTL_POLICY_FLANNEL_SEEDS for flannel.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const tag = `pola${process.pid % 10000}`
const calicoSeeds = Number(process.env.NETCTL_POLICY_SEEDS) || 3
const flannelSeeds = Number(process.env.NETCTL_POLICY_FLANNEL_SEEDS) || 1
const ports = [8080, 9090]

/** A small deterministic generator (no dependency): the same seed makes the same policies. */
function generator(seed: number) {
  let state = seed * 7919 + 1
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  return {
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  }
}

const selectors = ["role == 'a'", "role == 'b'", "color == 'red'", "color in {'red', 'blue'}", '!has(color)', 'all()', "role == 'a' && color != 'red'"]

function policySet(seed: number, hostEndpoints = false): string {
  const g = generator(seed)
  // Its own sequence, so the policies of a seed without host endpoints stay what they were.
  const h = generator(seed + 7777)
  const docs: string[] = ["apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: first}\nspec: {order: 10}"]
  const count = 2 + Math.floor(g.chance(0.5) ? 2 : 1)
  for (let i = 0; i < count; i++) {
    const tier = g.chance(0.4) ? 'first' : 'default'
    const rule = () => {
      const action = g.pick(['Allow', 'Allow', 'Deny', 'Pass'])
      const parts = [`action: ${action}`, 'protocol: TCP']
      if (g.chance(0.6)) parts.push(`destination: {ports: [${g.pick(ports)}]}`)
      if (g.chance(0.5)) parts.push(`source: {selector: "${g.pick(selectors)}"}`)
      return `{${parts.join(', ')}}`
    }
    const ingress = Array.from({length: 1 + Math.floor(g.chance(0.5) ? 1 : 0)}, rule)
    const name = tier === 'default' ? `p${i}` : `first.p${i}`
    const onHosts = !hostEndpoints ? '' : h.chance(0.15) ? ', preDNAT: true, applyOnForward: true' : h.chance(0.4) ? ', applyOnForward: true' : ''
    docs.push(`apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: ${name}}\nspec: {tier: ${tier}, order: ${g.pick([10, 20, 30])}, selector: "${g.pick(selectors)}"${onHosts}, types: [Ingress], ingress: [${ingress.join(', ')}]}`)
  }
  return docs.join('\n---\n') + '\n'
}

function acceptance(flavor: 'calico' | 'flannel', seeds: number) {
describe(`policy eval predicts what a ${flavor} lab enforces`, {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const name = `${tag}${flavor === 'calico' ? 'c' : 'f'}`
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  let pods: Array<{name: string; wep: string}> = []
  const measured = {allowed: 0, denied: 0, throughHostEndpoints: 0}

  before(async () => {
    state = tempDir()
    const shape = flavor === 'calico' ? ['--bgp', 'off'] : ['--flavor', 'flannel']
    const up = await netctl(['lab', 'up', '--name', name, ...shape, '--pods-per-node', '2', '--json'])
    assert.equal(up.code, 0, up.stderr)
    const weps = JSON.parse((await netctl(['get', 'weps', '-o', 'json', '--lab', name])).stdout)
    const items = (Array.isArray(weps) ? weps : weps.items) as Array<{metadata: {name: string}; spec: {pod: string; node: string}}>
    const g = generator(42)
    if (flavor === 'calico') {
      // Host endpoints: the first node's eth0 (by its address), the last node's all interfaces (labels the selectors can pick).
      const nodes = [...new Set(items.map((w) => w.spec.node))].sort()
      const listed = JSON.parse((await netctl(['get', 'nodes', '-o', 'json', '--lab', name])).stdout)
      const address = (node: string) => String(((Array.isArray(listed) ? listed : listed.items) as Array<{metadata: {name: string}; spec: {bgp: {ipv4Address: string}}}>).find((n) => n.metadata.name === node)!.spec.bgp.ipv4Address).split('/')[0]
      const heps = [
        `apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: ${nodes[0]}-eth0, labels: {role: a}}\nspec: {node: ${nodes[0]}, interfaceName: eth0, expectedIPs: [${address(nodes[0]!)}], profiles: [projectcalico-default-allow]}`,
        `apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: ${nodes.at(-1)}-all, labels: {role: b, color: red}}\nspec: {node: ${nodes.at(-1)}, interfaceName: "*", profiles: [projectcalico-default-allow]}`,
      ]
      const created = await netctl(['apply', '-f', '-', '--lab', name], heps.join('\n---\n') + '\n')
      assert.equal(created.code, 0, created.stderr)
    }
    pods = items.map((w) => ({name: w.spec.pod, wep: w.metadata.name}))
    for (const pod of pods) {
      // Labels a selector can tell apart: roles and colours, one pod without a colour.
      const labels: Record<string, string> = {role: g.pick(['a', 'b'])}
      if (pod !== pods[0]) labels.color = g.pick(['red', 'blue', 'green'])
      const patched = await netctl(['patch', 'workloadendpoint', pod.wep, '-n', 'default', '--lab', name, '-p', JSON.stringify({metadata: {labels}})])
      assert.equal(patched.code, 0, patched.stderr)
    }
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${name}`))
    state.cleanup()
  })

  for (let seed = 1; seed <= seeds; seed++) {
    it(`seed ${seed}: predicted matrix = measured matrix`, async () => {
      const file = policySet(seed, flavor === 'calico')
      const applied = await netctl(['apply', '-f', '-', '--lab', name], file)
      assert.equal(applied.code, 0, applied.stderr)
      try {
        for (const port of ports) {
          const ping = await netctl(['lab', 'ping', name, '--port', String(port), '--json'])
          const report = JSON.parse(ping.stdout) as {results: Array<{from: string; to: string; outcome: string}>}
          const mismatches: string[] = []
          for (const r of report.results) {
            const predicted = await netctl(['policy', 'eval', '--lab', name, '--from', r.from, '--to', r.to, '--protocol', 'TCP', '--port', String(port), '-o', 'json'])
            const verdict = JSON.parse(predicted.stdout) as {allowed: boolean; forwarded?: unknown[]}
            const allowed = verdict.allowed
            if ((verdict.forwarded ?? []).length > 0) measured.throughHostEndpoints++
            measured[r.outcome === 'ok' ? 'allowed' : 'denied']++
            if (allowed !== (r.outcome === 'ok')) mismatches.push(`${r.from} → ${r.to}:${port} predicted ${allowed ? 'allowed' : 'denied'}, measured ${r.outcome}`)
          }
          assert.deepEqual(mismatches, [], `seed ${seed}, policies:\n${file}`)
        }
      } finally {
        await netctl(['delete', '-f', '-', '--lab', name], file)
      }
    })
  }

  it('the random policies both allowed and denied pairs (the comparison was not trivial)', () => {
    console.log(`# ${seeds} seeds: ${measured.allowed} pairs allowed and ${measured.denied} denied, each as predicted${flavor === 'calico' ? `; ${measured.throughHostEndpoints} met host endpoint forward or preDNAT policy` : ''}`)
    assert.ok(measured.allowed > 0 && measured.denied > 0, JSON.stringify(measured))
    if (flavor === 'calico') assert.ok(measured.throughHostEndpoints > 0, 'no pair met host endpoint policy')
  })
})
}

acceptance('calico', calicoSeeds)
acceptance('flannel', flannelSeeds)
