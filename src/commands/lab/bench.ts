import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {formatColumns} from '../../cli/output.js'
import {progressReporter} from '../../cli/progress.js'
import {labBench, type BenchResult} from '../../lab/inspect/bench.js'
import {resolveLabName} from '../../lab/lab.js'

export default class LabBench extends NetctlCommand {
  static override summary = 'Measure pod-to-pod throughput and latency across nodes against the node-to-node baseline.'
  static override description = 'iperf3 and ping between two pods on different nodes, and between their nodes. With --modes, once per encapsulation (calico: none, vxlan, ipip where the kernel has it; flannel: host-gw, vxlan, udp), switched live, then back.'
  static override enableJsonFlag = true
  static override args = {name: Args.string({ignoreStdin: true, description: 'Lab (default: the current one, or the only one).'})}
  static override flags = {
    modes: Flags.boolean({summary: 'Run once per mode, switching live between runs.'}),
    seconds: Flags.integer({summary: 'iperf3 duration per path and round.', default: 3, min: 1, max: 60}),
    rounds: Flags.integer({summary: 'Rounds of nodes-then-pods per mode; figures are medians.', default: 3, min: 1, max: 20}),
  }

  async run(): Promise<BenchResult> {
    const {args, flags} = await this.parse(LabBench)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const lab = resolveLabName(values.stateDir, args.name ?? flags.lab)
    const reporter = await progressReporter()
    const result = await this.interruptible((signal) => labBench(values.stateDir, lab, {modes: flags.modes, seconds: flags.seconds, rounds: flags.rounds, signal, onProgress: reporter.progress}).finally(reporter.done))
    this.log(formatColumns([
      ['MODE', 'POD GBIT/S', 'NODE GBIT/S', 'RATIO', 'POD RTT(ms)', 'NODE RTT(ms)'],
      ...result.rows.map((r) => [r.mode, r.pods.gbps.toFixed(2), r.nodes.gbps.toFixed(2), `${r.ratio.toFixed(2)}x`, r.pods.rttMs.toFixed(3), r.nodes.rttMs.toFixed(3)]),
    ]))
    for (const s of result.skipped) this.log(`${s.mode}: skipped, ${s.reason}`)
    return result
  }
}
