import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {progressReporter} from '../../cli/progress.js'
import {resolveLabName, setFlannelBackend} from '../../lab/lab.js'
import {flannelBackends, type FlannelBackend} from '../../lab/topology/topology.js'

export default class LabSetBackend extends NetctlCommand {
  static override summary = "Switch a running flannel lab's backend (host-gw, vxlan or udp), live."
  static override description = 'Every node is reprogrammed by diff, make before break: new devices (and the udp proxies) first, then routes, then what is no longer used. Pods keep running and no packet is lost.'
  static override examples = ['<%= config.bin %> lab set-backend vxlan', '<%= config.bin %> lab set-backend vxlan --direct-routing', '<%= config.bin %> lab set-backend udp --lab flan']
  static override enableJsonFlag = true
  static override args = {backend: Args.string({ignoreStdin: true, required: true, options: [...flannelBackends], description: flannelBackends.join(', ')})}
  static override flags = {'direct-routing': Flags.boolean({summary: 'vxlan: host-gw routes to peers on the same subnet.'})}

  async run(): Promise<{lab: string; backend: FlannelBackend; changes: number}> {
    const {args, flags} = await this.parse(LabSetBackend)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const lab = resolveLabName(values.stateDir, flags.lab)
    const backend: FlannelBackend = {type: args.backend as FlannelBackend['type'], directRouting: flags['direct-routing']}
    const reporter = await progressReporter()
    const {changes} = await setFlannelBackend(values.stateDir, lab, backend, reporter.progress).finally(reporter.done)
    this.log(`Lab "${lab}" now uses the flannel ${backend.type}${backend.directRouting ? ' (DirectRouting)' : ''} backend: ${changes} kernel changes.`)
    return {lab, backend, changes}
  }
}
