import {writeFileSync} from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
import {resolveLabName} from '../../lab/lab.js'
import {gatherLabFacts, graphFormats, renderLabGraph} from '../../lab/inspect/graph.js'

export default class LabGraph extends NetctlCommand {
  static override summary = 'Draw a lab: underlay, nodes, pods, tunnels, BGP sessions and their state.'
  static override description = 'Mermaid (the default) and DOT are text; svg and html run Graphviz\'s dot. BGP sessions are drawn as BIRD reports them (unknown when BIRD is not running).'
  static override examples = ['<%= config.bin %> lab graph', '<%= config.bin %> lab graph demo -o html --output-file demo.html', '<%= config.bin %> lab graph -o dot | dot -Tpng > lab.png']
  static override args = {name: Args.string({ignoreStdin: true, description: 'Lab (default: the current one, or the only one).'})}
  static override flags = {
    output: Flags.option({char: 'o', options: graphFormats, default: 'mermaid' as const, summary: 'Output format.'})(),
    'output-file': Flags.string({summary: 'Write to this file instead of stdout.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(LabGraph)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const name = resolveLabName(values.stateDir, args.name ?? flags.lab)
    const {text, warning} = await renderLabGraph(await gatherLabFacts(values.stateDir, name), flags.output)
    if (warning) this.logToStderr(`Warning: ${warning}; raise maxTextSize/maxEdges in Mermaid's config, or draw it with -o svg or -o html.`)
    if (!flags['output-file']) {
      process.stdout.write(text)
      return
    }
    try {
      writeFileSync(flags['output-file'], text)
    } catch (error) {
      throw new NetctlError('unavailable', `cannot write ${flags['output-file']}: ${(error as Error).message}`, 'pick a file in a directory you can write to')
    }
    this.logToStderr(`Wrote ${flags.output} of lab "${name}" to ${flags['output-file']}.`)
  }
}
