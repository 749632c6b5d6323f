/** The before → after table that ippool set and encap set show. */
import type {IPPool} from '../resources/types.js'

const fields = [
  ['IPIPMODE', (p: IPPool) => p.spec?.ipipMode ?? 'Never'],
  ['VXLANMODE', (p: IPPool) => p.spec?.vxlanMode ?? 'Never'],
  ['NAT', (p: IPPool) => String(p.spec?.natOutgoing === true)],
  ['DISABLED', (p: IPPool) => String(p.spec?.disabled === true)],
] as const

export async function poolChangeTable(changes: Array<{before: IPPool; after: IPPool}>): Promise<string> {
  const {default: Table} = await import('cli-table3')
  const table = new Table({head: ['NAME', 'CIDR', ...fields.map(([h]) => h)], style: {head: [], border: []}})
  for (const {before, after} of changes) {
    const cells = fields.map(([, get]) => (get(before) === get(after) ? get(after) : `${get(before)} → ${get(after)}`))
    table.push([after.metadata.name, String(after.spec?.cidr ?? ''), ...cells])
  }
  return table.toString()
}
