/** For tests that build labs: root check, a snapshot of the host's own namespace, and a safety net. */
import {spawnSync} from 'node:child_process'

import {killPid} from './process.js'

/** Kernel tests need root; off CI they say so and skip, on CI a missing privilege is a failure. */
export function kernelSkipReason(): string | false {
  if (process.getuid?.() === 0) return false
  return process.env.CI ? false : 'needs root to create network namespaces (run the tests as root)'
}

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, {encoding: 'utf8'}).stdout

/** What the lab must never touch: the root namespace's links, addresses, routes and the sysctls labs set. */
export function rootNamespaceSnapshot(): string {
  const links = (JSON.parse(sh('ip', ['-j', 'link', 'show'])) as Array<Record<string, unknown>>).map((l) => [l.ifname, l.mtu, l.address, l.master, (l.flags as string[]).join(',')])
  const addrs = (JSON.parse(sh('ip', ['-j', 'addr', 'show'])) as Array<{ifname: string; addr_info: Array<{local: string; prefixlen: number}>}>).map((a) => [a.ifname, a.addr_info.map((i) => `${i.local}/${i.prefixlen}`)])
  const routes = sh('ip', ['-j', 'route', 'show', 'table', 'all'])
  const sysctls = sh('sysctl', ['net.ipv4.ip_forward', 'net.ipv4.conf.all.proxy_arp', 'net.ipv4.conf.all.forwarding', 'net.ipv4.conf.default.proxy_arp', 'net.ipv4.conf.all.route_localnet'])
  return JSON.stringify({links, addrs, routes, sysctls}, null, 1)
}

export const namespacesWithPrefix = (prefix: string): string[] =>
  sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(prefix))

/** Last resort after a failed test: a test's own namespaces, and anything still running in them (a BIRD a failed test left), ended by pid first. */
export function removeNamespaces(names: string[]): void {
  for (const name of names) {
    const pids = spawnSync('ip', ['netns', 'pids', name], {encoding: 'utf8'}).stdout.split('\n').filter((p) => /^\d+$/.test(p))
    for (const pid of pids) killPid(Number(pid))
    spawnSync('ip', ['netns', 'del', name])
  }
}
