/**
 * The part of Calico's selector language BGP peerings use: all(), has(k), !has(k),
 * k == 'v', k != 'v', k in {'a','b'}, joined with && and || and grouped with ( ).
 */
import {NetctlError} from '../errors.js'

type Labels = Record<string, string>
type Test = (labels: Labels) => boolean

export function parseSelector(text: string): Test {
  const tokens = text.match(/\s*(all\(\)|has\([^)]*\)|!has\([^)]*\)|&&|\|\||\(|\)|==|!=|\bin\b|\{[^}]*\}|'[^']*'|"[^"]*"|[\w./-]+)/g)?.map((t) => t.trim()) ?? []
  let i = 0
  const fail = (): never => {
    throw new NetctlError('invalid', `cannot read the selector ${JSON.stringify(text)}`, "use all(), has(key), key == 'value', key != 'value', key in {'a','b'}, && and ||")
  }
  const unquote = (t: string | undefined) => (t && /^['"].*['"]$/.test(t) ? t.slice(1, -1) : fail())
  const primary = (): Test => {
    const t = tokens[i++]
    if (t === undefined) return fail()
    if (t === 'all()') return () => true
    if (t === '(') {
      const inner = or()
      if (tokens[i++] !== ')') fail()
      return inner
    }
    const has = /^(!?)has\(\s*([\w./-]+)\s*\)$/.exec(t)
    if (has) return has[1] ? (l) => !(has[2]! in l) : (l) => has[2]! in l
    const op = tokens[i++]
    if (op === '==' || op === '!=') {
      const value = unquote(tokens[i++])
      return op === '==' ? (l) => l[t] === value : (l) => l[t] !== value
    }
    if (op === 'in') {
      const set = tokens[i++]?.replace(/^\{|\}$/g, '').split(',').map((v) => unquote(v.trim())) ?? fail()
      return (l) => l[t] !== undefined && set.includes(l[t]!)
    }
    return fail()
  }
  /** One precedence level: operands joined by `op`, left to right. */
  const chain = (op: '&&' | '||', operand: () => Test): (() => Test) => () => {
    let left = operand()
    while (tokens[i] === op) {
      i++
      const a = left
      const b = operand()
      left = op === '&&' ? (l) => a(l) && b(l) : (l) => a(l) || b(l)
    }
    return left
  }
  const and = chain('&&', primary)
  const or = chain('||', and)
  if (tokens.join('').replace(/\s/g, '') !== text.replace(/\s/g, '')) fail()
  const test = or()
  if (i !== tokens.length) fail()
  return test
}
