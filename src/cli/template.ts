/**
 * A subset of Go's text/template, for `get -o go-template=...`: what people write against
 * Kubernetes-style objects. No npm package covers it (the one on npm, @ctrl/golang-template, has no
 * printf, len, eq, pipelines or variables), so here is a small one.
 *
 * Supported: {{.a.b}}, {{.}}, {{$}}, {{$x := pipeline}}, {{$x = ...}}, pipelines with |, (...) groups,
 * if / else if / else, range (with $i, $v :=, and else), with (and else), comments, {{- and -}} trims,
 * string/raw/number/bool/nil literals, and the functions and, or, not, len, index, printf, print,
 * println, eq, ne, lt, le, gt, ge, join (calicoctl's). Anything else (define, template, block,
 * break, continue, other functions, methods) is refused with a usage error before anything prints.
 */
import {NetctlError} from '../errors.js'

type Value = unknown
/** A missing map key: Go prints it as <no value>, and fields of it are missing too. */
const NO_VALUE = Symbol('no value')

type Node =
  | {type: 'text'; text: string}
  | {type: 'action'; pipe: Pipeline}
  | {type: 'if' | 'with'; pipe: Pipeline; then: Node[]; otherwise: Node[]}
  | {type: 'range'; pipe: Pipeline; body: Node[]; otherwise: Node[]}

interface Pipeline {
  declare: string[]
  /** := declares, = assigns an existing variable. */
  assign: boolean
  commands: Operand[][]
}

type Operand =
  | {type: 'field'; receiver?: Operand; path: string[]}
  | {type: 'variable'; name: string; path: string[]}
  | {type: 'dot'}
  | {type: 'literal'; value: Value}
  | {type: 'function'; name: string}
  | {type: 'group'; pipe: Pipeline; path: string[]}

const templateError = (message: string, suggestion = 'see netctl get --help for what -o go-template supports') =>
  new NetctlError('usage', `go-template: ${message}`, suggestion)

const FUNCTIONS = new Set(['and', 'or', 'not', 'len', 'index', 'printf', 'print', 'println', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'join'])
const GO_ONLY = new Set(['html', 'js', 'urlquery', 'slice', 'call'])

// ---------- lexing: text and actions ----------

interface RawAction {
  body: string
  /** Position in the template, for messages. */
  line: number
}

function split(template: string): Array<string | RawAction> {
  const parts: Array<string | RawAction> = []
  let rest = 0
  let trimNext = false
  for (;;) {
    const open = template.indexOf('{{', rest)
    let text = open < 0 ? template.slice(rest) : template.slice(rest, open)
    if (trimNext) text = text.replace(/^\s+/, '')
    if (open < 0) {
      if (text) parts.push(text)
      return parts
    }
    let start = open + 2
    if (/^-[ \t\r\n]/.test(template.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '')
      start += 2
    }
    if (text) parts.push(text)
    const line = template.slice(0, open).split('\n').length
    const close = findClose(template, start, line)
    let end = close
    trimNext = false
    if (close - 2 >= start && /[ \t\r\n]-$/.test(template.slice(close - 2, close))) {
      end = close - 2
      trimNext = true
    }
    parts.push({body: template.slice(start, end), line})
    rest = close + 2
  }
}

/** The }} that ends an action, skipping over quoted strings (a "}}" inside a string is text). */
function findClose(template: string, from: number, line: number): number {
  for (let i = from; i < template.length; i++) {
    const c = template[i]
    if (c === '"' || c === '`' || c === "'") {
      const end = c === '`' ? template.indexOf('`', i + 1) : closingQuote(template, i)
      if (end < 0) throw templateError(`line ${line}: unterminated quoted string`)
      i = end
    } else if (c === '}' && template[i + 1] === '}') return i
  }
  throw templateError(`line ${line}: unclosed action (no }})`)
}

function closingQuote(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === text[start]) return i
    else if (text[i] === '\n') return -1
  }
  return -1
}

type Token = {type: 'word' | 'field' | 'variable' | 'string' | 'number' | 'char' | 'punct'; text: string; value?: Value}

function tokenize(body: string, line: number): Token[] {
  const tokens: Token[] = []
  let i = 0
  const fail = (what: string) => templateError(`line ${line}: ${what} in {{${body}}}`)
  while (i < body.length) {
    const c = body[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    const rest = body.slice(i)
    let m: RegExpMatchArray | null
    if (c === '"') {
      const end = closingQuote(body, i)
      if (end < 0) throw fail('unterminated string')
      tokens.push({type: 'string', text: body.slice(i, end + 1), value: unquote(body.slice(i, end + 1), fail)})
      i = end + 1
    } else if (c === '`') {
      const end = body.indexOf('`', i + 1)
      if (end < 0) throw fail('unterminated raw string')
      tokens.push({type: 'string', text: body.slice(i, end + 1), value: body.slice(i + 1, end)})
      i = end + 1
    } else if (c === "'") {
      const end = closingQuote(body, i)
      if (end < 0) throw fail('unterminated character constant')
      const char = unquote(`"${body.slice(i + 1, end)}"`, fail)
      tokens.push({type: 'number', text: body.slice(i, end + 1), value: char.codePointAt(0)})
      i = end + 1
    } else if ((m = rest.match(/^:=|^[|()=,]/))) {
      tokens.push({type: 'punct', text: m[0]})
      i += m[0].length
    } else if ((m = rest.match(/^\$[A-Za-z0-9_]*/))) {
      tokens.push({type: 'variable', text: m[0]})
      i += m[0].length
    } else if ((m = rest.match(/^(\.[A-Za-z0-9_]+)+/))) {
      tokens.push({type: 'field', text: m[0]})
      i += m[0].length
    } else if (c === '.') {
      tokens.push({type: 'punct', text: '.'})
      i++
    } else if ((m = rest.match(/^[-+]?(0[xX][0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)/))) {
      tokens.push({type: 'number', text: m[0], value: Number(m[0])})
      i += m[0].length
    } else if ((m = rest.match(/^[A-Za-z_][A-Za-z0-9_]*/))) {
      tokens.push({type: 'word', text: m[0]})
      i += m[0].length
    } else throw fail(`unexpected "${c}"`)
  }
  return tokens
}

function unquote(text: string, fail: (what: string) => NetctlError): string {
  try {
    return JSON.parse(text.replace(/\\([abfv'])/g, (_, e: string) => ({a: '\\u0007', b: '\\b', f: '\\f', v: '\\u000b', "'": "'"})[e]!)) as string
  } catch {
    throw fail(`bad string ${text}`)
  }
}

// ---------- parsing ----------

type BlockNode = Exclude<Node, {type: 'text' | 'action'}>
type Frame = {kind: 'root'} | {kind: 'if' | 'with' | 'range'; node: BlockNode; inElse: boolean; line: number}

export function parseTemplate(template: string): Node[] {
  const root: Node[] = []
  const stack: Array<{frame: Frame; into: Node[]}> = [{frame: {kind: 'root'}, into: root}]
  const top = () => stack.at(-1)!
  for (const part of split(template)) {
    if (typeof part === 'string') {
      top().into.push({type: 'text', text: part})
      continue
    }
    const body = part.body.trim()
    if (body.startsWith('/*')) {
      if (!body.endsWith('*/')) throw templateError(`line ${part.line}: unclosed comment`)
      continue
    }
    const tokens = tokenize(part.body, part.line)
    if (tokens.length === 0) throw templateError(`line ${part.line}: empty action {{}}`)
    const keyword = tokens[0]!.type === 'word' ? tokens[0]!.text : ''
    const where = `line ${part.line}`
    if (keyword === 'if' || keyword === 'with' || keyword === 'range') {
      const pipe = parsePipeline(tokens.slice(1), where, keyword === 'range')
      const node: BlockNode = keyword === 'range' ? {type: 'range', pipe, body: [], otherwise: []} : {type: keyword, pipe, then: [], otherwise: []}
      top().into.push(node)
      stack.push({frame: {kind: keyword, node, inElse: false, line: part.line}, into: node.type === 'range' ? node.body : node.then})
    } else if (keyword === 'else') {
      const entry = top()
      if (entry.frame.kind === 'root' || entry.frame.inElse) throw templateError(`${where}: unexpected {{else}}`)
      entry.frame.inElse = true
      entry.into = entry.frame.node.otherwise
      // {{else if ...}} / {{else with ...}}: a nested block that the same {{end}} closes.
      const chained = tokens[1]?.type === 'word' ? tokens[1].text : ''
      if (chained === 'if' || chained === 'with') {
        const node: BlockNode & {then: Node[]} = {type: chained, pipe: parsePipeline(tokens.slice(2), where, false), then: [], otherwise: []}
        entry.into.push(node)
        entry.frame = {kind: chained, node, inElse: false, line: part.line}
        entry.into = node.then
      } else if (tokens.length > 1) throw templateError(`${where}: unexpected "${tokens[1]!.text}" after else`)
    } else if (keyword === 'end') {
      if (stack.length === 1) throw templateError(`${where}: unexpected {{end}}`)
      stack.pop()
    } else if (['define', 'template', 'block', 'break', 'continue'].includes(keyword)) {
      throw templateError(`${where}: {{${keyword}}} is not supported`, 'netctl supports if, else, range, with, variables, pipelines and the functions and, or, not, len, index, printf, print, println, eq, ne, lt, le, gt, ge, join')
    } else {
      top().into.push({type: 'action', pipe: parsePipeline(tokens, where, false)})
    }
  }
  if (stack.length > 1) {
    const open = top().frame as {kind: string; line: number}
    throw templateError(`the {{${open.kind}}} on line ${open.line} has no {{end}}`)
  }
  return root
}

function parsePipeline(tokens: Token[], where: string, isRange: boolean): Pipeline {
  const declare: string[] = []
  let assign = false
  // $x := ..., $i, $v := ... (range), $x = ...
  const assignAt = tokens.findIndex((t) => t.type === 'punct' && (t.text === ':=' || t.text === '='))
  if (assignAt > 0 && tokens.slice(0, assignAt).every((t) => t.type === 'variable' || t.text === ',')) {
    const names = tokens.slice(0, assignAt).filter((t) => t.type === 'variable').map((t) => t.text)
    if (names.length > (isRange ? 2 : 1)) throw templateError(`${where}: too many variables in declaration`)
    declare.push(...names)
    assign = tokens[assignAt]!.text === '='
    tokens = tokens.slice(assignAt + 1)
  }
  if (tokens.length === 0) throw templateError(`${where}: missing value`)
  const commands: Operand[][] = []
  let command: Operand[] = []
  let i = 0
  while (i < tokens.length) {
    const token = tokens[i]!
    if (token.type === 'punct' && token.text === '|') {
      if (command.length === 0) throw templateError(`${where}: missing command before |`)
      commands.push(command)
      command = []
      i++
      continue
    }
    const [operand, next] = parseOperand(tokens, i, where)
    command.push(operand)
    i = next
  }
  if (command.length === 0) throw templateError(`${where}: missing command after |`)
  commands.push(command)
  for (const [index, cmd] of commands.entries()) {
    if (index > 0 && cmd[0]!.type !== 'function') throw templateError(`${where}: only a function can follow | in a pipeline`)
    if (cmd[0]!.type !== 'function' && cmd.length > 1) throw templateError(`${where}: ${describe(cmd[0]!)} is not a function, so it takes no arguments`)
  }
  return {declare, assign, commands}
}

function describe(operand: Operand): string {
  switch (operand.type) {
    case 'field':
      return `.${operand.path.join('.')}`
    case 'variable':
      return [operand.name, ...operand.path].join('.')
    case 'dot':
      return '.'
    default:
      return 'a value'
  }
}

function parseOperand(tokens: Token[], i: number, where: string): [Operand, number] {
  const token = tokens[i]!
  switch (token.type) {
    case 'field':
      return [{type: 'field', path: token.text.slice(1).split('.')}, i + 1]
    case 'variable': {
      // $x.a.b comes as a variable then a field token.
      const next = tokens[i + 1]
      if (next?.type === 'field') return [{type: 'variable', name: token.text, path: next.text.slice(1).split('.')}, i + 2]
      return [{type: 'variable', name: token.text, path: []}, i + 1]
    }
    case 'string':
    case 'number':
      return [{type: 'literal', value: token.value}, i + 1]
    case 'word': {
      if (token.text === 'true' || token.text === 'false') return [{type: 'literal', value: token.text === 'true'}, i + 1]
      if (token.text === 'nil') return [{type: 'literal', value: null}, i + 1]
      if (FUNCTIONS.has(token.text)) return [{type: 'function', name: token.text}, i + 1]
      const why = GO_ONLY.has(token.text) ? 'is not supported by netctl' : 'is not a function netctl knows'
      throw templateError(`${where}: function "${token.text}" ${why}`, `functions: ${[...FUNCTIONS].join(', ')}`)
    }
    case 'punct':
      if (token.text === '.') return [{type: 'dot'}, i + 1]
      if (token.text === '(') {
        let depth = 0
        let j = i
        for (; j < tokens.length; j++) {
          if (tokens[j]!.text === '(' && tokens[j]!.type === 'punct') depth++
          if (tokens[j]!.text === ')' && tokens[j]!.type === 'punct' && --depth === 0) break
        }
        if (j >= tokens.length) throw templateError(`${where}: unclosed (`)
        const pipe = parsePipeline(tokens.slice(i + 1, j), where, false)
        const next = tokens[j + 1]
        if (next?.type === 'field') return [{type: 'group', pipe, path: next.text.slice(1).split('.')}, j + 2]
        return [{type: 'group', pipe, path: []}, j + 1]
      }
      throw templateError(`${where}: unexpected "${token.text}"`)
  }
  throw templateError(`${where}: unexpected "${token.text}"`)
}

// ---------- execution ----------

class Scope {
  private readonly vars: Array<Map<string, Value>> = []
  constructor(root: Value) {
    this.vars.push(new Map([['$', root]]))
  }
  push(): void {
    this.vars.push(new Map())
  }
  pop(): void {
    this.vars.pop()
  }
  declare(name: string, value: Value): void {
    this.vars.at(-1)!.set(name, value)
  }
  assign(name: string, value: Value): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.has(name)) {
        this.vars[i]!.set(name, value)
        return
      }
    }
    throw templateError(`undefined variable: ${name}`)
  }
  get(name: string): Value {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.has(name)) return this.vars[i]!.get(name)
    throw templateError(`undefined variable: ${name}`)
  }
}

const isMap = (v: Value): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** calicoctl's templates see Go structs (.Items, .ObjectMeta.Name); netctl's, like kubectl's, see JSON names. */
const goNames: Record<string, string> = {ObjectMeta: 'metadata', TypeMeta: 'apiVersion and kind', Items: 'items', Spec: 'spec', Name: 'name', Namespace: 'namespace', Labels: 'labels', Kind: 'kind'}
const goNameHint = (name: string) =>
  templateError(`no field ${name}: netctl templates see the JSON field names, as -o json shows them (here ${goNames[name] ?? name[0]!.toLowerCase() + name.slice(1)}), not calicoctl's Go names`, `e.g. {{range .items}}{{.metadata.name}}{{"\\n"}}{{end}}`)

function field(receiver: Value, name: string, shown: string): Value {
  if (receiver === NO_VALUE || receiver === undefined) return NO_VALUE
  if (isMap(receiver)) {
    if (Object.hasOwn(receiver, name)) return receiver[name]
    if (name in goNames || (/^[A-Z]/.test(name) && Object.hasOwn(receiver, name[0]!.toLowerCase() + name.slice(1)))) throw goNameHint(name)
    return NO_VALUE
  }
  if (receiver === null) throw templateError(`nil pointer evaluating ${shown}`)
  if (/^[A-Z]/.test(name)) throw goNameHint(name)
  throw templateError(`can't evaluate field ${name} in type ${goType(receiver)}`)
}

function goType(v: Value): string {
  if (Array.isArray(v)) return '[]interface {}'
  if (typeof v === 'string') return 'string'
  if (typeof v === 'boolean') return 'bool'
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64'
  if (isMap(v)) return 'map[string]interface {}'
  return 'interface {}'
}

export function truth(v: Value): boolean {
  if (v === NO_VALUE || v === null || v === undefined || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (isMap(v)) return Object.keys(v).length > 0
  return true
}

/** Go's %v of a decoded JSON value. */
export function goString(v: Value): string {
  if (v === NO_VALUE || v === undefined) return '<no value>'
  if (v === null) return '<nil>'
  if (typeof v === 'string') return v
  if (typeof v === 'number') return formatNumber(v)
  if (typeof v === 'boolean') return String(v)
  if (Array.isArray(v)) return `[${v.map(inner).join(' ')}]`
  if (isMap(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${inner(v[k])}`).join(' ')}]`
  return String(v)
}
const inner = (v: Value) => (v === null || v === undefined || v === NO_VALUE ? '<nil>' : goString(v))

function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n)
  // Go's %v for float64 is %g with the shortest representation.
  const s = String(n)
  return s.includes('e') ? s.replace(/e([+-])(\d)$/, 'e$10$2') : s
}

class Executor {
  private out: string[] = []
  private readonly scope: Scope
  constructor(root: Value) {
    this.scope = new Scope(root)
  }

  run(nodes: Node[], dot: Value): string {
    this.exec(nodes, dot)
    return this.out.join('')
  }

  private exec(nodes: Node[], dot: Value): void {
    for (const node of nodes) {
      switch (node.type) {
        case 'text':
          this.out.push(node.text)
          break
        case 'action': {
          const value = this.pipeline(node.pipe, dot)
          if (node.pipe.declare.length === 0) this.out.push(goString(value))
          break
        }
        case 'if':
        case 'with': {
          this.scope.push()
          const value = this.pipeline(node.pipe, dot)
          if (truth(value)) this.exec(node.then, node.type === 'with' ? value : dot)
          else this.exec(node.otherwise, dot)
          this.scope.pop()
          break
        }
        case 'range':
          this.range(node, dot)
          break
      }
    }
  }

  private range(node: Extract<Node, {type: 'range'}>, dot: Value): void {
    this.scope.push()
    const value = this.pipeline({...node.pipe, declare: []}, dot)
    let entries: Array<[Value, Value]>
    if (Array.isArray(value)) entries = value.map((v, i) => [i, v])
    else if (isMap(value)) entries = Object.keys(value).sort().map((k) => [k, value[k]])
    else if (value === NO_VALUE || value === null || value === undefined) entries = []
    else if (typeof value === 'number' && Number.isInteger(value)) entries = Array.from({length: Math.max(0, value)}, (_, i) => [i, i])
    else throw templateError(`range can't iterate over ${goString(value)}`)
    if (entries.length === 0) this.exec(node.otherwise, dot)
    for (const [key, element] of entries) {
      this.scope.push()
      const names = node.pipe.declare
      if (names.length === 1) this.scope.declare(names[0]!, element)
      if (names.length === 2) {
        this.scope.declare(names[0]!, key)
        this.scope.declare(names[1]!, element)
      }
      this.exec(node.body, element)
      this.scope.pop()
    }
    this.scope.pop()
  }

  private pipeline(pipe: Pipeline, dot: Value): Value {
    let value: Value = NO_VALUE
    let piped = false
    for (const command of pipe.commands) {
      value = this.command(command, dot, piped ? [value] : [])
      piped = true
    }
    if (pipe.declare.length > 0) {
      if (pipe.assign) this.scope.assign(pipe.declare[0]!, value)
      else this.scope.declare(pipe.declare[0]!, value)
    }
    return value
  }

  private command(command: Operand[], dot: Value, piped: Value[]): Value {
    const [head, ...rest] = command
    if (head!.type !== 'function') return this.operand(head!, dot)
    const name = head!.name
    // and/or evaluate lazily and return the deciding argument, as Go does.
    if ((name === 'and' || name === 'or') && piped.length === 0) {
      if (rest.length === 0) throw templateError(`wrong number of args for ${name}: want at least 1 got 0`)
      let last: Value = NO_VALUE
      for (const operand of rest) {
        last = this.operand(operand, dot)
        if (name === 'and' ? !truth(last) : truth(last)) return last
      }
      return last
    }
    const args = [...rest.map((o) => this.operand(o, dot)), ...piped]
    return callFunction(name, args)
  }

  private operand(operand: Operand, dot: Value): Value {
    switch (operand.type) {
      case 'dot':
        return dot
      case 'literal':
        return operand.value
      case 'field':
        return walk(dot, operand.path)
      case 'variable':
        return walk(this.scope.get(operand.name), operand.path, operand.name)
      case 'group':
        return walk(this.pipeline(operand.pipe, dot), operand.path)
      case 'function':
        return callFunction(operand.name, [])
    }
  }
}

function walk(value: Value, path: string[], prefix = ''): Value {
  let shown = prefix
  for (const name of path) {
    shown += `.${name}`
    value = field(value, name, shown)
  }
  return value
}

const countArgs = (name: string, args: Value[], want: number) => {
  if (args.length !== want) throw templateError(`wrong number of args for ${name}: want ${want} got ${args.length}`)
}

function callFunction(name: string, args: Value[]): Value {
  switch (name) {
    case 'and':
    case 'or': {
      if (args.length === 0) throw templateError(`wrong number of args for ${name}: want at least 1 got 0`)
      for (const a of args) if (name === 'and' ? !truth(a) : truth(a)) return a
      return args.at(-1)
    }
    case 'not':
      countArgs(name, args, 1)
      return !truth(args[0])
    case 'len': {
      countArgs(name, args, 1)
      const v = args[0]
      if (typeof v === 'string') return Buffer.byteLength(v)
      if (Array.isArray(v)) return v.length
      if (isMap(v)) return Object.keys(v).length
      throw templateError(`error calling len: len of ${v === NO_VALUE ? 'nil pointer' : `type ${goType(v)}`}`)
    }
    case 'index': {
      if (args.length === 0) throw templateError('wrong number of args for index: want at least 1 got 0')
      let v = args[0]
      for (const key of args.slice(1)) {
        if (Array.isArray(v)) {
          if (typeof key !== 'number' || !Number.isInteger(key)) throw templateError(`error calling index: cannot index slice/array with type ${goType(key)}`)
          if (key < 0 || key >= v.length) throw templateError(`error calling index: index out of range: ${key}`)
          v = v[key]
        } else if (isMap(v)) {
          if (typeof key !== 'string') throw templateError(`error calling index: value has type ${goType(key)}; should be string`)
          v = Object.hasOwn(v, key) ? v[key] : NO_VALUE
        } else if (v === NO_VALUE || v === null || v === undefined) {
          v = NO_VALUE
        } else if (typeof v === 'string' && typeof key === 'number') {
          v = Buffer.from(v)[key]
        } else throw templateError(`error calling index: can't index item of type ${goType(v)}`)
      }
      return v
    }
    case 'print':
      // Go's Sprint: spaces only between operands when neither is a string.
      return args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + goString(a)).join('')
    case 'println':
      return `${args.map(goString).join(' ')}\n`
    case 'printf': {
      if (typeof args[0] !== 'string') throw templateError('printf needs a format string first')
      return sprintf(args[0], args.slice(1))
    }
    case 'join': {
      countArgs(name, args, 2)
      const [items, sep] = args
      if (typeof sep !== 'string') throw templateError('join: the separator must be a string')
      if (items === NO_VALUE || items === null || items === undefined) return ''
      if (isMap(items)) return Object.entries(items).map(([k, v]) => `${k}=${goString(v)}`).sort().join(sep)
      return (Array.isArray(items) ? items : [items]).map(goString).join(sep)
    }
    default:
      return compare(name, args)
  }
}

function basic(v: Value, name: string): string | number | boolean | null {
  if (v === NO_VALUE || v === undefined) return null
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  throw templateError(`error calling ${name}: invalid type for comparison`)
}

function compare(name: string, args: Value[]): boolean {
  if (name === 'eq') {
    if (args.length < 2) throw templateError(`wrong number of args for eq: want at least 2 got ${args.length}`)
    const left = basic(args[0], name)
    return args.slice(1).some((arg) => {
      const right = basic(arg, name)
      if (left !== null && right !== null && typeof left !== typeof right) throw templateError('error calling eq: incompatible types for comparison')
      return left === right
    })
  }
  countArgs(name, args, 2)
  const [left, right] = [basic(args[0], name), basic(args[1], name)]
  if (name === 'ne') {
    if (left !== null && right !== null && typeof left !== typeof right) throw templateError('error calling ne: incompatible types for comparison')
    return left !== right
  }
  if (left === null || right === null || typeof left === 'boolean' || typeof left !== typeof right) throw templateError(`error calling ${name}: incompatible types for comparison`)
  switch (name) {
    case 'lt':
      return left < right
    case 'le':
      return left <= right
    case 'gt':
      return left > right
    default:
      return left >= right
  }
}

/** Go's fmt verbs that templates use: %s %v %d %q %t %f %g %e %x %X %o %c %%, with flags, width and precision. */
export function sprintf(format: string, args: Value[]): string {
  let next = 0
  return format.replace(/%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/g, (whole, flags: string, width: string | undefined, precision: string | undefined, verb: string) => {
    if (verb === '%') return '%'
    const take = () => (next < args.length ? args[next++] : NO_VALUE)
    if (width === '*') width = String(take())
    if (precision === '*') precision = String(take())
    if (next >= args.length) return `%!${verb}(MISSING)`
    const arg = take()
    let text: string
    const prec = precision === undefined ? undefined : Number(precision)
    switch (verb) {
      case 'v':
      case 's':
        text = goString(arg)
        if (prec !== undefined) text = text.slice(0, prec)
        break
      case 'q':
        text = typeof arg === 'string' ? JSON.stringify(arg) : goString(arg)
        break
      case 'd':
        text = typeof arg === 'number' && Number.isInteger(arg) ? String(arg) : `%!d(${goType(arg)}=${goString(arg)})`
        if (flags.includes('+') && typeof arg === 'number' && arg >= 0) text = `+${text}`
        break
      case 't':
        text = typeof arg === 'boolean' ? String(arg) : `%!t(${goType(arg)}=${goString(arg)})`
        break
      case 'f':
      case 'F':
      case 'e':
      case 'g':
        if (typeof arg !== 'number') text = `%!${verb}(${goType(arg)}=${goString(arg)})`
        else if (verb === 'e') text = arg.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2')
        else if (verb === 'g') text = prec === undefined ? formatNumber(arg) : String(Number(arg.toPrecision(prec)))
        else text = arg.toFixed(prec ?? 6)
        break
      case 'x':
      case 'X':
      case 'o':
      case 'b': {
        const base = verb === 'o' ? 8 : verb === 'b' ? 2 : 16
        if (typeof arg === 'number' && Number.isInteger(arg)) text = arg.toString(base)
        else if (typeof arg === 'string' && base === 16) text = Buffer.from(arg).toString('hex')
        else text = `%!${verb}(${goType(arg)}=${goString(arg)})`
        if (verb === 'X') text = text.toUpperCase()
        break
      }
      case 'c':
        text = typeof arg === 'number' ? String.fromCodePoint(arg) : `%!c(${goType(arg)}=${goString(arg)})`
        break
      default:
        throw templateError(`printf verb %${verb} is not supported (in "${whole}")`, 'use %s, %v, %d, %q, %t, %f, %x or %%')
    }
    const w = width === undefined ? 0 : Number(width)
    if (text.length >= w) return text
    if (flags.includes('-')) return text.padEnd(w)
    if (flags.includes('0') && /^[-+]?\d/.test(text) && verb !== 's' && verb !== 'v' && verb !== 'q') {
      const sign = /^[-+]/.test(text) ? text[0]! : ''
      return sign + text.slice(sign.length).padStart(w - sign.length, '0')
    }
    return text.padStart(w)
  }) + (next < args.length ? `%!(EXTRA ${args.slice(next).map((a) => `${goType(a)}=${goString(a)}`).join(', ')})` : '')
}

/** Parses then renders: a template that cannot parse prints nothing. */
export function renderGoTemplate(template: string, data: Value): string {
  const nodes = parseTemplate(template)
  // Plain JSON in: what the template sees is what -o json shows.
  const plain = JSON.parse(JSON.stringify(data)) as Value
  return new Executor(plain).run(nodes, plain)
}
