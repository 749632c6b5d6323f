/**
 * Calico's selector language (libcalico-go lib/selector), read the way its tokenizer and parser
 * read it: all(), global(), has(k), k == 'v', k != 'v', k in {'a','b'}, k not in {…},
 * k contains 'v', k starts with 'v', k ends with 'v', ! (any number of times), && binding
 * tighter than ||, and ( ). Strings take single or double quotes; blanks are spaces and tabs.
 * An empty selector selects everything.
 */
import {NetctlError} from '../errors.js'

type Labels = Record<string, string>
type Test = (labels: Labels) => boolean

type Token =
  | {kind: 'label' | 'string' | 'has'; value: string}
  | {kind: '(' | ')' | '{' | '}' | ',' | '==' | '!=' | '!' | '&&' | '||' | 'in' | 'not in' | 'contains' | 'starts with' | 'ends with' | 'all' | 'global' | 'eof'}

/** Calico's MaxLabelLength: a longer label name is refused. */
const MAX_LABEL = 512
const identifier = /^[A-Za-z0-9_./-]+/
const blanks = /^[ \t]*/

class SelectorSyntaxError extends Error {}

function tokenize(input: string): Token[] {
  const tokens: Token[] = []
  let rest = input
  const fail = (why: string): never => {
    throw new SelectorSyntaxError(why)
  }
  const cutIdentifier = (): string => {
    const match = identifier.exec(rest)
    if (!match) return fail('expected a label name')
    if (match[0].length > MAX_LABEL) fail('label name too long')
    rest = rest.slice(match[0].length)
    return match[0]
  }
  /**
   * Operator words after a label, as Calico cuts them: a single word must end at a word
   * boundary; in a multi-word operator blanks after each word are skipped first.
   */
  const cutWords = (...words: string[]): boolean => {
    let r = rest
    for (const word of words) {
      if (!r.startsWith(word)) return false
      r = r.slice(word.length)
      if (words.length > 1) r = r.replace(blanks, '')
    }
    if (/^[A-Za-z0-9_./-]/.test(r)) return false
    rest = r
    return true
  }
  for (;;) {
    rest = rest.replace(blanks, '')
    if (rest === '') {
      tokens.push({kind: 'eof'})
      return tokens
    }
    const last = tokens.at(-1)?.kind
    const c = rest[0]!
    if ('(){},'.includes(c)) {
      tokens.push({kind: c as '(' | ')' | '{' | '}' | ','})
      rest = rest.slice(1)
    } else if (c === '"' || c === "'") {
      const end = rest.indexOf(c, 1)
      if (end < 0) fail('unterminated string')
      tokens.push({kind: 'string', value: rest.slice(1, end)})
      rest = rest.slice(end + 1)
    } else if (rest.startsWith('==')) {
      tokens.push({kind: '=='})
      rest = rest.slice(2)
    } else if (rest.startsWith('!=')) {
      tokens.push({kind: '!='})
      rest = rest.slice(2)
    } else if (c === '!') {
      tokens.push({kind: '!'})
      rest = rest.slice(1)
    } else if (rest.startsWith('&&')) {
      tokens.push({kind: '&&'})
      rest = rest.slice(2)
    } else if (rest.startsWith('||')) {
      tokens.push({kind: '||'})
      rest = rest.slice(2)
    } else if (last === 'label') {
      // After a label only an operator word may follow.
      if (cutWords('contains')) tokens.push({kind: 'contains'})
      else if (cutWords('starts', 'with')) tokens.push({kind: 'starts with'})
      else if (cutWords('ends', 'with')) tokens.push({kind: 'ends with'})
      else if (cutWords('not', 'in')) tokens.push({kind: 'not in'})
      else if (cutWords('in')) tokens.push({kind: 'in'})
      else fail('expected an operator after a label')
    } else if (rest.startsWith('has(')) {
      rest = rest.slice(4).replace(blanks, '')
      const name = cutIdentifier()
      rest = rest.replace(blanks, '')
      if (!rest.startsWith(')')) fail("no closing ')' after has(")
      rest = rest.slice(1)
      tokens.push({kind: 'has', value: name})
    } else if (/^(all|global)\(/.test(rest)) {
      const kind = rest.startsWith('all') ? 'all' : 'global'
      rest = rest.slice(kind.length + 1).replace(blanks, '')
      if (!rest.startsWith(')')) fail(`no closing ')' after ${kind}(`)
      rest = rest.slice(1)
      tokens.push({kind})
    } else {
      tokens.push({kind: 'label', value: cutIdentifier()})
    }
  }
}

function parse(tokens: Token[]): Test {
  let i = 0
  const fail = (): never => {
    throw new SelectorSyntaxError('unexpected token')
  }
  const peek = () => tokens[i]!
  const take = () => tokens[i++]!
  const stringValue = (): string => {
    const t = take()
    return t.kind === 'string' ? t.value : fail()
  }
  const operation = (): Test => {
    let negated = false
    while (peek().kind === '!') {
      negated = !negated
      i++
    }
    const inner = operand()
    return negated ? (l) => !inner(l) : inner
  }
  const operand = (): Test => {
    const t = take()
    switch (t.kind) {
      case 'all':
      case 'global':
        return () => true
      case 'has': {
        const key = t.value
        return (l) => Object.hasOwn(l, key)
      }
      case '(': {
        const inner = or()
        if (take().kind !== ')') fail()
        return inner
      }
      case 'label': {
        const key = t.value
        const has = (l: Labels) => Object.hasOwn(l, key)
        const op = take()
        switch (op.kind) {
          case '==': {
            const v = stringValue()
            return (l) => has(l) && l[key] === v
          }
          case '!=': {
            const v = stringValue()
            return (l) => !has(l) || l[key] !== v
          }
          case 'contains': {
            const v = stringValue()
            return (l) => has(l) && l[key]!.includes(v)
          }
          case 'starts with': {
            const v = stringValue()
            return (l) => has(l) && l[key]!.startsWith(v)
          }
          case 'ends with': {
            const v = stringValue()
            return (l) => has(l) && l[key]!.endsWith(v)
          }
          case 'in':
          case 'not in': {
            if (take().kind !== '{') fail()
            const values = new Set<string>()
            while (peek().kind === 'string') {
              values.add(stringValue())
              if (peek().kind === ',') i++
            }
            if (take().kind !== '}') fail()
            const within = (l: Labels) => has(l) && values.has(l[key]!)
            return op.kind === 'in' ? within : (l) => !within(l)
          }
          default:
            return fail()
        }
      }
      default:
        return fail()
    }
  }
  /** One precedence level: operands joined by `op`, left to right. */
  const chain = (op: '&&' | '||', next: () => Test) => (): Test => {
    const parts = [next()]
    while (peek().kind === op) {
      i++
      parts.push(next())
    }
    if (parts.length === 1) return parts[0]!
    return op === '&&' ? (l) => parts.every((p) => p(l)) : (l) => parts.some((p) => p(l))
  }
  const and = chain('&&', operation)
  const or = chain('||', and)
  if (peek().kind === 'eof') return () => true
  const test = or()
  if (peek().kind !== 'eof') fail()
  return test
}

/** Parse a selector into a test on a label set; throws NetctlError('invalid') when it does not parse. */
export function parseSelector(text: string): Test {
  try {
    if (typeof text !== 'string' || text.length > 65536) throw new SelectorSyntaxError('not a string of at most 64 kB')
    return parse(tokenize(text))
  } catch (error) {
    if (!(error instanceof SelectorSyntaxError)) throw error
    const shown = JSON.stringify(String(text).slice(0, 80))
    throw new NetctlError('invalid', `cannot read the selector ${shown}: ${error.message}`, "use all(), has(key), key == 'value', key != 'value', key in {'a','b'}, key not in {…}, contains, starts with, ends with, !, && and ||")
  }
}
