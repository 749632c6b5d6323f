import {writeFileSync} from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {NetctlError} from '../../errors.js'
import {resolveLabName} from '../../lab/lab.js'
import {gatherLabFacts, graphFormats, renderLabGraph} from '../../lab/inspect/graph.js'

/** The namespaces a packet crosses, and how it ends, as lab trace computes it. */
async function tracedPath(stateDir: string, lab: string, from: string, to: string): Promise<{namespaces: string[]; summary: string}> {
  const {labTrace} = await import('../../lab/inspect/trace.js')
  const trace = await labTrace(stateDir, lab, from, to)
  const end = trace.result.delivered ? `delivered, ttl=${trace.result.ttl}` : `dropped: ${trace.result.reason}`
  return {namespaces: trace.hops.map((h) => h.netns), summary: `path ${from} → ${to} (${end})`}
}

export default class LabGraph extends NetctlCommand {
  static override summary = 'Draw a lab: underlay, nodes, pods, tunnels, BGP sessions and their state.'
  static override description = 'Mermaid (the default) and DOT are text; svg and html run Graphviz\'s dot. BGP sessions are drawn as BIRD reports them (unknown when BIRD is not running).'
  static override examples = ['<%= config.bin %> lab graph', '<%= config.bin %> lab graph -o svg --trace busybox-controlplane-0 busybox-node01-0 --output-file path.svg', '<%= config.bin %> lab graph demo -o html --output-file demo.html', '<%= config.bin %> lab graph -o dot | dot -Tpng > lab.png']
  static override args = {name: Args.string({ignoreStdin: true, description: 'Lab (default: the current one, or the only one).'})}
  static override flags = {
    output: Flags.option({char: 'o', options: graphFormats, default: 'mermaid' as const, summary: 'Output format.'})(),
    'output-file': Flags.string({summary: 'Write to this file instead of stdout.'}),
    trace: Flags.string({multiple: true, summary: 'FROM TO: highlight the path a packet takes (as lab trace computes it).'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(LabGraph)
    const {values} = await this.resolveConfig({...flags, lab: undefined})
    const name = resolveLabName(values.stateDir, args.name ?? flags.lab)
    if (flags.trace && flags.trace.length !== 2) throw new NetctlError('usage', `--trace takes two ends, FROM and TO; got ${flags.trace.length}`, 'e.g. --trace busybox-controlplane-0 busybox-node01-0')
    const path = flags.trace ? await tracedPath(values.stateDir, name, flags.trace[0]!, flags.trace[1]!) : undefined
    const {text, warning} = await renderLabGraph(await gatherLabFacts(values.stateDir, name), flags.output, path)
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
