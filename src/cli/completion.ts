/**
 * Shell completion, decided in one place for bash and zsh: the scripts in completions/ hand the words
 * typed so far to `netctl __complete -- WORDS... CURRENT` and offer what it prints, one per line.
 * The static part (commands, flags, flag and argument options) comes from oclif's manifest; the dynamic
 * part (resource names, labs, a lab's pods and nodes) from the sources given, which may fail: then
 * there is simply nothing to offer.
 */
import {outputFormats} from './output.js'

export interface CompletionFlag {
  type: 'boolean' | 'option'
  char?: string
  options?: readonly string[]
  multiple?: boolean
  hidden?: boolean
}

export interface CompletionCommand {
  id: string
  hidden?: boolean
  aliases?: readonly string[]
  flags: Record<string, CompletionFlag>
  args: Record<string, {options?: readonly string[]}>
}

/** What the command line says so far: the flags given (last value wins) and the positional words. */
export interface CompletionContext {
  command: string
  flags: Record<string, string | true>
  positional: string[]
}

export interface CompletionSources {
  /** Kind names: with an empty prefix the plurals, else every alias. */
  kinds(prefix: string): Promise<string[]>
  /** The columns -o custom-columns= can show for a kind. */
  columns(kind: string): Promise<string[]>
  /** Names of the stored objects of a kind (kind as typed: an alias). */
  resourceNames(kind: string, context: CompletionContext): Promise<string[]>
  labs(context: CompletionContext): Promise<string[]>
  /** The nodes and pods (and "underlay") of the lab the command line means. */
  labTargets(context: CompletionContext): Promise<string[]>
}

/** Either words to offer (already filtered by what was typed) or "complete file names". */
export type Completion = {values: string[]; noSpace?: boolean} | {files: true}

const FILE_FLAGS = new Set(['filename', 'file', 'config', 'kubeconfig', 'output-file', 'state-dir', 'socket'])

// Hidden commands, and the helper's own alias, are never offered.
const visible = (commands: CompletionCommand[]) => commands.filter((c) => !c.hidden && !c.id.startsWith('__'))

export async function complete(commands: CompletionCommand[], words: string[], sources: CompletionSources): Promise<Completion> {
  const current = words.at(-1) ?? ''
  const before = words.slice(0, -1)
  const ids = new Map<string, CompletionCommand>()
  for (const command of commands) {
    ids.set(command.id, command)
    for (const alias of command.aliases ?? []) ids.set(alias, command)
  }
  // The command: the longest run of leading words that names a command or a topic.
  const path: string[] = []
  for (const word of before) {
    if (word.startsWith('-')) break
    const id = [...path, word].join(':')
    if (!ids.has(id) && ![...ids.keys()].some((k) => k.startsWith(`${id}:`))) break
    path.push(word)
  }
  const command = ids.get(path.join(':'))
  const offers: string[] = []
  if (before.length === path.length && !current.startsWith('-')) {
    // Still naming the command: the next word of every visible command under this path.
    const prefix = path.length === 0 ? '' : `${path.join(':')}:`
    for (const c of visible(commands)) if (c.id.startsWith(prefix)) offers.push(c.id.slice(prefix.length).split(':')[0]!)
    if (!command) return values(offers, current)
  }
  if (!command) return {values: []}

  const rest = before.slice(path.length)
  const context: CompletionContext = {command: command.id, flags: {}, positional: []}
  const flagNamed = (word: string): [string, CompletionFlag] | undefined => {
    if (word.startsWith('--')) {
      const name = word.slice(2).split('=')[0]!
      return command.flags[name] ? [name, command.flags[name]] : undefined
    }
    const entry = Object.entries(command.flags).find(([, f]) => f.char === word.slice(1, 2))
    return entry
  }
  let pending: [string, CompletionFlag] | undefined
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!
    if (word === '--') return {files: true} // lab exec NODE -- COMMAND: the command's own words
    if (word.startsWith('-') && word !== '-') {
      const flag = flagNamed(word)
      if (!flag) continue
      const [name, info] = flag
      const inline = word.startsWith('--') ? word.split('=').slice(1).join('=') : word.length > 2 ? word.slice(2) : ''
      if (info.type === 'boolean') context.flags[name] = true
      else if (word.includes('=') || inline) context.flags[name] = inline
      else if (i + 1 < rest.length) context.flags[name] = rest[++i]!
      else pending = flag
      continue
    }
    context.positional.push(word)
  }

  if (pending) return flagValues(command, pending[0], pending[1], current, '', context, sources)
  if (current.startsWith('--') && current.includes('=')) {
    const name = current.slice(2, current.indexOf('='))
    const flag = command.flags[name]
    if (!flag || flag.type === 'boolean') return {values: []}
    return flagValues(command, name, flag, current.slice(current.indexOf('=') + 1), `--${name}=`, context, sources)
  }
  if (current.startsWith('-')) {
    const given = new Set(Object.keys(context.flags))
    for (const [name, flag] of Object.entries(command.flags)) if (!flag.hidden && (flag.multiple || !given.has(name))) offers.push(`--${name}`)
    return values(offers, current)
  }
  offers.push(...(await argumentValues(command, context, current, sources)))
  return values(offers, current, current.includes(',') ? current.slice(0, current.lastIndexOf(',') + 1) : '')
}

function values(offers: string[], current: string, keep = ''): {values: string[]; noSpace: boolean} {
  const typed = current.slice(keep.length)
  const unique = [...new Set(offers)].filter((o) => o.startsWith(typed)).map((o) => keep + o)
  // -o go-template= and friends: the value goes on, so no space after it.
  return {values: unique, noSpace: unique.length > 0 && unique.every((u) => u.endsWith('=') || u.endsWith(','))}
}

async function flagValues(command: CompletionCommand, name: string, flag: CompletionFlag, current: string, prefix: string, context: CompletionContext, sources: CompletionSources): Promise<Completion> {
  let offers: string[] = []
  if (FILE_FLAGS.has(name)) return {files: true}
  if (flag.options) offers = [...flag.options]
  else if (name === 'output' && command.id === 'get') offers = [...outputFormats]
  else if (name === 'lab') offers = await sources.labs(context)
  else if (name === 'node' && command.id === 'get') offers = await sources.resourceNames('node', context)
  else if (name === 'pool' && command.id === 'encap:set') offers = await sources.resourceNames('ippool', context)
  // -o go-template-file=<TAB>: a file name after the =.
  if (name === 'output' && /^(go-template|jsonpath)-file=/.test(current)) return {files: true}
  // -o custom-columns=NAME,<TAB>: the kind's columns, after those already chosen.
  const kind = context.positional[0]
  if (name === 'output' && command.id === 'get' && current.startsWith('custom-columns=') && kind && !kind.includes(',')) {
    const keep = current.slice(0, current.lastIndexOf(current.includes(',') ? ',' : '=') + 1)
    const chosen = new Set(keep.slice('custom-columns='.length).split(',').map((c) => c.toUpperCase()))
    const columns = (await sources.columns(kind)).filter((c) => !chosen.has(c))
    const completion = values(columns, current, keep)
    return {values: completion.values.map((v) => prefix + v), noSpace: true}
  }
  const completion = values(offers, current)
  return 'values' in completion ? {...completion, values: completion.values.map((v) => prefix + v)} : completion
}

/** What the command's next positional argument can be. */
async function argumentValues(command: CompletionCommand, context: CompletionContext, current: string, sources: CompletionSources): Promise<string[]> {
  const index = context.positional.length
  const kindThenNames = (namesFrom: number, namesUpTo = Infinity) => {
    if (index === 0) return sources.kinds(current.includes(',') ? current.slice(current.lastIndexOf(',') + 1) : current)
    const kind = context.positional[0]!
    // Names already given are not offered again.
    const given = new Set(context.positional.slice(1))
    if (index >= namesFrom && index <= namesUpTo && !kind.includes(',')) return sources.resourceNames(kind, context).then((names) => names.filter((n) => !given.has(n)))
    return []
  }
  switch (command.id) {
    case 'get':
    case 'delete':
      return kindThenNames(1)
    case 'patch':
    case 'label':
      return kindThenNames(1, 1)
    case 'ippool:set':
      return index === 0 ? sources.resourceNames('ippool', context) : []
    case 'policy:explain':
      return index === 0 ? sources.resourceNames('workloadendpoint', context) : []
    case 'policy:selects':
      return index === 0 ? [...(await sources.resourceNames('globalnetworkpolicy', context)), ...(await sources.resourceNames('networkpolicy', context))] : []
    case 'lab:status':
    case 'lab:down':
    case 'lab:bench':
    case 'lab:graph':
    case 'lab:ping':
      return index === 0 ? sources.labs(context) : []
    case 'lab:exec':
      return index === 0 ? sources.labTargets(context) : []
    case 'lab:trace':
      return index <= 1 ? sources.labTargets(context) : []
    case 'config:use-context':
      return index === 0 ? ['default', ...(await sources.labs(context)).map((lab) => `lab/${lab}`)] : []
  }
  const arg = Object.values(command.args)[index]
  return arg?.options ? [...arg.options] : []
}
