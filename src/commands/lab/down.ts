import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
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
    const {down, failed} = flags.all ? await labDownAll(values.stateDir) : {down: [await labDown(values.stateDir, resolveLabName(values.stateDir, args.name ?? flags.lab))], failed: []}
    for (const lab of down) this.log(`Lab "${lab.name}" is down: ${lab.namespaces} namespaces and ${lab.processes} processes removed${lab.objects ? `, and its ${lab.objects} objects in etcd` : ''}.`)
    for (const lab of down) if (lab.warning) this.warn(`lab "${lab.name}": ${lab.warning}`)
    if (down.length === 0 && failed.length === 0) this.log('There were no labs.')
    if (failed.length > 0) {
      throw new NetctlError('unavailable', `${failed.length} of ${down.length + failed.length} labs could not be taken down: ${failed.map((f) => `${f.name}: ${f.error}`).join('; ')}`, 'fix what each says, then run netctl lab down NAME for it')
    }
    return {labs: down}
  }
}
