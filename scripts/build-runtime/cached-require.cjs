// dist/cached-require.js (copied here by scripts/build.js): require() of one of the build's CommonJS
// bundles (dist/netctl.cjs, dist/vendor/*) through a V8 code cache beside it (FILE.cache): Node 20
// compiles every module it requires from source, ~10 ms for each of these bundles.
'use strict'
const {readFileSync, renameSync, writeFileSync} = require('node:fs')
const {createRequire} = require('node:module')
const {dirname} = require('node:path')
const vm = require('node:vm')

const loaded = new Map()

/**
 * The bundle's exports, and whether they came from the cache: 'accepted', 'rejected' (another Node
 * or build), 'absent'. A bundle's first line names its build ('// netctl build HASH'): the cache
 * starts with it, as V8 itself would take a cache made for another bundle of the same length.
 */
function requireCached(filename) {
  // Once per process, as require() would: a second datastore of the same kind reuses the first's bundle.
  if (!loaded.has(filename)) loaded.set(filename, load(filename))
  return loaded.get(filename)
}

function load(filename) {
  const cacheFile = filename.replace(/\.c?js$/, '.cache')
  const code = readFileSync(filename, 'latin1')
  const build = Buffer.from(`${code.slice(0, code.indexOf('\n'))}\n`, 'latin1')
  let codeCache = 'absent'
  let cachedData
  try {
    const cache = readFileSync(cacheFile)
    if (cache.subarray(0, build.length).equals(build)) cachedData = cache.subarray(build.length)
    else codeCache = 'rejected'
  } catch {
    // No cache yet: compiled from source, and the cache written at exit.
  }
  // Node's CommonJS wrapper, plus __import: code run from a cache cannot import() (Node 20 loses the
  // callback), so the build made a bundle's import() calls __import().
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
  return {exports: module.exports, codeCache}
}

module.exports = {requireCached}
