import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {formatColumns, toJson, toYaml} from '../../cli/output.js'
import {progressReporter} from '../../cli/progress.js'
import {resolveLabName} from '../../lab/lab.js'
import {labTrace, traceProtocols, traceReasons, traceRows, type TraceResult} from '../../lab/inspect/trace.js'

export default class LabTrace extends NetctlCommand {
  static override summary = 'The path of one packet across a lab, namespace by namespace, from the kernel\'s own answers.'
  static override description = 'In each namespace on the way: ip route get (which route, proto bird or static, onlink), the neighbour and fdb entries, the device (vxlan id and port, MTU); encapsulation and decapsulation, TTL at each hop, the smallest MTU, and the end: delivered or dropped and why. Between pods, the policy verdict netctl policy eval predicts. --verify sends one real probe and captures it in every namespace on the way. Exit 1 when the packet is dropped (or --verify disagrees).'
  static override examples = [
    '<%= config.bin %> lab trace busybox-controlplane-0 busybox-node01-0',
    '<%= config.bin %> lab trace busybox-controlplane-0 192.168.0.65 --protocol tcp --port 80 --verify',
    '<%= config.bin %> lab trace node01 busybox-controlplane-0 -o json',
  ]
  static override args = {
    from: Args.string({required: true, ignoreStdin: true, description: 'Source: a pod or node name, or its address.'}),
    to: Args.string({required: true, ignoreStdin: true, description: 'Destination: a pod or node name, or its address.'}),
  }
  static override flags = {
    protocol: Flags.option({options: traceProtocols, default: 'icmp' as const, summary: 'The packet\'s protocol.'})(),
    port: Flags.integer({summary: 'Destination port (tcp, udp).', min: 1, max: 65535}),
    verify: Flags.boolean({summary: 'Send one real probe and capture it (tcpdump) in every namespace on the way.'}),
    output: Flags.option({char: 'o', options: ['text', 'json', 'yaml'] as const, default: 'text' as const, summary: 'Output format.'})(),
  }

  async run(): Promise<TraceResult> {
    const {args, flags} = await this.parse(LabTrace)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const name = resolveLabName(values.stateDir, flags.lab)
    const reporter = flags.verify ? await progressReporter() : undefined
    const trace = await labTrace(values.stateDir, name, args.from, args.to, {protocol: flags.protocol, port: flags.port, verify: flags.verify, onProgress: reporter?.progress}).finally(() => reporter?.done())
    if (flags.output === 'json') this.log(toJson(trace))
    else if (flags.output === 'yaml') this.log(await toYaml(trace))
    else this.log(traceText(trace))
    if (!trace.result.delivered || trace.verified?.agrees === false) process.exitCode = 1
    return trace
  }
}

function traceText(trace: TraceResult): string {
  const end = (e: TraceResult['from']) => `${e.kind} ${e.name} (${e.ip})`
  const lines = [
    `${trace.protocol.toUpperCase()}${trace.port ? ` port ${trace.port}` : ''} from ${end(trace.from)}${trace.source !== trace.from.ip ? ` (sent from ${trace.source})` : ''} to ${end(trace.to)} in lab "${trace.lab}" (${trace.mode})`,
    '',
    formatColumns(traceRows(trace)),
    '',
    ...traceReasons(trace),
    '',
    trace.result.delivered
      ? `delivered with ttl=${trace.result.ttl}; smallest MTU on the way: ${trace.result.smallestMtu ?? 'unknown'}`
      : `DROPPED at ${trace.result.reason}`,
  ]
  if (trace.policy) lines.push(`policy: ${trace.policy.allowed ? 'allowed' : 'DENIED'} — egress ${trace.policy.egress}; ingress ${trace.policy.ingress} (${trace.policy.note})`)
  if (trace.verified) lines.push(`verify: ${trace.verified.probe}: seen in ${trace.verified.seen} of ${trace.verified.of} hops${trace.verified.agrees ? ', agrees with the prediction' : ' — DISAGREES with the prediction'}`)
  return lines.join('\n')
}
