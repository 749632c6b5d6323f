import {Args} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
import {labTarget, resolveLabName} from '../../lab/lab.js'

/**
 * Split `lab exec`'s argv at the first `--`: before it netctl's flags and the target, after it
 * the command, kept exactly as given. oclif's own argv cannot carry the command: with
 * strict: false it sorts the leftover tokens by where each value first occurs, so a repeated
 * value moves (`ping -c 1 -W 1 IP` ran as `ping -c 1 1 -W IP`, pinging host "1").
 */
export function splitAtDashes(argv: string[]): {netctlArgv: string[]; afterDashes?: string[]} {
  const index = argv.indexOf('--')
  return index === -1 ? {netctlArgv: argv} : {netctlArgv: argv.slice(0, index), afterDashes: argv.slice(index + 1)}
}

/**
 * The command to run. `positional` are the tokens oclif took as arguments before any `--`, in
 * order, the target first. Without `--`, a plain command (`lab exec node01 ip route`) still
 * works; one with options must come after `--` (see needsDashes).
 */
export function commandToRun(target: string, positional: string[], afterDashes: string[] | undefined): string[] {
  if (afterDashes !== undefined && positional.length > 1) {
    throw new NetctlError('usage', `unexpected "${positional[1]}" between the target and --`, `give one target, then the whole command after --: netctl lab exec ${target} -- ping -c 1 -W 1 192.168.0.65`)
  }
  const command = afterDashes ?? positional.slice(1)
  if (command.length === 0) throw new NetctlError('usage', 'no command to run', `put it after --: netctl lab exec ${target} -- ip addr`)
  return command
}

/** oclif refuses a flag netctl does not have; with no `--` given it is most likely the command's own. */
export const needsDashes = (flag: string): NetctlError =>
  new NetctlError('usage', `${flag} is not a netctl flag; a command with options must come after --`, 'put the command after --: netctl lab exec TARGET -- ping -c 1 -W 1 192.168.0.65')

export default class LabExec extends NetctlCommand {
  static override summary = "Run a command inside a lab node's or pod's network namespace."
  static override description = 'Everything after -- is the command, passed on exactly as given.'
  static override examples = ['<%= config.bin %> lab exec busybox-controlplane-0 -- ping -c1 192.168.0.65', '<%= config.bin %> lab exec node01 -- ip route', '<%= config.bin %> lab exec --lab veth ns1 -- ping -c1 1.1.1.2']
  // Without `--`, a plain command's words arrive as extra arguments.
  static override strict = false
  static override args = {target: Args.string({ignoreStdin: true, required: true, description: 'Node or pod name ("underlay" for the router; ns1/ns2/host in basic labs).'})}

  async run(): Promise<void> {
    const {netctlArgv, afterDashes} = splitAtDashes(this.argv)
    const {args, flags, raw} = await this.parse(LabExec, netctlArgv).catch((error: unknown) => {
      const unknown = (error as {flags?: unknown}).flags // oclif's NonExistentFlagsError
      throw afterDashes === undefined && Array.isArray(unknown) ? needsDashes(String(unknown[0])) : error
    })
    const positional = raw.flatMap((token) => (token.type === 'arg' ? [token.input] : []))
    const command = commandToRun(args.target, positional, afterDashes)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const netns = await labTarget(values.stateDir, resolveLabName(values.stateDir, flags.lab), args.target)
    const {execa} = await import('execa')
    const result = await execa('ip', ['netns', 'exec', netns, ...command], {stdio: 'inherit', reject: false})
    if (result.exitCode !== 0) this.exit(result.exitCode ?? 1)
  }
}
