/** calicoctl's `node status` table, ASCII-boxed with centred headings. */
import type {PeerStatus} from '../bgp/protocols.js'

const ascii = {
  top: '-', 'top-mid': '+', 'top-left': '+', 'top-right': '+',
  bottom: '-', 'bottom-mid': '+', 'bottom-left': '+', 'bottom-right': '+',
  left: '|', 'left-mid': '+', mid: '-', 'mid-mid': '+', right: '|', 'right-mid': '+', middle: '|',
}

export async function peerTable(family: 4 | 6, peers: PeerStatus[]): Promise<string> {
  const title = `IPv${family} BGP status`
  if (peers.length === 0) return `${title}\nNo IPv${family} peers found.`
  const {default: Table} = await import('cli-table3')
  const head = ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'].map((content) => ({content, hAlign: 'center' as const}))
  const table = new Table({head: head as unknown as string[], chars: ascii, style: {head: [], border: [], 'padding-left': 1, 'padding-right': 1}})
  for (const p of peers) table.push([p.port ? `${p.peerAddress}:${p.port}` : p.peerAddress, p.peerType, p.state, p.since, p.info])
  // cli-table3 draws a rule between every row; calicoctl only under the header.
  const lines = table.toString().split('\n')
  const rule = lines[0]!
  return [title, ...lines.filter((line, i) => i === 0 || i === 2 || i === lines.length - 1 || line !== rule)].join('\n')
}
