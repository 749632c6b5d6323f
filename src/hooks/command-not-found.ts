/**
 * oclif calls this when no command matches the first words. Two cases:
 * `netctl help <command…>` (kubectl's and git's habit) shows that command's help, and anything
 * else is an unknown command, said as netctl says errors, with the closest command as a guess (exit 2).
 */
import {createRequire} from 'node:module'

import type {Hook, Interfaces} from '@oclif/core'

type Config = Interfaces.Config

const hook: Hook<'command_not_found'> = async function (options) {
  const words = options.id.split(':').filter(Boolean)
  const {config} = options
  if (words[0] === 'help') {
    const subject = words.slice(1)
    if (subject.length === 0 || config.findCommand(subject.join(':')) || config.findTopic(subject.join(':'))) {
      const {loadHelpClass} = await import('@oclif/core')
      const Help = await loadHelpClass(config)
      await new Help(config, config.pjson.oclif.helpOptions).showHelp(subject)
      return true
    }
    words.shift()
  }
  // Only flags and no command (`netctl --lab demo`): bin/argv.js moved nothing, as there was nowhere to.
  const {leadingBooleanFlags, leadingValueFlags} = createRequire(import.meta.url)('../../bin/argv.js') as {leadingBooleanFlags: Set<string>; leadingValueFlags: Set<string>}
  const first = words[0]?.split('=')[0] ?? ''
  if (leadingBooleanFlags.has(first) || leadingValueFlags.has(first)) {
    const flags = [...words, ...(options.argv ?? [])].join(' ')
    process.stderr.write(`Error: no command after the flags "${flags}"\n  add one (${config.bin} ${flags} get ippools); ${config.bin} --help lists the commands\n`)
  } else process.stderr.write(unknownCommand(config, words))
  this.exit(2)
}

export default hook

/** "Error: unknown command …" and a suggestion line, as base-command prints a usage error. */
export function unknownCommand(config: Config, words: string[]): string {
  const bin = config.bin
  const said = words.join(' ')
  if (words[0]?.startsWith('-')) {
    return `Error: unknown flag "${words[0]}" before the command\n  flags go after the command (netctl get ippools -o yaml); ${bin} --help lists the commands\n`
  }
  const guess = closest(config, words)
  if (guess) return `Error: unknown command "${said}"\n  did you mean "${bin} ${guess}"? (${bin} --help lists the commands)\n`
  // A known topic with an unknown command in it (`lab frob`): point at the topic's commands.
  const topic = words.length > 1 && config.findTopic(words[0]!) ? words[0] : undefined
  return `Error: unknown command "${said}"\n  ${topic ? `${bin} ${topic} --help lists its commands` : `${bin} --help lists the commands`}\n`
}

/**
 * The command or topic whose words are nearest to the first words typed (at most two edits in
 * all, one for words of three letters or less), followed by the rest of what was typed.
 */
function closest(config: Config, words: string[]): string | undefined {
  const visible = [...config.commands.filter((c) => !c.hidden).map((c) => c.id), ...config.topics.filter((t) => !t.hidden).map((t) => t.name)]
  let best: {id: string[]; distance: number} | undefined
  for (const id of new Set(visible)) {
    const parts = id.split(':')
    if (parts.length > words.length) continue
    const typed = words.slice(0, parts.length)
    const distance = parts.reduce((sum, part, i) => sum + editDistance(part, typed[i]!), 0)
    const allowed = Math.min(2, Math.max(1, Math.floor(typed.join(' ').length / 3)))
    if (distance === 0 || distance > allowed) continue
    if (!best || distance < best.distance || (distance === best.distance && parts.length > best.id.length)) best = {id: parts, distance}
  }
  return best ? [...best.id, ...words.slice(best.id.length)].join(' ') : undefined
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit (gte → get). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}
