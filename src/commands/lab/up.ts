import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {readDocument} from '../../cli/input.js'
import {progressReporter} from '../../cli/progress.js'
import {clusterTables, tryCommand} from '../../cli/lab-output.js'
import {NetctlError} from '../../errors.js'
import {basicLabKinds, type BasicLabKind} from '../../lab/plan/basic.js'
import {basicLabUp, labUp, type BasicLabSummary, type LabSummary} from '../../lab/lab.js'
import {checkPrivileges} from '../../dataplane/preflight.js'
import {readLabRecord} from '../../lab/state.js'
import {calicoEncapsulations, flannelBackends, flavors, resolveTopology, type CalicoEncapsulation, topologyChange, topologyName, type FlannelBackend, type TopologyChange, type TopologyRequest} from '../../lab/topology/topology.js'
import {cancelled, confirm, isInteractive} from '../../cli/prompts.js'

export default class LabUp extends NetctlCommand {
  static override summary = 'Build a lab (or reconcile a running one to its topology).'
  static override description = `A cluster lab (calico or flannel) is made of network namespaces: an underlay with a router, one namespace per node and per pod, wired the way the CNI plugins wire them. It keeps its Nodes, IPPool and WorkloadEndpoints in its own datastore and becomes the current context, so "netctl get workloadendpoints" shows its pods. With a kind (${basicLabKinds.join(', ')}) it builds the small lab of that name from the netns article instead.`
  static override examples = [
    '<%= config.bin %> lab up',
    '<%= config.bin %> lab up --flavor flannel --nodes 3 --pods-per-node 2 --name flan',
    '<%= config.bin %> lab up -f topology.yaml --name cross',
    '<%= config.bin %> lab up veth',
  ]
  static override enableJsonFlag = true
  static override args = {kind: Args.string({ignoreStdin: true, options: [...basicLabKinds], description: 'Build a basic lab of the netns article instead of a cluster.'})}
  static override flags = {
    name: Flags.string({summary: 'Lab name (default: the topology file\'s name, else demo; a basic lab\'s kind).'}),
    flavor: Flags.option({options: flavors, summary: 'calico (default) or flannel.'})(),
    nodes: Flags.integer({summary: 'Number of nodes (default 2).', min: 1, max: 250}),
    'pods-per-node': Flags.integer({summary: 'Pods on each node (default 2).', min: 0, max: 250}),
    file: Flags.string({char: 'f', summary: 'Topology YAML (see schemas/lab-topology.schema.json).', exclusive: ['nodes', 'pods-per-node']}),
    bgp: Flags.option({options: ['on', 'off'] as const, summary: 'calico: spread routes with BIRD (on, default) or program them statically (off).'})(),
    'route-reflectors': Flags.integer({summary: 'calico: make the first N nodes BGP route reflectors instead of a full mesh.', min: 0}),
    backend: Flags.option({options: flannelBackends, summary: 'flannel: host-gw (default), vxlan or udp.'})(),
    'direct-routing': Flags.boolean({summary: 'flannel vxlan: host-gw routes to peers on the same subnet.'}),
    encapsulation: Flags.option({options: calicoEncapsulations, summary: 'calico: the new lab pool\'s encapsulation (default IPIP, as Calico\'s; VXLAN on a kernel without ipip).'})(),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask before removing pods from a running lab.'}),
    full: Flags.boolean({summary: 'On a terminal, show every node and pod (large labs are summarised).'}),
  }

  async run(): Promise<LabSummary | BasicLabSummary> {
    const {args, flags} = await this.parse(LabUp)
    const {values, settings} = await this.resolveConfig({...flags, lab: undefined})
    // A new lab does not inherit the current context's datastore (a lab's, a kubeconfig context's): only flags, env or a config file choose it.
    const datastoreType = /^(lab|context) /.test(settings.datastoreType?.source ?? '') ? 'file' : values.datastoreType
    if (args.kind) {
      const summary = await basicLabUp(values.stateDir, args.kind as BasicLabKind, flags.name ?? args.kind)
      this.log(`Lab "${summary.name}" (${summary.kind}) is up in ${summary.seconds.toFixed(2)} s: ${summary.description}.`)
      this.log(`Namespaces: ${Object.entries(summary.namespaces).map(([k, v]) => `${k}=${v}`).join(', ')}`)
      this.log(`Try: ${summary.tryCommand}`)
      return summary
    }
    if (datastoreType === 'kubernetes') throw new NetctlError('usage', 'a lab keeps its cluster in the embedded datastore or in etcd, not in a Kubernetes API', 'use --datastore file (default) or --datastore etcdv3')
    const request = await this.request(flags)
    const name = flags.name ?? topologyName(request.file) ?? 'demo'
    checkPrivileges() // before the lab's record is read: without root, that is what to say
    const recorded = readLabRecord(values.stateDir, name)?.topology
    const topology = resolveTopology(request, recorded)
    if (recorded) await this.confirmChange(name, topologyChange(recorded, topology), flags.yes)
    const reporter = await progressReporter()
    const summary = await this.interruptible((signal) => labUp({
      signal,
      stateDir: values.stateDir,
      name,
      topology,
      datastore: datastoreType === 'etcdv3' ? {type: 'etcdv3', etcdEndpoints: values.etcdEndpoints} : {type: 'file'},
      onProgress: reporter.progress,
    })).finally(reporter.done)
    this.log(`Lab "${summary.name}" (${summary.flavor}) is up in ${summary.seconds.toFixed(2)} s: ${summary.nodes.length} nodes, ${summary.pods.length} pods; ${summary.namespacesCreated} namespaces created, ${summary.namespacesDeleted} removed, ${summary.changes} kernel changes.`)
    if (summary.bgp) this.log(`BGP: ${summary.bgp.sessions} sessions Established and every block routed (${summary.bgp.seconds.toFixed(2)} s after BIRD started); see netctl node status --lab ${summary.name}.`)
    this.log('')
    this.log(clusterTables(summary, isInteractive() && !flags.full))
    this.log('')
    const hint = tryCommand(summary)
    if (hint) this.log(`Try: ${hint}`)
    this.log(`"lab/${summary.name}" is now the current context: netctl get workloadendpoints shows its pods.`)
    return summary
  }

  /** What the flags and the file ask for; the lab's own topology fills the rest. */
  private async request(flags: {flavor?: 'calico' | 'flannel'; nodes?: number; 'pods-per-node'?: number; file?: string; bgp?: 'on' | 'off'; 'route-reflectors'?: number; backend?: FlannelBackend['type']; 'direct-routing'?: boolean; encapsulation?: CalicoEncapsulation}): Promise<TopologyRequest> {
    const backend = flags.backend || flags['direct-routing'] ? {type: flags.backend ?? 'vxlan', directRouting: flags['direct-routing']} as FlannelBackend : undefined
    const request: TopologyRequest = {flavor: flags.flavor, nodes: flags.nodes, podsPerNode: flags['pods-per-node'], bgp: flags.bgp === undefined ? undefined : flags.bgp === 'on', routeReflectors: flags['route-reflectors'], backend, encapsulation: flags.encapsulation}
    return flags.file ? {...request, file: await readDocument(flags.file)} : request
  }

  /** Say what changes in a running lab, and ask before pods go (a person may be using them). */
  private async confirmChange(name: string, change: TopologyChange, yes: boolean): Promise<void> {
    const parts = [
      change.nodesAdded.length && `+${change.nodesAdded.length} nodes (${change.nodesAdded.join(', ')})`,
      change.nodesRemoved.length && `-${change.nodesRemoved.length} nodes (${change.nodesRemoved.join(', ')})`,
      change.podsAdded.length && `+${change.podsAdded.length} pods`,
      change.podsRemoved.length && `-${change.podsRemoved.length} pods (${change.podsRemoved.slice(0, 6).join(', ')}${change.podsRemoved.length > 6 ? ', …' : ''})`,
    ].filter(Boolean)
    if (parts.length === 0) return
    this.logToStderr(`Changing lab "${name}": ${parts.join(', ')}.`)
    if (change.podsRemoved.length > 0 && !yes && isInteractive() && !(await confirm(`Remove ${change.podsRemoved.length} pods from lab "${name}"?`))) {
      throw cancelled()
    }
  }
}
