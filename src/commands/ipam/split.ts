import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'

export default class IpamSplit extends NetctlCommand {
  static override summary = 'Split an IP pool into the specified number of smaller IP pools (like calicoctl ipam split).'
  static override description = 'The pool is disabled, pools split-<name>-0 … over equal parts of its CIDR are created, and the pool is deleted. As calicoctl, only with the datastore locked (ClusterInformation spec.datastoreReady: false); --force skips that check.'
  static override examples = ['<%= config.bin %> ipam split 4 --name default-ipv4-ippool', '<%= config.bin %> ipam split 2 --cidr 10.10.0.0/16']
  static override args = {
    number: Args.integer({required: true, description: 'How many pools: a power of 2.'}),
  }
  static override flags = {
    cidr: Flags.string({summary: 'CIDR of the pool to split.'}),
    name: Flags.string({summary: 'Name of the pool to split.'}),
    force: Flags.boolean({summary: 'Split even when the datastore is not locked.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(IpamSplit)
    const {splitPool} = await import('../../ipam/service.js')
    const ds = await this.datastore(flags)
    this.log((await splitPool(ds, {parts: args.number, cidr: flags.cidr, name: flags.name, force: flags.force})).join('\n'))
  }
}
