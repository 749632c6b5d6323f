/** apply, create and replace differ only in what they allow to exist already. */
import {Flags} from '@oclif/core'

import type {WriteMode, WriteResult} from '../services/resources.js'
import {writeResources} from '../services/resources.js'
import {NetctlCommand} from './base-command.js'
import {readResources} from './input.js'
import {ask, isInteractive, missing} from './prompts.js'

const pastTense: Record<WriteMode, string> = {apply: 'applied', create: 'created', replace: 'replaced'}
const summaries: Record<WriteMode, string> = {
  apply: 'Create or update resources from a file, a directory or stdin.',
  create: 'Create resources from a file; fails if any already exists.',
  replace: 'Replace existing resources from a file; a stale resourceVersion is a conflict.',
}

export function writeCommand(mode: WriteMode) {
  return class extends NetctlCommand {
    static override summary = summaries[mode]
    static override examples = [`<%= config.bin %> ${mode} -f ippool.yaml`, `cat pools.yaml | <%= config.bin %> ${mode} -f -`]
    static override enableJsonFlag = true
    static override flags = {
      filename: Flags.string({char: 'f', summary: 'YAML or JSON file, directory of them, or - for stdin.'}),
      namespace: Flags.string({char: 'n', summary: 'Namespace for namespaced objects that name none (default: default).'}),
      recursive: Flags.boolean({char: 'R', summary: 'With -f DIR: the files of its subdirectories too.'}),
      'skip-empty': Flags.boolean({summary: 'Do not fail when the file or directory holds no resources.'}),
      // calicoctl create's flag: an object that exists already is left alone, not an error.
      ...(mode === 'create' ? {'skip-exists': Flags.boolean({summary: 'Skip objects that already exist (exit 0).'})} : {}),
    }

    async run(): Promise<{results: WriteResult[]}> {
      const {flags} = await this.parse(this.constructor as typeof NetctlCommand)
      let file = flags.filename as string | undefined
      if (!file) {
        if (!isInteractive()) throw missing('-f FILE', `netctl ${mode} -f ippool.yaml`)
        file = await ask('File with the resources (or - for stdin):')
      }
      const documents = await readResources(file, {recursive: flags.recursive as boolean, skipEmpty: flags['skip-empty'] as boolean})
      if (documents.length === 0) {
        // Only with --skip-empty; calicoctl's words, exit 0, and no datastore opened.
        this.log('No resources specified')
        return {results: []}
      }
      const ds = await this.datastore(flags)
      const write = (signal?: AbortSignal) => writeResources(ds, documents, mode, {namespace: flags.namespace as string | undefined, source: file, signal, skipExisting: flags['skip-exists'] as boolean | undefined})
      // A backend that writes in several transactions (etcd) stops between two of them on Ctrl-C,
      // so the message can say what was written; the file store writes once: let it die.
      const results = ds.transaction ? await write() : await this.interruptible(write)
      const kindsWritten = [...new Set(results.map((r) => r.resource.kind))]
      const what = kindsWritten.length === 1 ? `'${kindsWritten[0]}' resource(s)` : 'resource(s)'
      const unchanged = results.filter((r) => r.action === 'unchanged').length
      // --skip-exists leaves existing objects out of the write: say how many, never "0 created" alone.
      const skipped = flags['skip-exists'] ? documents.length - results.length : 0
      if (skipped > 0 && results.length === 0) {
        this.log(`Nothing to create: ${skipped} resource(s) exist already (skipped)`)
        return {results}
      }
      if (unchanged > 0 && unchanged === results.length) {
        // Everything was stored so already: nothing written, nothing for a lab to redo.
        this.log(`Nothing to ${mode}: ${results.length} ${what} unchanged (already as given)`)
        return {results}
      }
      this.log(`Successfully ${pastTense[mode]} ${results.length} ${what}${unchanged > 0 ? ` (${unchanged} unchanged)` : ''}${skipped > 0 ? `; ${skipped} existed already (skipped)` : ''}`)
      await this.reconcileLabAfterWrite(flags)
      return {results}
    }
  }
}
