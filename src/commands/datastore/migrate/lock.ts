import {NetctlCommand} from '../../../cli/base-command.js'

export default class DatastoreMigrateLock extends NetctlCommand {
  static override summary = 'Lock the datastore for a migration: ClusterInformation datastoreReady false (like calicoctl datastore migrate lock).'
  static override description = 'Calico\'s components stop acting on a locked datastore; resources can still be read and written. Makes ClusterInformation "default" if there is none.'
  static override examples = ['<%= config.bin %> datastore migrate lock --datastore etcdv3 --etcd-endpoints http://127.0.0.1:2379']

  async run(): Promise<void> {
    const {flags} = await this.parse(DatastoreMigrateLock)
    const {checkVersionMismatch, lockDatastore} = await import('../../../services/migrate.js')
    const ds = await this.datastore(flags)
    await checkVersionMismatch(ds, flags['allow-version-mismatch'])
    await lockDatastore(ds)
    this.log('Datastore locked.')
  }
}
