/**
 * The kernel state netctl wants in one network namespace: links, addresses, routes,
 * neighbours, fdb entries and sysctls. Planners build these as plain data; the differ
 * compares them with what `ip -j` shows; the applier turns the difference into batches.
 */

export type LinkKind = 'veth' | 'bridge' | 'vxlan' | 'macvlan' | 'ipvlan' | 'ipip' | 'tun'

export interface LinkSpec {
  name: string
  kind: LinkKind
  /**
   * For a veth created here: the other end, its name and the namespace it is created in.
   * A link whose `createdIn` names another namespace exists because that namespace's batch
   * made it (the far end of a veth); here it is only configured.
   */
  peer?: {name: string; netns: string}
  createdIn?: string
  mac?: string
  mtu?: number
  /** Transmit queue length; Calico's and the CNI plugins' host-side veths and VXLAN devices have 0. */
  txqueuelen?: number
  /** Bridge this link is a port of. */
  master?: string
  /** Bridge port hairpin mode (flannel's cni0 ports). */
  hairpin?: boolean
  vxlan?: {id: number; port: number; local?: string; dev?: string; learning: boolean}
  /** macvlan/ipvlan: the parent device (in the creating namespace) and the mode. */
  lower?: {parent: string; mode: string}
  /** Created here but living in another namespace (a macvlan moved into a container). */
  netns?: string
  /** Default true. */
  up?: boolean
}

export interface AddressSpec {
  dev: string
  cidr: string
  /** With the subnet's broadcast address (`brd +`), as the CNI plugins and DHCP set it. */
  broadcast?: boolean
}

export interface RouteSpec {
  /** CIDR, or "default". */
  dst: string
  type?: 'unicast' | 'blackhole'
  via?: string
  dev?: string
  scope?: 'link' | 'global'
  onlink?: boolean
  proto?: string
  src?: string
  /** 0 unless set: routes to one destination with different metrics coexist, the lowest wins. */
  metric?: number
}

export interface NeighbourSpec {
  dev: string
  ip: string
  lladdr: string
}

export interface FdbSpec {
  dev: string
  mac: string
  dst: string
}

export interface NetnsSpec {
  netns: string
  links: LinkSpec[]
  addresses: AddressSpec[]
  routes: RouteSpec[]
  neighbours: NeighbourSpec[]
  fdb: FdbSpec[]
  /** Full sysctl keys (net.ipv4.ip_forward) → value. */
  sysctls: Record<string, string>
}

export const emptyNetns = (netns: string): NetnsSpec => ({netns, links: [], addresses: [], routes: [], neighbours: [], fdb: [], sysctls: {}})

/** Normalize a destination to CIDR form: "default" → 0.0.0.0/0, "10.0.0.1" → 10.0.0.1/32. */
export function normalizeDst(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0'
  if (dst.includes('/')) return dst
  return dst.includes(':') ? `${dst}/128` : `${dst}/32`
}
