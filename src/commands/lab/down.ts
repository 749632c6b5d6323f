import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {labDown, labDownAll, resolveLabName, type LabDownResult} from '../../lab/lab.js'

export default class LabDown extends NetctlCommand {
  static override summary = 'Remove a lab: exactly the namespaces and processes it recorded, and its state.'
  static override examples = ['<%= config.bin %> lab down', '<%= config.bin %> lab down demo', '<%= config.bin %> lab down --all']
  static override enableJsonFlag = true
  static override args = {name: Args.string({ignoreStdin: true, description: 'Lab to remove (default: the current one, or the only one).'})}
  static override flags = {all: Flags.boolean({summary: 'Remove every lab netctl recorded.'})}

  async run(): Promise<{labs: LabDownResult[]}> {
    const {args, flags} = await this.parse(LabDown)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const labs = flags.all ? await labDownAll(values.stateDir) : [await labDown(values.stateDir, resolveLabName(values.stateDir, args.name ?? flags.lab))]
    for (const lab of labs) this.log(`Lab "${lab.name}" is down: ${lab.namespaces} namespaces and ${lab.processes} processes removed.`)
    if (labs.length === 0) this.log('There were no labs.')
    return {labs}
  }
}
