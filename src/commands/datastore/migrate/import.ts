import {readFile} from 'node:fs/promises'

import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../../cli/base-command.js'
import {NetctlError} from '../../../errors.js'

/** A migration file carries a whole cluster: far above one manifest, still bounded. */
const maxBytes = 256 * 2 ** 20

export default class DatastoreMigrateImport extends NetctlCommand {
  static override summary = 'Write a migration file into an empty datastore (like calicoctl datastore migrate import).'
  static override description = [
    'Refused when the datastore already holds Calico data (Kubernetes Nodes, Kubernetes NetworkPolicies, derived Profiles and the tiers Calico makes itself do not count), or when its ClusterInformation exists and is not locked.',
    'A datastore without ClusterInformation gets one, locked. The cluster GUID and Calico version come from the file; the datastore stays locked: check it, then run netctl datastore migrate unlock.',
    'Into Kubernetes: Nodes update the Kubernetes Nodes of the same name (one without is skipped with a warning, as calicoctl does) and WorkloadEndpoints are skipped (Pods make them). netctl installs no CRDs: a kind the API server does not serve fails the import.',
    'As calicoctl, import does not check the version (--allow-version-mismatch is accepted and has nothing to allow).',
  ].join('\n\n')
  static override examples = ['<%= config.bin %> datastore migrate import -f etcd-data --datastore kubernetes']
  static override flags = {
    filename: Flags.string({char: 'f', required: true, summary: 'The file netctl (or calicoctl) datastore migrate export wrote; - for stdin.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(DatastoreMigrateImport)
    const text = await readMigrationFile(flags.filename)
    const {importDatastore} = await import('../../../services/migrate.js')
    const {values} = await this.resolveConfig(flags)
    const ds = await this.datastore(flags)
    const result = await importDatastore(ds, values.datastoreType, text, flags.filename === '-' ? 'stdin' : flags.filename)
    for (const line of result.warnings) this.logToStderr(`[WARNING] ${line}`)
    const total = Object.values(result.counts).reduce((a, b) => a + b, 0)
    for (const [kind, count] of Object.entries(result.counts)) this.log(`Successfully applied ${count} '${kind}' resource(s)`)
    this.log(`Imported ${total} resource(s) into ${ds.location}; it stays locked.`)
    this.log('Datastore information successfully imported. Check it, then run: netctl datastore migrate unlock')
  }
}

async function readMigrationFile(file: string): Promise<string> {
  const tooLarge = () => new NetctlError('usage', `${file === '-' ? 'stdin' : file} is larger than ${maxBytes / 2 ** 20} MiB`, 'a migration file that large is not one netctl wrote')
  if (file !== '-') {
    const data = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new NetctlError('usage', `cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`, 'pass the file datastore migrate export wrote, or - for stdin')
    })
    if (data.length > maxBytes) throw tooLarge()
    return data.toString('utf8')
  }
  const parts: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length
    if (size > maxBytes) throw tooLarge()
    parts.push(chunk as Buffer)
  }
  return Buffer.concat(parts).toString('utf8')
}
