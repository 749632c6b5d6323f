import {Args} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
import {labContext, labExists, listLabs, writeCurrentContext} from '../../lab/state.js'

export default class ConfigUseContext extends NetctlCommand {
  static override summary = 'Choose what plain netctl commands talk to: a lab, a kubeconfig context, or "default".'
  static override description = [
    'default: the datastore that flags, environment and config file choose (else the embedded one).',
    'lab/NAME: that lab\'s datastore. Any other name: the Kubernetes datastore in that kubeconfig context (the kubeconfig itself is not changed).',
    'netctl config get-contexts lists them. A datastore chosen explicitly (--datastore, DATASTORE_TYPE, --lab) wins over the current context.',
  ].join('\n')
  static override examples = ['<%= config.bin %> config use-context lab/demo', '<%= config.bin %> config use-context my-cluster', '<%= config.bin %> config use-context default']
  static override args = {context: Args.string({ignoreStdin: true, required: true, description: 'default, lab/NAME or a kubeconfig context'})}

  async run(): Promise<{context: string}> {
    const {args, flags} = await this.parse(ConfigUseContext)
    const resolved = await this.resolveConfig({...flags, lab: undefined})
    const {stateDir} = resolved.values
    const name = args.context
    if (name === 'default') writeCurrentContext(stateDir, undefined)
    else if (name.startsWith('lab/')) {
      const lab = name.slice(4)
      if (!labExists(stateDir, lab)) throw new NetctlError('not-found', `there is no lab "${lab}"`, `contexts: ${(await this.contextNames(resolved)).join(', ')}`)
      writeCurrentContext(stateDir, labContext(lab))
    } else {
      const {listContexts} = await import('../../datastore/kubeconfig.js')
      const kubeContexts = (await listContexts(resolved, [])).filter((c) => c.from === 'kubeconfig').map((c) => c.name)
      if (kubeContexts.includes(name)) writeCurrentContext(stateDir, name)
      // Before kubeconfig contexts were contexts, a bare lab name was one: still so when no kubeconfig context has the name.
      else if (labExists(stateDir, name)) writeCurrentContext(stateDir, labContext(name))
      else throw new NetctlError('not-found', `there is no context "${name}"`, `contexts: ${(await this.contextNames(resolved)).join(', ')}`)
    }
    this.log(`Switched to context "${name}".`)
    return {context: name}
  }

  private async contextNames(resolved: Awaited<ReturnType<NetctlCommand['resolveConfig']>>): Promise<string[]> {
    const {listContexts} = await import('../../datastore/kubeconfig.js')
    return (await listContexts(resolved, listLabs(resolved.values.stateDir)).catch(() => [])).map((c) => c.name)
  }
}
