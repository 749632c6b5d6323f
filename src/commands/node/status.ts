import {Flags} from '@oclif/core'

import {nodeStatus, type NodeStatus} from '../../bgp/status.js'
import {NetctlCommand} from '../../cli/base-command.js'
import {peerTable} from '../../cli/bgp-table.js'
import {toJson, toYaml} from '../../cli/output.js'
import {labBirdSockets, resolveLabName} from '../../lab/lab.js'

export default class NodeStatusCommand extends NetctlCommand {
  static override summary = "Show this node's BGP peers as BIRD reports them (like calicoctl node status)."
  static override description = 'On a Calico node it reads BIRD\'s control socket (/var/run/calico/bird.ctl, bird6.ctl, then /var/run/bird/bird.ctl). With --lab, or in a lab context (netctl config use-context), it asks the BIRD of each lab node (or of --node).'
  static override examples = ['sudo <%= config.bin %> node status', '<%= config.bin %> node status --socket /run/bird/bird.ctl -o json', '<%= config.bin %> node status --lab demo --node node01']
  static override enableJsonFlag = true
  static override flags = {
    socket: Flags.string({multiple: true, summary: 'BIRD control socket to ask (repeatable).', exclusive: ['node']}),
    node: Flags.string({summary: 'With a lab: only this node.'}),
    output: Flags.option({char: 'o', options: ['table', 'yaml', 'json'] as const, default: 'table' as const, summary: 'Output format.'})(),
  }

  async run(): Promise<NodeStatus | {nodes: Record<string, NodeStatus>}> {
    const {flags} = await this.parse(NodeStatusCommand)
    // The current lab context counts like --lab (as for get), unless a socket is named.
    const {values} = await this.resolveConfig(flags)
    const current = flags.socket ? undefined : flags.lab ?? values.lab
    if (!current && !flags.node) {
      const status = await nodeStatus(flags.socket)
      await this.print(flags.output, status)
      return status
    }
    const lab = resolveLabName(values.stateDir, current)
    const nodes: Record<string, NodeStatus> = {}
    for (const [node, socket] of Object.entries(labBirdSockets(values.stateDir, lab, flags.node))) nodes[node] = await nodeStatus([socket])
    if (flags.output !== 'table') await this.print(flags.output, {nodes})
    else for (const [node, status] of Object.entries(nodes)) this.log(`Node ${node}:\n${await this.table(status)}\n`)
    return {nodes}
  }

  private async print(output: 'table' | 'yaml' | 'json', data: NodeStatus | {nodes: Record<string, NodeStatus>}): Promise<void> {
    if (output === 'json') this.log(toJson(data))
    else if (output === 'yaml') this.log(await toYaml(data))
    else this.log(await this.table(data as NodeStatus))
  }

  private async table(status: NodeStatus): Promise<string> {
    return `BIRD is running (${status.sockets.join(', ')}).\n\n${await peerTable(4, status.ipv4)}\n\n${await peerTable(6, status.ipv6)}`
  }
}
