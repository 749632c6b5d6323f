import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {policyOutput, explanationText} from '../../cli/policy-output.js'
import {missing} from '../../cli/prompts.js'
import type {Explanation} from '../../policy/index.js'
import {explainEndpoint} from '../../services/policy.js'

export default class PolicyExplain extends NetctlCommand {
  static override summary = 'Every policy and profile that applies to an endpoint, per direction, in evaluation order.'
  static override description = 'Tier order, then policy order, then name, as Felix evaluates them, with the rules that could match; then the profiles that decide when no tier does. Read-only: works on a real cluster as on a lab.'
  static override examples = ['<%= config.bin %> policy explain busybox-node01-0', '<%= config.bin %> policy explain frontend-7d9f -n shop -o yaml']
  static override enableJsonFlag = true
  static override args = {endpoint: Args.string({ignoreStdin: true, description: 'A workload endpoint or its pod\'s name, or a host endpoint.'})}
  static override flags = {
    namespace: Flags.string({char: 'n', summary: 'Namespace of the pod (default: look in all).'}),
    output: Flags.option({char: 'o', options: ['text', 'yaml', 'json'] as const, default: 'text' as const, summary: 'Output format.'})(),
  }

  async run(): Promise<Explanation> {
    const {args, flags} = await this.parse(PolicyExplain)
    if (!args.endpoint) throw missing('the endpoint', 'netctl policy explain busybox-node01-0')
    const explanation = await explainEndpoint(await this.datastore(flags), args.endpoint, flags.namespace)
    this.log(await policyOutput(flags.output, explanation, explanationText))
    return explanation
  }
}
