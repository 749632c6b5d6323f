import {Command} from '@oclif/core'

import {complete, type CompletionCommand, type CompletionContext, type CompletionSources} from '../cli/completion.js'

/** A shell waits on every TAB: whatever a datastore or lab has not answered by then is left out. */
const TIMEOUT_MS = 2000

/**
 * The shells' helper: `netctl __complete -- WORDS... CURRENT` prints what may come next, one per line
 * (or the single line `:files` for "complete file names"). It never prompts, never fails, and prints
 * nothing when it cannot tell.
 */
export default class Complete extends Command {
  static override hidden = true
  static override hiddenAliases = ['__complete']
  static override strict = false
  static override summary = 'Print completions for the words given (used by the shell completion scripts).'

  async run(): Promise<void> {
    // The words come raw: the scripts put -- first so that oclif reads none of them as its own --help.
    const words = this.argv[0] === '--' ? this.argv.slice(1) : this.argv
    let lines: string[] = []
    try {
      const commands: CompletionCommand[] = this.config.commands.map((c) => ({
        id: c.id,
        hidden: c.hidden,
        aliases: c.aliases,
        flags: Object.fromEntries(Object.entries(c.flags).map(([name, f]) => [name, {type: f.type, char: f.char, options: f.type === 'option' ? f.options : undefined, multiple: f.type === 'option' ? f.multiple : undefined, hidden: f.hidden}])),
        args: Object.fromEntries(Object.entries(c.args).map(([name, a]) => [name, {options: a.options}])),
      }))
      const result = await complete(commands, words.length === 0 ? [''] : words, sources())
      lines = 'files' in result ? [':files'] : result.noSpace ? [':nospace', ...result.values] : result.values
    } catch {
      lines = []
    }
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`)
    // A datastore that did not answer in time may still hold sockets open: the shell waits on
    // this process, so end it now (stdout to a pipe or file is written synchronously).
    process.exit(0)
  }

  // Never an error message on the user's prompt line.
  protected override async catch(): Promise<void> {}
}

const withTimeout = <T>(work: Promise<T>, fallback: T): Promise<T> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), TIMEOUT_MS)
    timer.unref()
    work.then(resolve, () => resolve(fallback)).finally(() => clearTimeout(timer))
  })

const text = (value: string | true | undefined) => (typeof value === 'string' ? value : undefined)

async function configFor(context: CompletionContext, options: {ignoreLab?: boolean} = {}) {
  const {resolveConfig} = await import('../datastore/config.js')
  const flags = context.flags
  return resolveConfig({
    config: text(flags.config),
    datastoreType: text(flags.datastore),
    stateDir: text(flags['state-dir']),
    lab: options.ignoreLab ? undefined : text(flags.lab),
    etcdEndpoints: text(flags['etcd-endpoints']),
    kubeconfig: text(flags.kubeconfig),
    k8sContext: text(flags.context),
  })
}

function sources(): CompletionSources {
  return {
    async kinds(prefix) {
      const {kinds} = await import('../resources/registry.js')
      return prefix === '' ? kinds.map((k) => k.plural) : kinds.flatMap((k) => [...k.aliases])
    },
    async columns(kind) {
      const {kindInfo} = await import('../resources/registry.js')
      return Object.keys(kindInfo(kind).cells)
    },
    resourceNames(kind, context) {
      return withTimeout(resourceNames(kind, context), [])
    },
    labs(context) {
      return withTimeout(
        (async () => {
          const [{values}, {listLabs}] = await Promise.all([configFor(context), import('../lab/state.js')])
          return listLabs(values.stateDir)
        })(),
        [],
      )
    },
    labTargets(context) {
      return withTimeout(labTargets(context), [])
    },
  }
}

async function resourceNames(kind: string, context: CompletionContext): Promise<string[]> {
  const {kindInfo} = await import('../resources/registry.js')
  const info = kindInfo(kind)
  const [{values}, {openDatastore}] = await Promise.all([configFor(context), import('../datastore/open.js')])
  const ds = await openDatastore(values)
  try {
    const namespace = context.flags['all-namespaces'] || context.flags['all-namespaces-a'] ? undefined : text(context.flags.namespace) ?? ds.defaultNamespace ?? 'default'
    const found = await ds.list(info, info.namespaced ? {namespace} : {})
    const names = found.map((r) => r.metadata.name)
    // A workload endpoint is also named by its pod (get wep POD, delete wep POD).
    if (info.kind === 'WorkloadEndpoint') for (const r of found) if (typeof r.spec?.pod === 'string') names.push(r.spec.pod)
    return names.sort()
  } finally {
    await ds.close()
  }
}

async function labTargets(context: CompletionContext): Promise<string[]> {
  // Only the state directory: --lab names the lab here, it does not switch the datastore.
  const {values} = await configFor(context, {ignoreLab: true})
  const [{resolveLabName}, {readLabRecord}] = await Promise.all([import('../lab/lab.js'), import('../lab/state.js')])
  const lab = resolveLabName(values.stateDir, text(context.flags.lab))
  const record = readLabRecord(values.stateDir, lab)
  if (!record) return []
  if (record.basic) {
    const {planBasicLab} = await import('../lab/plan/basic.js')
    return Object.keys(planBasicLab(lab, record.basic as Parameters<typeof planBasicLab>[1]).targets)
  }
  const [{withDatastore}, {loadCluster}] = await Promise.all([import('../lab/lab.js'), import('../lab/plan/cluster.js')])
  const cluster = await withDatastore(values.stateDir, record, (ds) => loadCluster(ds, lab, record.topology!))
  return [...cluster.nodes.map((n) => n.name), ...cluster.pods.map((p) => p.name), 'underlay']
}
