import {Args} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
import {labTarget, resolveLabName} from '../../lab/lab.js'

export default class LabExec extends NetctlCommand {
  static override summary = "Run a command inside a lab node's or pod's network namespace."
  static override examples = ['<%= config.bin %> lab exec busybox-controlplane-0 -- ping -c1 192.168.0.65', '<%= config.bin %> lab exec node01 -- ip route', '<%= config.bin %> lab exec --lab veth ns1 -- ping -c1 1.1.1.2']
  static override strict = false
  static override args = {target: Args.string({ignoreStdin: true, required: true, description: 'Node or pod name ("underlay" for the router; ns1/ns2/host in basic labs).'})}

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(LabExec)
    const command = (argv as string[]).slice(1)
    if (command.length === 0) throw new NetctlError('usage', 'no command to run', `put it after --: netctl lab exec ${args.target} -- ip addr`)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const netns = await labTarget(values.stateDir, resolveLabName(values.stateDir, flags.lab), args.target)
    const {execa} = await import('execa')
    const result = await execa('ip', ['netns', 'exec', netns, ...command], {stdio: 'inherit', reject: false})
    if (result.exitCode !== 0) this.exit(result.exitCode ?? 1)
  }
}
