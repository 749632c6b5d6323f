/**
 * BIRD's reply to `show protocols` (REFERENCE.md §2): 4-digit codes, "-" when more lines
 * follow, a leading space to continue the previous code, 0000 at the end, 8xxx/9xxx errors.
 * Headers of BIRD 1.x ("name proto table state since info") and 2.x ("Name Proto …") both
 * parse, and SINCE may be a time or a date and a time.
 */
import {NetctlError} from '../errors.js'

export interface ProtocolRow {
  name: string
  proto: string
  table: string
  state: string
  since: string
  info: string
}

export type PeerType = 'node-to-node mesh' | 'global' | 'node specific'

export interface PeerStatus {
  peerAddress: string
  peerType: PeerType
  state: string
  since: string
  info: string
  family: 4 | 6
  port?: number
}

export interface ReplyLine {
  code: string
  text: string
}

/** Split a raw reply into coded lines (continuations keep the code they continue). */
export function parseReply(raw: string): {lines: ReplyLine[]; complete: boolean; error?: ReplyLine} {
  const lines: ReplyLine[] = []
  let code = ''
  for (const rawLine of raw.split('\n')) {
    const line = rawLine.replace(/\r$/, '')
    if (line === '') continue
    // A code may end its line: "9000" alone is an error as much as "9000 text".
    const m = /^(\d{4})(?:([ -])(.*))?$/.exec(line)
    if (m) {
      code = m[1]!
      const entry = {code, text: m[3] ?? ''}
      if (code === '0000') return {lines, complete: true}
      if (code[0] === '8' || code[0] === '9') return {lines, complete: true, error: entry}
      lines.push(entry)
      // 0001-0029 close a reply too ("0013 Daemon is up and running"): nothing after them is BIRD's.
      if (Number(code) <= 29) return {lines, complete: true}
    } else if (line.startsWith(' ') && code) {
      lines.push({code, text: line.slice(1)})
    } else {
      throw new NetctlError('internal', `BIRD sent a line netctl cannot read: ${JSON.stringify(line.slice(0, 80))}`, 'check that the socket belongs to BIRD (1.6 or 2.x)')
    }
  }
  return {lines, complete: false}
}

const dateLike = /^\d{4}-\d{2}-\d{2}$/
const timeLike = /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/

export function parseProtocols(raw: string): ProtocolRow[] {
  const {lines, error} = parseReply(raw)
  if (error) throw new NetctlError('internal', `BIRD answered with error ${error.code}: ${error.text}`, 'check that this BIRD is one netctl can read (1.6 or 2.x)')
  const header = lines.find((l) => l.code === '2002')
  if (!header || !/^name\s+proto\s+table\s+state\s+since\s+info\s*$/i.test(header.text.trim())) {
    throw new NetctlError('internal', `BIRD's reply has no protocol table header (got ${JSON.stringify(header?.text ?? lines[0]?.text ?? '')})`, 'check that the socket belongs to BIRD')
  }
  return lines.filter((l) => l.code === '1002').map((l) => {
    const [name = '', proto = '', table = '', state = '', ...rest] = l.text.trim().split(/\s+/)
    let since = rest.shift() ?? ''
    if (dateLike.test(since) && timeLike.test(rest[0] ?? '')) since = `${since} ${rest.shift()}`
    return {name, proto, table, state, since, info: rest.join(' ')}
  })
}

const peerTypes: Record<string, PeerType> = {Mesh: 'node-to-node mesh', Global: 'global', Node: 'node specific'}

/** Mesh_172_17_0_40 → 172.17.0.40; Node_fd00__40_port_1790 → fd00::40, port 1790. */
export function peerFromName(name: string): Pick<PeerStatus, 'peerType' | 'peerAddress' | 'family' | 'port'> | undefined {
  const m = /^(Mesh|Global|Node)_(.+?)(?:_port_(\d+))?$/.exec(name)
  if (!m) return undefined
  const body = m[2]!
  const v4 = /^\d{1,3}(_\d{1,3}){3}$/.test(body)
  const peerAddress = v4 ? body.replaceAll('_', '.') : body.replaceAll('_', ':')
  return {peerType: peerTypes[m[1]!]!, peerAddress, family: v4 ? 4 : 6, ...(m[3] ? {port: Number(m[3])} : {})}
}

export function bgpPeers(rows: ProtocolRow[]): PeerStatus[] {
  return rows.flatMap((row) => {
    if (row.proto !== 'BGP') return []
    const peer = peerFromName(row.name)
    return peer ? [{...peer, state: row.state, since: row.since, info: row.info}] : []
  })
}
