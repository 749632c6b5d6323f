import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {formatColumns} from '../../cli/output.js'
import {listLabs} from '../../lab/state.js'

export default class ConfigGetContexts extends NetctlCommand {
  static override summary = "List the contexts: netctl's own (default, lab/NAME) and the kubeconfig's, * on the one in use."
  static override description = 'The columns are kubectl\'s (CURRENT NAME CLUSTER AUTHINFO NAMESPACE). --context always names a kubeconfig context; netctl config use-context NAME takes any name listed here.'
  static override examples = ['<%= config.bin %> config get-contexts', '<%= config.bin %> config get-contexts -o name']
  static override enableJsonFlag = true
  static override flags = {
    output: Flags.option({char: 'o', options: ['table', 'name'] as const, default: 'table' as const, summary: 'Output format: the table, or the names only.'})(),
  }

  async run(): Promise<{contexts: Array<import('../../datastore/kubeconfig.js').ContextRow>}> {
    const {flags} = await this.parse(ConfigGetContexts)
    const resolved = await this.resolveConfig(flags)
    const {listContexts} = await import('../../datastore/kubeconfig.js')
    const contexts = await listContexts(resolved, listLabs(resolved.values.stateDir))
    if (flags.output === 'name') this.log(contexts.map((c) => c.name).join('\n'))
    else this.log(formatColumns([['CURRENT', 'NAME', 'CLUSTER', 'AUTHINFO', 'NAMESPACE'], ...contexts.map((c) => [c.current ? '*' : '', c.name, c.cluster, c.authInfo, c.namespace])]))
    return {contexts}
  }
}
