/** A resolve hook (run in the loader thread, registered with --import) that appends every module URL the CLI resolves to a file. */
export const moduleRecorder = `import {appendFileSync} from 'node:fs'
let file
export function initialize(data) { file = data.file }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(file, result.url + '\\n')
  return result
}`

/**
 * The same for CommonJS (preloaded with --require): at exit, appends the file URL of every module
 * Node required (netctl's own start path and the datastore client bundles are CommonJS).
 */
export const requireRecorder = (file: string): string =>
  `process.on('exit', () => require('node:fs').appendFileSync(${JSON.stringify(file)}, Object.keys(require.cache).map((path) => require('node:url').pathToFileURL(path).href + '\\n').join('')))\n`
