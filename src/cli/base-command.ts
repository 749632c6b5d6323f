/**
 * What every netctl command shares: the datastore flags, opening the datastore, and turning
 * any error into one line, a suggestion and an exit code (2 usage, 1 runtime).
 */
import {Command, Errors, Flags} from '@oclif/core'

import {resolveConfig, type ConfigFlags, type ResolvedConfig} from '../datastore/config.js'
import {datastoreTypes, type Datastore} from '../datastore/datastore.js'
import {openDatastore} from '../datastore/open.js'
import {NetctlError} from '../errors.js'
import {toJson} from './output.js'
import {Cancelled} from './prompts.js'

const GLOBAL = 'GLOBAL'

export abstract class NetctlCommand extends Command {
  static override baseFlags = {
    datastore: Flags.option({options: datastoreTypes, helpGroup: GLOBAL, summary: 'Datastore type (default: file, the embedded one).'})(),
    config: Flags.string({helpGroup: GLOBAL, summary: 'CalicoAPIConfig file to read settings from.'}),
    'state-dir': Flags.string({helpGroup: GLOBAL, summary: 'Directory of netctl\'s state: the embedded datastore and labs.'}),
    lab: Flags.string({helpGroup: GLOBAL, summary: 'Use this lab\'s datastore.'}),
    'etcd-endpoints': Flags.string({helpGroup: GLOBAL, summary: 'etcd endpoints, comma separated.'}),
    kubeconfig: Flags.string({helpGroup: GLOBAL, summary: 'Kubeconfig file for the kubernetes datastore.'}),
    context: Flags.string({helpGroup: GLOBAL, summary: 'Kubeconfig context to use.'}),
    debug: Flags.boolean({helpGroup: GLOBAL, summary: 'Show stack traces on errors.'}),
    // calicoctl's persistent flag: netctl checks the cluster's Calico version in datastore migrate (and warns in version).
    'allow-version-mismatch': Flags.boolean({helpGroup: GLOBAL, summary: 'Allow client and cluster versions mismatch.'}),
  }

  private datastores: Datastore[] = []
  private resolved = new Map<string, Promise<ResolvedConfig>>()

  /** Resolved once per set of flags: a command that opens the datastore and then reconciles a lab reads the settings once. */
  protected resolveConfig(flags: Record<string, unknown>): Promise<ResolvedConfig> {
    const pick = (name: string) => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined)
    const configFlags: ConfigFlags = {
      config: pick('config'),
      datastoreType: pick('datastore'),
      stateDir: pick('state-dir'),
      lab: pick('lab'),
      etcdEndpoints: pick('etcd-endpoints'),
      kubeconfig: pick('kubeconfig'),
      k8sContext: pick('context'),
    }
    const key = JSON.stringify(configFlags)
    if (!this.resolved.has(key)) this.resolved.set(key, resolveConfig(configFlags))
    return this.resolved.get(key)!
  }

  /** Opens the configured datastore; it is closed when the command ends, also on error. */
  protected async datastore(flags: Record<string, unknown>): Promise<Datastore> {
    const {values} = await this.resolveConfig(flags)
    const ds = await openDatastore(values)
    this.datastores.push(ds)
    if (!values.lab) return ds
    // A lab's datastore takes only what the lab can carry out.
    const {admittingDatastore} = await import('../lab/admission.js')
    return admittingDatastore(ds, values.stateDir, values.lab)
  }

  /**
   * On a lab's datastore netctl is also the cluster's agents (Felix, confd): after a write,
   * reprogram the lab's namespaces and BIRDs from what the datastore now says.
   */
  protected async reconcileLabAfterWrite(flags: Record<string, unknown>): Promise<void> {
    const {values} = await this.resolveConfig(flags)
    if (!values.lab) return
    const [{reconcileLab}, {progressReporter}] = await Promise.all([import('../lab/lab.js'), import('./progress.js')])
    const reporter = await progressReporter()
    try {
      const result = await reconcileLab(values.stateDir, values.lab, reporter.progress).finally(reporter.done)
      const bgp = result.bgp ? `; BGP converged in ${result.bgp.seconds.toFixed(2)} s` : ''
      this.logToStderr(`Lab "${values.lab}" reprogrammed: ${result.changes} kernel changes${bgp}.`)
    } catch (error) {
      if (error instanceof NetctlError && (error.kind === 'unsupported' || error.kind === 'usage')) {
        throw new NetctlError(error.kind, `the datastore was updated, but lab "${values.lab}" was not reprogrammed: ${error.message}`, `undo the change (for an encapsulation: netctl encap set none), or ${error.suggestion ?? 'fix what the message names'}`)
      }
      throw error
    }
  }

  /** Run fn with Ctrl-C/SIGTERM turned into an abort signal it checks at its safe points. */
  protected async interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const {trapInterrupts} = await import('./interrupt.js')
    const trap = trapInterrupts()
    try {
      return await fn(trap.signal)
    } finally {
      trap.dispose()
    }
  }

  /** --json prints what -o json prints, byte for byte: keys sorted, two-space indent, no colours. */
  override logJson(json: unknown): void {
    process.stdout.write(`${toJson(json)}\n`)
  }

  protected override async finally(error: Error | undefined): Promise<unknown> {
    await Promise.allSettled(this.datastores.map((ds) => ds.close()))
    return super.finally(error)
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (error instanceof Errors.ExitError) throw error
    if (error instanceof Cancelled) {
      // A No or a Ctrl-C at a prompt: one line, nothing else.
      process.stderr.write(`${error.message}\n`)
      this.exit(error.interrupted ? 130 : 0)
    }
    const problem = asNetctlError(error)
    if (this.jsonEnabled()) {
      this.logJson({error: {kind: problem.kind, message: problem.message, suggestion: problem.suggestion}})
    } else {
      this.logToStderr(`Error: ${problem.message}`)
      if (problem.suggestion) this.logToStderr(`  ${problem.suggestion}`)
      if (wantsDebug()) this.logToStderr(error.stack ?? String(error))
    }
    this.exit(problem.exitCode)
  }
}

// Only netctl's own flags count: a `--debug` after `--` belongs to the command lab exec runs.
const wantsDebug = () => process.argv.slice(0, (process.argv.indexOf('--') + 1 || process.argv.length + 1) - 1).includes('--debug') || Boolean(process.env.NETCTL_DEBUG)

/** oclif's parse errors are the user's to fix (exit 2); anything unexpected is a runtime failure. */
function asNetctlError(error: Error & {oclif?: {exit?: number}}): NetctlError {
  if (error instanceof NetctlError) return error
  if (error instanceof Errors.CLIError) {
    const message = error.message.replace(/\n\s*See more help with --help$/m, '').trim()
    return new NetctlError('usage', message, 'see --help for the accepted flags and arguments')
  }
  return new NetctlError('internal', error.message || String(error), 'run again with --debug for the stack trace')
}
