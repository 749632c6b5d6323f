import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {poolChangeTable} from '../../cli/pool-table.js'
import {cancelled, confirm, isInteractive} from '../../cli/prompts.js'
import {NetctlError} from '../../errors.js'
import type {IPPool} from '../../resources/types.js'
import {encapChange, encapTargets, planEncap, setIpPool, type Encapsulation} from '../../services/ippool.js'
import {addPhase, phaseReport, timed} from '../../dataplane/phases.js'

const encapsulations = ['ipip', 'vxlan', 'none'] as const satisfies readonly Encapsulation[]

export default class EncapSet extends NetctlCommand {
  static override summary = 'Switch the encapsulation of every IPv4 pool (or the named ones) at once.'
  static override examples = [
    '<%= config.bin %> encap set vxlan',
    '<%= config.bin %> encap set ipip --cross-subnet',
    '<%= config.bin %> encap set none --pool default-ipv4-ippool --yes',
  ]
  static override enableJsonFlag = true
  static override args = {
    encapsulation: Args.string({ignoreStdin: true, required: true, options: [...encapsulations], description: 'ipip, vxlan or none.'}),
  }
  static override flags = {
    'cross-subnet': Flags.boolean({summary: 'Encapsulate only between nodes in different subnets.'}),
    pool: Flags.string({multiple: true, summary: 'Only this pool (repeatable).'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'}),
  }

  async run(): Promise<{pools: Array<{before: IPPool; after: IPPool; tries: number}>}> {
    // Node and oclif starting up, up to here.
    addPhase('netctl start-up (node, oclif, imports)', performance.now())
    const {args, flags} = await this.parse(EncapSet)
    const encapsulation = args.encapsulation as Encapsulation
    if (encapsulation === 'none' && flags['cross-subnet']) {
      throw new NetctlError('usage', '--cross-subnet needs an encapsulation', 'use netctl encap set ipip --cross-subnet or vxlan --cross-subnet')
    }
    const change = encapChange(encapsulation, flags['cross-subnet'])
    const previewed = performance.now()
    const ds = await this.datastore(flags)
    const targets = await encapTargets(ds, flags.pool ?? [])
    const preview = await planEncap(ds, targets, change)
    this.log(await poolChangeTable(preview))
    addPhase('datastore open, pool preview', performance.now() - previewed)
    if (isInteractive() && !flags.yes && !(await confirm(`Switch ${targets.length} pool(s) to ${encapsulation}?`))) {
      throw cancelled()
    }
    const pools = []
    for (const pool of targets) pools.push(await timed('datastore write (admission included)', () => setIpPool(ds, pool.metadata.name, change)))
    const mode = `${encapsulation}${flags['cross-subnet'] ? ' (CrossSubnet)' : ''}`
    const switched = pools.filter((p) => p.changed).length
    // Nothing to switch: nothing written, no resourceVersion bumped, no lab reprogrammed.
    if (switched === 0) {
      this.log(`${pools.length} IPPool(s) already use ${mode}: unchanged`)
      return {pools}
    }
    this.log(`Successfully switched ${switched} IPPool(s) to ${mode}${switched < pools.length ? `; ${pools.length - switched} already used it` : ''}`)
    await timed('lab reconcile', () => this.reconcileLabAfterWrite(flags))
    if (flags.debug || process.env.NETCTL_PHASES) this.logToStderr(phaseReport())
    return {pools}
  }
}
