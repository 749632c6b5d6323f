/** Tables for lab summaries and status. */
import type {LabSummary} from '../lab/lab.js'
import {formatColumns} from './output.js'

export function clusterTables(lab: Pick<LabSummary, 'nodes' | 'pods'>): string {
  const nodes = formatColumns([['NODE', 'IP', 'BLOCKS', 'NETNS'], ...lab.nodes.map((n) => [n.name, n.ip, n.blocks.join(','), n.netns])])
  const pods = formatColumns([['POD', 'NODE', 'IP', 'INTERFACE', 'NETNS'], ...lab.pods.map((p) => [p.name, p.node, p.ip, p.interface, p.netns])])
  return `${nodes}\n\n${pods}`
}

/** Something to try that crosses nodes, like seed 000's ping. */
export function tryCommand(lab: Pick<LabSummary, 'name' | 'pods'>): string | undefined {
  const [first] = lab.pods
  const far = lab.pods.find((p) => p.node !== first?.node) ?? lab.pods[1]
  return first && far ? `netctl lab exec --lab ${lab.name} ${first.name} -- ping -c1 ${far.ip}` : undefined
}
