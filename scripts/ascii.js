// Bundles that dist/cached-require.js reads as latin1 (a one-byte string, no UTF-8 decoding) must be
// pure ASCII. esbuild leaves a few characters in comments and regular expressions, where \u escapes
// mean the same; an escaped one (a backslash before it) would not, and is refused.
export function asciiOnly(code, what) {
  if (/\\[^\x00-\x7f]/.test(code)) throw new Error(`${what}: an escaped non-ASCII character (a \\u escape would change its meaning)`)
  return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
