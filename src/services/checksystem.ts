/**
 * calicoctl node checksystem: does this kernel have what Calico needs? The kernel version, the
 * modules (calicoctl's list, plus the tunnel drivers Calico's encapsulations use), and the
 * sysctls Felix relies on. Everything is read from files (/sys/module, /proc/modules,
 * modules.dep/.builtin, the kernel config, /proc/net/*_tables_*, /proc/sys): no lsmod, no modinfo,
 * no root, nothing changed.
 */
import {readFile, readdir, stat} from 'node:fs/promises'
import {release} from 'node:os'
import {gunzipSync} from 'node:zlib'

/** The oldest kernel with network namespaces and veth pairs (calicoctl's minKernelVersion). */
export const minKernelVersion = '2.6.24'

export interface ModuleCheck {
  name: string
  /** CONFIG_* symbols of the kernel config; any one =y or =m is enough. */
  configOptions: readonly string[]
  /** Other module names with the same feature (ipt_set for xt_set). */
  alternatives?: readonly string[]
  /** Missing only warns. */
  optional?: boolean
  /** Netfilter matches/targets the module registers in /proc/net/ip{,6}_tables_{matches,targets}. */
  matches?: readonly string[]
  targets?: readonly string[]
  /** A /proc/net file that exists only with the module (ip_tables_names for ip_tables). */
  procNet?: string
  /** A device the module makes in every network namespace (tunl0 for ipip). */
  device?: string
}

/** calicoctl's requiredModules (checksystem.go), then ipip and vxlan (IPIP and VXLAN pools) and wireguard (optional). */
export const requiredModules: readonly ModuleCheck[] = [
  {name: 'ip_set', configOptions: ['CONFIG_IP_SET']},
  {name: 'ip6_tables', configOptions: ['CONFIG_IP6_NF_IPTABLES'], optional: true, procNet: 'ip6_tables_names'},
  {name: 'ip_tables', configOptions: ['CONFIG_IP_NF_IPTABLES'], procNet: 'ip_tables_names'},
  {name: 'ipt_ipvs', configOptions: ['CONFIG_NETFILTER_XT_MATCH_IPVS'], alternatives: ['xt_ipvs'], matches: ['ipvs']},
  {name: 'vfio-pci', configOptions: ['CONFIG_VFIO', 'CONFIG_VFIO_PCI'], alternatives: ['vfio_pci']},
  {name: 'xt_bpf', configOptions: ['CONFIG_BPF', 'CONFIG_NETFILTER_XT_MATCH_BPF'], optional: true, matches: ['bpf']},
  {name: 'ipt_REJECT', configOptions: ['CONFIG_IP_NF_TARGET_REJECT', 'CONFIG_NFT_REJECT', 'CONFIG_NETFILTER_XT_TARGET_REJECT'], alternatives: ['xt_REJECT'], targets: ['REJECT']},
  {name: 'xt_rpfilter', configOptions: ['CONFIG_IP_NF_MATCH_RPFILTER', 'CONFIG_IP6_NF_MATCH_RPFILTER', 'CONFIG_NETFILTER_XT_MATCH_RPFILTER'], alternatives: ['ipt_rpfilter'], matches: ['rpfilter']},
  {name: 'nf_conntrack_netlink', configOptions: ['CONFIG_NF_CT_NETLINK']},
  {name: 'xt_addrtype', configOptions: ['CONFIG_NETFILTER_XT_MATCH_ADDRTYPE'], matches: ['addrtype']},
  {name: 'xt_conntrack', configOptions: ['CONFIG_NETFILTER_XT_MATCH_CONNTRACK'], matches: ['conntrack']},
  {name: 'xt_mark', configOptions: ['CONFIG_NETFILTER_XT_MARK', 'CONFIG_IP_NF_TARGET_MARK', 'CONFIG_NETFILTER_XT_TARGET_MARK'], matches: ['mark'], targets: ['MARK']},
  {name: 'xt_multiport', configOptions: ['CONFIG_NETFILTER_XT_MATCH_MULTIPORT', 'CONFIG_IP_NF_MATCH_MULTIPORT'], matches: ['multiport']},
  {name: 'xt_set', configOptions: ['CONFIG_NETFILTER_XT_SET'], alternatives: ['ipt_set'], matches: ['set'], targets: ['SET']},
  {name: 'xt_u32', configOptions: ['CONFIG_NETFILTER_XT_MATCH_U32'], optional: true, matches: ['u32']},
  {name: 'ipip', configOptions: ['CONFIG_NET_IPIP'], device: 'tunl0'},
  {name: 'vxlan', configOptions: ['CONFIG_VXLAN']},
  {name: 'wireguard', configOptions: ['CONFIG_WIREGUARD'], optional: true},
]

export interface SysctlCheck {
  name: string
  /** Why Calico cares; shown with a warning or failure. */
  why: string
  /** The value's verdict: undefined is fine. */
  judge?: (value: string) => {status: 'WARN' | 'FAIL'; note: string} | undefined
  optional?: boolean
}

export const requiredSysctls: readonly SysctlCheck[] = [
  {
    name: 'net.ipv4.ip_forward',
    why: 'a Calico node routes its pods\' traffic',
    judge: (v) => (v === '0' ? {status: 'WARN', note: 'is 0: Felix turns it on itself (FelixConfiguration ipForwarding: Enabled, the default)'} : undefined),
  },
  {
    name: 'net.ipv4.conf.all.rp_filter',
    why: 'Felix checks the reverse path of workload traffic',
    judge: (v) => (v === '2' ? {status: 'FAIL', note: 'is 2 (loose): Felix refuses to start unless FelixConfiguration ignoreLooseRPF is true'} : undefined),
  },
  {name: 'net.ipv6.conf.all.forwarding', why: 'IPv6 pools need forwarding', optional: true},
  {name: 'net.netfilter.nf_conntrack_max', why: 'Calico\'s policy is stateful (connection tracking)'},
]

/** What checkSystem reads; readSystemFacts fills it from this machine, a test from a fake list. */
export interface SystemFacts {
  kernelRelease: string
  /** /sys/module entries (loaded modules, and built-in ones that have parameters). */
  sysModules: ReadonlySet<string>
  /** First column of /proc/modules. */
  procModules: ReadonlySet<string>
  /** /lib/modules/<release>/modules.dep and modules.builtin, when present. */
  modulesDep?: string
  modulesBuiltin?: string
  /** CONFIG_X → y/m of the kernel config, and where it came from. */
  kernelConfig?: ReadonlyMap<string, string>
  kernelConfigSource?: string
  /** /proc/net/ip{,6}_tables_{matches,targets}, merged. */
  netfilterMatches: ReadonlySet<string>
  netfilterTargets: ReadonlySet<string>
  /** The /proc/net files that exist. */
  procNet: ReadonlySet<string>
  /** Network devices of this namespace. */
  devices: ReadonlySet<string>
  /** sysctl name → value; absent when the file is not there. */
  sysctls: ReadonlyMap<string, string>
}

export type Status = 'OK' | 'FAIL' | 'SKIP' | 'WARN'

export interface CheckLine {
  name: string
  status: Status
  /** Where it was found, or why it counts as missing. */
  detail: string
}

export interface SystemReport {
  kernel: CheckLine
  modules: CheckLine[]
  sysctls: CheckLine[]
  /** The required things that are missing or wrong, by name. */
  missing: string[]
  ok: boolean
}

/** Numeric parts of a version ("6.18.44-fc-v669" → [6, 18, 44]); a missing part is 0. */
const versionParts = (version: string) => (/^\d+(?:\.\d+)*/.exec(version.trim())?.[0] ?? '0').split('.').map(Number)

export function kernelAtLeast(release: string, minimum: string): boolean {
  const [a, b] = [versionParts(release), versionParts(minimum)]
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const [x, y] = [a[i] ?? 0, b[i] ?? 0]
    if (x !== y) return x > y
  }
  return true
}

const underscored = (name: string) => name.replaceAll('-', '_')
const moduleFilePattern = (name: string) => new RegExp(`/${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.ko(\\.(gz|xz|zst|bz2))?(?::|\\s|$)`, 'm')

/** Where the module (or one with the same feature) shows, or undefined. */
export function findModule(check: ModuleCheck, facts: SystemFacts): string | undefined {
  for (const name of [check.name, ...(check.alternatives ?? [])]) {
    if (facts.sysModules.has(underscored(name))) return `/sys/module/${underscored(name)}`
    if (facts.procModules.has(underscored(name)) || facts.procModules.has(name)) return '/proc/modules'
    if (facts.modulesBuiltin && moduleFilePattern(name).test(facts.modulesBuiltin)) return 'modules.builtin'
    if (facts.modulesDep && moduleFilePattern(name).test(facts.modulesDep)) return 'modules.dep (loadable)'
  }
  for (const option of check.configOptions) {
    const value = facts.kernelConfig?.get(option)
    if (value === 'y' || value === 'm') return `${facts.kernelConfigSource ?? 'kernel config'}: ${option}=${value}`
  }
  const match = check.matches?.find((m) => facts.netfilterMatches.has(m))
  if (match) return `/proc/net/ip_tables_matches: ${match}`
  const target = check.targets?.find((t) => facts.netfilterTargets.has(t))
  if (target) return `/proc/net/ip_tables_targets: ${target}`
  if (check.procNet && facts.procNet.has(check.procNet)) return `/proc/net/${check.procNet}`
  if (check.device && facts.devices.has(check.device)) return `device ${check.device}`
  return undefined
}

export function checkSystem(facts: SystemFacts): SystemReport {
  const missing: string[] = []
  const kernelOk = kernelAtLeast(facts.kernelRelease, minKernelVersion)
  if (!kernelOk) missing.push(`kernel ${minKernelVersion} or newer (this is ${facts.kernelRelease})`)
  const kernel: CheckLine = {name: facts.kernelRelease, status: kernelOk ? 'OK' : 'FAIL', detail: kernelOk ? `at least ${minKernelVersion}` : `Minimum kernel version to run Calico is ${minKernelVersion}. Detected kernel version: ${facts.kernelRelease}`}

  const modules = requiredModules.map((check): CheckLine => {
    const where = findModule(check, facts)
    if (where) return {name: check.name, status: 'OK', detail: where}
    if (check.optional) return {name: check.name, status: 'SKIP', detail: `Unable to detect the optional module ${check.name}; continuing`}
    missing.push(check.name)
    const config = facts.kernelConfig ? `not in ${facts.kernelConfigSource ?? 'the kernel config'} (${check.configOptions.join(', ')})` : 'no kernel config to read'
    return {name: check.name, status: 'FAIL', detail: `Unable to detect the ${check.name} module: not loaded, not built in, no module file; ${config}`}
  })

  const sysctls = requiredSysctls.map((check): CheckLine => {
    const value = facts.sysctls.get(check.name)
    if (value === undefined) {
      if (check.optional) return {name: check.name, status: 'SKIP', detail: `/proc/sys has no ${check.name} (optional: ${check.why})`}
      missing.push(`sysctl ${check.name}`)
      return {name: check.name, status: 'FAIL', detail: `/proc/sys has no ${check.name}: ${check.why}`}
    }
    const verdict = check.judge?.(value)
    if (verdict?.status === 'FAIL') missing.push(`sysctl ${check.name}=${value}`)
    return {name: `${check.name}=${value}`, status: verdict?.status ?? 'OK', detail: verdict ? `${check.name} ${verdict.note}` : check.why}
  })
  return {kernel, modules, sysctls, missing, ok: missing.length === 0}
}

// --- this machine ---------------------------------------------------------------------------

const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined)
const lines = (text: string | undefined) => (text ?? '').split('\n').map((l) => l.trim()).filter(Boolean)

export async function readKernelConfig(path: string): Promise<Map<string, string> | undefined> {
  let data: Buffer
  try {
    data = await readFile(path)
  } catch {
    return undefined
  }
  const text = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data).toString('utf8') : data.toString('utf8')
  const config = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line)
    if (m) config.set(m[1]!, m[2]!)
  }
  return config
}

/** calicoctl's findBootFile locations, after /proc/config.gz; a --kernel-config file replaces them. */
export const kernelConfigPaths = (release: string) => [
  '/proc/config.gz',
  '/usr/src/linux/.config',
  `/boot/config-${release}`,
  `/usr/src/linux-${release}/.config`,
  `/usr/src/linux-headers-${release}/.config`,
  `/lib/modules/${release}/build/.config`,
]

export async function readSystemFacts(options: {kernelConfig?: string} = {}): Promise<SystemFacts> {
  const kernelRelease = (await readText('/proc/sys/kernel/osrelease'))?.trim() || release()
  let kernelConfig: Map<string, string> | undefined
  let kernelConfigSource: string | undefined
  for (const path of options.kernelConfig ? [options.kernelConfig] : kernelConfigPaths(kernelRelease)) {
    if (!(await stat(path).catch(() => undefined))) continue
    kernelConfig = await readKernelConfig(path)
    if (kernelConfig) {
      kernelConfigSource = path
      break
    }
  }
  const tables = async (kind: 'matches' | 'targets') =>
    new Set([...lines(await readText(`/proc/net/ip_tables_${kind}`)), ...lines(await readText(`/proc/net/ip6_tables_${kind}`))])
  const sysctls = new Map<string, string>()
  for (const check of requiredSysctls) {
    const value = await readText(`/proc/sys/${check.name.replaceAll('.', '/')}`)
    if (value !== undefined) sysctls.set(check.name, value.trim())
  }
  return {
    kernelRelease,
    sysModules: new Set(await readdir('/sys/module').catch(() => [])),
    procModules: new Set(lines(await readText('/proc/modules')).map((l) => l.split(/\s+/)[0]!)),
    modulesDep: await readText(`/lib/modules/${kernelRelease}/modules.dep`),
    modulesBuiltin: await readText(`/lib/modules/${kernelRelease}/modules.builtin`),
    kernelConfig,
    kernelConfigSource,
    netfilterMatches: await tables('matches'),
    netfilterTargets: await tables('targets'),
    procNet: new Set(await readdir('/proc/net').catch(() => [])),
    devices: new Set(await readdir('/sys/class/net').catch(() => [])),
    sysctls,
  }
}
