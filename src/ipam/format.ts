/**
 * How calicoctl's ipam commands print: go-pretty's default box tables, and numbers as Go's
 * fmt prints them (%.5g, %.f). Pure functions that return text.
 */

export interface BoxColumn {
  header: string
  /** Right-aligned cells (the header stays left-aligned, as go-pretty does). */
  right?: boolean
}

/** go-pretty's StyleDefault: +---+ borders, | separators, the header upper-cased and ruled off. */
export function boxTable(columns: readonly BoxColumn[], rows: readonly string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)))
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`
  const line = (cells: readonly string[], align: (i: number) => boolean) =>
    `|${cells.map((cell, i) => ` ${align(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)} `).join('|')}|`
  const out = [rule, line(columns.map((c) => c.header.toUpperCase()), () => false), rule]
  for (const row of rows) out.push(line(columns.map((_, i) => row[i] ?? ''), (i) => Boolean(columns[i]!.right)))
  if (rows.length > 0) out.push(rule)
  return out.join('\n')
}

/** Go's %.<precision>g: the shortest of fixed and exponent notation, trailing zeros dropped. */
export function goG(value: number, precision = 5): string {
  if (value === 0) return '0'
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN'
  const [mantissa, exp] = value.toExponential(precision - 1).split('e') as [string, string]
  const exponent = Number(exp)
  const trim = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s)
  if (exponent < -4 || exponent >= precision) {
    const digits = Math.abs(exponent) < 10 ? `0${Math.abs(exponent)}` : String(Math.abs(exponent))
    return `${trim(mantissa)}e${exponent < 0 ? '-' : '+'}${digits}`
  }
  return trim(value.toFixed(Math.max(0, precision - 1 - exponent)))
}

/** Go's %.f: rounded to a whole number, an exact half to the even neighbour. */
export function goRound(value: number): string {
  const floor = Math.floor(value)
  const fraction = value - floor
  const rounded = fraction > 0.5 ? floor + 1 : fraction < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1
  return String(rounded === 0 ? 0 : rounded)
}

/** "5 (8%)": a count and its share of capacity, as calicoctl ipam show prints it. */
export const withPercentage = (n: number, capacity: number): string => `${goG(n)} (${goRound((100 * n) / capacity)}%)`
