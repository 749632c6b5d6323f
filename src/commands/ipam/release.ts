import {readFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
import type {CheckReport} from '../../ipam/service.js'

export default class IpamRelease extends NetctlCommand {
  static override summary = 'Release a Calico assigned IP address (like calicoctl ipam release).'
  static override description = 'Release a single address with --ip, or the leaked addresses and handles that reports of ipam check -o name (only what every report calls leaked).'
  static override examples = ['<%= config.bin %> ipam release --ip 192.168.0.5', '<%= config.bin %> ipam release --from-report report.json']
  static override flags = {
    ip: Flags.string({summary: 'IP address to release.', exactlyOne: ['ip', 'from-report']}),
    'from-report': Flags.string({multiple: true, summary: 'Release all leaked addresses from the report (repeatable).', exactlyOne: ['ip', 'from-report']}),
    force: Flags.boolean({summary: 'Force release of leaked addresses.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(IpamRelease)
    const ipam = await import('../../ipam/service.js')
    const ds = await this.datastore(flags)
    if (flags['from-report']?.length) {
      const reports = flags['from-report'].map((file) => ({file, report: readReport(file)}))
      this.log((await ipam.releaseFromReports(ds, reports, {force: flags.force, version: this.config.version})).join('\n'))
      return
    }
    this.log(await ipam.releaseIp(ds, flags.ip!))
  }
}

function readReport(file: string): CheckReport {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new NetctlError('usage', `cannot read the report ${file}: ${(error as Error).message}`, 'write one with: netctl ipam check -o FILE')
  }
  try {
    const report = JSON.parse(text) as CheckReport
    if (typeof report !== 'object' || report === null || typeof report.allocations !== 'object') throw new Error('it has no allocations')
    return report
  } catch (error) {
    throw new NetctlError('invalid', `the report ${file} is not an ipam check report: ${(error as Error).message}`, 'write one with: netctl ipam check -o FILE')
  }
}
