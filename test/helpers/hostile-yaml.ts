/** Small inputs that would cost a careless parser minutes and gigabytes. */

/** "Billion laughs": `levels` levels of `fanout` aliases each; the defaults are about 450 bytes that expand to 9^9 strings. */
export function aliasBomb(levels = 9, fanout = 9, indent = '    '): string {
  const lines = [`${indent}l0: &l0 [${Array(fanout).fill('"lol"').join(',')}]`]
  for (let level = 1; level < levels; level++) lines.push(`${indent}l${level}: &l${level} [${Array(fanout).fill(`*l${level - 1}`).join(',')}]`)
  return lines.join('\n')
}

/** An IPPool whose labels hold the bomb. */
export const bombPool = (name = 'bomb'): string =>
  `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${name}\n  labels:\n${aliasBomb()}\nspec:\n  cidr: 10.0.0.0/16\n`

/** A merge patch whose labels hold the bomb. */
export const bombPatch = (): string => `metadata:\n  labels:\n${aliasBomb()}\n`
