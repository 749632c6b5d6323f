/**
 * Shared checks that every kind's validator uses, and a small schema language for spec fields:
 * every field has a type and a bound, and a field that no schema names is refused. Everything
 * here is a pure function of the object, so it can also check objects read back from a
 * datastore that someone else wrote.
 */
import {NetctlError} from '../errors.js'
import type {Resource} from './types.js'

const MAX_SHOWN = 60

/**
 * How a value appears in a message: as JSON (newlines, quotes and NUL escaped, so a hostile
 * value cannot forge output lines) and cut short, so that a 50 MB value gives a short message.
 */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.slice(0, MAX_SHOWN))
    return value.length > MAX_SHOWN ? `${shown.slice(0, -1)}…" (${value.length} characters)` : shown
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch {
    text = undefined
  }
  if (text === undefined) return typeof value
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}… (${text.length} characters of JSON)` : text
}

/** What a value is, for "must be a string, not a list". */
export function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'number') return `the number ${show(value)}`
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return `the string ${show(value)}`
  return typeof value
}

const plainName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/
/** A key or name shown in a message: bare when it is harmless, else escaped and cut short. */
export const safeName = (value: unknown): string => (typeof value === 'string' && plainName.test(value) ? value : show(value))

/** A validation failure that names the kind, the object and the field. */
export function invalid(resource: Resource, field: string, problem: string, suggestion?: string): NetctlError {
  const rawName = resource.metadata?.name
  const name = rawName === undefined || rawName === '' ? '' : typeof rawName === 'string' && plainName.test(rawName) ? ` "${rawName}"` : ` ${show(rawName)}`
  const kind = typeof resource.kind === 'string' && /^[A-Za-z]{1,64}$/.test(resource.kind) ? resource.kind : show(resource.kind)
  return new NetctlError('invalid', `${kind}${name}: ${field} ${problem}`, suggestion)
}

// Kubernetes' DNS-1123 subdomain: what Calico accepts for most object names.
export const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
export const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

export function checkName(resource: Resource, namespaced: boolean): void {
  const name = resource.metadata?.name
  if (name === undefined || name === '') {
    throw invalid(resource, 'metadata.name', 'is required', 'give the object a name under metadata.name')
  }
  if (typeof name !== 'string' || name.length > 253 || !dnsSubdomain.test(name)) {
    throw invalid(
      resource,
      'metadata.name',
      typeof name !== 'string' ? `must be a string, not ${describeType(name)}` : name.length > 253 ? `is ${name.length} characters long; the limit is 253` : `${show(name)} is not a valid name`,
      'use at most 253 lower-case letters, digits, "-" and ".", starting and ending with a letter or digit',
    )
  }
  const namespace = resource.metadata.namespace
  if (!namespaced && namespace !== undefined && namespace !== '') {
    throw invalid(resource, 'metadata.namespace', `is set, but ${resource.kind} is cluster-scoped`, 'remove metadata.namespace')
  }
  if (namespaced && namespace !== undefined && (typeof namespace !== 'string' || namespace.length > 63 || !dnsLabel.test(namespace))) {
    throw invalid(resource, 'metadata.namespace', `${show(namespace)} is not a valid namespace`, 'use at most 63 lower-case letters, digits and "-"')
  }
}

export function checkBoolean(resource: Resource, field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalid(resource, field, `must be true or false, not ${describeType(value)}`, `write ${field}: true or ${field}: false, without quotes`)
  }
}

export const MAX_AS_NUMBER = 4294967295

// --- schemas ------------------------------------------------------------------------------

/** Checks one present (not undefined) value; throws invalid() naming `field`. */
export type Rule = (resource: Resource, field: string, value: unknown) => void

export interface StringRule {
  /** The longest value accepted, in characters. */
  max: number
  /** The format, beyond the length. */
  test?: (value: string) => boolean
  /** What a good value is: `"x" is not <what>`. */
  what?: string
  /** How to write a good one. */
  fix?: string
  /** Whether "" passes (as Calico's fields without omitempty take it). Default: "" is refused. */
  allowEmpty?: boolean
}

export const string = ({max, test, what, fix: given, allowEmpty}: StringRule): Rule => (resource, field, value) => {
  const fix = given ?? `set ${field} to ${what ?? 'a valid value'}`
  if (typeof value !== 'string') throw invalid(resource, field, `must be a string, not ${describeType(value)}`, fix)
  if (value.length > max) throw invalid(resource, field, `is ${value.length} characters long; the limit is ${max}`, given ?? `shorten it to at most ${max} characters`)
  if (value === '') {
    if (allowEmpty) return
    throw invalid(resource, field, 'is empty', `remove ${field} or give it a value`)
  }
  if (test && !test(value)) throw invalid(resource, field, `${show(value)} is not ${what ?? 'valid'}`, fix)
}

// Control characters (newline, NUL, escape, DEL, the Unicode line separators) never belong in a field.
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/
/** Free text that the lab never renders: bounded, on one line, without control characters. */
export const text = (max = 1024): Rule => string({max, test: (v) => !controlCharacters.test(v), what: 'one line of printable text', fix: 'remove newlines and control characters'})

export const boolean: Rule = (resource, field, value) => checkBoolean(resource, field, value)

export const integer = (min: number, max: number): Rule => (resource, field, value) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(resource, field, `${show(value)} is not a whole number from ${min} to ${max}`, `set ${field} to a number from ${min} to ${max}, without quotes`)
  }
}

export const oneOf = (allowed: readonly string[], options: {ignoreCase?: boolean} = {}): Rule => (resource, field, value) => {
  const ok = typeof value === 'string' && (options.ignoreCase ? allowed.some((a) => a.toLowerCase() === value.toLowerCase()) : allowed.includes(value))
  if (!ok) {
    const shown = allowed.map((a) => (a === '' ? '""' : a)).join(', ')
    throw invalid(resource, field, `${show(value)} is not one of ${shown}`, `set ${field} to one of ${shown}`)
  }
}

export const list = (item: Rule, options: {max?: number} = {}): Rule => (resource, field, value) => {
  if (!Array.isArray(value)) throw invalid(resource, field, `must be a list, not ${describeType(value)}`, `write ${field} as a YAML list`)
  const max = options.max ?? 1000
  if (value.length > max) throw invalid(resource, field, `has ${value.length} entries; the limit is ${max}`, `keep at most ${max}`)
  value.forEach((entry, i) => {
    if (entry === undefined || entry === null) throw invalid(resource, `${field}[${i}]`, 'is empty', 'remove the empty entry')
    item(resource, `${field}[${i}]`, entry)
  })
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

export interface ObjectRule {
  required?: readonly string[]
  /** Keys that may be null (Kubernetes writes an unset time as null). */
  nullable?: readonly string[]
}

/** An object with exactly these fields: any other key is refused, and so is null for a field. */
export const object = (fields: Readonly<Record<string, Rule>>, options: ObjectRule = {}): Rule => (resource, field, value) => {
  if (!isPlainObject(value)) throw invalid(resource, field, `must be an object, not ${describeType(value)}`, `write ${field} as a YAML mapping`)
  checkObject(resource, field, value, fields, options)
}

export function checkObject(resource: Resource, field: string, value: Record<string, unknown>, fields: Readonly<Record<string, Rule>>, options: ObjectRule = {}): void {
  const known = Object.keys(fields)
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) {
      const listed = known.length > 12 ? `${known.slice(0, 12).join(', ')}, … (${known.length} in all)` : known.join(', ')
      throw invalid(resource, `${field}.${safeName(key)}`, 'is not a known field', known.length === 0 ? `remove it: ${field} has no fields` : `remove it or fix its spelling; known fields of ${field}: ${listed}`)
    }
  }
  for (const key of options.required ?? []) {
    if (value[key] === undefined) throw invalid(resource, `${field}.${key}`, 'is required', `set ${field}.${key}`)
  }
  for (const [key, rule] of Object.entries(fields)) {
    const v = value[key]
    if (v === undefined) continue
    if (v === null) {
      if (options.nullable?.includes(key)) continue
      throw invalid(resource, `${field}.${key}`, 'is null', `remove ${field}.${key} or give it a value`)
    }
    rule(resource, `${field}.${key}`, v)
  }
}

/** A map whose keys pass `key` and values pass `value`. */
export const map = (key: (resource: Resource, field: string, key: string) => void, value: Rule, options: {max?: number} = {}): Rule => (resource, field, v) => {
  if (!isPlainObject(v)) throw invalid(resource, field, `must be a mapping, not ${describeType(v)}`, `write ${field} as key: value lines`)
  const entries = Object.entries(v)
  const max = options.max ?? 1000
  if (entries.length > max) throw invalid(resource, field, `has ${entries.length} entries; the limit is ${max}`, `keep at most ${max}`)
  for (const [k, entry] of entries) {
    key(resource, field, k)
    value(resource, `${field}.${safeName(k)}`, entry)
  }
}

/** The first rule whose type matches decides: for Calico fields that take a number or a string. */
export const either = (rules: ReadonlyArray<{when: (value: unknown) => boolean; rule: Rule}>, otherwise: string, fix?: string): Rule => (resource, field, value) => {
  const match = rules.find((r) => r.when(value))
  if (!match) throw invalid(resource, field, `${show(value)} is not ${otherwise}`, fix)
  match.rule(resource, field, value)
}

/** The largest object netctl stores: etcd's default request limit (1.5 MiB), as Kubernetes has it. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024

/**
 * A lower bound of the object's JSON size, that stops as soon as it passes `limit`: a 50 MB
 * string is refused without serialising it, and YAML aliases that fan out (or loop) stop early.
 */
function exceeds(value: unknown, limit: number): boolean {
  let total = 0
  let nodes = 0
  const walk = (v: unknown, depth: number): boolean => {
    if (++nodes > 1_000_000 || depth > 100) return true
    if (typeof v === 'string') total += v.length + 2
    else if (Array.isArray(v)) {
      total += 2
      for (const item of v) if (walk(item, depth + 1)) return true
    } else if (typeof v === 'object' && v !== null) {
      total += 2
      for (const [k, item] of Object.entries(v)) {
        total += k.length + 3
        if (walk(item, depth + 1)) return true
      }
    } else total += 5
    return total > limit
  }
  return walk(value, 0)
}

export function checkSize(resource: Resource): void {
  // UTF-8 takes at least one byte per UTF-16 unit: over the limit in units is over it in bytes.
  let size: number | undefined
  if (!exceeds(resource, MAX_OBJECT_BYTES)) {
    try {
      size = Buffer.byteLength(JSON.stringify(resource) ?? '')
    } catch {
      throw invalid(resource, 'object', 'cannot be written as JSON', 'give plain YAML or JSON values')
    }
    if (size <= MAX_OBJECT_BYTES) return
  }
  const problem = size === undefined ? `is larger than the limit of ${MAX_OBJECT_BYTES} bytes (1.5 MiB) as JSON` : `is ${size} bytes as JSON; the limit is ${MAX_OBJECT_BYTES} (1.5 MiB)`
  throw invalid(resource, 'object', problem, 'remove the oversized values')
}
