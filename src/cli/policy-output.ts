/** Human text for the policy questions; -o json|yaml print the evaluator's own objects. */
import {protocolName} from '../policy/endpoints.js'
import type {Decision, DirectionResult, Explanation, FlowVerdict, Selection} from '../policy/index.js'
import {toJson, toYaml} from './output.js'

export type PolicyOutput = 'text' | 'yaml' | 'json'

/** -o json and yaml print the evaluator's own object; text is for people. */
export async function policyOutput<T>(output: PolicyOutput, value: T, text: (value: T) => string): Promise<string> {
  return output === 'json' ? toJson(value) : output === 'yaml' ? toYaml(value) : text(value)
}

const ref = (r: {kind?: string; name: string; namespace?: string}) => `${r.kind ? `${r.kind} ` : ''}${r.namespace ? `${r.namespace}/` : ''}${r.name}`

export function explanationText(e: Explanation): string {
  const lines = [`${ref(e.endpoint)} (${e.endpoint.addresses.join(', ') || 'no addresses'})`, `  labels: ${Object.entries(e.endpoint.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '(none)'}`]
  for (const direction of ['ingress', 'egress'] as const) {
    const side = e[direction]
    lines.push('', `${direction.toUpperCase()} (in evaluation order):`)
    if (side.tiers.length === 0) lines.push('  no policy applies')
    for (const tier of side.tiers) {
      lines.push(`  tier ${tier.tier} (order ${tier.order ?? 'none'}${tier.endOfTierDrop ? '; drops at its end what no policy decided' : `; ${tier.defaultAction === 'Pass' ? 'passes' : 'lets through'} at its end`})`)
      for (const p of tier.policies) {
        lines.push(`    ${ref(p)} (order ${p.order ?? 'none'}${p.staged ? ', staged: never enforced' : ''}${p.chain !== 'normal' ? `, ${p.chain} chain` : ''})`)
        for (const r of p.rules) lines.push(`      ${r.index}: ${r.text}`)
      }
    }
    lines.push(`  then profiles: ${side.profiles.map((p) => `${p.name}${p.found ? '' : ' (missing)'}`).join(', ') || '(none: deny)'}`)
  }
  return lines.join('\n')
}

export function selectionText(s: Selection): string {
  const list = (items: Array<{kind?: string; name: string; namespace?: string}>) => (items.length ? items.map(ref).join(', ') : '(none)')
  const lines = [
    `${ref(s.policy)} (tier ${s.policy.tier}, order ${s.policy.order ?? 'none'}${s.policy.staged ? ', staged' : ''}), selector ${s.selector}`,
    `  applies to workload endpoints: ${list(s.workloadEndpoints)}`,
    `  applies to host endpoints: ${list(s.hostEndpoints)}`,
  ]
  for (const [direction, rules] of [['ingress', s.ingress], ['egress', s.egress]] as const) {
    for (const rule of rules) {
      lines.push(`${direction} rule ${rule.index}: ${rule.text}`)
      for (const side of ['source', 'destination'] as const) {
        const selected = rule[side]
        const parts = [
          selected.any ? 'any address' : `endpoints ${list(selected.endpoints)}`,
          selected.networkSets.length ? `network sets ${list(selected.networkSets)}` : '',
          selected.nets.length ? `nets ${selected.nets.join(', ')}` : '',
          selected.excluded.length ? `except ${list(selected.excluded)}` : '',
          selected.notNets.length ? `not nets ${selected.notNets.join(', ')}` : '',
        ].filter(Boolean)
        lines.push(`  ${side}: ${parts.join('; ')}`)
      }
    }
  }
  return lines.join('\n')
}

function decisionText(d: Decision): string {
  switch (d.decidedBy) {
    case 'rule':
      return `${d.verdict} by tier ${d.tier}, ${ref(d.policy!)}, rule ${d.ruleIndex} (${d.rule})`
    case 'end-of-tier':
      return `${d.verdict}: tier ${d.tier} applies to it and none of its policies matched (end of tier)`
    case 'profile':
      return `${d.verdict} by profile ${d.profile}${d.rule ? `, rule ${d.ruleIndex} (${d.rule})` : ''}`
    case 'untracked-reply':
      return `${d.verdict}: tier ${d.tier}, ${ref(d.policy!)}, rule ${d.ruleIndex} (${d.rule}) lets it in untracked (doNotTrack), but no untracked egress rule allows the reply`
    case 'not-an-endpoint':
      return `${d.verdict}: not an endpoint, no policy here`
    default:
      return `${d.verdict}: ${d.decidedBy.replaceAll('-', ' ')}`
  }
}

const directionText = (name: string, r: DirectionResult) =>
  `  ${name}${r.endpoint ? ` at ${ref(r.endpoint)}` : ''}: ${decisionText(r)}${r.stagedPolicies.length ? `\n    staged (not enforced): ${decisionText(r.staged)}` : ''}`

export function verdictText(v: FlowVerdict): string {
  const p = v.packet
  const what = `${p.source} → ${p.destination} ${protocolName(p.protocol)}${p.port !== undefined ? `/${p.port}` : ''}`
  return [
    `${what}: ${v.allowed ? 'ALLOWED' : 'DENIED'}${v.stagedAllowed !== v.allowed ? ` (with staged policies: ${v.stagedAllowed ? 'allowed' : 'denied'})` : ''}`,
    directionText('egress', v.egress),
    directionText('ingress', v.ingress),
    ...v.notes.map((n) => `  note: ${n}`),
  ].join('\n')
}
