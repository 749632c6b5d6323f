import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../cli/base-command.js'
import {NetctlError} from '../errors.js'
import {parsePatch} from '../resources/documents.js'
import {kindInfo} from '../resources/registry.js'
import type {Resource} from '../resources/types.js'
import {parseJsonPatch} from '../services/json-patch.js'
import {patchResourceChange, type ResourcePatch} from '../services/resources.js'

export const patchTypes = ['strategic', 'merge', 'json'] as const

/** A list given without -t json was most likely meant as one. */
async function parseMergePatch(text: string): Promise<Record<string, unknown>> {
  try {
    return await parsePatch(text)
  } catch (error) {
    if (error instanceof NetctlError && /must be a JSON object/.test(error.message) && text.trim().startsWith('[')) {
      throw new NetctlError('usage', 'a merge patch must be a JSON object; this one is a list', 'for a list of operations (RFC 6902) add -t json')
    }
    throw error
  }
}

export default class Patch extends NetctlCommand {
  static override summary = 'Change fields of one object with a merge patch or a JSON patch.'
  static override description = `-t strategic (the default, as calicoctl's) and -t merge are both RFC 7386 merge patches: objects merge, null removes a field, a list is replaced whole. calicoctl runs a Kubernetes strategic merge for every -t; Calico's resources name no merge keys, so that is the same result; strategic directives such as $patch are refused. -t json is an RFC 6902 JSON patch: a list of add, remove, replace, move, copy and test operations, applied all or nothing.`
  static override examples = [
    `<%= config.bin %> patch ippool default-ipv4-ippool -p '{"spec":{"natOutgoing":true}}'`,
    `<%= config.bin %> patch ippool default-ipv4-ippool -t json -p '[{"op":"test","path":"/spec/natOutgoing","value":false},{"op":"replace","path":"/spec/natOutgoing","value":true}]'`,
    `<%= config.bin %> patch globalnetworkpolicy deny-all -t json -p '[{"op":"add","path":"/spec/ingress/-","value":{"action":"Deny"}}]'`,
  ]
  static override enableJsonFlag = true
  static override args = {
    kind: Args.string({ignoreStdin: true, required: true, description: 'Kind or alias.'}),
    name: Args.string({ignoreStdin: true, required: true, description: 'Name of the object.'}),
  }
  static override flags = {
    patch: Flags.string({char: 'p', required: true, summary: 'The patch: a JSON (or YAML) object for merge/strategic, a list of operations for json.'}),
    type: Flags.option({char: 't', options: patchTypes, default: 'strategic' as const, summary: 'Patch type: strategic (as calicoctl: a merge patch for Calico resources), merge (RFC 7386) or json (RFC 6902).'})(),
    namespace: Flags.string({char: 'n', summary: 'Namespace of namespaced kinds (default: default).'}),
  }

  async run(): Promise<Resource> {
    const {args, flags} = await this.parse(Patch)
    const info = kindInfo(args.kind)
    const patch: ResourcePatch = flags.type === 'json' ? {type: 'json', operations: await parseJsonPatch(flags.patch)} : {type: flags.type, document: await parseMergePatch(flags.patch)}
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
