/**
 * kubectl's JSONPath templates, for `get -o jsonpath=...`. Not the JSONPath of the npm packages
 * (jsonpath, jsonpath-plus: `$..x` queries returning arrays): kubectl's is a template of text and
 * {expressions}, with {range}...{end}, results joined by spaces, missing keys printing nothing (as
 * kubectl get does by default), and maps and lists printed as JSON. So a small one, written here.
 *
 * Supported: {.a.b}, {$.a}, {@}, {.a[*]}, {.a[0]}, {.a[-1]}, {.a[1:3]}, {.a[::2]}, {.a['k.with.dots']},
 * {.a.*}, {..name}, unions {.a['x','y']} and {.a[0,2]}, filters {.a[?(@.x==1)]} with == != < <= > >=
 * and bare {[?(@.x)]} (has the key), literals {"text\n"}, {range ...}{end}.
 */
import {NetctlError} from '../errors.js'

type Value = unknown

type Step =
  | {type: 'field'; names: string[]}
  | {type: 'root'}
  | {type: 'wildcard'}
  | {type: 'recursive'}
  | {type: 'index'; indexes: number[]}
  | {type: 'slice'; start?: number; end?: number; step?: number}
  | {type: 'filter'; left: Step[]; op?: string; right?: Operand}

type Operand = {type: 'path'; steps: Step[]} | {type: 'literal'; value: Value}

type Node = {type: 'text'; text: string} | {type: 'path'; steps: Step[]} | {type: 'range'; steps: Step[]; body: Node[]}

const jsonpathError = (message: string, suggestion = "write it like {.items[*].metadata.name} or {range .items[*]}{.metadata.name}{\"\\n\"}{end}") =>
  new NetctlError('usage', `jsonpath: ${message}`, suggestion)

export function parseJsonPath(template: string): Node[] {
  const root: Node[] = []
  const stack: Node[][] = [root]
  let i = 0
  while (i < template.length) {
    const open = template.indexOf('{', i)
    if (open < 0) {
      stack.at(-1)!.push({type: 'text', text: template.slice(i)})
      break
    }
    if (open > i) stack.at(-1)!.push({type: 'text', text: template.slice(i, open)})
    const close = findClose(template, open)
    const body = template.slice(open + 1, close).trim()
    i = close + 1
    if (body === 'end') {
      if (stack.length === 1) throw jsonpathError('{end} without {range}')
      stack.pop()
    } else if (body.startsWith('range ') || body === 'range') {
      const node: Node = {type: 'range', steps: parsePath(body.slice(5).trim(), body), body: []}
      stack.at(-1)!.push(node)
      stack.push(node.body)
    } else if (/^(["']).*\1$/s.test(body)) {
      stack.at(-1)!.push({type: 'text', text: unquote(body)})
    } else {
      stack.at(-1)!.push({type: 'path', steps: parsePath(body, body)})
    }
  }
  if (stack.length > 1) throw jsonpathError('{range} without {end}')
  return root
}

function findClose(template: string, open: number): number {
  let quote = ''
  let depth = 0
  for (let i = open + 1; i < template.length; i++) {
    const c = template[i]
    if (quote) {
      if (c === '\\') i++
      else if (c === quote) quote = ''
    } else if (c === '"' || c === "'") quote = c
    else if (c === '[' || c === '(') depth++
    else if (c === ']' || c === ')') depth--
    else if (c === '}' && depth <= 0) return i
  }
  throw jsonpathError(`unclosed { in "${template}"`)
}

function unquote(text: string): string {
  const inner = text.slice(1, -1)
  return inner.replace(/\\(.)/g, (_, c: string) => ({n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'"})[c] ?? `\\${c}`)
}

/** A path like .a.b[*].c, $.a, @.a or ..a, as one {expression}. */
function parsePath(text: string, whole: string): Step[] {
  const steps: Step[] = []
  let i = 0
  if (text.startsWith('$')) steps.push({type: 'root'})
  if (text.startsWith('$') || text.startsWith('@')) i = 1
  const fail = (what: string) => jsonpathError(`${what} in {${whole}}`)
  while (i < text.length) {
    const c = text[i]
    if (text.startsWith('..', i)) {
      steps.push({type: 'recursive'})
      i += 1 // the second dot starts the next field
      if (text[i + 1] === '[' || i + 1 >= text.length) i++
      continue
    }
    if (c === '.') {
      i++
      if (text[i] === '*') {
        steps.push({type: 'wildcard'})
        i++
        continue
      }
      // kubectl's escaped dots: {.metadata.labels.kubernetes\.io/hostname}
      const m = text.slice(i).match(/^(?:\\.|[^.[\]\s\\])+/)
      if (!m) {
        if (i >= text.length || text[i] === '[') continue
        throw fail(`unexpected "${text[i]}"`)
      }
      steps.push({type: 'field', names: [m[0].replace(/\\(.)/g, '$1')]})
      i += m[0].length
    } else if (c === '[') {
      const end = closingBracket(text, i)
      if (end < 0) throw fail('unclosed [')
      steps.push(parseBracket(text.slice(i + 1, end).trim(), fail))
      i = end + 1
    } else if (/\s/.test(c!)) {
      throw fail('unexpected space (netctl supports one path per {})')
    } else if (i === 0) {
      // kubectl takes {metadata.name} as {.metadata.name}.
      text = `.${text}`
    } else throw fail(`unexpected "${c}"`)
  }
  return steps
}

function closingBracket(text: string, open: number): number {
  let quote = ''
  let depth = 0
  for (let i = open; i < text.length; i++) {
    const c = text[i]
    if (quote) {
      if (c === '\\') i++
      else if (c === quote) quote = ''
    } else if (c === '"' || c === "'") quote = c
    else if (c === '[') depth++
    else if (c === ']' && --depth === 0) return i
  }
  return -1
}

function parseBracket(inner: string, fail: (what: string) => NetctlError): Step {
  if (inner === '*') return {type: 'wildcard'}
  if (inner.startsWith('?')) {
    const m = inner.match(/^\?\s*\((.*)\)$/s)
    if (!m) throw fail(`bad filter [${inner}]`)
    return parseFilter(m[1]!.trim(), fail)
  }
  if (/^-?\d*\s*:\s*-?\d*(\s*:\s*-?\d*)?$/.test(inner)) {
    const [start, end, step] = inner.split(':').map((p) => (p.trim() === '' ? undefined : Number(p)))
    if (step === 0) throw fail('step 0 in a slice')
    return {type: 'slice', start, end, step}
  }
  const parts = splitUnion(inner)
  if (parts.every((p) => /^-?\d+$/.test(p))) return {type: 'index', indexes: parts.map(Number)}
  if (parts.every((p) => /^(["']).*\1$/s.test(p))) return {type: 'field', names: parts.map(unquote)}
  throw fail(`cannot read [${inner}]`)
}

function splitUnion(inner: string): string[] {
  const parts: string[] = []
  let quote = ''
  let current = ''
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!
    if (quote) {
      if (c === '\\') current += c + (inner[++i] ?? '')
      else {
        if (c === quote) quote = ''
        current += c
      }
    } else if (c === '"' || c === "'") {
      quote = c
      current += c
    } else if (c === ',') {
      parts.push(current.trim())
      current = ''
    } else current += c
  }
  parts.push(current.trim())
  return parts
}

function parseFilter(expression: string, fail: (what: string) => NetctlError): Step {
  if (/&&|\|\|/.test(expression)) throw fail(`&& and || in filters are not supported: [?(${expression})]`)
  const m = expression.match(/^(@[^!<>=\s]*)\s*(==|!=|<=|>=|<|>|=~)\s*(.+)$/s)
  if (!m) {
    if (/^@[^!<>=\s]*$/.test(expression)) return {type: 'filter', left: parsePath(expression, expression)}
    throw fail(`cannot read filter [?(${expression})]`)
  }
  const [, left, op, rightText] = m
  if (op === '=~') throw fail('=~ (regular expressions) in filters is not supported')
  const right = rightText!.trim()
  let operand: Operand
  if (right.startsWith('@') || right.startsWith('$')) operand = {type: 'path', steps: parsePath(right, right)}
  else if (/^(["']).*\1$/s.test(right)) operand = {type: 'literal', value: unquote(right)}
  else if (right === 'true' || right === 'false') operand = {type: 'literal', value: right === 'true'}
  else if (right === 'null' || right === 'nil') operand = {type: 'literal', value: null}
  else if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(right)) operand = {type: 'literal', value: Number(right)}
  else throw fail(`cannot read the value ${right} in a filter (quote strings: '${right}')`)
  return {type: 'filter', left: parsePath(left!, left!), op, right: operand}
}

const isMap = (v: Value): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v)

function evaluate(steps: Step[], inputs: Value[], root: Value): Value[] {
  let current = inputs
  for (const step of steps) {
    const next: Value[] = []
    for (const value of current) {
      switch (step.type) {
        case 'field':
          for (const name of step.names) if (isMap(value) && Object.hasOwn(value, name)) next.push(value[name])
          break
        case 'root':
          next.push(root)
          break
        case 'wildcard':
          if (Array.isArray(value)) next.push(...value)
          else if (isMap(value)) for (const key of Object.keys(value).sort()) next.push(value[key])
          break
        case 'recursive':
          collect(value, next)
          break
        case 'index':
          if (Array.isArray(value)) {
            for (const index of step.indexes) {
              const at = index < 0 ? value.length + index : index
              if (at >= 0 && at < value.length) next.push(value[at])
              else throw jsonpathError(`array index out of bounds: index ${index}, length ${value.length}`, 'use [*], or a slice like [0:2] that may be shorter')
            }
          }
          break
        case 'slice':
          if (Array.isArray(value)) next.push(...slice(value, step))
          break
        case 'filter': {
          const items = Array.isArray(value) ? value : isMap(value) ? Object.keys(value).sort().map((k) => value[k]) : []
          for (const item of items) if (matches(step, item, root)) next.push(item)
          break
        }
      }
    }
    current = next
  }
  return current
}

/** .. : the value and everything under it, depth first, map keys sorted. */
function collect(value: Value, into: Value[]): void {
  into.push(value)
  if (Array.isArray(value)) for (const item of value) collect(item, into)
  else if (isMap(value)) for (const key of Object.keys(value).sort()) collect(value[key], into)
}

function slice(array: Value[], step: {start?: number; end?: number; step?: number}): Value[] {
  const by = step.step ?? 1
  const clamp = (n: number) => Math.min(Math.max(n < 0 ? array.length + n : n, 0), array.length)
  const start = clamp(step.start ?? (by > 0 ? 0 : array.length - 1))
  const end = step.end === undefined ? (by > 0 ? array.length : -1) : clamp(step.end)
  const out: Value[] = []
  if (by > 0) for (let i = start; i < end; i += by) out.push(array[i])
  else for (let i = Math.min(start, array.length - 1); i > end; i += by) out.push(array[i])
  return out
}

function matches(filter: Extract<Step, {type: 'filter'}>, item: Value, root: Value): boolean {
  const left = evaluate(filter.left, [item], root)
  if (!filter.op) return left.length > 0
  const operand = filter.right!
  const right = operand.type === 'literal' ? [operand.value] : evaluate(operand.steps, [item], root)
  return left.some((l) => right.some((r) => compare(l, filter.op!, r)))
}

function compare(left: Value, op: string, right: Value): boolean {
  if (op === '==') return equal(left, right)
  if (op === '!=') return !equal(left, right)
  const bothNumbers = typeof left === 'number' && typeof right === 'number'
  const bothStrings = typeof left === 'string' && typeof right === 'string'
  if (!bothNumbers && !bothStrings) return false
  const [l, r] = [left as number | string, right as number | string]
  return op === '<' ? l < r : op === '<=' ? l <= r : op === '>' ? l > r : l >= r
}

function equal(left: Value, right: Value): boolean {
  if (typeof left !== 'object' || left === null) return left === right
  return JSON.stringify(left) === JSON.stringify(right)
}

/** kubectl prints strings bare, other scalars as Go does, maps and lists as JSON. */
function text(value: Value): string {
  if (typeof value === 'string') return value
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') return JSON.stringify(sorted(value))
  return String(value)
}

/** Go's encoding/json writes map keys sorted. */
function sorted(value: Value): Value {
  if (Array.isArray(value)) return value.map(sorted)
  if (!isMap(value)) return value
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]))
}

function render(nodes: Node[], current: Value, root: Value, out: string[]): void {
  for (const node of nodes) {
    if (node.type === 'text') out.push(node.text)
    else if (node.type === 'path') out.push(evaluate(node.steps, [current], root).map(text).join(' '))
    else {
      let items = evaluate(node.steps, [current], root)
      // {range .items} (no [*]) walks the list itself, as {range .items[*]} does.
      if (items.length === 1 && Array.isArray(items[0])) items = items[0]
      for (const item of items) render(node.body, item, root, out)
    }
  }
}

export function renderJsonPath(template: string, data: Value): string {
  const nodes = parseJsonPath(template)
  const plain = JSON.parse(JSON.stringify(data)) as Value
  const out: string[] = []
  render(nodes, plain, plain, out)
  return out.join('')
}
