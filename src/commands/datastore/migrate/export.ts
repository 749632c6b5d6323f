import {NetctlCommand} from '../../../cli/base-command.js'

export default class DatastoreMigrateExport extends NetctlCommand {
  static override summary = 'Print a locked datastore\'s Calico data in calicoctl\'s migration format (like calicoctl datastore migrate export).'
  static override description = [
    'The v3 resources as one YAML list per kind (Nodes before what names nodes), then "===", ClusterInformation as JSON, then "===", the IPAM objects as calicoctl\'s JSON.',
    'Left out, as calicoctl leaves them: Kubernetes NetworkPolicies (knp.default.*), the Profiles Calico derives (kns.*, ksa.*, projectcalico-default-allow), and WorkloadEndpoints of a Kubernetes datastore (Pods make them).',
    'Unlike calicoctl, any datastore can be the source (etcdv3, kubernetes, the embedded file store). Nodes with a k8s orchestrator reference get their Kubernetes name, as calicoctl renames them.',
  ].join('\n\n')
  static override examples = ['<%= config.bin %> datastore migrate lock --datastore etcdv3 && <%= config.bin %> datastore migrate export --datastore etcdv3 > etcd-data']

  async run(): Promise<void> {
    const {flags} = await this.parse(DatastoreMigrateExport)
    const {checkVersionMismatch, exportDatastore} = await import('../../../services/migrate.js')
    const {values} = await this.resolveConfig(flags)
    const ds = await this.datastore(flags)
    await checkVersionMismatch(ds, flags['allow-version-mismatch'])
    const result = await exportDatastore(ds, values.datastoreType)
    process.stdout.write(result.text)
    for (const line of result.skipped) this.logToStderr(`Not exported: ${line}`)
  }
}
