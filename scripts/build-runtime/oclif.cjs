// dist/oclif.js (copied here by scripts/build.js; CommonJS, as dist/package.json says): loads
// dist/netctl.cjs, the bundle of netctl's code, @oclif/core, js-yaml and cli-table3, from a V8 code
// cache (dist/netctl.cache): one file read and no parsing instead of ~220 files that Node would each
// resolve, read and compile. It exports @oclif/core's API (bin/run.js starts oclif with it) and
// `netctl`, the bundle, from which dist/commands/** and dist/hooks/** take their code: the CLI, its
// commands and its hook share one copy of oclif. Also required as '#oclif' (package.json "imports").
'use strict'
const {readFileSync, renameSync, writeFileSync} = require('node:fs')
const {createRequire} = require('node:module')
const {dirname, join} = require('node:path')
const vm = require('node:vm')

const filename = join(__dirname, 'netctl.cjs')
const cacheFile = join(__dirname, 'netctl.cache')

/** Whether this run's bundle came from the code cache: 'accepted', 'rejected' (another Node or build), 'absent'. */
let codeCache = 'absent'

function load() {
  const code = readFileSync(filename, 'latin1')
  // The cache starts with the bundle's first line ('// netctl build HASH'): V8 itself would take a
  // cache made for another build of the same length.
  const build = Buffer.from(`${code.slice(0, code.indexOf('\n'))}\n`, 'latin1')
  let cachedData
  try {
    const cache = readFileSync(cacheFile)
    if (cache.subarray(0, build.length).equals(build)) cachedData = cache.subarray(build.length)
    else codeCache = 'rejected'
  } catch {
    // No cache yet: compiled from source, and the cache written at exit.
  }
  // Node's CommonJS wrapper, plus __import: code run from a cache cannot import() (Node 20 loses the
  // callback), so the build made the bundle's import() calls __import().
  const source = `(function (exports, require, module, __filename, __dirname, __import) {${code}\n})`
  const script = new vm.Script(source, {filename, cachedData})
  const module = {exports: {}, filename, id: filename, loaded: false}
  const importModule = (specifier) => import(specifier)
  script.runInThisContext().call(module.exports, module.exports, createRequire(filename), module, filename, dirname(filename), importModule)
  if (cachedData !== undefined) codeCache = script.cachedDataRejected ? 'rejected' : 'accepted'
  if (codeCache !== 'accepted') {
    // At exit the functions this run compiled are in the cache too. Best effort: a read-only install
    // just goes on compiling; the rename keeps concurrent runs from reading half a file.
    process.once('exit', () => {
      try {
        const temporary = `${cacheFile}.${process.pid}`
        writeFileSync(temporary, Buffer.concat([build, script.createCachedData()]))
        renameSync(temporary, cacheFile)
      } catch {
        // ignored
      }
    })
  }
  return module.exports
}

const netctl = load()
// What bin/run.js, the command and hook modules and the tests take: the bundle, whether it came from
// the code cache, and @oclif/core's API (getters: only what is used is initialised).
module.exports = {netctl, get codeCache() { return codeCache }}
for (const name of Object.keys(netctl.oclif)) Object.defineProperty(module.exports, name, {enumerable: true, get: () => netctl.oclif[name]})
