/** File names made from object names (a node's directory in its lab's): one plain segment, never a path. */
import {refuse} from './refuse.js'

export function pathSegment(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/.test(value)) throw refuse('a file name', value, 'a file name here is letters, digits, _ . - and does not start with a dot')
  return value
}
