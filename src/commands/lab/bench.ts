import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {formatColumns} from '../../cli/output.js'
import {ipPoolKind} from '../../resources/ippool.js'
import type {IPPool} from '../../resources/types.js'
import {labBench, type BenchRow} from '../../lab/bench.js'
import {openLabDatastore, reconcileLab, resolveLabName, setFlannelBackend} from '../../lab/lab.js'
import {requireLab} from '../../lab/state.js'
import {encapChange, encapTargets, setIpPool, type Encapsulation} from '../../services/ippool.js'

export default class LabBench extends NetctlCommand {
  static override summary = 'Measure pod-to-pod throughput and latency across nodes against the node-to-node baseline.'
  static override description = 'iperf3 and ping between two pods on different nodes, and between their nodes. With --modes, once per encapsulation (calico: none, vxlan, ipip where the kernel has it; flannel: host-gw, vxlan), switched live, then back.'
  static override enableJsonFlag = true
  static override args = {name: Args.string({ignoreStdin: true, description: 'Lab (default: the current one, or the only one).'})}
  static override flags = {
    modes: Flags.boolean({summary: 'Run once per mode, switching live between runs.'}),
    seconds: Flags.integer({summary: 'iperf3 duration per path.', default: 3, min: 1, max: 60}),
  }

  async run(): Promise<{rows: BenchRow[]; skipped: Array<{mode: string; reason: string}>}> {
    const {args, flags} = await this.parse(LabBench)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const lab = resolveLabName(values.stateDir, args.name ?? flags.lab)
    const record = requireLab(values.stateDir, lab)
    const flannel = record.topology?.flavor === 'flannel'
    const ds = await openLabDatastore(values.stateDir, record)
    let currentMode: string
    try {
      const pool = (await ds.get(ipPoolKind, 'default-ipv4-ippool')) as IPPool
      currentMode = flannel ? record.topology!.backend?.type ?? 'host-gw' : pool.spec?.vxlanMode !== 'Never' ? 'vxlan' : pool.spec?.ipipMode !== 'Never' ? 'ipip' : 'none'
    } finally {
      await ds.close()
    }
    const switchMode = async (mode: string) => {
      this.logToStderr(`› switching to ${mode}`)
      if (flannel) {
        await setFlannelBackend(values.stateDir, lab, {type: mode as 'host-gw' | 'vxlan'})
        return
      }
      const store = await openLabDatastore(values.stateDir, requireLab(values.stateDir, lab))
      try {
        for (const pool of await encapTargets(store, [])) await setIpPool(store, pool.metadata.name, encapChange(mode as Encapsulation, false))
      } finally {
        await store.close()
      }
      await reconcileLab(values.stateDir, lab)
    }
    const {rows, skipped} = await labBench(values.stateDir, lab, {modes: flags.modes, seconds: flags.seconds, switchMode, currentMode})
    this.log(formatColumns([
      ['MODE', 'POD GBIT/S', 'NODE GBIT/S', 'RATIO', 'POD RTT(ms)', 'NODE RTT(ms)'],
      ...rows.map((r) => [r.mode, r.pods.gbps.toFixed(2), r.nodes.gbps.toFixed(2), `${r.ratio.toFixed(2)}x`, r.pods.rttMs.toFixed(3), r.nodes.rttMs.toFixed(3)]),
    ]))
    for (const s of skipped) this.log(`${s.mode}: skipped, ${s.reason}`)
    return {rows, skipped}
  }
}
