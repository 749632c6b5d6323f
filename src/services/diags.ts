/**
 * calicoctl node diags / cluster diags, for what netctl can see: the datastore's resources
 * (credentials masked), BIRD's state through its control socket, and the kernel's view (routes,
 * links, neighbours, nftables) — of this host, read only, or of every namespace a lab recorded.
 * Everything goes into a directory in a new temp dir, then a .tar.gz next to it.
 */
import {copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {hostname, tmpdir} from 'node:os'
import {basename, dirname, join, relative} from 'node:path'

import {birdQuery} from '../bgp/birdc.js'
import {defaultBirdSockets} from '../bgp/status.js'
import type {Datastore} from '../datastore/datastore.js'
import {inParallel, run} from '../dataplane/run.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {kinds} from '../resources/registry.js'
import type {Resource} from '../resources/types.js'

export interface DiagsOptions {
  scope: 'node' | 'cluster'
  /** The datastore whose resources go in (cluster diags). */
  datastore?: Datastore
  /** Settings to record, secrets masked here (type, endpoints, kubeconfig path...). */
  settings?: Record<string, unknown>
  /** A lab: its recorded namespaces instead of this host. */
  lab?: {name: string; stateDir: string; nodes?: string[]}
  /** A directory of logs to copy (calicoctl's --log-dir); missing is a note, not an error. */
  logDir?: string
  /** How many commands run at once. */
  parallelism?: number
  /** Keep the unpacked directory next to the archive. */
  keepDirectory?: boolean
  /** Progress lines ("Collecting ..."). */
  progress?: (line: string) => void
}

export interface DiagsResult {
  archive: string
  /** The unpacked directory (removed unless keepDirectory). */
  directory: string
  files: string[]
  /** What could not be collected, one line each. */
  notes: string[]
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15)

/** Keys whose string values are secrets wherever they appear in a resource. */
const secretKey = /password|passwd|secret|token|private.?key|credential/i

/** A copy with every secret-looking string masked (secretKeyRef names stay: they are references). */
export function maskSecrets<T>(value: T, key = ''): T {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key)) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'secretKeyRef' ? v : maskSecrets(v, k)])) as T
  }
  if (typeof value === 'string') {
    if (secretKey.test(key)) return '****' as T
    // user:password@ inside any URL in the text; everything else stays as it is.
    return value.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s,]*@/gi, '$1****@') as T
  }
  return value
}

/** One command's output into one file; a failure is written into the file and noted, never thrown. */
interface Collect {
  file: string
  command: string
  args: string[]
}

const hostCommands: Collect[] = [
  {file: 'date', command: 'date', args: []},
  {file: 'ipv4_route', command: 'ip', args: ['-4', 'route', 'show', 'table', 'all']},
  {file: 'ipv6_route', command: 'ip', args: ['-6', 'route', 'show', 'table', 'all']},
  {file: 'ipv4_addr', command: 'ip', args: ['-4', 'addr']},
  {file: 'ipv6_addr', command: 'ip', args: ['-6', 'addr']},
  {file: 'links', command: 'ip', args: ['-d', 'link']},
  {file: 'neigh', command: 'ip', args: ['neigh']},
  {file: 'rules', command: 'ip', args: ['rule']},
  {file: 'nft_ruleset', command: 'nft', args: ['-n', '-a', 'list', 'ruleset']},
  {file: 'ipv4_tables', command: 'iptables-save', args: ['-c']},
  {file: 'ipv6_tables', command: 'ip6tables-save', args: ['-c']},
  {file: 'ipsets', command: 'ipset', args: ['list']},
  {file: 'ss', command: 'ss', args: ['-a', '-n']},
]

/** The same reads inside a lab namespace (`ip -n`, and nft through `ip netns exec`). */
const namespaceCommands = (netns: string): Collect[] => [
  {file: 'ipv4_addr', command: 'ip', args: ['-n', netns, '-4', 'addr']},
  {file: 'ipv6_addr', command: 'ip', args: ['-n', netns, '-6', 'addr']},
  {file: 'ipv4_route', command: 'ip', args: ['-n', netns, '-4', 'route', 'show', 'table', 'all']},
  {file: 'ipv6_route', command: 'ip', args: ['-n', netns, '-6', 'route', 'show', 'table', 'all']},
  {file: 'links', command: 'ip', args: ['-n', netns, '-d', 'link']},
  {file: 'neigh', command: 'ip', args: ['-n', netns, 'neigh']},
  {file: 'nft_ruleset', command: 'ip', args: ['netns', 'exec', netns, 'nft', '-n', '-a', 'list', 'ruleset']},
]

const birdCommands: Array<{file: string; command: string}> = [
  {file: 'bird_protocols', command: 'show protocols all'},
  {file: 'bird_routes', command: 'show route all'},
  {file: 'bird_status', command: 'show status'},
]

export async function collectDiags(options: DiagsOptions): Promise<DiagsResult> {
  const temp = await mkdtemp(join(tmpdir(), 'netctl-diags-'))
  try {
    return await collectInto(temp, options)
  } catch (error) {
    // Nothing half-made is left behind.
    await rm(temp, {recursive: true, force: true})
    throw error
  }
}

async function collectInto(temp: string, options: DiagsOptions): Promise<DiagsResult> {
  const progress = options.progress ?? (() => {})
  const name = options.scope === 'cluster' ? `calico-diagnostics-${stamp()}` : 'diagnostics'
  const root = join(temp, name)
  const notes: string[] = []
  const files: string[] = []
  const put = async (path: string, text: string) => {
    const full = join(root, path)
    await mkdir(dirname(full), {recursive: true})
    await writeFile(full, text)
    files.push(path)
  }
  const runInto = async (path: string, c: Collect) => {
    try {
      const r = await run(c.command, c.args, {allowFailure: true})
      await put(path, r.stdout + (r.stderr ? `\n# stderr:\n${r.stderr}` : ''))
      if (r.exitCode !== 0) notes.push(`${c.command} ${c.args.join(' ')}: exit ${r.exitCode}${r.stderr ? `: ${r.stderr.trim().split('\n')[0]}` : ''}`)
    } catch (error) {
      notes.push(`${c.command}: ${(error as Error).message}`)
    }
  }
  const limit = Math.max(1, options.parallelism ?? 4)
  progress(options.scope === 'cluster' ? `Created temporary directory: ${temp}` : `Using temp dir: ${root}`)

  await put('README', describeBundle(options))
  if (options.scope === 'cluster' && options.datastore) {
    progress('Collecting Calico resources...')
    await collectResources(options.datastore, options.settings ?? {}, put, notes)
  }

  if (options.lab) {
    const {name: lab, stateDir} = options.lab
    const [{ownNamespaces}, {nodeNetns}] = await Promise.all([import('../lab/namespaces.js'), import('../lab/topology/names.js')])
    const {readLabRecord} = await import('../lab/state.js')
    const record = readLabRecord(stateDir, lab)
    if (record) await put('lab/lab.json', JSON.stringify(maskSecrets(record), null, 2) + '\n')
    const nodes = record?.topology?.nodes.map((n) => n.name) ?? []
    const unknown = (options.lab.nodes ?? []).filter((n) => !nodes.includes(n))
    if (unknown.length) throw new NetctlError('not-found', `lab "${lab}" has no node ${unknown.map((n) => `"${n}"`).join(', ')}`, `nodes: ${nodes.join(', ') || '(none)'}`)
    let namespaces = await ownNamespaces(stateDir, lab)
    // --focus-nodes: only those nodes' namespaces (pods, the underlay and the rest stay).
    const focus = options.lab.nodes?.length ? new Set(options.lab.nodes.map((n) => nodeNetns(lab, n))) : undefined
    const otherNodes = new Set(nodes.map((n) => nodeNetns(lab, n)).filter((ns) => focus && !focus.has(ns)))
    namespaces = namespaces.filter((ns) => !otherNodes.has(ns))
    progress(`Collecting ${namespaces.length} namespaces of lab "${lab}"...`)
    await put('lab/namespaces', namespaces.join('\n') + '\n')
    const jobs = namespaces.flatMap((netns) => namespaceCommands(netns).map((c) => ({path: `namespaces/${netns}/${c.file}`, c})))
    await inParallel(jobs, limit, (j) => runInto(j.path, j.c))
    const {birdFiles} = await import('../lab/daemons/bird.js')
    const birdNodes = record?.topology?.bgp && record.topology.flavor !== 'flannel' ? nodes.filter((n) => !options.lab!.nodes?.length || options.lab!.nodes.includes(n)) : []
    if (record?.topology && birdNodes.length === 0) notes.push(`lab "${lab}" runs no BIRD (${record.topology.flavor === 'flannel' ? 'a flannel lab' : 'static routes'})`)
    for (const node of birdNodes) {
      const bird = birdFiles(stateDir, lab, node)
      progress(`Collecting BIRD state of node ${node}...`)
      await collectBird(bird.socket, `bird/${node}`, put, notes)
      await copyIfThere(bird.config, `bird/${node}/bird.conf`)
      await copyIfThere(bird.log, `logs/${node}/bird.log`)
    }
  } else if (options.scope === 'node') {
    progress('Collecting this host\'s network state (read only)...')
    await put('hostname', hostname() + '\n')
    await inParallel(hostCommands, limit, (c) => runInto(c.file, c))
    const sockets = []
    for (const socket of defaultBirdSockets) if (await lstat(socket).catch(() => undefined)) sockets.push(socket)
    if (sockets.length === 0) notes.push(`no BIRD control socket (${defaultBirdSockets.join(', ')})`)
    for (const socket of sockets) await collectBird(socket, `bird/${basename(socket, '.ctl')}`, put, notes)
  }

  if (options.logDir) {
    const copied = await copyTree(options.logDir, join(root, 'logs'))
    if (copied === undefined) notes.push(`no logs in ${options.logDir}; skipping log copying`)
    else {
      progress(`Copied ${copied.length} log files from ${options.logDir}`)
      files.push(...copied.map((f) => join('logs', f)))
    }
  }

  await put('notes', notes.map((n) => n + '\n').join(''))
  const archive = join(temp, `${options.scope === 'cluster' ? name : `diags-${stamp()}`}.tar.gz`)
  const tar = await run('tar', ['-czf', archive, '-C', temp, name], {allowFailure: true})
  if (tar.exitCode !== 0) throw new NetctlError('internal', `could not create ${archive}: ${tar.stderr.trim()}`, `the collected files are in ${root}`)
  if (!options.keepDirectory) await rm(root, {recursive: true, force: true})
  return {archive, directory: root, files: files.sort(), notes}

  async function copyIfThere(from: string, path: string): Promise<void> {
    try {
      // A regular file only: a link planted in the lab's directory is not followed.
      if (!(await lstat(from)).isFile()) return
      await mkdir(dirname(join(root, path)), {recursive: true})
      await copyFile(from, join(root, path))
      files.push(path)
    } catch {
      // No config or log yet (a node whose BIRD never started): nothing to copy.
    }
  }
}

function describeBundle(options: DiagsOptions): string {
  const what = options.lab ? `lab "${options.lab.name}" (its recorded network namespaces and BIRDs)` : options.scope === 'node' ? `host ${hostname()} (read only)` : 'the datastore'
  return `netctl ${options.scope} diags of ${what}, ${new Date().toISOString()}\n`
}

async function collectResources(ds: Datastore, settings: Record<string, unknown>, put: (path: string, text: string) => Promise<void>, notes: string[]): Promise<void> {
  const {dump} = await import('js-yaml')
  await put('cluster/datastore.yaml', dump(maskSecrets({location: ds.location, ...settings}), {lineWidth: -1}))
  for (const kind of kinds) {
    let items: Resource[]
    try {
      items = await ds.list(kind)
    } catch (error) {
      notes.push(`${kind.plural}: ${isNetctlError(error) ? error.message : String(error)}`)
      continue
    }
    await put(`cluster/crd/${kind.plural}.yaml`, dump(maskSecrets({apiVersion: 'projectcalico.org/v3', kind: `${kind.kind}List`, items}), {lineWidth: -1, noRefs: true}))
  }
}

async function collectBird(socket: string, dir: string, put: (path: string, text: string) => Promise<void>, notes: string[]): Promise<void> {
  for (const {file, command} of birdCommands) {
    try {
      await put(`${dir}/${file}`, await birdQuery(socket, command))
    } catch (error) {
      notes.push(`BIRD at ${socket}, "${command}": ${(error as Error).message}`)
      return
    }
  }
}

/** Regular files under from (no links followed), copied; undefined when from is not a directory. */
async function copyTree(from: string, to: string): Promise<string[] | undefined> {
  const info = await lstat(from).catch(() => undefined)
  if (!info?.isDirectory()) return undefined
  const copied: string[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, {withFileTypes: true})) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile()) {
        const target = join(to, relative(from, full))
        await mkdir(dirname(target), {recursive: true})
        await writeFile(target, await readFile(full))
        copied.push(relative(from, full))
      }
    }
  }
  await walk(from)
  return copied
}
