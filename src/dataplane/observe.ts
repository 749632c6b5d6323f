/** What a namespace has now, read from `ip -j` / `bridge -j` (never the human text). */
import {normalizeDst, type FdbSpec, type LinkKind, type NeighbourSpec, type NetnsSpec, type RouteSpec} from './model.js'

export interface ObservedLink {
  name: string
  kind?: LinkKind | string
  mac?: string
  mtu?: number
  txqlen?: number
  master?: string
  up: boolean
  hairpin?: boolean
  vxlan?: {id?: number; port?: number; local?: string; learning?: boolean}
}

export interface ObservedState {
  links: ObservedLink[]
  addresses: Array<{dev: string; cidr: string; broadcast?: string}>
  routes: RouteSpec[]
  neighbours: NeighbourSpec[]
  fdb: FdbSpec[]
  sysctls: Record<string, string>
}

export const emptyObserved = (): ObservedState => ({links: [], addresses: [], routes: [], neighbours: [], fdb: [], sysctls: {}})

/**
 * What observeNetns would read from a namespace that is exactly `spec` (as netctl left it):
 * diffNetns(next, observedFromSpec(last)) is the change from one spec to the next.
 */
export function observedFromSpec(spec: NetnsSpec): ObservedState {
  const links: ObservedLink[] = spec.links
    .filter((l) => !l.netns)
    .map((l) => ({
      name: l.name, kind: l.kind, mac: l.mac, mtu: l.mtu, txqlen: l.txqueuelen, master: l.master, up: l.up ?? true, hairpin: l.hairpin,
      ...(l.vxlan ? {vxlan: {id: l.vxlan.id, port: l.vxlan.port, local: l.vxlan.local, learning: l.vxlan.learning}} : {}),
    }))
  if (!links.some((l) => l.name === 'lo')) links.unshift({name: 'lo', up: true})
  return {
    links,
    addresses: spec.addresses.map((a) => ({dev: a.dev, cidr: a.cidr, ...(a.broadcast ? {broadcast: '+'} : {})})),
    routes: spec.routes.map((r) => ({...r, dst: normalizeDst(r.dst)})),
    neighbours: spec.neighbours.map((n) => ({...n})),
    fdb: spec.fdb.map((f) => ({...f})),
    sysctls: {...spec.sysctls},
  }
}

/** The commands whose JSON parseIpBatch reads, in this order, as one `ip -d -j -batch -`. */
export const observeCommands = ['link show', 'addr show', 'route show table main', 'neigh show nud permanent']

interface IpLink {
  ifname: string
  address?: string
  mtu?: number
  txqlen?: number
  master?: string
  flags?: string[]
  linkinfo?: {info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string; info_slave_data?: Record<string, unknown>}
}

/** Parse the output of `ip -d -j -batch -` for observeCommands: one JSON array a line. */
export function parseIpBatch(text: string): Omit<ObservedState, 'fdb' | 'sysctls'> {
  const [links = [], addrs = [], routes = [], neighs = []] = text
    .split('\n')
    .filter((line) => line.trim().startsWith('['))
    .map((line) => JSON.parse(line) as unknown[])
  return {
    links: (links as IpLink[]).map(parseLink),
    addresses: (addrs as Array<{ifname: string; addr_info?: Array<{family: string; local: string; prefixlen: number; scope?: string; broadcast?: string}>}>).flatMap((a) =>
      (a.addr_info ?? []).filter((i) => i.family === 'inet' || (i.family === 'inet6' && i.scope !== 'link')).map((i) => ({dev: a.ifname, cidr: `${i.local}/${i.prefixlen}`, ...(i.broadcast ? {broadcast: i.broadcast} : {})})),
    ),
    routes: (routes as Array<Record<string, unknown>>).map(parseRoute),
    neighbours: (neighs as Array<{dst: string; dev: string; lladdr?: string}>).filter((n) => n.lladdr).map((n) => ({dev: n.dev, ip: n.dst, lladdr: n.lladdr!})),
  }
}

function parseLink(l: IpLink): ObservedLink {
  const info = l.linkinfo
  const link: ObservedLink = {name: l.ifname, kind: info?.info_kind, mac: l.address, mtu: l.mtu, master: l.master, up: (l.flags ?? []).includes('UP')}
  // ip leaves txqlen out when it is 0.
  link.txqlen = l.txqlen ?? 0
  if (info?.info_slave_kind === 'bridge') link.hairpin = Boolean(info.info_slave_data?.hairpin)
  if (info?.info_kind === 'vxlan' && info.info_data) {
    const d = info.info_data
    link.vxlan = {id: d.id as number, port: d.port as number, local: d.local as string | undefined, learning: Boolean(d.learning)}
  }
  return link
}

export function parseRoute(r: Record<string, unknown>): RouteSpec {
  const route: RouteSpec = {dst: normalizeDst(String(r.dst))}
  if (r.type === 'blackhole') route.type = 'blackhole'
  if (r.gateway) route.via = String(r.gateway)
  if (r.dev) route.dev = String(r.dev)
  if (r.scope === 'link') route.scope = 'link'
  if (Array.isArray(r.flags) && r.flags.includes('onlink')) route.onlink = true
  if (r.protocol) route.proto = String(r.protocol)
  if (r.prefsrc) route.src = String(r.prefsrc)
  if (typeof r.metric === 'number' && r.metric !== 0) route.metric = r.metric
  return route
}

/** `bridge -j fdb show`: only the entries with a remote dst (VXLAN's). */
export function parseFdb(text: string): FdbSpec[] {
  const entries = text.trim() ? (JSON.parse(text) as Array<{mac: string; ifname: string; dst?: string}>) : []
  return entries.filter((e) => e.dst).map((e) => ({dev: e.ifname, mac: e.mac, dst: e.dst!}))
}
