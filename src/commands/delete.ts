import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../cli/base-command.js'
import {readResources} from '../cli/input.js'
import {missing} from '../cli/prompts.js'
import {NetctlError} from '../errors.js'
import {kindInfo} from '../resources/registry.js'
import type {Resource} from '../resources/types.js'
import {deleteResources} from '../services/resources.js'

export default class Delete extends NetctlCommand {
  static override summary = 'Delete resources named on the command line or in a file.'
  static override examples = ['<%= config.bin %> delete ippool old-pool', '<%= config.bin %> delete -f ippool.yaml']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {
    kind: Args.string({ignoreStdin: true, description: 'Kind or alias of the objects to delete.'}),
    name: Args.string({ignoreStdin: true, description: 'Names of the objects.'}),
  }
  static override flags = {
    filename: Flags.string({char: 'f', summary: 'Delete the objects this file names.'}),
    namespace: Flags.string({char: 'n', summary: 'Namespace of namespaced kinds (default: default).'}),
  }

  async run(): Promise<{deleted: Resource[]}> {
    const {argv, flags} = await this.parse(Delete)
    const [kindArg, ...names] = argv as string[]
    let targets
    if (flags.filename) {
      if (kindArg) throw new NetctlError('usage', 'give either -f FILE or KIND NAME, not both', 'netctl delete -f pools.yaml, or netctl delete ippool NAME')
      targets = (await readResources(flags.filename)).map(({resource}) => ({
        info: kindInfo(resource.kind),
        name: resource.metadata.name,
        namespace: resource.metadata.namespace || flags.namespace,
        resourceVersion: resource.metadata.resourceVersion,
      }))
    } else {
      if (!kindArg || names.length === 0) throw missing('KIND NAME or -f FILE', 'netctl delete ippool old-pool')
      const info = kindInfo(kindArg)
      targets = names.map((name) => ({info, name, namespace: flags.namespace}))
    }
    const ds = await this.datastore(flags)
    const deleted = await deleteResources(ds, targets)
    const kinds = [...new Set(deleted.map((r) => r.kind))]
    this.log(`Successfully deleted ${deleted.length} ${kinds.length === 1 ? `'${kinds[0]}' resource(s)` : 'resource(s)'}`)
    await this.reconcileLabAfterWrite(flags)
    return {deleted}
  }
}
