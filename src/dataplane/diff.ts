/**
 * Desired vs observed → the commands that close the gap, as `ip -batch` lines (and `bridge
 * -batch` lines for fdb), in three phases so that a live change makes before it breaks:
 * `make` builds new links, addresses, neighbours and fdb entries (no route leads there
 * yet), `switch` adds, changes and removes routes, `break` removes the devices,
 * addresses, neighbours and fdb entries no route uses any more. Applied one phase on
 * every namespace before the next, a node never sends into a tunnel its peer has not
 * built, nor tears down one its peer still sends into. Pure: no I/O, so it is
 * unit-tested without root.
 */
import {normalizeDst, type LinkSpec, type NetnsSpec, type RouteSpec} from './model.js'
import type {ObservedLink, ObservedState} from './observe.js'
import {NetctlError} from '../errors.js'
import {ipLine} from '../render/ip.js'

export interface Batch {
  ip: string[]
  bridge: string[]
}

export interface NetnsPlan {
  netns: string
  make: Batch
  switch: Batch
  break: Batch
  /** Set in the make phase. */
  sysctls: Record<string, string>
}

export const phases = ['make', 'switch', 'break'] as const

export interface DiffOptions {
  /** Route protocols owned by someone else (the kernel, BIRD): never deleted. */
  foreignRouteProtos?: readonly string[]
  /** Whether a link exists in another namespace (for links created here and moved there). */
  existsElsewhere?: (netns: string, link: string) => boolean
}

// Devices the kernel creates in every namespace once a tunnel module is loaded: never ours to delete.
const fallbackDevices = new Set(['lo', 'tunl0', 'gre0', 'gretap0', 'erspan0', 'ip_vti0', 'ip6_vti0', 'sit0', 'ip6tnl0', 'ip6gre0'])
const ownedKinds = new Set(['veth', 'bridge', 'vxlan', 'macvlan', 'ipvlan'])
// A TUN device belongs to the process that made it (flanneld's proxy): made by its TUNSETIFF,
// only configured here, and gone when the process exits, with its addresses and routes.
const daemonKinds = new Set(['tun'])

export const batchSize = (batch: Batch): number => batch.ip.length + batch.bridge.length
export const planSize = (plan: NetnsPlan): number => phases.reduce((sum, phase) => sum + batchSize(plan[phase]), Object.keys(plan.sysctls).length)
/** Every line of a plan in the order it runs (for one namespace on its own). */
export const planLines = (plan: NetnsPlan): Batch => ({ip: phases.flatMap((p) => plan[p].ip), bridge: phases.flatMap((p) => plan[p].bridge)})

function addLinkLine(link: LinkSpec): string {
  const attrs = [link.mac && ['address', link.mac], link.mtu && ['mtu', link.mtu], link.txqueuelen !== undefined && ['txqueuelen', link.txqueuelen]].filter((a): a is Array<string | number> => Boolean(a)).flat()
  switch (link.kind) {
    case 'veth': {
      const peer = link.peer!
      return ipLine('link', 'add', link.name, ...attrs, 'type', 'veth', 'peer', 'name', peer.name, ...(link.mtu ? ['mtu', link.mtu] : []), 'netns', peer.netns)
    }
    case 'bridge':
      return ipLine('link', 'add', link.name, ...attrs, 'type', 'bridge')
    case 'vxlan': {
      const v = link.vxlan!
      return ipLine('link', 'add', link.name, ...attrs, 'type', 'vxlan', 'id', v.id, 'dstport', v.port, ...(v.local ? ['local', v.local] : []), ...(v.dev ? ['dev', v.dev] : []), v.learning ? 'learning' : 'nolearning')
    }
    case 'macvlan':
    case 'ipvlan':
      return ipLine('link', 'add', link.name, 'link', link.lower!.parent, ...(link.netns ? ['netns', link.netns] : []), ...attrs, 'type', link.kind, 'mode', link.lower!.mode)
    case 'tun':
      throw new NetctlError('internal', `${link.name} is a TUN device, made by the process that holds it, not by ip`, 'this is a bug in the lab planner')
    case 'ipip':
      // tunl0 is the ipip module's fallback device: it exists once the module is loaded.
      return ipLine('link', 'add', link.name, 'type', 'ipip')
  }
}

function linkChanges(link: LinkSpec, seen: ObservedLink): string[] {
  const lines: string[] = []
  const set = (...words: Array<string | number>) => lines.push(ipLine('link', 'set', 'dev', link.name, ...words))
  if (link.mac && seen.mac?.toLowerCase() !== link.mac.toLowerCase()) set('address', link.mac)
  if (link.mtu && seen.mtu !== link.mtu) set('mtu', link.mtu)
  if (link.txqueuelen !== undefined && seen.txqlen !== link.txqueuelen) set('txqueuelen', link.txqueuelen)
  if (link.master !== undefined && seen.master !== link.master) set('master', link.master)
  if (link.hairpin !== undefined && Boolean(seen.hairpin) !== link.hairpin) set('type', 'bridge_slave', 'hairpin', link.hairpin ? 'on' : 'off')
  if ((link.up ?? true) && !seen.up) set('up')
  return lines
}

/** Attributes a link is created with: if these differ, it has to be made again. */
function needsRecreate(link: LinkSpec, seen: ObservedLink): boolean {
  if (link.kind === 'ipip') return seen.kind !== 'ipip'
  if (seen.kind !== link.kind) return true
  if (link.kind === 'vxlan') {
    const v = link.vxlan!
    return seen.vxlan?.id !== v.id || seen.vxlan?.port !== v.port || (v.local !== undefined && seen.vxlan?.local !== v.local) || Boolean(seen.vxlan?.learning) !== v.learning
  }
  return false
}

/** Where a route leads and at which metric: the kernel keeps one route per key. */
export const routeKey = (r: RouteSpec): string => `${r.type ?? 'unicast'} ${normalizeDst(r.dst)} metric ${r.metric ?? 0}`

function sameRoute(want: RouteSpec, have: RouteSpec): boolean {
  return (
    (want.type ?? 'unicast') === (have.type ?? 'unicast') &&
    want.via === have.via &&
    (want.dev === undefined || want.dev === have.dev) &&
    Boolean(want.onlink) === Boolean(have.onlink) &&
    (want.scope === undefined || want.scope === (have.scope ?? 'global')) &&
    // A route to the same place that BIRD installed is not ours: ours replaces it, and outlives BIRD's withdrawal.
    (want.proto ?? 'boot') === (have.proto ?? 'boot') &&
    (want.src === undefined || want.src === have.src)
  )
}

/** `replace` adds or changes a route; `del` names the route exactly, so that it never removes another one to the same place. */
export function routeLine(verb: 'replace' | 'del', r: RouteSpec): string {
  const replacing = verb === 'replace'
  return ipLine(
    'route', verb,
    r.type === 'blackhole' && 'blackhole',
    r.dst === '0.0.0.0/0' ? 'default' : r.dst,
    ...(r.via ? ['via', r.via] : []),
    ...(r.dev ? ['dev', r.dev] : []),
    ...(replacing && r.scope ? ['scope', r.scope] : []),
    ...(r.proto ? ['proto', r.proto] : []),
    ...(r.metric ? ['metric', r.metric] : []),
    ...(replacing && r.src ? ['src', r.src] : []),
    replacing && r.onlink && 'onlink',
  )
}

export function diffNetns(want: NetnsSpec, observed: ObservedState, options: DiffOptions = {}): NetnsPlan {
  const foreign = new Set(options.foreignRouteProtos ?? ['kernel'])
  const seenLinks = new Map(observed.links.map((l) => [l.name, l]))
  const create: string[] = []
  const recreated = new Set<string>()
  // Every namespace's loopback comes up: a pod pings itself, daemons bind to 127.0.0.1.
  const configure: string[] = seenLinks.get('lo')?.up === false ? [ipLine('link', 'set', 'dev', 'lo', 'up')] : []
  const removeLinks: string[] = []

  for (const link of want.links) {
    if (link.netns) {
      // Created here, lives elsewhere: make it only if it is not there yet.
      if (!options.existsElsewhere?.(link.netns, link.name)) create.push(addLinkLine(link))
      continue
    }
    const seen = seenLinks.get(link.name)
    if (link.createdIn || daemonKinds.has(link.kind)) {
      // Made by the other namespace's batch, or by a daemon, either of which ran first: configure it even if we did not see it.
      configure.push(...linkChanges(link, seen ?? {name: link.name, up: false}))
      continue
    }
    if (seen && needsRecreate(link, seen)) {
      create.push(ipLine('link', 'del', link.name))
      recreated.add(link.name)
    } else if (seen) {
      configure.push(...linkChanges(link, seen))
      continue
    }
    create.push(addLinkLine(link))
    // A new link: everything but what it was created with still has to be set (an ipip link takes no mtu at creation).
    const setLater = link.kind === 'ipip'
    configure.push(...linkChanges({...link, mac: setLater ? link.mac : undefined, mtu: setLater ? link.mtu : undefined, txqueuelen: setLater ? link.txqueuelen : undefined}, {name: link.name, up: false}))
  }
  const wanted = new Set(want.links.filter((l) => !l.netns).map((l) => l.name))
  const unwanted = (kinds: Set<string>) => observed.links.filter((l) => !wanted.has(l.name) && !fallbackDevices.has(l.name) && kinds.has(String(l.kind))).map((l) => l.name)
  for (const name of unwanted(ownedKinds)) removeLinks.push(ipLine('link', 'del', name))
  // A daemon's device leaves with its daemon, which is stopped before the break phase.
  const deleted = new Set([...unwanted(ownedKinds), ...unwanted(daemonKinds)])
  // Neighbours, addresses and fdb entries on links being deleted or made anew vanish with them. So
  // do routes, but those on a link being deleted are removed in the switch, so that traffic leaves
  // it while the link still takes what peers send into it.
  const gone = (dev: string | undefined) => dev !== undefined && (deleted.has(dev) || recreated.has(dev))
  const have = {
    routes: observed.routes.filter((r) => r.dev === undefined || !recreated.has(r.dev)),
    neighbours: observed.neighbours.filter((n) => !gone(n.dev)),
    addresses: observed.addresses.filter((a) => !gone(a.dev)),
    fdb: observed.fdb.filter((f) => !gone(f.dev)),
    sysctls: observed.sysctls,
  }

  const wantRoutes = new Map(want.routes.map((r) => [routeKey(r), r]))
  const staleRoutes = have.routes.filter((r) => !foreign.has(r.proto ?? '') && !wantRoutes.has(routeKey(r)))
  const wantDsts = new Set(want.routes.map((r) => normalizeDst(r.dst)))
  const displaced = staleRoutes.filter((r) => wantDsts.has(normalizeDst(r.dst)))
  const haveRoutes = new Map(have.routes.map((r) => [routeKey(r), r]))
  const routes = want.routes.filter((r) => {
    const seen = haveRoutes.get(routeKey(r))
    return !seen || !sameRoute(r, seen)
  })

  const neighKey = (n: {dev: string; ip: string}) => `${n.dev} ${n.ip}`
  const wantNeigh = new Map(want.neighbours.map((n) => [neighKey(n), n]))
  const haveNeigh = new Map(have.neighbours.map((n) => [neighKey(n), n]))
  const staleNeigh = have.neighbours.filter((n) => !wantNeigh.has(neighKey(n)))
  const neighbours = want.neighbours.filter((n) => haveNeigh.get(neighKey(n))?.lladdr.toLowerCase() !== n.lladdr.toLowerCase())

  const addrKey = (a: {dev: string; cidr: string}) => `${a.dev} ${a.cidr}`
  const wantAddr = new Set(want.addresses.map(addrKey))
  const haveAddr = new Map(have.addresses.map((a) => [addrKey(a), a]))
  const staleAddr = have.addresses.filter((a) => !wantAddr.has(addrKey(a)) && a.dev !== 'lo')
  // New, or there without the broadcast it should carry (replace sets it in place).
  const addresses = want.addresses.filter((a) => !haveAddr.has(addrKey(a)) || (a.broadcast && !haveAddr.get(addrKey(a))!.broadcast))

  const fdbKey = (f: {dev: string; mac: string}) => `${f.dev} ${f.mac.toLowerCase()}`
  const haveFdb = new Map(have.fdb.map((f) => [fdbKey(f), f]))
  const wantFdb = new Set(want.fdb.map(fdbKey))

  const make: Batch = {
    ip: [
      ...create,
      ...configure,
      ...addresses.map((a) => ipLine('addr', haveAddr.has(addrKey(a)) ? 'replace' : 'add', a.cidr, ...(a.broadcast ? ['brd', '+'] : []), 'dev', a.dev)),
      ...neighbours.map((n) => ipLine('neigh', 'replace', n.ip, 'lladdr', n.lladdr, 'dev', n.dev, 'nud', 'permanent')),
    ],
    bridge: want.fdb.filter((f) => haveFdb.get(fdbKey(f))?.dst !== f.dst).map((f) => ipLine('fdb', 'replace', f.mac, 'dev', f.dev, 'dst', f.dst, 'self', 'permanent')),
  }
  const switchRoutes: Batch = {
    ip: [
      // A displaced route goes just before its successor (a blackhole becoming a unicast route).
      ...displaced.map((r) => routeLine('del', r)),
      // Routes via a gateway need the gateway's own route first: link-scope routes go first.
      ...[...routes].sort((a, b) => Number(Boolean(a.via)) - Number(Boolean(b.via))).map((r) => routeLine('replace', r)),
      ...staleRoutes.filter((r) => !displaced.includes(r)).map((r) => routeLine('del', r)),
    ],
    bridge: [],
  }
  const breakOld: Batch = {
    ip: [...staleNeigh.map((n) => ipLine('neigh', 'del', n.ip, 'dev', n.dev)), ...staleAddr.map((a) => ipLine('addr', 'del', a.cidr, 'dev', a.dev)), ...removeLinks],
    bridge: have.fdb.filter((f) => !wantFdb.has(fdbKey(f))).map((f) => ipLine('fdb', 'del', f.mac, 'dev', f.dev, 'dst', f.dst)),
  }

  const sysctls = Object.fromEntries(Object.entries(want.sysctls).filter(([key, value]) => have.sysctls[key] !== value))
  return {netns: want.netns, make, switch: switchRoutes, break: breakOld, sysctls}
}
