/** Tables for lab summaries and status. */
import type {LabSummary} from '../lab/lab.js'
import {formatColumns} from './output.js'

/** Above this many rows a table on a terminal shows its first ones and says how to see all. */
export const summaryRows = 20

/** Nodes and pods; `summarise` cuts each table to its first rows (a person at a terminal, hundreds of pods). */
export function clusterTables(lab: Pick<LabSummary, 'nodes' | 'pods'>, summarise = false): string {
  const cut = <T>(rows: T[], what: string): {rows: T[]; more: string} =>
    summarise && rows.length > summaryRows ? {rows: rows.slice(0, summaryRows), more: `\n… and ${rows.length - summaryRows} more ${what} (--full shows them all)`} : {rows, more: ''}
  const nodeRows = cut(lab.nodes, 'nodes')
  const podRows = cut(lab.pods, 'pods')
  const nodes = formatColumns([['NODE', 'IP', 'BLOCKS', 'NETNS'], ...nodeRows.rows.map((n) => [n.name, n.ip, n.blocks.join(','), n.netns])]) + nodeRows.more
  const pods = formatColumns([['POD', 'NODE', 'IP', 'INTERFACE', 'NETNS'], ...podRows.rows.map((p) => [p.name, p.node, p.ip, p.interface, p.netns])]) + podRows.more
  return `${nodes}\n\n${pods}`
}

/** Something to try that crosses nodes, like seed 000's ping. */
export function tryCommand(lab: Pick<LabSummary, 'name' | 'pods'>): string | undefined {
  const [first] = lab.pods
  const far = lab.pods.find((p) => p.node !== first?.node) ?? lab.pods[1]
  return first && far ? `netctl lab exec --lab ${lab.name} ${first.name} -- ping -c1 ${far.ip}` : undefined
}
