/**
 * Seeded random worlds (tiers, policies, staged policies, endpoints, flows) checked against
 * invariants that follow from Calico's semantics rather than from this implementation.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {buildWorld, evaluate, explain, type Flow, type FlowVerdict} from '../../src/policy/index.js'
import type {Resource} from '../../src/resources/types.js'
import {gnp, hep, np, rng, sgnp, snp, tier, wep} from './fixtures.js'

interface Generated {
  resources: Resource[]
  namespaces: Record<string, Record<string, string>>
  flows: Flow[]
}

function generate(seed: number): Generated {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
  const chance = (p: number) => r() < p
  const apps = ['web', 'db', 'cache', 'api'] as const
  const namespaces: Record<string, Record<string, string>> = {}
  for (let i = 0; i < 3; i++) namespaces[`ns${i}`] = {env: pick(['a', 'b'])}
  const resources: Resource[] = []
  const endpoints: Array<{kind: 'WorkloadEndpoint' | 'HostEndpoint'; name: string; namespace?: string}> = []
  for (let i = 0; i < 24; i++) {
    const ns = `ns${i % 3}`
    const labels: Record<string, string> = {app: pick(apps)}
    if (chance(0.5)) labels.role = pick(['front', 'back'])
    resources.push(wep(ns, `w${i}`, labels, `10.${i % 3}.0.${i + 1}`, {ports: chance(0.5) ? [{name: 'http', protocol: 'TCP', port: pick([8080, 8081])}] : []}))
    endpoints.push({kind: 'WorkloadEndpoint', name: `w${i}`, namespace: ns})
  }
  for (let i = 0; i < 2; i++) {
    resources.push(hep(`h${i}`, {app: pick(apps), host: `h${i}`}, [`192.168.0.${i + 1}`], {profiles: chance(0.5) ? ['projectcalico-default-allow'] : []}))
    endpoints.push({kind: 'HostEndpoint', name: `h${i}`})
  }
  const tierNames = ['default']
  for (let i = 0, n = Math.floor(r() * 4); i < n; i++) {
    const name = `t${i}`
    tierNames.push(name)
    resources.push(tier(name, chance(0.2) ? undefined : pick([10, 20, 20, 2_000_000]), chance(0.3) ? 'Pass' : undefined))
  }
  const selectors = ['all()', "app == 'web'", "app in {'db','cache'}", 'has(role)', "role != 'front'", "env == 'a'"]
  const randomRule = () => {
    const rule: Record<string, unknown> = {action: pick(['Allow', 'Allow', 'Deny', 'Pass', 'Log'])}
    if (chance(0.5)) {
      rule.protocol = pick(['TCP', 'UDP'])
      if (chance(0.6)) rule.destination = {ports: [pick([80, '8000:8100', 'http', 443])]}
    }
    if (chance(0.4)) rule.source = {selector: pick(selectors)}
    else if (chance(0.2)) rule.source = {nets: [pick(['10.0.0.0/16', '10.1.0.0/16', '192.168.0.0/24'])]}
    return rule
  }
  for (let i = 0, n = Math.floor(r() * 16); i < n; i++) {
    const spec: Record<string, unknown> = {tier: pick(tierNames), selector: pick(selectors)}
    if (chance(0.6)) spec.order = pick([1, 5, 5, 100])
    if (chance(0.8)) spec.ingress = Array.from({length: 1 + Math.floor(r() * 3)}, randomRule)
    if (chance(0.6)) spec.egress = Array.from({length: 1 + Math.floor(r() * 3)}, randomRule)
    if (chance(0.2)) spec.types = pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']])
    const staged = chance(0.25)
    const namespaced = chance(0.5)
    const name = `p${i}`
    if (namespaced) resources.push((staged ? snp : np)(`ns${Math.floor(r() * 3)}`, name, spec))
    else resources.push((staged ? sgnp : gnp)(name, spec))
  }
  const flows: Flow[] = []
  for (let i = 0; i < 25; i++) {
    const from = pick(endpoints)
    let to = pick(endpoints)
    while (to === from) to = pick(endpoints)
    flows.push({from, to, protocol: pick(['TCP', 'UDP']), port: pick([80, 443, 8080, 8081, 8050])})
  }
  return {resources, namespaces, flows}
}

const summary = (v: FlowVerdict) => ({
  allowed: v.allowed,
  egress: [v.egress.decidedBy, v.egress.tier, v.egress.policy?.name, v.egress.ruleIndex, v.egress.profile],
  ingress: [v.ingress.decidedBy, v.ingress.tier, v.ingress.policy?.name, v.ingress.ruleIndex, v.ingress.profile],
})

const promote = (r: Resource): Resource => (r.kind.startsWith('Staged') ? {...r, kind: r.kind.slice('Staged'.length)} : r)
const SEEDS = Array.from({length: 30}, (_, i) => i + 1)

describe('policy evaluation: random worlds (seeded)', () => {
  it('does not depend on the order objects are listed in', () => {
    for (const seed of SEEDS) {
      const g = generate(seed)
      const world = buildWorld(g)
      const reversed = buildWorld({resources: [...g.resources].reverse(), namespaces: g.namespaces})
      for (const flow of g.flows) assert.deepEqual(summary(evaluate(flow, reversed)), summary(evaluate(flow, world)), `seed ${seed}`)
    }
  })

  it('staged policies never change the enforced verdict; the staged view is the verdict with them promoted', () => {
    for (const seed of SEEDS) {
      const g = generate(seed)
      const world = buildWorld(g)
      const withoutStaged = buildWorld({resources: g.resources.filter((r) => !r.kind.startsWith('Staged')), namespaces: g.namespaces})
      const promoted = buildWorld({resources: g.resources.map(promote), namespaces: g.namespaces})
      for (const flow of g.flows) {
        const v = evaluate(flow, world)
        assert.deepEqual(summary(v), summary(evaluate(flow, withoutStaged)), `seed ${seed}: enforced verdict`)
        const p = evaluate(flow, promoted)
        assert.equal(v.stagedAllowed, p.allowed, `seed ${seed}: staged view ${JSON.stringify(flow)}`)
        assert.equal(v.ingress.staged.decidedBy, p.ingress.decidedBy, `seed ${seed}`)
        assert.equal(v.egress.staged.decidedBy, p.egress.decidedBy, `seed ${seed}`)
      }
    }
  })

  it('an Allow-all in a first tier allows every flow; a Deny-all in an earlier tier then denies it', () => {
    for (const seed of SEEDS) {
      const g = generate(seed)
      const first = [tier('aaa-first', -1000), gnp('allow-all', {tier: 'aaa-first', selector: 'all()', types: ['Ingress', 'Egress'], ingress: [{action: 'Allow'}], egress: [{action: 'Allow'}]})]
      const allowWorld = buildWorld({resources: [...g.resources, ...first], namespaces: g.namespaces})
      for (const flow of g.flows) {
        const v = evaluate(flow, allowWorld)
        assert.equal(v.allowed, true, `seed ${seed}`)
        for (const side of [v.egress, v.ingress]) assert.deepEqual([side.decidedBy, side.tier, side.policy?.name, side.ruleIndex], ['rule', 'aaa-first', 'allow-all', 0])
      }
      const zeroth = [tier('aaa-zeroth', -2000), gnp('deny-all', {tier: 'aaa-zeroth', selector: 'all()', types: ['Ingress', 'Egress'], ingress: [{action: 'Deny'}], egress: [{action: 'Deny'}]})]
      const denyWorld = buildWorld({resources: [...g.resources, ...first, ...zeroth], namespaces: g.namespaces})
      for (const flow of g.flows) {
        const v = evaluate(flow, denyWorld)
        assert.equal(v.allowed, false, `seed ${seed}`)
        assert.deepEqual([v.egress.decidedBy, v.egress.policy?.name], ['rule', 'deny-all'])
      }
    }
  })

  it('agrees with explain: the deciding policy is listed; profiles decide only when every applicable tier passed', () => {
    for (const seed of SEEDS) {
      const g = generate(seed)
      const world = buildWorld(g)
      for (const flow of g.flows) {
        const v = evaluate(flow, world)
        for (const [direction, side, endpoint] of [['egress', v.egress, flow.from], ['ingress', v.ingress, flow.to]] as const) {
          const e = explain(endpoint as {name: string}, world)[direction]
          const enforcedTiers = e.tiers.filter((t) => t.policies.some((p) => !p.staged && p.chain === 'normal'))
          if (side.decidedBy === 'rule') {
            const listed = enforcedTiers.find((t) => t.tier === side.tier)?.policies.find((p) => p.name === side.policy?.name && !p.staged)
            assert.ok(listed, `seed ${seed}: ${side.policy?.name} listed by explain`)
            assert.equal(listed.rules[side.ruleIndex!]?.text, side.rule)
          } else if (side.decidedBy === 'end-of-tier') {
            assert.ok(enforcedTiers.some((t) => t.tier === side.tier && t.defaultAction === 'Deny'), `seed ${seed}: end of an applicable Deny tier`)
          } else {
            // Profiles (or no profile) decide: every applicable tier was passed, by a Pass rule or its default.
            for (const t of enforcedTiers) {
              const steps = side.trace.filter((s) => s.tier === t.tier)
              assert.ok(steps.some((s) => s.outcome === 'pass' || s.outcome === 'end-of-tier-pass'), `seed ${seed}: tier ${t.tier} was passed`)
            }
          }
        }
      }
    }
  })
})
