import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../cli/base-command.js'
import {asDocument, formatTable, parseOutputFormat, toJson, toYaml} from '../cli/output.js'
import {choose, isInteractive, missing} from '../cli/prompts.js'
import type {Datastore} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {bgpConfigurationKind} from '../resources/bgp.js'
import type {ColumnContext} from '../resources/kind.js'
import {kindInfo, kinds} from '../resources/registry.js'
import {checkNamespaceFlags, getResources} from '../services/resources.js'

export default class Get extends NetctlCommand {
  static override summary = 'Show resources: a table, or the objects as YAML or JSON.'
  static override examples = [
    '<%= config.bin %> get ippools',
    '<%= config.bin %> get ippools -o wide',
    '<%= config.bin %> get ippool default-ipv4-ippool -o yaml',
    '<%= config.bin %> get workloadendpoints -A',
    '<%= config.bin %> get weps -o custom-columns=NAME,NETWORKS',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {
    kind: Args.string({ignoreStdin: true, description: `Kind or alias: ${kinds.map((k) => k.aliases[0]).join(', ')}`}),
    name: Args.string({ignoreStdin: true, description: 'Names of the objects to show (all when none).'}),
  }
  static override flags = {
    output: Flags.string({char: 'o', summary: 'Output format: ps, wide, yaml (or yml), json or custom-columns=A,B.', default: 'ps'}),
    namespace: Flags.string({char: 'n', summary: 'Namespace of namespaced kinds (default: default).'}),
    'all-namespaces': Flags.boolean({char: 'A', summary: 'List namespaced kinds across all namespaces.'}),
    // calicoctl has always taken -a for -A too; oclif gives a flag one letter, so a hidden twin.
    'all-namespaces-a': Flags.boolean({char: 'a', hidden: true, summary: 'Same as -A.'}),
    node: Flags.string({summary: 'Only workload endpoints on this node.'}),
  }

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Get)
    // calicoctl takes -o yml for -o yaml.
    const format = parseOutputFormat(flags.output === 'yml' ? 'yaml' : flags.output)
    const allNamespaces = flags['all-namespaces'] || flags['all-namespaces-a']
    let [kindArg, ...names] = argv as string[]
    if (!kindArg) {
      if (!isInteractive()) throw missing('the kind to get', 'netctl get ippools')
      kindArg = await choose('Which kind?', kinds.map((k) => ({value: k.plural, name: k.kind})))
    }
    const info = kindInfo(kindArg)
    checkNamespaceFlags(info, {namespace: flags.namespace, allNamespaces})
    const ds = await this.datastore(flags)
    if (flags.node && info.kind !== 'WorkloadEndpoint') throw new NetctlError('usage', '--node only applies to workloadendpoints', `drop --node, or run netctl get workloadendpoints --node ${flags.node}`)
    const resources = await getResources(ds, info, names, {namespace: flags.namespace, allNamespaces, node: flags.node})
    const document = asDocument(info, resources, names.length === 1)
    if (format.type === 'yaml') this.log(await toYaml(document))
    else if (format.type === 'json') this.log(toJson(document))
    else {
      const context: ColumnContext = {}
      if (info.kind === 'Node' && format.type !== 'ps') context.defaultASNumber = await clusterASNumber(ds)
      const namespaceColumn = allNamespaces || flags.namespace !== undefined
      this.log(formatTable(info, resources, {format, namespaceColumn, context}))
    }
    return document
  }
}

async function clusterASNumber(ds: Datastore): Promise<number | undefined> {
  try {
    const config = await ds.get(bgpConfigurationKind, 'default')
    return typeof config.spec?.asNumber === 'number' ? config.spec.asNumber : undefined
  } catch (error) {
    if (isNetctlError(error, 'not-found')) return undefined
    throw error
  }
}
