import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../cli/base-command.js'
import {readResources} from '../cli/input.js'
import {missing as missingArgument} from '../cli/prompts.js'
import {NetctlError} from '../errors.js'
import {kindInfo} from '../resources/registry.js'
import type {Resource} from '../resources/types.js'
import type {Datastore} from '../datastore/datastore.js'
import {checkDocumentNamespace, checkNamespaceFlags, deleteExisting, findResources, type DeleteTarget} from '../services/resources.js'

/** calicoctl's identifier of an object in its errors: IPPool(name), WorkloadEndpoint(ns/name). */
const identifier = (t: DeleteTarget) => `${t.info.kind}(${t.info.namespaced ? `${t.namespace ?? 'default'}/` : ''}${t.name})`

export default class Delete extends NetctlCommand {
  static override summary = 'Delete resources named on the command line or in a file.'
  static override description = 'As calicoctl: every object that exists is deleted; each one that does not is reported, and the exit code is 1 (0 with --skip-not-exists).'
  static override examples = ['<%= config.bin %> delete ippool old-pool', '<%= config.bin %> delete ippool a b c --skip-not-exists', '<%= config.bin %> delete -f ippool.yaml']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {
    kind: Args.string({ignoreStdin: true, description: 'Kind or alias of the objects to delete.'}),
    name: Args.string({ignoreStdin: true, description: 'Names of the objects.'}),
  }
  static override flags = {
    filename: Flags.string({char: 'f', summary: 'Delete the objects this file names.'}),
    namespace: Flags.string({char: 'n', summary: 'Namespace of namespaced kinds (default: default).'}),
    'skip-not-exists': Flags.boolean({char: 's', summary: 'Skip over objects that do not exist (exit 0).'}),
    'skip-empty': Flags.boolean({summary: 'With -f: do not fail when the file or directory holds no resources.'}),
  }

  async run(): Promise<{deleted: Resource[]; missing: Array<{kind: string; name: string; namespace?: string}>}> {
    const {argv, flags} = await this.parse(Delete)
    const [kindArg, ...names] = argv as string[]
    let targets: DeleteTarget[]
    if (flags.filename) {
      if (kindArg) throw new NetctlError('usage', 'give either -f FILE or KIND NAME, not both', 'netctl delete -f pools.yaml, or netctl delete ippool NAME')
      const documents = await readResources(flags.filename, {skipEmpty: flags['skip-empty']})
      if (documents.length === 0) {
        this.log('No resources specified')
        return {deleted: [], missing: []}
      }
      targets = documents.map(({resource, origin}) => {
        const info = kindInfo(resource.kind)
        try {
          checkDocumentNamespace(info, resource, flags.namespace)
        } catch (error) {
          throw new NetctlError('usage', `${origin}: ${(error as NetctlError).message}`, 'drop -n, or make the documents\' namespaces match it (nothing was deleted)')
        }
        return {info, name: resource.metadata.name, namespace: resource.metadata.namespace || flags.namespace, resourceVersion: resource.metadata.resourceVersion}
      })
    } else {
      if (!kindArg || names.length === 0) throw missingArgument('KIND NAME or -f FILE', 'netctl delete ippool old-pool')
      const info = kindInfo(kindArg)
      checkNamespaceFlags(info, {namespace: flags.namespace})
      targets = names.map((name) => ({info, name, namespace: flags.namespace}))
    }
    const ds = await this.datastore(flags)
    // As get: a WorkloadEndpoint may be named by its pod; a name that matches nothing stays, to be reported missing.
    if (!flags.filename && targets[0]?.info.kind === 'WorkloadEndpoint') targets = await resolvePodNames(ds, targets)
    const {deleted, missing} = await deleteExisting(ds, targets)
    const kinds = [...new Set(targets.map((t) => t.info.kind))]
    const what = kinds.length === 1 ? `'${kinds[0]}' resource(s)` : 'resource(s)'
    if (deleted.length > 0) this.log(`Successfully deleted ${deleted.length} ${what}`)
    if (deleted.length > 0) await this.reconcileLabAfterWrite(flags)
    if (missing.length > 0 && !flags['skip-not-exists']) {
      const failed = kinds.length === 1 ? `'${kinds[0]}' resource` : 'resource'
      throw new NetctlError(
        'not-found',
        missing.map((t) => `Failed to delete ${failed}: resource does not exist: ${identifier(t)}`).join('; '),
        `${deleted.length > 0 ? `the other ${deleted.length} were deleted; ` : ''}list what exists with: netctl get ${missing[0]!.info.plural}${missing[0]!.info.namespaced ? ' -A' : ''} (or pass --skip-not-exists)`,
      )
    }
    return {deleted, missing: missing.map((t) => ({kind: t.info.kind, name: t.name, ...(t.info.namespaced ? {namespace: t.namespace ?? 'default'} : {})}))}
  }
}

async function resolvePodNames(ds: Datastore, targets: DeleteTarget[]): Promise<DeleteTarget[]> {
  const resolved: DeleteTarget[] = []
  for (const target of targets) {
    const {found} = await findResources(ds, target.info, [target.name], {namespace: target.namespace})
    if (found.length === 0) resolved.push(target)
    for (const wep of found) resolved.push({info: target.info, name: wep.metadata.name, namespace: wep.metadata.namespace})
  }
  return resolved
}
