/** Can this machine build the lab? Checked before anything is created. */
import {readFileSync} from 'node:fs'

import {NetctlError} from '../errors.js'
import type {LinkKind} from './model.js'
import {run} from './run.js'

const CAP_NET_ADMIN = 12
const CAP_SYS_ADMIN = 21

/** Namespaces and links need CAP_NET_ADMIN, and `ip netns add` mounts, which needs CAP_SYS_ADMIN. */
export function checkPrivileges(): void {
  const status = readFileSync('/proc/self/status', 'utf8')
  const effective = BigInt('0x' + (/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'))
  const has = (bit: number) => (effective >> BigInt(bit)) & 1n
  if (!has(CAP_NET_ADMIN) || !has(CAP_SYS_ADMIN)) {
    throw new NetctlError('unsupported', 'building a lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN to make network namespaces); nothing was created', 'run it as root: sudo netctl lab up')
  }
}

// How to make a throw-away link of each kind inside the probe namespace.
const probes: Record<LinkKind, {module: string; lines: string[]}> = {
  veth: {module: 'veth', lines: ['link add pv0 type veth peer name pv1']},
  bridge: {module: 'bridge', lines: ['link add pb0 type bridge']},
  vxlan: {module: 'vxlan', lines: ['link add px0 type vxlan id 42 dstport 4789 nolearning']},
  macvlan: {module: 'macvlan', lines: ['link add pm0 type veth peer name pm1', 'link add pm2 link pm0 type macvlan mode bridge']},
  ipvlan: {module: 'ipvlan', lines: ['link add pi0 type veth peer name pi1', 'link add pi2 link pi0 type ipvlan mode l2']},
  ipip: {module: 'ipip', lines: ['link add pp0 type ipip local 10.255.255.1 remote 10.255.255.2']},
  tun: {module: 'tun', lines: ['tuntap add dev pt0 mode tun']},
}

/** A throw-away namespace: its owner creates (and records) it, and removes it again. */
export interface ProbeNamespace {
  name: string
  create: () => Promise<void>
  remove: () => Promise<void>
}

/** Kinds this kernel cannot make, each with the kernel's own words, tried in a throw-away namespace. */
export async function missingLinkKinds(kinds: readonly LinkKind[], probeNamespace: ProbeNamespace): Promise<Array<{kind: LinkKind; module: string; error: string}>> {
  const probe = probeNamespace.name
  await probeNamespace.create()
  try {
    const missing = []
    for (const kind of new Set(kinds)) {
      const {module, lines} = probes[kind]
      const result = await run('ip', ['-n', probe, '-batch', '-'], {input: lines.join('\n') + '\n', allowFailure: true})
      if (result.exitCode !== 0) missing.push({kind, module, error: result.stderr.split('\n').find((l) => l.trim()) ?? 'failed'})
    }
    return missing
  } finally {
    await probeNamespace.remove()
  }
}

/** `whatHappened` ends the message: "nothing was created" for a new lab, "nothing was written" for a write to a running one. */
export async function requireLinkKinds(kinds: readonly LinkKind[], what: string, probeNamespace: ProbeNamespace, whatHappened = 'nothing was created', lab?: string): Promise<void> {
  const missing = await missingLinkKinds(kinds, probeNamespace)
  if (missing.length === 0) return
  const list = missing.map((m) => `${m.kind} (kernel module ${m.module}: "${m.error}")`).join(', ')
  const instead = lab ? `netctl encap set vxlan|none --lab ${lab}` : 'lab up --encapsulation VXLAN|None'
  throw new NetctlError(
    'unsupported',
    `this kernel cannot build ${what}: it lacks ${list}; ${whatHappened}`,
    `load the module (modprobe ${missing.map((m) => m.module).join(' ')}) or use a kernel built with it${missing.some((m) => m.kind === 'ipip') ? `; VXLAN or no encapsulation work without it (${instead})` : ''}`,
  )
}
