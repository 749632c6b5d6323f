/**
 * `ip -batch` and `bridge -batch` lines. iproute2 splits a batch line into words at
 * white space, honours quotes and backslashes, treats "#" as a comment and a newline as the
 * next command: a value carrying any of those could smuggle in a command (even `netns exec`).
 * So each value must be one plain word.
 */
import {refuse} from './refuse.js'

const plainWord = /^[A-Za-z0-9_.:/,=+][A-Za-z0-9_.:/,=+-]*$/
const maxWord = 255

export function ipWord(value: string | number): string {
  const word = String(value)
  if (word.length === 0 || word.length > maxWord) return bad(word, `a word must have 1 to ${maxWord} characters`)
  if (!plainWord.test(word)) return bad(word, 'only letters, digits and . : / , = + _ - are allowed (and no leading -)')
  return word
}

const bad = (word: string, why: string): never => {
  throw refuse('an ip command', word, why)
}

/** One batch line from words, each checked; undefined and '' words are left out. */
export const ipLine = (...words: Array<string | number | undefined | false>): string =>
  words.filter((w): w is string | number => w !== undefined && w !== false && w !== '').map(ipWord).join(' ')
