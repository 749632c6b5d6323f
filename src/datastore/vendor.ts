/**
 * The datastore clients as `npm run build` bundles them (scripts/bundle-vendor.js), required through
 * dist/cached-require.js, which keeps a V8 code cache beside each: CommonJS, so no ES module loader,
 * and no compiling ~1 MB of JavaScript at every start. Undefined when running from src (tests through
 * tsx): the caller loads the packages instead.
 */
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'

export function requireVendorBundle<T>(path: string): T | undefined {
  const bundle = fileURLToPath(new URL(`../vendor/${path}`, import.meta.url))
  const loader = fileURLToPath(new URL('../cached-require.js', import.meta.url))
  if (!existsSync(bundle) || !existsSync(loader)) return undefined
  const {requireCached} = createRequire(import.meta.url)(loader) as {requireCached: (file: string) => {exports: T}}
  return requireCached(bundle).exports
}
