import {writeFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'

export default class IpamCheck extends NetctlCommand {
  static override summary = 'Check the integrity of the IPAM datastructures (like calicoctl ipam check).'
  static override description = "Compares what IPAM's blocks and handles record with the addresses nodes and workload endpoints use, and reports leaked or improperly allocated addresses. The report it writes with -o can later be passed to ipam release --from-report."
  static override examples = ['<%= config.bin %> ipam check', '<%= config.bin %> ipam check --show-problem-ips -o report.json']
  static override flags = {
    'show-all-ips': Flags.boolean({summary: 'Print all IPs that are checked.'}),
    'show-problem-ips': Flags.boolean({summary: 'Print all IPs that are leaked or not allocated properly.'}),
    output: Flags.string({char: 'o', summary: 'Path to output report file.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(IpamCheck)
    const {checkIpam} = await import('../../ipam/service.js')
    const ds = await this.datastore(flags)
    const result = await checkIpam(ds, {showAllIps: flags['show-all-ips'], showProblemIps: flags['show-problem-ips'], version: this.config.version})
    this.log(result.lines.join('\n'))
    if (flags.output) {
      try {
        writeFileSync(flags.output, JSON.stringify(result.report, null, 2))
      } catch (error) {
        throw new NetctlError('unavailable', `cannot write the report to ${flags.output}: ${(error as Error).message}`, 'give -o a path in a writable directory')
      }
    }
  }
}
