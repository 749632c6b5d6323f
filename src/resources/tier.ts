/**
 * Calico's Tier (api/pkg/apis/projectcalico/v3/tier.go): its order and default action, filled
 * as libcalico-go's DefaultTierFields fills them, and the well-known tiers' fixed values as the
 * Tier CRD's CEL rules check them.
 */
import {name as nameCell, type KindInfo} from './kind.js'
import {checkResource} from './metadata.js'
import {DEFAULT_TIER, goFloat, order} from './policy.js'
import type {Resource} from './types.js'
import {dnsLabel, integer, invalid, isPlainObject, list, object, oneOf, show, string, text} from './validate.js'

export const DEFAULT_TIER_ORDER = 1_000_000
/** The tiers Calico keeps itself, with the order and default action each must have. */
export const wellKnownTiers: Readonly<Record<string, {order: number; defaultAction: 'Deny' | 'Pass'}>> = {
  [DEFAULT_TIER]: {order: DEFAULT_TIER_ORDER, defaultAction: 'Deny'},
  'kube-admin': {order: 1_000, defaultAction: 'Pass'},
  'kube-baseline': {order: 10_000_000, defaultAction: 'Pass'},
}

const spec = (r: Resource) => (isPlainObject(r.spec) ? r.spec : {}) as {order?: number; defaultAction?: string}

const tierSpecFields = {order, defaultAction: oneOf(['Deny', 'Pass'])}
const tierStatusFields = {
  conditions: list(
    object(
      {
        type: string({max: 316}),
        status: oneOf(['True', 'False', 'Unknown']),
        observedGeneration: integer(0, Number.MAX_SAFE_INTEGER),
        lastTransitionTime: string({max: 64}),
        reason: string({max: 1024}),
        message: text(32768),
      },
      {required: ['type', 'status']},
    ),
    {max: 64},
  ),
}

export function tierDefaults(resource: Resource): Resource {
  if (!isPlainObject(resource.spec ?? {})) return resource
  const s = {...(resource.spec ?? {})}
  s.order ??= DEFAULT_TIER_ORDER
  s.defaultAction ??= 'Deny'
  return {...resource, spec: s}
}

export function validateTier(resource: Resource): void {
  checkResource(resource, {kind: 'Tier', namespaced: false, spec: tierSpecFields, status: tierStatusFields})
  const tierName = resource.metadata.name
  // A tier's name is part of its policies' names and labels: one DNS label.
  if (tierName.length > 63 || !dnsLabel.test(tierName)) {
    throw invalid(resource, 'metadata.name', `${show(tierName)} is not a valid tier name`, 'use at most 63 lower-case letters, digits and "-", without "."')
  }
  const known = wellKnownTiers[tierName]
  if (known) {
    const s = spec(resource)
    if (s.order !== known.order) throw invalid(resource, 'spec.order', `of the "${tierName}" tier must be ${goFloat(known.order)}, not ${show(s.order)}`, `set spec.order: ${known.order} or remove it`)
    if (s.defaultAction !== known.defaultAction) throw invalid(resource, 'spec.defaultAction', `of the "${tierName}" tier must be ${known.defaultAction}, not ${show(s.defaultAction)}`, `set spec.defaultAction: ${known.defaultAction}`)
  }
}

export const tierKind: KindInfo = {
  kind: 'Tier',
  plural: 'tiers',
  aliases: ['tier', 'tiers'],
  namespaced: false,
  columns: {ps: ['NAME', 'ORDER'], wide: ['NAME', 'ORDER']},
  cells: {
    NAME: nameCell,
    ORDER: (r) => (typeof spec(r).order === 'number' ? goFloat(spec(r).order!) : '<nil>'),
    DEFAULTACTION: (r) => String(spec(r).defaultAction ?? ''),
  },
  withDefaults: tierDefaults,
  validate: validateTier,
}
