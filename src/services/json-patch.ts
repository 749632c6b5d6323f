/**
 * RFC 6902 JSON Patch (patch -t json): add, remove, replace, move, copy, test, with RFC 6901 pointers.
 * All or nothing: operations apply to a copy, and the first that fails names itself in the error.
 */
import {NetctlError} from '../errors.js'
import {parsePatchText} from '../resources/documents.js'

export type JsonPatchOperation =
  | {op: 'add' | 'replace' | 'test'; path: string; value: unknown}
  | {op: 'remove'; path: string}
  | {op: 'move' | 'copy'; from: string; path: string}

const OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test']
const example = `write it like '[{"op":"replace","path":"/spec/natOutgoing","value":true}]'`

/** Reads -p for -t json: a list of operations, each checked for its members. */
export async function parseJsonPatch(text: string): Promise<JsonPatchOperation[]> {
  const patch = await parsePatchText(text, example)
  if (!Array.isArray(patch)) throw new NetctlError('usage', 'a JSON patch (-t json) must be a list of operations', example)
  return patch.map((operation, index) => checkOperation(operation, index))
}

function checkOperation(operation: unknown, index: number): JsonPatchOperation {
  const where = `operation ${index}`
  if (typeof operation !== 'object' || operation === null || Array.isArray(operation)) throw new NetctlError('usage', `${where} of the JSON patch is not an object`, example)
  const o = operation as Record<string, unknown>
  if (typeof o.op !== 'string' || !OPS.includes(o.op)) {
    throw new NetctlError('usage', `${where} of the JSON patch has ${o.op === undefined ? 'no "op"' : `an unknown op ${JSON.stringify(o.op)}`}`, `op is one of ${OPS.join(', ')}`)
  }
  const member = (name: 'path' | 'from') => {
    if (typeof o[name] !== 'string') throw new NetctlError('usage', `${where} (${o.op}) of the JSON patch has no "${name}" string`, example)
    const pointer = o[name] as string
    if (pointer !== '' && !pointer.startsWith('/')) throw new NetctlError('usage', `${where} (${o.op}): "${name}" ${JSON.stringify(pointer)} is not a JSON pointer`, 'a pointer starts with /, e.g. /spec/cidr')
    return pointer
  }
  const path = member('path')
  switch (o.op) {
    case 'add':
    case 'replace':
    case 'test':
      if (!('value' in o)) throw new NetctlError('usage', `${where} (${o.op} ${path}) of the JSON patch has no "value"`, example)
      return {op: o.op, path, value: o.value}
    case 'remove':
      return {op: 'remove', path}
    default:
      return {op: o.op as 'move' | 'copy', from: member('from'), path}
  }
}

const tokens = (pointer: string) => (pointer === '' ? [] : pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~')))
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

class PatchFailure extends Error {}

function arrayIndex(array: unknown[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return array.length
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchFailure(`"${token}" is not an array index`)
  const index = Number(token)
  if (index > array.length || (!forAdd && index === array.length)) throw new PatchFailure(`index ${index} is out of range (the list has ${array.length} items)`)
  return index
}

/** The container that holds the pointer's last token, and that token. */
function parentOf(document: unknown, pointer: string): {parent: unknown; key: string} {
  const path = tokens(pointer)
  let node = document
  for (const [i, token] of path.slice(0, -1).entries()) {
    const shown = `/${path.slice(0, i + 1).join('/')}`
    if (Array.isArray(node)) node = node[arrayIndex(node, token, false)]
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token]
    else throw new PatchFailure(`${shown} does not exist`)
  }
  return {parent: node, key: path.at(-1)!}
}

function get(document: unknown, pointer: string): unknown {
  if (pointer === '') return document
  const {parent, key} = parentOf(document, pointer)
  if (Array.isArray(parent)) return parent[arrayIndex(parent, key, false)]
  if (isObject(parent) && Object.hasOwn(parent, key)) return parent[key]
  throw new PatchFailure(`${pointer} does not exist`)
}

function add(document: unknown, pointer: string, value: unknown): unknown {
  if (pointer === '') return value
  const {parent, key} = parentOf(document, pointer)
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value)
  else if (isObject(parent)) parent[key] = value
  else throw new PatchFailure(`the parent of ${pointer} is neither an object nor a list`)
  return document
}

function remove(document: unknown, pointer: string): unknown {
  if (pointer === '') throw new PatchFailure('cannot remove the whole object')
  const {parent, key} = parentOf(document, pointer)
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false), 1)
  else if (isObject(parent) && Object.hasOwn(parent, key)) delete parent[key]
  else throw new PatchFailure(`${pointer} does not exist`)
  return document
}

function equal(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => equal(v, b[i]))
  if (isObject(a)) {
    if (!isObject(b)) return false
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]))
  }
  return a === b
}

function applyOne(document: unknown, operation: JsonPatchOperation): unknown {
  switch (operation.op) {
    case 'add':
      return add(document, operation.path, structuredClone(operation.value))
    case 'remove':
      return remove(document, operation.path)
    case 'replace':
      if (operation.path === '') return structuredClone(operation.value)
      get(document, operation.path)
      return add(remove(document, operation.path), operation.path, structuredClone(operation.value))
    case 'test': {
      const actual = get(document, operation.path)
      if (!equal(actual, operation.value)) throw new PatchFailure(`test failed: ${operation.path} is ${JSON.stringify(actual)}, not ${JSON.stringify(operation.value)}`)
      return document
    }
    case 'move': {
      if (operation.path.startsWith(`${operation.from}/`)) throw new PatchFailure(`cannot move ${operation.from} into one of its own children`)
      const value = get(document, operation.from)
      return add(remove(document, operation.from), operation.path, value)
    }
    case 'copy':
      return add(document, operation.path, structuredClone(get(document, operation.from)))
  }
}

const describeOperation = (o: JsonPatchOperation) => `${o.op} ${'from' in o ? `${o.from} -> ` : ''}${o.path === '' ? '""' : o.path}`

/** Applies every operation to a copy of document; the original is never changed. */
export function applyJsonPatch<T>(document: T, operations: JsonPatchOperation[], about: {object: string; suggestion: string}): T {
  let result: unknown = structuredClone(document)
  for (const [index, operation] of operations.entries()) {
    try {
      result = applyOne(result, operation)
    } catch (error) {
      if (!(error instanceof PatchFailure)) throw error
      // A failed test is a precondition that did not hold (exit 1, as a stale resourceVersion); the rest do not fit the object (exit 2).
      const kind = operation.op === 'test' ? 'conflict' : 'invalid'
      throw new NetctlError(kind, `JSON patch operation ${index} (${describeOperation(operation)}) failed on ${about.object}: ${error.message}; nothing was changed`, about.suggestion)
    }
  }
  return result as T
}
