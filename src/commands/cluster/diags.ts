import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
import type {DiagsResult} from '../../services/diags.js'

/** A Go duration as kubectl logs --since takes it (calicoctl's ValidateSinceDuration). */
const goDuration = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/

export default class ClusterDiags extends NetctlCommand {
  static override summary = 'Collect the cluster\'s diagnostics into a .tar.gz (like calicoctl cluster diags).'
  static override description = [
    'Every Calico resource of the datastore (cluster/crd/<plural>.yaml, secrets and endpoint credentials masked) and the datastore settings. With --lab, or in a lab context, also every namespace the lab recorded and each node\'s BIRD, as node diags collects them.',
    'calicoctl\'s options: --max-parallelism bounds the commands run at once; --focus-nodes (with a lab) collects only those nodes\' namespaces and BIRDs; --skip-temp-dir-cleanup keeps the unpacked directory. --since and --max-logs are accepted and validated but limit nothing: netctl reads no pod logs (it does not use kubectl).',
  ].join('\n\n')
  static override examples = ['<%= config.bin %> cluster diags --datastore kubernetes', '<%= config.bin %> cluster diags --lab demo --focus-nodes node01']
  static override enableJsonFlag = true
  static override flags = {
    since: Flags.string({summary: 'Only collect logs newer than this duration (calicoctl\'s; netctl collects no pod logs).', default: '0s'}),
    'max-logs': Flags.integer({summary: 'Only collect up to this number of logs, for each kind of Calico component (calicoctl\'s; netctl collects no pod logs).', default: 5}),
    'max-parallelism': Flags.integer({summary: 'Maximum commands run at once.', default: 10, min: 1}),
    'focus-nodes': Flags.string({summary: 'Comma-separated lab nodes to collect (all when not given).'}),
    'skip-temp-dir-cleanup': Flags.boolean({summary: 'Don\'t clean up the temporary directory.'}),
  }

  async run(): Promise<DiagsResult> {
    const {flags} = await this.parse(ClusterDiags)
    if (!goDuration.test(flags.since)) throw new NetctlError('usage', `invalid --since "${flags.since}": not a duration`, 'write it like 0s, 90m or 2h45m')
    if (flags['max-logs'] < 0) throw new NetctlError('usage', 'negative value for --max-logs', 'use 0 or more')
    const {values} = await this.resolveConfig(flags)
    const [{collectDiags}, {resolveLabName}] = await Promise.all([import('../../services/diags.js'), import('../../lab/lab.js')])
    const focus = flags['focus-nodes']?.split(',').map((n) => n.trim()).filter(Boolean)
    const labName = flags.lab ?? values.lab
    if (focus?.length && !labName) throw new NetctlError('usage', '--focus-nodes needs a lab: netctl reaches a real cluster\'s nodes only through its datastore', 'add --lab NAME, or leave --focus-nodes out')
    const lab = labName ? {name: resolveLabName(values.stateDir, labName), stateDir: values.stateDir, nodes: focus} : undefined
    this.log('==== Begin collecting diagnostics. ====')
    const settings = {datastoreType: values.datastoreType, etcdEndpoints: values.etcdEndpoints, kubeconfig: values.kubeconfig, context: values.k8sContext, lab: lab?.name}
    const result = await collectDiags({
      scope: 'cluster',
      datastore: await this.datastore(flags),
      settings: Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
      lab,
      parallelism: flags['max-parallelism'],
      keepDirectory: flags['skip-temp-dir-cleanup'],
      progress: (line) => this.log(line),
    })
    for (const note of result.notes) this.logToStderr(`Not collected: ${note}`)
    this.log('\n==== Producing a diagnostics bundle. ====')
    this.log(`Diagnostic bundle created at ${result.archive}`)
    return result
  }
}
