import {NetctlCommand} from '../../../cli/base-command.js'

export default class DatastoreMigrateUnlock extends NetctlCommand {
  static override summary = 'Unlock the datastore after a migration: ClusterInformation datastoreReady true (like calicoctl datastore migrate unlock).'
  static override examples = ['<%= config.bin %> datastore migrate unlock --datastore kubernetes']

  async run(): Promise<void> {
    const {flags} = await this.parse(DatastoreMigrateUnlock)
    const {checkVersionMismatch, unlockDatastore} = await import('../../../services/migrate.js')
    const ds = await this.datastore(flags)
    await checkVersionMismatch(ds, flags['allow-version-mismatch'])
    await unlockDatastore(ds)
    this.log('Datastore unlocked.')
  }
}
