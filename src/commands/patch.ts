import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../cli/base-command.js'
import {parsePatch} from '../resources/documents.js'
import {kindInfo} from '../resources/registry.js'
import type {Resource} from '../resources/types.js'
import {patchResourceChange} from '../services/resources.js'

export default class Patch extends NetctlCommand {
  static override summary = 'Change fields of one object with a JSON merge patch.'
  static override examples = [`<%= config.bin %> patch ippool default-ipv4-ippool -p '{"spec":{"natOutgoing":true}}'`]
  static override enableJsonFlag = true
  static override args = {
    kind: Args.string({ignoreStdin: true, required: true, description: 'Kind or alias.'}),
    name: Args.string({ignoreStdin: true, required: true, description: 'Name of the object.'}),
  }
  static override flags = {
    patch: Flags.string({char: 'p', required: true, summary: 'JSON merge patch (RFC 7386); null removes a field.'}),
    namespace: Flags.string({char: 'n', summary: 'Namespace of namespaced kinds (default: default).'}),
  }

  async run(): Promise<Resource> {
    const {args, flags} = await this.parse(Patch)
    const info = kindInfo(args.kind)
    const patch = await parsePatch(flags.patch)
    const ds = await this.datastore(flags)
    const {resource: patched, changed} = await patchResourceChange(ds, info, args.name, info.namespaced ? flags.namespace ?? 'default' : undefined, patch)
    if (!changed) {
      this.log(`${info.kind} "${args.name}" unchanged: the patch changes nothing`)
      return patched
    }
    this.log(`Successfully patched 1 '${info.kind}' resource`)
    await this.reconcileLabAfterWrite(flags)
    return patched
  }
}
