import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
import type {CheckLine, SystemReport} from '../../services/checksystem.js'

/** calicoctl's printResult: the name padded to 20, the verdict after five tabs. */
const line = (value: string, result: string) => `\t\t${value.padEnd(20)}\t\t\t\t\t${result}`

export default class NodeChecksystem extends NetctlCommand {
  static override summary = 'Check that this kernel has what Calico needs (like calicoctl node checksystem).'
  static override description = [
    'The kernel version (at least 2.6.24), the kernel modules of calicoctl\'s list plus ipip and vxlan (IPIP and VXLAN pools need them; wireguard is optional), and the sysctls Felix relies on.',
    'A module counts as present when it is loaded or has parameters (/sys/module, /proc/modules), is listed in /lib/modules/$(uname -r)/modules.builtin or modules.dep, is =y/=m in the kernel config (/proc/config.gz, /boot/config-$(uname -r), ... or --kernel-config), or its netfilter match/target is registered (/proc/net/ip_tables_matches, _targets). Only files are read: no lsmod, no modinfo, no root needed, nothing changed.',
    'Exits 1 and names what is missing when a required module or sysctl is; optional ones only warn.',
  ].join('\n\n')
  static override examples = ['<%= config.bin %> node checksystem', '<%= config.bin %> node checksystem --kernel-config /boot/config-6.1.0 --json']
  static override enableJsonFlag = true
  static override flags = {
    'kernel-config': Flags.string({char: 'f', summary: 'Override the kernel config file location.'}),
  }

  async run(): Promise<SystemReport> {
    const {flags} = await this.parse(NodeChecksystem)
    const {checkSystem, readSystemFacts} = await import('../../services/checksystem.js')
    const report = checkSystem(await readSystemFacts({kernelConfig: flags['kernel-config']}))
    const failure = report.ok
      ? undefined
      : new NetctlError('unavailable', `system doesn't meet one or more minimum systems requirements to run Calico: missing ${report.missing.join(', ')}`, 'load or build in the missing modules (modprobe NAME, or a kernel with them), then check again')
    if (this.jsonEnabled()) {
      this.logJson(report)
      if (failure) this.exit(1)
      return report
    }
    this.log('Checking kernel version...')
    this.print(report.kernel)
    this.log('Checking kernel modules...')
    for (const module of report.modules) this.print(module)
    this.log('Checking sysctls...')
    for (const sysctl of report.sysctls) this.print(sysctl)
    if (failure) throw failure
    this.log('System meets minimum system requirements to run Calico!')
    return report
  }

  private print(check: CheckLine): void {
    if (check.status !== 'OK') this.log(`WARNING: ${check.detail}`)
    this.log(line(check.name, check.status))
  }
}
