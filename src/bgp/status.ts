/** `netctl node status`: BGP peers as BIRD on this host (or a lab node) sees them. */
import {NetctlError} from '../errors.js'
import {birdQuery} from './birdc.js'
import {bgpPeers, parseProtocols, type PeerStatus} from './protocols.js'

/** Where Calico's BIRD listens (calico-node), then a plain BIRD install. */
export const defaultBirdSockets = ['/var/run/calico/bird.ctl', '/var/run/calico/bird6.ctl', '/var/run/bird/bird.ctl'] as const

export interface NodeStatus {
  /** The sockets that answered. */
  sockets: string[]
  ipv4: PeerStatus[]
  ipv6: PeerStatus[]
}

async function peersAt(socket: string): Promise<PeerStatus[]> {
  return bgpPeers(parseProtocols(await birdQuery(socket, 'show protocols')))
}

export async function nodeStatus(sockets?: string[]): Promise<NodeStatus> {
  const result: NodeStatus = {sockets: [], ipv4: [], ipv6: []}
  const add = (socket: string, peers: PeerStatus[]) => {
    result.sockets.push(socket)
    for (const peer of peers) (peer.family === 4 ? result.ipv4 : result.ipv6).push(peer)
  }
  if (sockets?.length) {
    for (const socket of sockets) add(socket, await peersAt(socket))
    return result
  }
  const failures: Array<{socket: string; error: NetctlError}> = []
  for (const socket of defaultBirdSockets) {
    // A plain BIRD's socket only counts when Calico's is not there.
    if (socket.startsWith('/var/run/bird/') && result.sockets.length > 0) continue
    try {
      add(socket, await peersAt(socket))
    } catch (error) {
      if (!(error instanceof NetctlError)) throw error
      failures.push({socket, error})
    }
  }
  if (result.sockets.length > 0) return result
  const denied = failures.find((f) => /permission denied/.test(f.error.message))
  if (denied) throw denied.error
  const stale = failures.find((f) => /no BIRD is listening/.test(f.error.message))
  throw new NetctlError(
    'unavailable',
    `no BIRD answered: looked for ${defaultBirdSockets.join(', ')}${stale ? ` (${stale.socket} is stale: BIRD is not running)` : ' (none exist)'}`,
    'run this on a Calico node, pass --socket PATH to a BIRD control socket, or use --lab NAME for a lab',
  )
}
