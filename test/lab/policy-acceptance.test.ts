/**
 * The acceptance test that cannot be tuned: for random policy sets (tiers, orders, Pass,
 * Deny, selectors, ports; several seeds) the matrix `policy eval` predicts must equal the
 * matrix the lab measures with real TCP connections through its nftables rules. Root only.
 * On a calico lab, and on a flannel lab (Canal: the same policy on bridged pods).
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

function policySet(seed: number): string {
  const g = generator(seed)
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
    docs.push(`apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: ${name}}\nspec: {tier: ${tier}, order: ${g.pick([10, 20, 30])}, selector: "${g.pick(selectors)}", types: [Ingress], ingress: [${ingress.join(', ')}]}`)
  }
  return docs.join('\n---\n') + '\n'
}

function acceptance(flavor: 'calico' | 'flannel', seeds: number) {
describe(`policy eval predicts what a ${flavor} lab enforces`, {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const name = `${tag}${flavor === 'calico' ? 'c' : 'f'}`
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  let pods: Array<{name: string; wep: string}> = []
  const measured = {allowed: 0, denied: 0}

  before(async () => {
    state = tempDir()
    const shape = flavor === 'calico' ? ['--bgp', 'off'] : ['--flavor', 'flannel']
    const up = await netctl(['lab', 'up', '--name', name, ...shape, '--pods-per-node', '2', '--json'])
    assert.equal(up.code, 0, up.stderr)
    const weps = JSON.parse((await netctl(['get', 'weps', '-o', 'json', '--lab', name])).stdout)
    const items = (Array.isArray(weps) ? weps : weps.items) as Array<{metadata: {name: string}; spec: {pod: string}}>
    const g = generator(42)
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
      const file = policySet(seed)
      const applied = await netctl(['apply', '-f', '-', '--lab', name], file)
      assert.equal(applied.code, 0, applied.stderr)
      try {
        for (const port of ports) {
          const ping = await netctl(['lab', 'ping', name, '--port', String(port), '--json'])
          const report = JSON.parse(ping.stdout) as {results: Array<{from: string; to: string; outcome: string}>}
          const mismatches: string[] = []
          for (const r of report.results) {
            const predicted = await netctl(['policy', 'eval', '--lab', name, '--from', r.from, '--to', r.to, '--protocol', 'TCP', '--port', String(port), '-o', 'json'])
            const allowed = JSON.parse(predicted.stdout).allowed as boolean
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
    console.log(`# ${seeds} seeds: ${measured.allowed} pairs allowed and ${measured.denied} denied, each as predicted`)
    assert.ok(measured.allowed > 0 && measured.denied > 0, JSON.stringify(measured))
  })
})
}

acceptance('calico', calicoSeeds)
acceptance('flannel', flannelSeeds)
