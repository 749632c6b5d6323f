import {NetctlCommand} from '../../cli/base-command.js'
import {formatColumns} from '../../cli/output.js'
import {labList, type LabListing} from '../../lab/lab.js'

export default class LabList extends NetctlCommand {
  static override summary = 'List the labs netctl recorded, each with its mode and health (exit 1 if one is unhealthy).'
  static override enableJsonFlag = true

  async run(): Promise<{labs: LabListing[]}> {
    const {flags} = await this.parse(LabList)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const labs = await labList(values.stateDir)
    this.log(formatColumns([['NAME', 'FLAVOR', 'MODE', 'BGP', 'NODES', 'PODS', 'HEALTH', 'CURRENT'], ...labs.map((l) => [l.name, l.flavor, l.mode, l.bgp, String(l.nodes), String(l.pods), l.health, l.current ? '*' : ''])]))
    if (labs.some((l) => !l.healthy)) process.exitCode = 1
    return {labs}
  }
}
