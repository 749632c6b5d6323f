import {readdir, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {NetctlCommand} from '../cli/base-command.js'
import {readResources} from '../cli/input.js'
import {missing} from '../cli/prompts.js'
import {isNetctlError, NetctlError} from '../errors.js'
import type {SourcedResource} from '../resources/documents.js'
import {kindInfo} from '../resources/registry.js'
import {validateDocument} from '../services/resources.js'

interface Problem {
  origin: string
  message: string
  suggestion?: string
}

/** A directory's files one by one, so that one unreadable file does not hide the others' errors. */
async function inputsOf(path: string): Promise<string[]> {
  if (path === '-') return [path]
  try {
    if (!(await stat(path)).isDirectory()) return [path]
    const files = (await readdir(path)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()
    return files.length > 0 ? files.map((f) => join(path, f)) : [path]
  } catch {
    // readResources says what is wrong with the path.
    return [path]
  }
}

export default class Validate extends NetctlCommand {
  static override summary = 'Check resource files offline, as apply would, without a datastore.'
  static override description = 'Every document is parsed and validated (fields, formats, Calico\'s rules); checks against stored objects (an IPPool\'s overlap, resourceVersion) need the datastore and are left to apply. Each invalid document is named; the exit code is 2 if any is invalid.'
  static override examples = ['<%= config.bin %> validate -f ippool.yaml', '<%= config.bin %> validate -f manifests/', 'cat pools.yaml | <%= config.bin %> validate -f -']
  static override enableJsonFlag = true
  static override flags = {
    filename: Flags.string({char: 'f', summary: 'YAML or JSON file, directory of them, or - for stdin.'}),
  }

  async run(): Promise<{valid: number; problems: Problem[]}> {
    const {flags} = await this.parse(Validate)
    if (!flags.filename) throw missing('-f FILE', 'netctl validate -f ippool.yaml')
    const problems: Problem[] = []
    const documents: SourcedResource[] = []
    for (const input of await inputsOf(flags.filename)) {
      try {
        for (const document of await readResources(input)) documents.push(document)
      } catch (error) {
        if (!isNetctlError(error)) throw error
        problems.push({origin: input, message: error.message, suggestion: error.suggestion})
      }
    }
    const seen = new Map<string, string>()
    let valid = 0
    for (const {resource, origin, writeAs} of documents) {
      try {
        // A Kubernetes NetworkPolicy is checked as the Calico policy it converts to.
        const info = writeAs ?? kindInfo(resource.kind)
        const ready = validateDocument(info, resource)
        // apply refuses a file that writes one object twice: so does validate.
        const id = `${info.kind}\0${ready.metadata.namespace ?? ''}\0${ready.metadata.name}`
        const first = seen.get(id)
        if (first) throw new NetctlError('usage', `${info.kind} "${ready.metadata.name}" is also in ${first}`, 'keep one of the two documents')
        seen.set(id, origin)
        valid++
      } catch (error) {
        if (!isNetctlError(error)) throw error
        problems.push({origin, message: error.message, suggestion: error.suggestion})
      }
    }
    if (problems.length > 0) {
      if (!this.jsonEnabled()) {
        for (const p of problems) this.logToStderr(`${p.message.startsWith(p.origin) ? '' : `${p.origin}: `}${p.message}${p.suggestion ? `\n  ${p.suggestion}` : ''}`)
      }
      const total = valid + problems.length
      throw new NetctlError('invalid', `${problems.length} of ${total} document${total === 1 ? ' is' : 's are'} invalid${this.jsonEnabled() ? `: ${problems.map((p) => p.message).join('; ')}` : ' (listed above)'}`, 'fix them and validate again; nothing was read from or written to a datastore')
    }
    const kinds = [...new Set(documents.map((d) => d.resource.kind))]
    this.log(`Successfully validated ${valid} ${kinds.length === 1 ? `'${kinds[0]}' resource(s)` : 'resource(s)'}`)
    return {valid, problems}
  }
}
