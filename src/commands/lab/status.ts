import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {clusterTables} from '../../cli/lab-output.js'
import {isInteractive} from '../../cli/prompts.js'
import {labStatus, resolveLabName, type LabStatus} from '../../lab/lab.js'

export default class LabStatusCommand extends NetctlCommand {
  static override summary = "Show a lab's health, mode, nodes and pods; exit 1 when something is wrong."
  static override description = 'Healthy means: every namespace is there and matches the lab\'s plan (what lab up would change is nothing), every daemon runs, and with BGP every session is Established and every block routed. Anything wrong is named with the command that repairs it.'
  static override enableJsonFlag = true
  static override args = {name: Args.string({ignoreStdin: true, description: 'Lab (default: the current one, or the only one).'})}
  static override flags = {full: Flags.boolean({summary: 'On a terminal, show every node and pod (large labs are summarised).'})}

  async run(): Promise<LabStatus> {
    const {args, flags} = await this.parse(LabStatusCommand)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const status = await labStatus(values.stateDir, resolveLabName(values.stateDir, args.name ?? flags.lab))
    const {health} = status
    this.log(`Lab "${status.name}" (${status.flavor}, ${health.mode}, BGP ${health.bgp})${status.current ? ', the current context' : ''}: ${status.nodes.length} nodes, ${status.pods.length} pods.`)
    if (health.healthy) this.log('Health: ok')
    else {
      this.log(`Health: ${health.problems.length} problems`)
      for (const p of health.problems) this.log(`  - ${p.problem}\n    fix: ${p.fix}`)
    }
    this.log('')
    this.log(clusterTables(status, isInteractive() && !flags.full))
    if (!health.healthy) process.exitCode = 1
    return status
  }
}
