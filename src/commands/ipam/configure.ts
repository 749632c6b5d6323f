import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'

export default class IpamConfigure extends NetctlCommand {
  static override summary = 'Configure IPAM (like calicoctl ipam configure).'
  static override description = 'Sets StrictAffinity, MaxBlocksPerHost, KubeVirtVMAddressPersistence and IPCooldownSeconds in the IPAMConfig "default" (created from Calico\'s defaults when there is none). MaxBlocksPerHost needs StrictAffinity.'
  static override examples = ['<%= config.bin %> ipam configure --strictaffinity=true', '<%= config.bin %> ipam configure --strictaffinity=true --max-blocks-per-host 4']
  static override flags = {
    strictaffinity: Flags.string({summary: 'Set StrictAffinity to true/false.'}),
    'max-blocks-per-host': Flags.string({summary: 'Set the maximum number of blocks that can be affine to a host.'}),
    'kubevirt-ip-persistence': Flags.string({summary: 'Control whether KubeVirt VMs retain persistent IP addresses (Enabled|Disabled).'}),
    'ip-cooldown-seconds': Flags.integer({summary: 'Set the minimum time between release and re-allocation of an IP address.', default: -1}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(IpamConfigure)
    const {configureIpam} = await import('../../ipam/service.js')
    const ds = await this.datastore(flags)
    this.log((await configureIpam(ds, {strictAffinity: flags.strictaffinity, maxBlocksPerHost: flags['max-blocks-per-host'], kubeVirtIpPersistence: flags['kubevirt-ip-persistence'], ipCooldownSeconds: flags['ip-cooldown-seconds']})).join('\n'))
  }
}
