import {Args} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {clusterTables} from '../../cli/lab-output.js'
import {labStatus, resolveLabName, type LabStatus} from '../../lab/lab.js'

export default class LabStatusCommand extends NetctlCommand {
  static override summary = "Show a lab's nodes and pods: addresses, blocks, interfaces, namespaces."
  static override enableJsonFlag = true
  static override args = {name: Args.string({ignoreStdin: true, description: 'Lab (default: the current one, or the only one).'})}

  async run(): Promise<LabStatus> {
    const {args, flags} = await this.parse(LabStatusCommand)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const status = await labStatus(values.stateDir, resolveLabName(values.stateDir, args.name ?? flags.lab))
    this.log(`Lab "${status.name}" (${status.flavor})${status.current ? ', the current context' : ''}: ${status.nodes.length} nodes, ${status.pods.length} pods.`)
    if (status.missingNamespaces.length > 0) this.log(`Missing namespaces (run netctl lab up to repair): ${status.missingNamespaces.join(', ')}`)
    this.log('')
    this.log(clusterTables(status))
    return status
  }
}
