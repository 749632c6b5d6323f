import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {formatColumns} from '../../cli/output.js'
import {resolveLabName} from '../../lab/lab.js'
import {fullMatrixLimit, labPing, type PingResult} from '../../lab/ping.js'

const allPairs = (results: PingResult[]) => {
  const pods = new Set(results.flatMap((r) => [r.from, r.to])).size
  return pods * (pods - 1)
}

export default class LabPing extends NetctlCommand {
  static override summary = 'Ping every pod from every other pod; exit 1 on any loss.'
  static override enableJsonFlag = true
  static override args = {name: Args.string({ignoreStdin: true, description: 'Lab (default: the current one, or the only one).'})}
  static override flags = {
    count: Flags.integer({summary: 'Pings per pair.', default: 2, min: 1, max: 100}),
    all: Flags.boolean({summary: `Every pair even in a lab of more than ${fullMatrixLimit} pods (otherwise sampled).`}),
  }

  async run(): Promise<{results: PingResult[]; lossy: number}> {
    const {args, flags} = await this.parse(LabPing)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const results = await labPing(values.stateDir, resolveLabName(values.stateDir, args.name ?? flags.lab), {count: flags.count, all: flags.all})
    const lossy = results.filter((r) => r.lossPercent > 0).length
    this.log(formatColumns([
      ['FROM', 'TO', 'IP', 'LOSS', 'RTT(ms)', 'TTL'],
      ...results.map((r) => [r.from, r.to, r.toIp, `${r.lossPercent}%`, r.rttAvgMs?.toFixed(3) ?? '-', r.ttl ? String(r.ttl) : '-']),
    ]))
    this.log(`\n${results.length - lossy}/${results.length} pairs without loss${results.length < allPairs(results) ? ` (a sample: --all pings every pair)` : ''}`)
    if (lossy > 0 && !this.jsonEnabled()) this.exit(1)
    return {results, lossy}
  }
}
