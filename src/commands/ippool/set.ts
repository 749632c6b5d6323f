import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {poolChangeTable} from '../../cli/pool-table.js'
import {cancelled, choose, confirm, isInteractive, missing} from '../../cli/prompts.js'
import {NetctlError} from '../../errors.js'
import {ipPoolKind} from '../../resources/ippool.js'
import {encapModes, type IPPool} from '../../resources/types.js'
import {encapChange, isEmptyChange, planEncap, setIpPool, type Encapsulation, type PoolChange} from '../../services/ippool.js'

export default class IppoolSet extends NetctlCommand {
  static override summary = "Change a pool's encapsulation, NAT or disabled flag."
  static override description = 'Re-reads and re-applies the change if another writer changed the pool in between. On a terminal with no flags it asks what to change.'
  static override examples = [
    '<%= config.bin %> ippool set default-ipv4-ippool --ipip Never',
    '<%= config.bin %> ippool set default-ipv4-ippool --vxlan CrossSubnet --ipip Never',
    '<%= config.bin %> ippool set default-ipv4-ippool --nat-outgoing',
  ]
  static override enableJsonFlag = true
  static override args = {name: Args.string({ignoreStdin: true, description: 'Name of the IP pool.'})}
  static override flags = {
    ipip: Flags.option({options: encapModes, summary: 'IPIP mode.'})(),
    vxlan: Flags.option({options: encapModes, summary: 'VXLAN mode.'})(),
    'nat-outgoing': Flags.boolean({allowNo: true, summary: 'Masquerade traffic from pods to outside the pools.'}),
    disabled: Flags.boolean({allowNo: true, summary: 'Stop assigning addresses from the pool.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'}),
  }

  async run(): Promise<{before: IPPool; after: IPPool; tries: number}> {
    const {args, flags} = await this.parse(IppoolSet)
    const ds = await this.datastore(flags)
    const interactive = isInteractive()
    let name = args.name
    if (!name) {
      if (!interactive) throw missing('the pool name', 'netctl ippool set default-ipv4-ippool --ipip Never')
      const pools = await ds.list(ipPoolKind)
      if (pools.length === 0) throw new NetctlError('not-found', 'there are no IP pools', 'create one first: netctl apply -f pool.yaml')
      name = await choose('Which pool?', pools.map((p) => ({value: p.metadata.name, description: String(p.spec?.cidr)})))
    }
    let change: PoolChange = {ipipMode: flags.ipip, vxlanMode: flags.vxlan, natOutgoing: flags['nat-outgoing'], disabled: flags.disabled}
    const asked = isEmptyChange(change)
    if (asked) {
      if (!interactive) throw missing('a change (--ipip, --vxlan, --nat-outgoing or --disabled)', `netctl ippool set ${name} --ipip Never`)
      change = await chooseEncapsulation()
    }
    // On a terminal every change is shown and confirmed first, as encap set does; --yes skips it.
    if (interactive && !flags.yes) {
      const current = (await ds.get(ipPoolKind, name)) as IPPool
      const [preview] = await planEncap(ds, [current], change)
      this.log(await poolChangeTable([preview!]))
      if (!(await confirm('Apply this change?'))) throw cancelled()
    }
    const update = await setIpPool(ds, name, change)
    if (!update.changed) {
      this.log(`IPPool "${name}" unchanged: it is already as asked`)
      return update
    }
    this.log(await poolChangeTable([update]))
    const retried = update.tries > 1 ? ` (re-applied ${update.tries - 1} time(s) after concurrent changes)` : ''
    this.log(`Successfully updated IPPool "${name}"${retried}`)
    await this.reconcileLabAfterWrite(flags)
    return update
  }
}

async function chooseEncapsulation(): Promise<PoolChange> {
  const choice = await choose<`${Encapsulation}:${'Always' | 'CrossSubnet'}` | 'none:Always'>('Encapsulation for the pool?', [
    {value: 'ipip:Always', name: 'IPIP, always'},
    {value: 'ipip:CrossSubnet', name: 'IPIP, only across subnets'},
    {value: 'vxlan:Always', name: 'VXLAN, always'},
    {value: 'vxlan:CrossSubnet', name: 'VXLAN, only across subnets'},
    {value: 'none:Always', name: 'No encapsulation'},
  ])
  const [encapsulation, mode] = choice.split(':') as [Encapsulation, string]
  return encapChange(encapsulation, mode === 'CrossSubnet')
}
