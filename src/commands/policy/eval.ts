import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {policyOutput, verdictText} from '../../cli/policy-output.js'
import {missing} from '../../cli/prompts.js'
import type {FlowVerdict} from '../../policy/index.js'
import {evaluateFlow} from '../../services/policy.js'

export default class PolicyEval extends NetctlCommand {
  static override summary = 'Would this flow be allowed, and which tier, policy and rule decide it?'
  static override description = 'Egress is judged at the source endpoint, ingress at the destination endpoint, with Calico\'s semantics: tiers in order, Pass, the end-of-tier drop when a tier\'s policy applied and none matched, profiles when no tier decides; staged policies are shown beside and never enforced. Exit code 0 when allowed, 1 when denied.'
  static override examples = [
    '<%= config.bin %> policy eval --from busybox-controlplane-0 --to busybox-node01-0 --protocol TCP --port 80',
    '<%= config.bin %> policy eval --from 10.0.0.7 --to web-0 -n shop --protocol UDP --port 53 -o json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    from: Flags.string({summary: 'Source: a pod or workload endpoint name, a host endpoint, or an IP address.'}),
    to: Flags.string({summary: 'Destination: a pod or workload endpoint name, a host endpoint, or an IP address.'}),
    protocol: Flags.string({summary: 'TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number.', default: 'TCP'}),
    port: Flags.integer({summary: 'Destination port.', min: 0, max: 65535}),
    namespace: Flags.string({char: 'n', summary: 'Namespace of the pods named (default: look in all).'}),
    output: Flags.option({char: 'o', options: ['text', 'yaml', 'json'] as const, default: 'text' as const, summary: 'Output format.'})(),
  }

  async run(): Promise<FlowVerdict> {
    const {flags} = await this.parse(PolicyEval)
    if (!flags.from || !flags.to) throw missing('--from and --to', 'netctl policy eval --from web-0 --to db-0 --protocol TCP --port 5432')
    const verdict = await evaluateFlow(await this.datastore(flags), {from: flags.from, to: flags.to, protocol: flags.protocol, port: flags.port, namespace: flags.namespace})
    this.log(await policyOutput(flags.output, verdict, verdictText))
    if (!verdict.allowed) process.exitCode = 1
    return verdict
  }
}
