#!/usr/bin/env node
// Builds dist/ with esbuild (tsc only type-checks). Node spends most of netctl's start-up finding, reading
// and compiling modules: `netctl get` loaded ~220 files, ~170 of them @oclif/core's. So:
// - dist/netctl.cjs: one CommonJS bundle of our code, @oclif/core, js-yaml and cli-table3, run by dist/oclif.js
//   (copied from scripts/build-runtime/oclif.cjs) from a V8 code cache (cached-require.cjs). Code that is imported lazily
//   (import()) stays lazy: it is in the file but neither run nor compiled until it is imported.
// - dist/commands/**.js, dist/hooks/*.js: one small CommonJS module per command, where oclif.manifest.json
//   says, that takes its command from the bundle: oclif still finds, loads and runs only the command asked for.
// Other packages are not bundled: they load from node_modules when the code that needs them runs.
import {build} from 'esbuild'
import {copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'

import {asciiOnly} from './ascii.js'

const root = new URL('..', import.meta.url).pathname

// `node scripts/build.js --cache` (after `oclif manifest`, which ran every command's module and so left a
// cache of all of them): writes dist/netctl.cache from one ordinary command instead, what most runs use.
if (process.argv.includes('--cache')) {
  const {mkdtempSync, existsSync} = await import('node:fs')
  const {spawnSync} = await import('node:child_process')
  const {tmpdir} = await import('node:os')
  const cache = join(root, 'dist/netctl.cache')
  rmSync(cache, {force: true})
  const state = mkdtempSync(join(tmpdir(), 'netctl-build-'))
  try {
    const env = {...process.env, NETCTL_STATE_DIR: state, XDG_CONFIG_HOME: state, XDG_DATA_HOME: state, XDG_CACHE_HOME: state, DATASTORE_TYPE: 'file'}
    for (const name of ['CALICO_DATASTORE_TYPE', 'NETCTL_CONFIG', 'KUBECONFIG', 'ETCD_ENDPOINTS']) delete env[name]
    const r = spawnSync(process.execPath, [join(root, 'bin/run.js'), 'get', 'ippools', '-o', 'yaml'], {env, encoding: 'utf8'})
    if (r.status !== 0) throw new Error(`netctl get ippools: ${r.stderr}`)
  } finally {
    rmSync(state, {recursive: true, force: true})
  }
  if (!existsSync(cache)) throw new Error('netctl get ippools wrote no dist/netctl.cache')
  process.exit(0)
}
const src = join(root, 'src')
const dist = join(root, 'dist')
const modules = (dir) => readdirSync(join(src, dir), {recursive: true}).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f.slice(0, -3)}`).sort()
const entries = [...modules('commands'), ...modules('hooks')]

// The bundle's exports: oclif, and each command and hook as a function that initialises it and
// returns its exports (so only the one run is initialised; synchronously, for CommonJS callers).
const entry = [
  `export * as oclif from '@oclif/core'`,
  // The bundle's modules initialised so far, in order (test/cli/startup.test.ts checks what `get` initialises).
  `export const initialized = __netctlInitialized`,
  `export const modules = {`,
  ...entries.map((m) => `  ${JSON.stringify(m)}: () => require(${JSON.stringify(`./${m}.ts`)}),`),
  `}`,
].join('\n')

const ID_ORDER = '-:0123456789abcdefghijklmnopqrstuvwxyz'
function compareIds(a, b) {
  if (!/^[-:0-9a-z]*$/.test(a) || !/^[-:0-9a-z]*$/.test(b)) return a.localeCompare(b)
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return ID_ORDER.indexOf(a[i]) - ID_ORDER.indexOf(b[i])
  return a.length - b.length
}
// The same order as localeCompare, on this Node's ICU, for random ids.
for (let n = 0; n < 20000; n++) {
  const id = () => Array.from({length: 1 + Math.floor(Math.random() * 5)}, () => ID_ORDER[Math.floor(Math.random() * ID_ORDER.length)]).join('')
  const [a, b] = [id(), id()]
  if (Math.sign(compareIds(a, b)) !== Math.sign(a.localeCompare(b))) throw new Error(`compareIds(${a}, ${b}) differs from localeCompare`)
}

const bundled = new Set(['@oclif/core', 'js-yaml', 'cli-table3'])
const plugin = {
  name: 'netctl',
  setup(b) {
    // Our modules find files of the package (libexec/, bin/) relative to where tsc would have put them.
    b.onLoad({filter: /\.ts$/}, async (args) => {
      const {readFile} = await import('node:fs/promises')
      const text = await readFile(args.path, 'utf8')
      if (!text.includes('import.meta.url')) return undefined
      const tscPath = relative(src, args.path).replace(/\.ts$/, '.js')
      const url = `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(tscPath)})).href`
      return {contents: text.replaceAll('import.meta.url', url), loader: 'ts'}
    })
    // oclif's own check that Node satisfies *its* engines (>=18) loads semver (~15 ms) at every start;
    // netctl's engines (>=20) are stricter and npm checks those.
    b.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]index\.js$/}, async (args) => {
      const {readFile} = await import('node:fs/promises')
      const text = await readFile(args.path, 'utf8')
      if (!text.includes('\ncheckNodeVersion();\n')) throw new Error(`${args.path}: no checkNodeVersion() call to leave out`)
      return {contents: text.replace('\ncheckNodeVersion();\n', '\n'), loader: 'js'}
    })
    // Plugin.load sorts the commands with localeCompare, whose first call builds an ICU collator (~6 ms at
    // every start). For ids made of lowercase letters, digits, '-' and ':' (all of netctl's and its
    // plugin's) the collation is plain ordering by ID_ORDER: checked against localeCompare below.
    b.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/}, async (args) => {
      const {readFile} = await import('node:fs/promises')
      const text = await readFile(args.path, 'utf8')
      const sort = '.sort((a, b) => a.id.localeCompare(b.id));'
      if (!text.includes(sort)) throw new Error(`${args.path}: no localeCompare sort to replace`)
      return {contents: `${text.replace(sort, '.sort((a, b) => compareIds(a.id, b.id));')}\n${compareIds}\nconst ID_ORDER = ${JSON.stringify(ID_ORDER)}\n`, loader: 'js'}
    })
    // fdir (oclif's globbing, unused when the manifest is there) checks at load that picomatch resolves,
    // a lookup through node_modules at every start: the bundle has picomatch.
    b.onLoad({filter: /[\\/]fdir[\\/]dist[\\/]index\.cjs$/}, async (args) => {
      const {readFile} = await import('node:fs/promises')
      const text = await readFile(args.path, 'utf8')
      const check = 'require.resolve("picomatch");'
      if (!text.includes(check)) throw new Error(`${args.path}: no picomatch check to leave out`)
      return {contents: text.replace(check, ''), loader: 'js'}
    })
    // oclif asks wsl-utils whether this is WSL at every start, and wsl-utils loads node:child_process
    // (~1 ms) for its other functions: its isWsl is is-wsl's, asked directly.
    b.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]util[\\/]os\.js$/}, async (args) => {
      const {readFile} = await import('node:fs/promises')
      const text = await readFile(args.path, 'utf8')
      const ask = "(await import('wsl-utils')).isWsl"
      if (!text.includes(ask)) throw new Error(`${args.path}: no wsl-utils isWsl to ask is-wsl for`)
      return {contents: text.replace(ask, "(await import('is-wsl')).default"), loader: 'js'}
    })
    const inOclif = (file) => (path) => new RegExp(`[\\\\/]@oclif[\\\\/]core[\\\\/]lib[\\\\/]${file}$`).test(path)
    // oclif's logger makes a debug() per namespace at every start, and the debug package loads tty,
    // supports-color and its colour tables (~3 ms). It only prints when DEBUG names a namespace, read
    // once at its load: without DEBUG, oclif gets functions that do nothing, and debug is not loaded.
    b.onResolve({filter: /^debug$/}, (args) => (inOclif('logger\\.js')(args.importer) ? {path: 'debug', namespace: 'oclif-debug'} : undefined))
    b.onLoad({filter: /.*/, namespace: 'oclif-debug'}, () => ({
      resolveDir: root,
      loader: 'js',
      // oclif only calls the function debug(namespace) returns.
      contents: 'module.exports = (namespace) => (process.env.DEBUG ? require("debug")(namespace) : () => {})',
    }))
    // supports-color asks tty.isatty(1) and (2) at load; node:tty costs ~1 ms (net, streams) when
    // the output is not a terminal (a file, /dev/null: a pipe loads net itself). process.stdout and
    // process.stderr, which oclif makes at load anyway, know the same.
    b.onResolve({filter: /^tty$/}, (args) => (/[\\/]supports-color[\\/]index\.js$/.test(args.importer) ? {path: 'tty', namespace: 'stdio-tty'} : undefined))
    b.onLoad({filter: /.*/, namespace: 'stdio-tty'}, () => ({
      loader: 'js',
      contents: 'module.exports = {isatty: (fd) => (fd === 1 ? Boolean(process.stdout.isTTY) : fd === 2 ? Boolean(process.stderr.isTTY) : require("node:tty").isatty(fd))}',
    }))
    // Modules whose importers call them only in commands `get` never runs, loaded at their first use
    // instead of at every start (Node's modules cost their internal modules; bundled packages their
    // initialisation): node:crypto (~3 ms: writes, locks and names use it), net (cidr.ts: isIPv4/isIPv6),
    // and what oclif requires for Windows' parent shell (child_process), piped arguments (readline),
    // --debug timings (perf_hooks), globbing commands without a manifest and plugin patterns
    // (tinyglobby, minimatch), help and error templates (ejs) and wrapping long errors (wrap-ansi).
    // Our ES modules get functions that load it; oclif's CommonJS an object (or function) that forwards.
    const lazy = [
      {name: 'node:crypto', importer: (path) => path.startsWith(src)},
      {name: 'node:net', importer: (path) => path === join(src, 'resources/cidr.ts')},
      {name: 'node:child_process', importer: inOclif('util/os\\.js')},
      {name: 'node:readline', importer: inOclif('parser/parse\\.js')},
      {name: 'node:perf_hooks', importer: inOclif('performance\\.js')},
      ...['tinyglobby', 'minimatch', 'ejs', 'wrap-ansi'].map((name) => ({name, importer: inOclif('.*')})),
    ]
    b.onResolve({filter: new RegExp(`^(${lazy.map((l) => l.name).join('|')})$`)}, (args) =>
      lazy.some((l) => l.name === args.path && l.importer(args.importer))
        ? {path: args.path, namespace: 'lazy', pluginData: {commonjs: args.kind === 'require-call', resolveDir: dirname(args.importer)}}
        : undefined)
    b.onLoad({filter: /.*/, namespace: 'lazy'}, async (args) => {
      const {createRequire} = await import('node:module')
      const real = createRequire(join(args.pluginData.resolveDir, 'importer.js'))(args.path)
      const names = Object.keys(real).filter((name) => name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name))
      const load = `let real\nconst load = () => (real ??= require(${JSON.stringify(args.path)}))\n`
      if (!args.pluginData.commonjs) {
        const functions = names.filter((name) => /^[a-z]/.test(name) && typeof real[name] === 'function')
        return {contents: `${load}${functions.map((name) => `export function ${name}(...args) { return load().${name}(...args) }`).join('\n')}\n`, loader: 'js'}
      }
      const target = typeof real === 'function' ? 'function (...args) { return load()(...args) }' : '{}'
      const getters = names.map((name) => `Object.defineProperty(lazy, ${JSON.stringify(name)}, {enumerable: true, get: () => load()[${JSON.stringify(name)}]})`)
      return {resolveDir: args.pluginData.resolveDir, loader: 'js', contents: `${load}const lazy = ${target}\n${getters.join('\n')}\nmodule.exports = lazy\n`}
    })
    // js-yaml's ES module build (its package.json maps require() to a different file).
    b.onResolve({filter: /^js-yaml$/}, () => ({path: join(root, 'node_modules/js-yaml/dist/js-yaml.mjs')}))
    // Bundled: @oclif/core (and what it requires), js-yaml, cli-table3 (every table). Everything else
    // loads from node_modules when the code that needs it runs.
    b.onResolve({filter: /^[^./]/}, (args) => {
      if (args.path.startsWith('node:') || args.importer.includes('/node_modules/') || bundled.has(args.path)) return undefined
      return {path: args.path, external: true}
    })
  },
}

const result = await build({
  stdin: {contents: entry, resolveDir: src, sourcefile: 'netctl-entry.ts', loader: 'ts'},
  outfile: join(dist, 'netctl.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Only for TypeScript sources in development (oclif's ts-path): never bundled.
  external: ['typescript', 'ts-node', 'tsx'],
  plugins: [plugin],
  metafile: true,
  write: false,
  logLevel: 'warning',
  logOverride: {'require-resolve-not-external': 'silent'},
})

// Packages the bundle requires at the top of a module that is not imported lazily would load at every
// start, and ES-module-only ones fail on Node < 20.19: only import() those.
const staticExternal = Object.values(result.metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external && i.kind === 'import-statement' && /^[^./]/.test(i.path) && !i.path.startsWith('node:')).map((i) => i.path))
const allowedStatic = new Set(['cli-progress']) // CommonJS, and only progress.ts (imported lazily) uses it
const unexpected = [...new Set(staticExternal)].filter((p) => !allowedStatic.has(p))
if (unexpected.length > 0) throw new Error(`src imports ${unexpected.join(', ')} statically: import() it where it is needed (startup stays small)`)

// A script run from a code cache cannot import() on Node 20 (the dynamic import callback is lost), so
// the bundle's import() calls (oclif loading commands, our lazy imports of packages) call __import,
// which dist/oclif.js passes in.
let code = new TextDecoder().decode(result.outputFiles[0].contents)
const dynamicImport = /(?<![\w$."'`])import\(/g
const count = code.match(dynamicImport)?.length ?? 0
if (count < 5) throw new Error(`netctl.cjs: expected import() calls to rewrite, found ${count}`)
code = code.replace(dynamicImport, '__import(')
// Record each module as it is initialised (esbuild's lazy __esm and __commonJS wrappers: name = source path).
const esmInit = 'return fn && (res = (0, fn[__getOwnPropNames(fn)[0]])(fn = 0)), res;'
const cjsInit = 'return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;'
if (!code.includes(esmInit) || !code.includes(cjsInit)) throw new Error('netctl.cjs: esbuild\'s __esm or __commonJS helper changed: update the initialisation record')
code = `var __netctlInitialized = [];\n${code
  .replace(esmInit, 'return fn && (__netctlInitialized.push(__getOwnPropNames(fn)[0]), res = (0, fn[__getOwnPropNames(fn)[0]])(fn = 0)), res;')
  .replace(cjsInit, 'return mod || (__netctlInitialized.push(__getOwnPropNames(cb)[0]), 0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;')}`
code = asciiOnly(code, 'netctl.cjs')
// V8 accepts a code cache made for any source of the same length: the cache is tied to this build by
// its first line, which dist/cached-require.js compares.
const {createHash} = await import('node:crypto')
code = `// netctl build ${createHash('sha256').update(code).digest('hex').slice(0, 16)}\n${code}`
mkdirSync(dist, {recursive: true})
rmSync(join(dist, 'netctl.cache'), {force: true})
writeFileSync(join(dist, 'netctl.cjs'), code)
copyFileSync(join(root, 'scripts/build-runtime/oclif.cjs'), join(dist, 'oclif.js'))
copyFileSync(join(root, 'scripts/build-runtime/cached-require.cjs'), join(dist, 'cached-require.js'))
// Everything of ours that `netctl get` loads is CommonJS (bin/ says so too): an ES module would bring
// up Node's ES module loader at every start (~8 ms).
writeFileSync(join(dist, 'package.json'), '{\n  "type": "commonjs"\n}\n')

// @oclif/plugin-autocomplete's commands (`netctl autocomplete`) as commands of ours, each a module that
// imports the plugin's own: a plugin would be found, read and its manifest parsed at every start (~5 ms).
const autocomplete = ['autocomplete/index', 'autocomplete/create', 'autocomplete/script']
for (const m of autocomplete) {
  if (entries.includes(`commands/${m}`)) throw new Error(`src/commands/${m}.ts: the autocomplete plugin's command has that name`)
  // An ES module, as the plugin is (.mjs: dist/ is CommonJS).
  const file = join(dist, 'commands', `${m}.mjs`)
  mkdirSync(dirname(file), {recursive: true})
  writeFileSync(file, `// Built by scripts/build.js: @oclif/plugin-autocomplete's command, run as one of netctl's.\nconst plugin = import.meta.resolve('@oclif/plugin-autocomplete') // its lib/index.js\nexport default (await import(new URL(${JSON.stringify(`commands/${m}.js`)}, plugin))).default\n`)
}

for (const m of entries) {
  const file = join(dist, `${m}.js`)
  mkdirSync(dirname(file), {recursive: true})
  writeFileSync(file, `// Built by scripts/build.js from src/${m}.ts, whose code is in dist/netctl.cjs.\nmodule.exports = require(${JSON.stringify(`./${relative(dirname(file), join(dist, 'oclif.js'))}`)}).netctl.modules[${JSON.stringify(m)}]()\n`)
}
console.log(`dist/netctl.cjs: ${(code.length / 1024).toFixed(0)} KiB, ${Object.keys(result.metafile.inputs).length} modules; ${entries.length} command and hook modules; ${count} import() calls made __import()`)
