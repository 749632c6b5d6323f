import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {policyOutput, selectionText} from '../../cli/policy-output.js'
import {missing} from '../../cli/prompts.js'
import type {Selection} from '../../policy/index.js'
import {policySelection} from '../../services/policy.js'

export default class PolicySelects extends NetctlCommand {
  static override summary = 'The endpoints a policy applies to, and what each of its rules\' source and destination select.'
  static override examples = ['<%= config.bin %> policy selects allow-frontend -n shop', '<%= config.bin %> policy selects gnp/default-deny -o json']
  static override enableJsonFlag = true
  static override args = {policy: Args.string({ignoreStdin: true, description: 'NAME (a NetworkPolicy of the namespace, else a global or staged one) or KIND/NAME.'})}
  static override flags = {
    namespace: Flags.string({char: 'n', summary: 'Namespace of a NetworkPolicy (default: default).', default: 'default'}),
    output: Flags.option({char: 'o', options: ['text', 'yaml', 'json'] as const, default: 'text' as const, summary: 'Output format.'})(),
  }

  async run(): Promise<Selection> {
    const {args, flags} = await this.parse(PolicySelects)
    if (!args.policy) throw missing('the policy', 'netctl policy selects allow-frontend -n shop')
    const selection = await policySelection(await this.datastore(flags), args.policy, flags.namespace)
    this.log(await policyOutput(flags.output, selection, selectionText))
    return selection
  }
}
