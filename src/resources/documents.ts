/** Turn YAML or JSON text (one or many documents, or a List) into v3 objects, naming what is wrong. */
import {NetctlError} from '../errors.js'
import {findKind, kinds} from './registry.js'
import {API_VERSION, type Resource} from './types.js'

export interface SourcedResource {
  resource: Resource
  /** "pools.yaml, document 2": where a message should point. */
  origin: string
}

export async function parseDocuments(text: string, source: string): Promise<SourcedResource[]> {
  const {loadAll} = await import('js-yaml')
  let docs: unknown[]
  try {
    docs = looksLikeOneJsonDocument(text) ? [JSON.parse(text)] : loadAll(text)
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0]
    throw new NetctlError('usage', `${source} is not valid YAML or JSON: ${reason}`, 'fix the syntax; `netctl get ippools -o yaml` shows the expected shape')
  }
  const out: SourcedResource[] = []
  const many = docs.filter((d) => d !== null && d !== undefined).length > 1
  docs.forEach((doc, index) => {
    if (doc === null || doc === undefined) return // an empty document between "---" lines
    const origin = many ? `${source}, document ${index + 1}` : source
    for (const resource of expandList(doc, origin)) out.push({resource: checkShape(resource, origin), origin})
  })
  if (out.length === 0) throw new NetctlError('usage', `${source} holds no resources`, 'give a file with at least one Calico resource')
  return out
}

/** JSON is YAML too; only a lone JSON document takes the faster, stricter JSON parser. */
function looksLikeOneJsonDocument(text: string): boolean {
  const trimmed = text.trim()
  if (!/^[[{]/.test(trimmed)) return false
  try {
    JSON.parse(trimmed)
    return true
  } catch {
    return false
  }
}

function expandList(doc: unknown, origin: string): unknown[] {
  if (Array.isArray(doc)) return doc
  const object = doc as {kind?: unknown; items?: unknown}
  if (typeof object === 'object' && typeof object.kind === 'string' && object.kind.endsWith('List')) {
    if (!Array.isArray(object.items)) throw new NetctlError('usage', `${origin}: ${object.kind} has no items list`, 'put the objects under items:')
    return object.items
  }
  return [doc]
}

function checkShape(doc: unknown, origin: string): Resource {
  const fail = (problem: string, suggestion: string) => new NetctlError('usage', `${origin}: ${problem}`, suggestion)
  if (typeof doc !== 'object' || doc === null) throw fail('is not an object', 'each document must be a mapping with apiVersion, kind, metadata and spec')
  const object = doc as Record<string, unknown>
  if (object.apiVersion !== API_VERSION) {
    throw fail(`apiVersion is ${JSON.stringify(object.apiVersion)}`, `set apiVersion: ${API_VERSION}`)
  }
  const info = typeof object.kind === 'string' ? findKind(object.kind) : undefined
  if (!info || info.kind !== object.kind) {
    throw fail(`unknown kind ${JSON.stringify(object.kind)}`, `use one of: ${kinds.map((k) => k.kind).join(', ')}`)
  }
  for (const key of Object.keys(object)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) {
      throw fail(`unknown top-level field "${key}"`, 'keep apiVersion, kind, metadata and spec')
    }
  }
  if (typeof object.metadata !== 'object' || object.metadata === null) {
    throw fail('has no metadata', 'add metadata: with a name')
  }
  return object as Resource
}

/** Parse the object that `-p` gives to `netctl patch`. */
export async function parsePatch(text: string): Promise<Record<string, unknown>> {
  const {load} = await import('js-yaml')
  let patch: unknown
  try {
    patch = text.trimStart().startsWith('{') ? JSON.parse(text) : load(text)
  } catch (error) {
    throw new NetctlError('usage', `the patch is not valid JSON: ${(error as Error).message}`, `write it like '{"spec":{"natOutgoing":true}}'`)
  }
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new NetctlError('usage', 'the patch must be a JSON object', `write it like '{"spec":{"natOutgoing":true}}'`)
  }
  return patch as Record<string, unknown>
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else replaces. */
export function mergePatch<T>(target: T, patch: unknown): T {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch) as T
  const base = (typeof target === 'object' && target !== null && !Array.isArray(target) ? {...target} : {}) as Record<string, unknown>
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key]
    else base[key] = mergePatch(base[key], value)
  }
  return base as T
}
