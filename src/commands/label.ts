import {Args, Flags} from '@oclif/core'

import {NetctlCommand} from '../cli/base-command.js'
import {NetctlError} from '../errors.js'
import {labelValueProblem, qualifiedNameProblem} from '../resources/metadata.js'
import {kindInfo} from '../resources/registry.js'
import type {Resource} from '../resources/types.js'
import {checkNamespaceFlags, labelResource, type LabelChange, type LabelOutcome} from '../services/resources.js'

const keyFix = 'write keys as [prefix/]name, e.g. zone or projectcalico.org/zone: a name of at most 63 letters, digits, "-", "_" and ".", a DNS-name prefix'

function checkKey(key: string, arg: string): void {
  const problem = qualifiedNameProblem(key)
  if (problem) throw new NetctlError('usage', `invalid label ${arg}: the key ${JSON.stringify(key)} ${problem}`, keyFix)
}

/** key=value sets, key- removes (kubectl's habit), and with --remove every argument is a key to remove. */
export function parseLabelArgs(args: string[], remove: boolean, overwrite: boolean): LabelChange {
  const change: LabelChange = {set: [], remove: [], overwrite}
  const seen = new Set<string>()
  for (const arg of args) {
    let key: string
    if (remove || (!arg.includes('=') && arg.endsWith('-'))) {
      if (remove && arg.includes('=')) throw new NetctlError('usage', `invalid label ${arg}: --remove takes keys, not key=value`, `netctl label KIND NAME ${arg.split('=')[0]} --remove`)
      key = remove ? arg : arg.slice(0, -1)
      checkKey(key, arg)
      change.remove.push(key)
    } else {
      const at = arg.indexOf('=')
      if (at < 0) throw new NetctlError('usage', `invalid label ${arg}`, `set a label with key=value, remove one with --remove ${arg} (or ${arg}-)`)
      key = arg.slice(0, at)
      const value = arg.slice(at + 1)
      checkKey(key, arg)
      const problem = labelValueProblem(value)
      if (problem) throw new NetctlError('usage', `invalid label ${arg}: the value ${problem}`, 'use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or an empty value)')
      change.set.push([key, value])
    }
    if (seen.has(key)) throw new NetctlError('usage', `label key ${key} is given twice`, 'give each key once')
    seen.add(key)
  }
  return change
}

const sentence: Record<LabelOutcome['action'], string> = {set: 'set label %k on', updated: 'updated label %k on', removed: 'removed label %k from'}

export default class Label extends NetctlCommand {
  static override summary = 'Add, change or remove labels of one object.'
  static override description = 'As calicoctl label: a key already present needs --overwrite to take a new value; --remove (or key-, as in kubectl) removes a key, which must be present. All the changes are made in one update, or none.'
  static override examples = [
    '<%= config.bin %> label nodes node1 cluster=frontend',
    '<%= config.bin %> label nodes node1 cluster=backend --overwrite',
    '<%= config.bin %> label nodes node1 cluster --remove',
    '<%= config.bin %> label ippool edge-pool zone=edge tier=1 region-',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {
    kind: Args.string({ignoreStdin: true, required: true, description: 'Kind or alias.'}),
    name: Args.string({ignoreStdin: true, required: true, description: 'Name of the object.'}),
    labels: Args.string({ignoreStdin: true, description: 'key=value to set, key- to remove (or keys with --remove).'}),
  }
  static override flags = {
    overwrite: Flags.boolean({summary: 'Let a key already present take a new value.'}),
    remove: Flags.boolean({summary: 'Remove the keys given (each must be present).'}),
    namespace: Flags.string({char: 'n', summary: 'Namespace of namespaced kinds (default: default).'}),
  }

  async run(): Promise<{resource: Resource; changes: LabelOutcome[]}> {
    const {argv, flags} = await this.parse(Label)
    const [kindArg, name, ...labelArgs] = argv as string[]
    if (labelArgs.length === 0) throw new NetctlError('usage', 'missing the label to set or remove', `netctl label ${kindArg} ${name} key=value, or netctl label ${kindArg} ${name} key --remove`)
    const info = kindInfo(kindArg!)
    checkNamespaceFlags(info, {namespace: flags.namespace})
    const change = parseLabelArgs(labelArgs, flags.remove, flags.overwrite)
    const ds = await this.datastore(flags)
    const {resource, outcomes} = await labelResource(ds, info, name!, flags.namespace, change)
    for (const outcome of outcomes) this.log(`Successfully ${sentence[outcome.action].replace('%k', outcome.key)} ${kindArg} ${name}`)
    await this.reconcileLabAfterWrite(flags)
    return {resource, changes: outcomes}
  }
}
