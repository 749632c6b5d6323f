import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'

export default class IpamConfigure extends NetctlCommand {
  static override summary = 'Configure IPAM (like calicoctl ipam configure).'
  static override description = 'Sets StrictAffinity and MaxBlocksPerHost in the IPAMConfig "default" (created from Calico\'s defaults when there is none). MaxBlocksPerHost needs StrictAffinity.'
  static override examples = ['<%= config.bin %> ipam configure --strictaffinity=true', '<%= config.bin %> ipam configure --strictaffinity=true --max-blocks-per-host 4']
  static override flags = {
    strictaffinity: Flags.string({summary: 'Set StrictAffinity to true/false.'}),
    'max-blocks-per-host': Flags.string({summary: 'Set the maximum number of blocks that can be affine to a host.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(IpamConfigure)
    const {configureIpam} = await import('../../ipam/service.js')
    const ds = await this.datastore(flags)
    this.log((await configureIpam(ds, {strictAffinity: flags.strictaffinity, maxBlocksPerHost: flags['max-blocks-per-host']})).join('\n'))
  }
}
