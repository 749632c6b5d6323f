import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'

export default class IpamShow extends NetctlCommand {
  static override summary = 'Show details of a Calico assigned IP address or overall IP usage (like calicoctl ipam show).'
  static override description = 'With no flags it summarizes pool usage; the flags drill into a specific address, individual blocks, borrowed addresses, or the current IPAM configuration.'
  static override examples = ['<%= config.bin %> ipam show', '<%= config.bin %> ipam show --show-blocks --lab demo', '<%= config.bin %> ipam show --ip 192.168.0.5']
  static override flags = {
    ip: Flags.string({summary: 'Report whether this specific IP address is in use.'}),
    'show-blocks': Flags.boolean({summary: 'Show detailed information for IP blocks as well as pools.'}),
    'show-borrowed': Flags.boolean({summary: 'Show detailed information for borrowed IP addresses.'}),
    'show-configuration': Flags.boolean({summary: 'Show current Calico IPAM configuration.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(IpamShow)
    const ipam = await import('../../ipam/service.js')
    const ds = await this.datastore(flags)
    // calicoctl's precedence when several are given: --ip, --show-blocks, --show-borrowed, --show-configuration.
    if (flags.ip !== undefined) this.log(await ipam.showIp(ds, flags.ip))
    else if (flags['show-blocks']) this.log(await ipam.showBlockUtilization(ds, true))
    else if (flags['show-borrowed']) this.log(await ipam.showBorrowed(ds))
    else if (flags['show-configuration']) this.log(await ipam.showConfiguration(ds))
    else this.log(await ipam.showBlockUtilization(ds, false))
  }
}
