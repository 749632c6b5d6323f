/**
 * The last guard before a value becomes code: each target language (an `ip -batch` line,
 * bird.conf, an nft script, a sysctl key, a file name) has one renderer that writes a value
 * only if the language can carry it as a single, inert token, and refuses everything else.
 * Values are validated where they enter too (src/resources); this catches what slipped past.
 */
import {NetctlError} from '../errors.js'

/** Enough of a refused value to recognise it, with control characters made visible. */
export const shown = (value: unknown): string => {
  const text = JSON.stringify(String(value))
  return text.length > 60 ? `${text.slice(0, 57)}…"` : text
}

export function refuse(target: string, value: unknown, why: string): NetctlError {
  return new NetctlError(
    'invalid',
    `refusing to write ${shown(value)} into ${target}: ${why}`,
    'a value in the datastore (or a file) is not what its field allows; find the object with netctl get … -o yaml and fix or delete it',
  )
}
