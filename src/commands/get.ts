import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../cli/base-command.js'
import {asDocument, exportResource, formatTable, outputFormats, parseOutputFormat, templateRenderer, toJson, toYaml, writeListingPages} from '../cli/output.js'
import {choose, isInteractive, missing} from '../cli/prompts.js'
import type {Datastore} from '../datastore/datastore.js'
import {isNetctlError, NetctlError} from '../errors.js'
import {bgpConfigurationKind} from '../resources/bgp.js'
import type {ColumnContext} from '../resources/kind.js'
import {kindInfo, kinds} from '../resources/registry.js'
import type {KindInfo} from '../resources/kind.js'
import type {Resource} from '../resources/types.js'
import {checkNamespaceFlags, findResourcePages, findResources} from '../services/resources.js'

export default class Get extends NetctlCommand {
  static override summary = 'Show resources: a table, the objects as YAML or JSON, or through a go-template or jsonpath.'
  static override examples = [
    '<%= config.bin %> get ippools',
    '<%= config.bin %> get ippools -o wide',
    '<%= config.bin %> get ippool default-ipv4-ippool -o yaml',
    '<%= config.bin %> get workloadendpoints -A',
    '<%= config.bin %> get weps -o custom-columns=NAME,NETWORKS',
    '<%= config.bin %> get ippool,node',
    "<%= config.bin %> get ippools -l 'env == \"prod\"'",
    `<%= config.bin %> get ippools -o go-template='{{range .items}}{{.metadata.name}}{{"\\t"}}{{.spec.cidr}}{{"\\n"}}{{end}}'`,
    `<%= config.bin %> get ippools -o jsonpath='{range .items[*]}{.metadata.name}{"\\t"}{.spec.cidr}{"\\n"}{end}'`,
    '<%= config.bin %> get ippool default-ipv4-ippool -o yaml --export',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {
    kind: Args.string({ignoreStdin: true, description: `Kind or alias: ${kinds.map((k) => k.aliases[0]).join(', ')}`}),
    name: Args.string({ignoreStdin: true, description: 'Names of the objects to show (all when none).'}),
  }
  static override flags = {
    output: Flags.string({
      char: 'o',
      summary: 'Output format: ps, wide, yaml (or yml), json, custom-columns=A,B, go-template=T, go-template-file=F, jsonpath=E or jsonpath-file=F.',
      description: `Templates see what -o json shows: the object when one name is given, else a List with items. go-template: {{.metadata.name}}, {{range .items}}...{{end}}, {{index .metadata.labels "k"}}, if/else, with, variables, pipelines, {{- -}}, and the functions and, or, not, len, index, printf, print, println, eq, ne, lt, le, gt, ge, join. jsonpath (kubectl's): {.items[*].metadata.name}, {range .items[*]}...{end}, [?(@.spec.disabled==true)], .., unions and slices. Values: ${outputFormats.join(', ')}`,
      default: 'ps',
    }),
    export: Flags.boolean({summary: 'Leave out cluster-specific metadata (uid, resourceVersion, creationTimestamp; a named object\'s namespace), to create it elsewhere.'}),
    namespace: Flags.string({char: 'n', summary: 'Namespace of namespaced kinds (default: default).'}),
    'all-namespaces': Flags.boolean({char: 'A', summary: 'List namespaced kinds across all namespaces.'}),
    // calicoctl has always taken -a for -A too; oclif gives a flag one letter, so a hidden twin.
    'all-namespaces-a': Flags.boolean({char: 'a', hidden: true, summary: 'Same as -A.'}),
    node: Flags.string({summary: 'Only workload endpoints on this node.'}),
    selector: Flags.string({char: 'l', summary: "Only objects whose labels match this Calico selector, e.g. 'env == \"prod\" && has(tier)'."}),
  }

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Get)
    // calicoctl takes -o yml for -o yaml.
    const format = parseOutputFormat(flags.output === 'yml' ? 'yaml' : flags.output)
    // A template is read and parsed before the datastore is opened: a bad one fails fast, exit 2.
    const render = 'source' in format ? await templateRenderer(format, async (path) => (await import('../cli/input.js')).readTextFile(path)) : undefined
    const allNamespaces = flags['all-namespaces'] || flags['all-namespaces-a']
    let [kindArg, ...names] = argv as string[]
    if (!kindArg) {
      if (!isInteractive()) throw missing('the kind to get', 'netctl get ippools')
      kindArg = await choose('Which kind?', kinds.map((k) => ({value: k.plural, name: k.kind})))
    }
    // kubectl's habit: several kinds at once, comma-separated (get ippool,node).
    const infos = [...new Set(kindArg.split(',').filter((k) => k !== '').map((k) => kindInfo(k)))]
    if (infos.length === 0) throw missing('the kind to get', 'netctl get ippools')
    if (infos.length > 1 && names.length > 0) throw new NetctlError('usage', 'names can only be given with one kind', `run netctl get ${infos[0]!.aliases[0]} ${names.join(' ')}, or drop the names`)
    for (const info of infos) checkNamespaceFlags(info, {namespace: flags.namespace, allNamespaces})
    const ds = await this.datastore(flags)
    if (flags.node && infos.some((info) => info.kind !== 'WorkloadEndpoint')) throw new NetctlError('usage', '--node only applies to workloadendpoints', `drop --node, or run netctl get workloadendpoints --node ${flags.node}`)
    const selection = {namespace: flags.namespace, allNamespaces, node: flags.node, selector: flags.selector}
    // A whole listing of one kind from a backend that reads in pages: printed as the pages come.
    const pages = names.length === 0 && infos.length === 1 && !this.jsonEnabled() && !render && !flags.export ? findResourcePages(ds, infos[0]!, selection) : undefined
    if (pages) {
      const info = infos[0]!
      const context: ColumnContext = {}
      if (info.kind === 'Node' && format.type !== 'ps') context.defaultASNumber = await clusterASNumber(ds)
      const namespaceColumn = allNamespaces || flags.namespace !== undefined
      await writeListingPages(info, pages, format, {namespaceColumn, context}, (text) => process.stdout.write(text))
      return undefined
    }
    const results: Array<{info: KindInfo; resources: Resource[]}> = []
    const missingOnes: NetctlError[] = []
    for (const info of infos) {
      const {found, missing: notFound} = await findResources(ds, info, names, selection)
      results.push({info, resources: flags.export ? found.map((r) => exportResource(r, {dropNamespace: names.length > 0})) : found})
      missingOnes.push(...notFound)
    }
    // One name asked for and not there: the error alone, as before.
    if (names.length === 1 && missingOnes.length === 1) throw missingOnes[0]
    const document =
      results.length === 1
        ? asDocument(results[0]!.info, results[0]!.resources, names.length === 1)
        : {apiVersion: 'v1', kind: 'List', items: results.flatMap((r) => r.resources)}
    // Every name missing: the errors alone, no empty list or table.
    const nothingFound = missingOnes.length > 0 && results.every((r) => r.resources.length === 0)
    if (nothingFound) {
      // nothing to show
    } else if (render) {
      // Exactly what the template makes, no newline added (as calicoctl and kubectl).
      const text = render(document)
      if (!this.jsonEnabled()) process.stdout.write(text)
    } else if (format.type === 'yaml') this.log(await toYaml(document))
    else if (format.type === 'json') this.log(toJson(document))
    else {
      const tables: string[] = []
      for (const {info, resources} of results) {
        // Several kinds: skip the empty ones, as kubectl does; one kind: its (maybe empty) table.
        if (results.length > 1 && resources.length === 0) continue
        const context: ColumnContext = {}
        if (info.kind === 'Node' && format.type !== 'ps') context.defaultASNumber = await clusterASNumber(ds)
        const namespaceColumn = allNamespaces || flags.namespace !== undefined
        tables.push(formatTable(info, resources, {format, namespaceColumn, context}))
      }
      if (tables.length > 0) this.log(tables.join('\n\n'))
    }
    // kubectl get a b c: what exists is shown, each missing name gets its own error line, exit 1.
    if (missingOnes.length > 0) {
      for (const error of missingOnes.slice(0, -1)) this.logToStderr(`Error: ${error.message}`)
      throw missingOnes.at(-1)!
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
