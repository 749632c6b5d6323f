/** Turn YAML or JSON text (one or many documents, or a List) into v3 objects, naming what is wrong. */
import type {LoadOptions} from 'js-yaml'

import {NetctlError} from '../errors.js'
import {convertKubernetesDocument, isKubernetesNetworkingDocument, kubernetesNetworkPolicyWriteKind} from './k8s-networkpolicy.js'
import type {KindInfo} from './kind.js'
import {findKind, kinds} from './registry.js'
import {API_VERSION, type Resource} from './types.js'

export interface SourcedResource {
  resource: Resource
  /** "pools.yaml, document 2": where a message should point. */
  origin: string
  /** How the write validates and stores it, when not by its kind (a converted Kubernetes NetworkPolicy). */
  writeAs?: KindInfo
}

/**
 * What one input (a file, stdin, a directory's files together, a -p patch) may cost. A Calico
 * manifest is plain data, so the limits are far above real use yet keep a hostile file small in
 * effect: a 450-byte YAML alias bomb ("billion laughs") expands to 9^9 strings, and the
 * writes that follow would serialize every one of them.
 */
export const inputLimits = {
  /**
   * Bytes read. What the documents may expand to, aliases written out and measured as JSON
   * (which is wordier than YAML), is twice this.
   */
  maxBytes: 16 * 2 ** 20,
  /** A patch changes one object; the command line cannot pass much more than 128 KiB anyway. */
  maxPatchBytes: 2 ** 20,
  /**
   * Objects per input. Every object is one write (on the file datastore a rewrite of the
   * whole store under its lock, so the cost grows with the square of their number: 1000 IP
   * pools took 20 s, 10 000 about 7 minutes): 10 000 is minutes, not hours.
   */
  maxResources: 10_000,
  /** Alias uses per input: one per object is plenty for shared labels. */
  maxAliases: 10_000,
  /** Nesting, aliases expanded (js-yaml's own limit, which ignores aliases, is the same). */
  maxDepth: 100,
}

const mib = (bytes: number) => `${bytes / 2 ** 20} MiB`

/** What an input has used of inputLimits so far; one budget spans all files of a directory. */
export class InputBudget {
  expandedBytes = 0
  resources = 0
  aliases = 0
  readonly maxExpandedBytes: number
  constructor(readonly maxBytes = inputLimits.maxBytes) {
    this.maxExpandedBytes = 2 * maxBytes
  }
}

export async function parseDocuments(text: string, source: string, budget = new InputBudget()): Promise<SourcedResource[]> {
  const fail = (problem: string, suggestion = 'split the input into smaller files, and write repeated parts out instead of using YAML aliases') =>
    new NetctlError('usage', `${source}${problem}`, suggestion)
  if (Buffer.byteLength(text) > budget.maxBytes) throw fail(` is larger than ${mib(budget.maxBytes)}`)
  const docs = await parseYaml(text, source, budget, {many: true})
  const out: SourcedResource[] = []
  const many = docs.filter((d) => d !== null && d !== undefined).length > 1
  const meter = new ExpansionMeter(budget.maxExpandedBytes)
  for (const [index, doc] of docs.entries()) {
    if (doc === null || doc === undefined) continue // an empty document between "---" lines
    const origin = many ? `${source}, document ${index + 1}` : source
    budget.expandedBytes += meter.measure(doc, budget.maxExpandedBytes - budget.expandedBytes, origin, 'its documents expand to more than %s (aliases written out)').bytes
    const resources = expandList(doc, origin)
    budget.resources += resources.length
    if (budget.resources > inputLimits.maxResources) {
      throw fail(` holds more than ${inputLimits.maxResources} resources`, `split it into files of at most ${inputLimits.maxResources} and give them one at a time`)
    }
    for (const resource of resources) {
      // A Kubernetes NetworkPolicy becomes the Calico NetworkPolicy Calico derives from it.
      if (isPlainObject(resource) && isKubernetesNetworkingDocument(resource)) {
        out.push({resource: convertKubernetesDocument(resource, origin), origin, writeAs: kubernetesNetworkPolicyWriteKind})
      } else out.push({resource: checkShape(resource, origin), origin})
    }
  }
  if (out.length === 0) throw new NetctlError('usage', `${source} holds no resources`, 'give a file with at least one Calico resource')
  return out
}

/**
 * Parse YAML (or a lone JSON document) with its expansion bounded. js-yaml resolves an alias
 * to the anchored value itself, so parsing stays cheap, but everything after it (validation,
 * structuredClone, JSON.stringify into the datastore) would walk the expanded tree. js-yaml
 * has no alias limit: its listener sees each alias as it is read, and each one is charged what
 * it expands to, before anything can build on it (a sequence used as a mapping key is joined
 * into one string at once). Merge keys are bounded by js-yaml itself (maxTotalMergeKeys).
 */
async function parseYaml(text: string, source: string, budget: InputBudget, options: {many: boolean}): Promise<unknown[]> {
  if (looksLikeOneJsonDocument(text)) return [JSON.parse(text)]
  const {load, loadAll} = await import('js-yaml')
  const meter = new ExpansionMeter(budget.maxExpandedBytes)
  let aliasBytes = 0
  const listener = (event: string, state: unknown) => {
    const node = state as {kind: string | null; tag: string | null; result: unknown; line: number}
    // Only an alias closes with no kind and no tag yet a value: every scalar and collection
    // reader sets the kind, and an empty node has no value.
    if (event !== 'close' || node.kind !== null || node.tag !== null || node.result === null || node.result === undefined) return
    const where = `${source}, line ${node.line + 1}`
    budget.aliases += 1
    if (budget.aliases > inputLimits.maxAliases) {
      throw new NetctlError('usage', `${where}: more than ${inputLimits.maxAliases} aliases`, 'write the repeated parts out, or split the input into smaller files')
    }
    aliasBytes += meter.measure(node.result, budget.maxExpandedBytes - budget.expandedBytes - aliasBytes, where, 'the aliases so far expand to more than %s').bytes
  }
  // maxDepth and maxTotalMergeKeys are js-yaml 4.3 options its types do not list yet.
  const loadOptions = {listener, maxDepth: inputLimits.maxDepth, maxTotalMergeKeys: 10_000} as LoadOptions
  try {
    if (!options.many) return [load(text, loadOptions)]
    const docs: unknown[] = []
    loadAll(text, (doc) => docs.push(doc), loadOptions)
    return docs
  } catch (error) {
    if (error instanceof NetctlError) throw error
    const reason = (error as Error).message.split('\n')[0]
    throw new NetctlError('usage', `${source} is not valid YAML or JSON: ${reason}`, 'fix the syntax; `netctl get ippools -o yaml` shows the expected shape')
  }
}

interface Extent {
  /** About the length of the value as JSON, every alias written out. */
  bytes: number
  /** Levels of nesting below the value. */
  height: number
}

/**
 * Measures what a parsed value expands to without expanding it: a shared object (an alias
 * target) is measured once and then looked up, so the work is linear in the parsed input.
 */
class ExpansionMeter {
  private readonly measured = new Map<object, Extent>()
  private readonly open = new Set<object>()

  constructor(private readonly maxBytes: number) {}

  /** Throws a usage error "`source`: `tooBig`" (%s: maxBytes) if the value exceeds `limit` bytes, or if it nests too deep. */
  measure(value: unknown, limit: number, source: string, tooBig: string): Extent {
    const tooBigError = () =>
      new NetctlError('usage', `${source}: ${tooBig.replace('%s', mib(this.maxBytes))}`, 'write repeated parts out instead of using YAML aliases, or split the input into smaller files')
    const tooDeep = () => new NetctlError('usage', `${source} nests deeper than ${inputLimits.maxDepth} levels`, 'Calico resources are a few levels deep: check the structure of the input')
    const visit = (node: unknown, depth: number, budget: number): Extent => {
      if (typeof node === 'string') return {bytes: node.length + 2, height: 0}
      if (typeof node !== 'object' || node === null) return {bytes: String(node).length, height: 0}
      if (node instanceof Date) return {bytes: 26, height: 0}
      if (ArrayBuffer.isView(node)) return {bytes: Math.ceil(node.byteLength * 4 / 3) + 2, height: 0}
      const known = this.measured.get(node)
      if (known) {
        if (depth + known.height > inputLimits.maxDepth) throw tooDeep()
        if (known.bytes > budget) throw tooBigError()
        return known
      }
      if (depth >= inputLimits.maxDepth) throw tooDeep()
      if (this.open.has(node)) throw new NetctlError('usage', `${source} holds a value that contains itself`, 'remove the alias that points into its own anchor')
      this.open.add(node)
      let bytes = 2
      let height = 0
      const add = (child: Extent, overhead: number) => {
        bytes += child.bytes + overhead
        height = Math.max(height, child.height + 1)
        if (bytes > budget) throw tooBigError()
      }
      if (Array.isArray(node)) {
        for (const child of node) add(visit(child, depth + 1, budget - bytes), 1)
      } else {
        for (const [key, child] of Object.entries(node)) add(visit(child, depth + 1, budget - bytes - key.length - 4), key.length + 4)
      }
      this.open.delete(node)
      const extent = {bytes, height}
      this.measured.set(node, extent)
      return extent
    }
    const extent = visit(value, 0, limit)
    if (extent.bytes > limit) throw tooBigError() // a lone scalar is not checked inside visit
    return extent
  }
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

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function checkShape(doc: unknown, origin: string): Resource {
  const fail = (problem: string, suggestion: string) => new NetctlError('usage', `${origin}: ${problem}`, suggestion)
  if (typeof doc !== 'object' || doc === null) throw fail('is not an object', 'each document must be a mapping with apiVersion, kind, metadata and spec')
  const object = doc as Record<string, unknown>
  if (object.apiVersion !== API_VERSION) {
    throw fail(`apiVersion is ${JSON.stringify(object.apiVersion)}`, `set apiVersion: ${API_VERSION} (or networking.k8s.io/v1 for a Kubernetes NetworkPolicy)`)
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

/**
 * One YAML or JSON document with the bounds of -f (size, aliases, expansion, depth), for
 * other YAML a user hands netctl: a -p patch, a topology or a config file.
 */
export async function parseOneDocument(text: string, source: string, maxBytes = inputLimits.maxBytes): Promise<unknown> {
  if (Buffer.byteLength(text) > maxBytes) {
    throw new NetctlError('usage', `${source} is larger than ${mib(maxBytes)}`, 'make it smaller: netctl reads at most that much')
  }
  const budget = new InputBudget(maxBytes)
  const [document] = await parseYaml(text, source, budget, {many: false})
  new ExpansionMeter(budget.maxExpandedBytes).measure(document, budget.maxExpandedBytes, source, 'it expands to more than %s (aliases written out)')
  return document
}

/** The text `-p` gives to `netctl patch`, parsed with the same bounds as a file; a syntax error shows `example`. */
export async function parsePatchText(text: string, example: string): Promise<unknown> {
  try {
    return await parseOneDocument(text, 'the patch', inputLimits.maxPatchBytes)
  } catch (error) {
    if (error instanceof NetctlError && / is not valid YAML/.test(error.message)) throw new NetctlError('usage', error.message, example)
    throw error
  }
}

/** The object of a merge patch. */
export async function parsePatch(text: string): Promise<Record<string, unknown>> {
  const example = `write it like '{"spec":{"natOutgoing":true}}'`
  const patch = await parsePatchText(text, example)
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new NetctlError('usage', 'the patch must be a JSON object', example)
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
