import {NetctlCommand} from '../../cli/base-command.js'
import {formatColumns} from '../../cli/output.js'
import {labList} from '../../lab/lab.js'

export default class LabList extends NetctlCommand {
  static override summary = 'List the labs netctl recorded.'
  static override enableJsonFlag = true

  async run(): Promise<{labs: ReturnType<typeof labList>}> {
    const {flags} = await this.parse(LabList)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const labs = labList(values.stateDir)
    this.log(formatColumns([['NAME', 'FLAVOR', 'NODES', 'PODS', 'CURRENT'], ...labs.map((l) => [l.name, l.flavor, String(l.nodes), String(l.pods), l.current ? '*' : ''])]))
    return {labs}
  }
}
