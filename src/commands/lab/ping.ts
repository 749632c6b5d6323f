import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {progressReporter} from '../../cli/progress.js'
import {formatColumns} from '../../cli/output.js'
import {resolveLabName} from '../../lab/lab.js'
import {fullMatrixLimit, labPing, labProbe, renderProbeReport, type PingResult, type ProbeReport} from '../../lab/inspect/ping.js'

const allPairs = (results: PingResult[]) => {
  const pods = new Set(results.flatMap((r) => [r.from, r.to])).size
  return pods * (pods - 1)
}

export default class LabPing extends NetctlCommand {
  static override summary = 'Ping every pod from every other pod (ICMP, or TCP/UDP to --port); exit 1 on any loss or denied pair.'
  static override description = `Without --port: ICMP echo, COUNT pings per pair, any loss fails.
With --port: a listener on that port in every pod (started once, kept until lab down) and a
connect (TCP) or datagram (UDP) from every pod to every other; each pair is allowed (✓: connected /
answered on every attempt) or denied (✗: refused, timed out, no answer), as the network lets it through.`
  static override examples = ['<%= config.bin %> lab ping', '<%= config.bin %> lab ping --port 8080', '<%= config.bin %> lab ping mylab --port 53 --protocol udp --count 1']
  static override enableJsonFlag = true
  static override args = {name: Args.string({ignoreStdin: true, description: 'Lab (default: the current one, or the only one).'})}
  static override flags = {
    count: Flags.integer({summary: 'Pings (or probes) per pair.', default: 2, min: 1, max: 100}),
    all: Flags.boolean({summary: `Every pair even in a lab of more than ${fullMatrixLimit} pods (otherwise sampled).`}),
    port: Flags.integer({summary: 'Probe this TCP/UDP port instead of pinging.', min: 1, max: 65535}),
    protocol: Flags.string({summary: 'Protocol of the --port probe.', options: ['tcp', 'udp'], dependsOn: ['port']}),
  }

  async run(): Promise<{results: PingResult[]; lossy: number} | ProbeReport> {
    const {args, flags} = await this.parse(LabPing)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const name = resolveLabName(values.stateDir, args.name ?? flags.lab)
    if (flags.port !== undefined) {
      const report = await labProbe(values.stateDir, name, {port: flags.port, protocol: (flags.protocol ?? 'tcp') as 'tcp' | 'udp', count: flags.count, all: flags.all})
      this.log(renderProbeReport(report))
      // Also with --json: a script asks "is everything allowed?" by the exit code.
      if (report.failed > 0) process.exitCode = 1
      return report
    }
    // Hundreds of pods take a while: a bar on a terminal (pairs done), nothing without one.
    const reporter = await progressReporter()
    const results = await labPing(values.stateDir, name, {count: flags.count, all: flags.all, onPair: (done, total) => reporter.progress('pinging pairs', undefined, {done, total})}).finally(reporter.done)
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
