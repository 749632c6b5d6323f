import {Args} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
import {labContext, labExists, listLabs, writeCurrentContext} from '../../lab/state.js'

export default class ConfigUseContext extends NetctlCommand {
  static override summary = 'Choose what plain netctl commands talk to: a lab, or "default" (the embedded datastore).'
  static override examples = ['<%= config.bin %> config use-context lab/demo', '<%= config.bin %> config use-context default']
  static override args = {context: Args.string({ignoreStdin: true, required: true, description: 'lab/<name> or default'})}

  async run(): Promise<{context: string}> {
    const {args, flags} = await this.parse(ConfigUseContext)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    if (args.context === 'default') writeCurrentContext(values.stateDir, undefined)
    else {
      const lab = args.context.replace(/^lab\//, '')
      if (!labExists(values.stateDir, lab)) {
        throw new NetctlError('not-found', `there is no lab "${lab}"`, `contexts: default${listLabs(values.stateDir).map((l) => `, lab/${l}`).join('')}`)
      }
      writeCurrentContext(values.stateDir, labContext(lab))
    }
    this.log(`Switched to context "${args.context}".`)
    return {context: args.context}
  }
}
