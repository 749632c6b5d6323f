import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import type {DiagsResult} from '../../services/diags.js'

export default class NodeDiags extends NetctlCommand {
  static override summary = 'Collect this node\'s network diagnostics into a .tar.gz (like calicoctl node diags).'
  static override description = [
    'On a host: routes, addresses, links, neighbours, the nftables ruleset (and iptables/ipset when installed), sockets, and BIRD\'s protocols and routes through its control socket when one is there. It only reads: nothing on the host is changed. Some reads (nft) need root; what fails is listed in the bundle\'s notes file.',
    'With --lab, or in a lab context: every namespace the lab recorded (ip -n NS addr/route/neigh/link, nft list ruleset) and each node\'s BIRD (protocols, routes, bird.conf, bird.log).',
    'Not collected, unlike calicoctl: journalctl, container logs and Felix stats (netctl runs no calico-node).',
  ].join('\n\n')
  static override examples = ['sudo <%= config.bin %> node diags', '<%= config.bin %> node diags --lab demo']
  static override enableJsonFlag = true
  static override flags = {
    'log-dir': Flags.string({summary: 'The directory containing Calico logs, copied into the bundle when it exists (default on a host: /var/log/calico; a lab\'s BIRD logs are always collected).'}),
  }

  async run(): Promise<DiagsResult> {
    const {flags} = await this.parse(NodeDiags)
    const {values} = await this.resolveConfig(flags)
    const [{collectDiags}, {resolveLabName}] = await Promise.all([import('../../services/diags.js'), import('../../lab/lab.js')])
    const labName = flags.lab ?? values.lab
    const lab = labName ? {name: resolveLabName(values.stateDir, labName), stateDir: values.stateDir} : undefined
    this.log('Collecting diagnostics')
    const logDir = flags['log-dir'] ?? (lab ? undefined : '/var/log/calico')
    const result = await collectDiags({scope: 'node', lab, logDir, keepDirectory: true, progress: (line) => this.log(line)})
    for (const note of result.notes) this.logToStderr(`Not collected: ${note}`)
    this.log(`\nDiags saved to ${result.archive}`)
    this.log('If required, you can upload the diagnostics bundle to a file sharing service.')
    return result
  }
}
