import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {test} from 'node:test'

import {Config} from '@oclif/core'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'
import {moduleRecorder} from '../helpers/module-recorder.js'

test('--version prints exactly the user agent oclif would print', async () => {
  const config = await Config.load(repoRoot)
  const result = await runCli(['--version'])
  assert.equal(result.code, 0, result.stderr)
  assert.equal(result.stdout, `${config.userAgent}\n`)
  assert.equal(result.stderr, '')
})

// Start-up time is mostly Node finding, reading and compiling modules, so what a run loads is checked
// here (timings are not: `npm run bench` measures them). A resolve hook (in the loader thread) appends
// every ES module URL the CLI resolves to a file; a driver runs bin/run.js as `node bin/run.js ARGS` would
// and, at exit, adds the CommonJS files Node loaded and which of our modules the bundle (dist/netctl.cjs)
// initialised, and whether it came from the V8 code cache.
const recorder = moduleRecorder

interface Loaded {
  code: number | null
  stdout: string
  stderr: string
  /** Files loaded, relative to the package ('dist/netctl.cjs'), or 'node_modules/NAME/…'. */
  files: string[]
  /** Node's own modules loaded: 'fs', 'crypto', 'internal/…'. */
  builtins: string[]
  /** Modules the bundle initialised: 'src/commands/get.ts', … (undefined: the bundle was not loaded). */
  initialized?: string[]
  codeCache?: string
}

function load(dir: string, args: string[], root = repoRoot): Loaded {
  const log = join(dir, 'modules.txt')
  const report = join(dir, 'report.json')
  writeFileSync(log, '')
  writeFileSync(report, '{}')
  writeFileSync(join(dir, 'hook.mjs'), recorder)
  writeFileSync(join(dir, 'record.mjs'), `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)}, {data: {file: ${JSON.stringify(log)}}})\n`)
  const oclif = join(root, 'dist', 'oclif.js')
  const bin = join(root, 'bin', 'run.js')
  writeFileSync(join(dir, 'driver.mjs'), `import {createRequire} from 'node:module'
import {cpSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync} from 'node:fs'
const require = createRequire(import.meta.url)
process.on('exit', () => writeFileSync(${JSON.stringify(report)}, JSON.stringify({
  cjs: Object.keys(require.cache),

  builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)),
  initialized: oclif?.netctl.initialized, codeCache: oclif?.codeCache,
})))
process.argv = [process.argv[0], ${JSON.stringify(bin)}, ...process.argv.slice(2)]
await import(${JSON.stringify(pathToFileURL(bin).href)})
// If bin/run.js loaded dist/oclif.js, this is that module, with this run's state.
const oclif = require.cache[${JSON.stringify(oclif)}]?.exports
`)
  const env: Record<string, string | undefined> = {...process.env, NETCTL_STATE_DIR: dir, XDG_CONFIG_HOME: join(dir, 'config')}
  for (const name of ['DATASTORE_TYPE', 'CALICO_DATASTORE_TYPE', 'ETCD_ENDPOINTS', 'KUBECONFIG', 'NETCTL_CONFIG', 'NETCTL_DEBUG']) delete env[name]
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'record.mjs')).href, join(dir, 'driver.mjs'), ...args], {env, encoding: 'utf8'})
  const {cjs, builtins, initialized, codeCache} = JSON.parse(readFileSync(report, 'utf8')) as {cjs: string[]; builtins: string[]; initialized?: string[]; codeCache?: string}
  const urls = readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:'))
  const ours = (path: string): string | undefined => {
    const m = /[\\/]node_modules[\\/](.*)$/.exec(path)
    if (m) return `node_modules/${m[1]}`
    return path.startsWith(root) ? path.slice(root.length + 1) : undefined
  }
  const files = [...new Set([...urls.map((u) => new URL(u).pathname), ...cjs].map(ours))].filter((f): f is string => f !== undefined)
  return {code: r.status, stdout: r.stdout, stderr: r.stderr, files: files.sort(), builtins, initialized, codeCache}
}

test('get ippools on the file store loads five small modules of ours and initialises none of the heavy ones', () => {
  const dir = tempDir()
  try {
    assert.equal(runCliSync(dir.path, ['create', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool-a}\nspec: {cidr: 10.1.0.0/16}\n'), 0)
    for (const args of [['get', 'ippools', '-o', 'yaml'], ['get', 'ippools']]) {
      const run = load(dir.path, args)
      const what = `netctl ${args.join(' ')}`
      assert.equal(run.code, 0, run.stderr)
      assert.match(run.stdout, /pool-a/)
      // The modules Node loads of ours: the CLI, the command's entry and dist/oclif.js, which reads oclif
      // and all of our code from dist/netctl.cjs (one file, from the code cache, by cached-require.js).
      const ownFiles = run.files.filter((f) => !f.startsWith('node_modules/'))
      assert.deepEqual(ownFiles, ['bin/argv.js', 'bin/run.js', 'dist/cached-require.js', 'dist/commands/get.js', 'dist/oclif.js'], what)
      // No package from node_modules: oclif, js-yaml and cli-table3 are in the bundle.
      assert.deepEqual(run.files.filter((f) => f.startsWith('node_modules/')), [], what)
      // Inside the bundle: the command's own modules only, never the lab, policy, BGP or dataplane code,
      // the etcd or Kubernetes datastores, progress bars (nor, above, inquirer's prompts).
      const initialized = (run.initialized ?? assert.fail(`${what} did not load the bundle`)).filter((m) => m.startsWith('src/'))
      assert.ok(initialized.includes('src/commands/get.ts'), what)
      for (const module of initialized) {
        assert.doesNotMatch(module, /^src\/(lab|policy|bgp|dataplane|ipam)\/|^src\/datastore\/(etcd|kubernetes|kubeconfig)\.ts$|^src\/cli\/progress\.ts$/, `${what} initialised ${module}`)
      }
      // oclif's debug logging costs only when DEBUG asks for it (the test below).
      assert.deepEqual(run.initialized!.filter((m) => /^node_modules\/debug\//.test(m)), [], `${what} initialised the debug package`)
      // node:crypto (~3 ms) only where something is written, locked or hashed.
      assert.ok(!run.builtins.includes('crypto'), `${what} loaded node:crypto`)
      // 36 when this was written (get, the base command, the resource kinds, the file datastore).
      assert.ok(initialized.length <= 45, `${what} initialised ${initialized.length} modules: ${initialized.join(' ')}`)
      // The second run of the same build compiles nothing: the bundle comes from the code cache.
      assert.equal(run.codeCache, 'accepted', `${what}: the V8 code cache of dist/netctl.cjs was not used`)
    }
  } finally {
    dir.cleanup()
  }
})

test('DEBUG=oclif:* still prints oclif\'s debug log (the debug package loads only then)', () => {
  const dir = tempDir()
  try {
    const env: Record<string, string | undefined> = {...process.env, NETCTL_STATE_DIR: dir.path, XDG_CONFIG_HOME: join(dir.path, 'config'), DEBUG: 'oclif:*'}
    for (const name of ['DATASTORE_TYPE', 'CALICO_DATASTORE_TYPE', 'ETCD_ENDPOINTS', 'KUBECONFIG', 'NETCTL_CONFIG', 'NETCTL_DEBUG']) delete env[name]
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'get', 'ippools'], {env, encoding: 'utf8'})
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /oclif:main process\.argv: /)
    assert.match(r.stdout, /^NAME +CIDR +SELECTOR/)
  } finally {
    dir.cleanup()
  }
})

test('a code cache made for another build is not used, and is replaced by one for this build', () => {
  const dir = tempDir()
  try {
    // A copy of the package whose cache says it was made for another build (V8 alone would take any
    // cache made for a bundle of the same length).
    const root = join(dir.path, 'netctl')
    for (const path of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) cpSync(join(repoRoot, path), join(root, path), {recursive: true})
    symlinkSync(realpathSync(join(repoRoot, 'node_modules')), join(root, 'node_modules'))
    const cache = readFileSync(join(root, 'dist', 'netctl.cache'))
    const build = cache.subarray(0, cache.indexOf(10)).toString('latin1')
    assert.equal(build, readFileSync(join(root, 'dist', 'netctl.cjs'), 'latin1').split('\n')[0], 'the cache names the build it was made for')
    assert.match(build, /^\/\/ netctl build [0-9a-f]{16}$/)
    writeFileSync(join(root, 'dist', 'netctl.cache'), Buffer.concat([Buffer.from(`// netctl build ${'0'.repeat(16)}`), cache.subarray(build.length)]))
    const state = join(dir.path, 'state')
    mkdirSync(state)
    const first = load(state, ['get', 'ippools', '-o', 'yaml'], root)
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.codeCache, 'rejected')
    assert.ok(readFileSync(join(root, 'dist', 'netctl.cache')).subarray(0, build.length).equals(Buffer.from(build)), 'rewritten for this build')
    const second = load(state, ['get', 'ippools', '-o', 'yaml'], root)
    assert.equal(second.code, 0, second.stderr)
    assert.equal(second.codeCache, 'accepted')
    assert.equal(second.stdout, first.stdout)
  } finally {
    dir.cleanup()
  }
})

test('--version loads neither oclif nor any of our code', () => {
  const dir = tempDir()
  try {
    const run = load(dir.path, ['--version'])
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.initialized, undefined)
    assert.deepEqual(run.files.filter((f) => !f.startsWith('node_modules/')), ['bin/run.js'])
    assert.deepEqual(run.files.filter((f) => f.startsWith('node_modules/@oclif')), [])
  } finally {
    dir.cleanup()
  }
})

test('get runs without Node\'s ES module loader and without the builtins only other commands use', () => {
  const dir = tempDir()
  try {
    // Run as a user runs it (no ES module driver): a CommonJS preload notes Node's own modules at exit.
    const preload = join(dir.path, 'builtins.cjs')
    const report = join(dir.path, 'builtins.txt')
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, process.moduleLoadList.join('\\n')))\n`)
    const env: Record<string, string | undefined> = {...process.env, NETCTL_STATE_DIR: dir.path, XDG_CONFIG_HOME: join(dir.path, 'config')}
    for (const name of ['DATASTORE_TYPE', 'CALICO_DATASTORE_TYPE', 'ETCD_ENDPOINTS', 'KUBECONFIG', 'NETCTL_CONFIG', 'NETCTL_DEBUG', 'NODE_OPTIONS']) delete env[name]
    const builtinsOf = (args: string[]) => {
      const r = spawnSync(process.execPath, ['-r', preload, ...args], {env, encoding: 'utf8'})
      assert.equal(r.status, 0, r.stderr)
      return readFileSync(report, 'utf8').split('\n').filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length))
    }
    // Node itself loads a few of the loader's modules at every start, `node -e 0` too.
    const always = new Set(builtinsOf(['-e', '0']))
    const builtins = builtinsOf([join(repoRoot, 'bin', 'run.js'), 'get', 'ippools', '-o', 'yaml'])
    assert.deepEqual(builtins.filter((m) => m.startsWith('internal/modules/esm/') && !always.has(m)), [], 'the ES module loader was loaded')
    for (const lazy of ['crypto', 'child_process', 'readline', 'perf_hooks']) assert.ok(!builtins.includes(lazy), `get loaded node:${lazy}`)
    // Output to a pipe here, not a terminal: whether stdout and stderr are terminals comes from process.stdout and process.stderr.
    assert.ok(!builtins.includes('tty'), 'get loaded node:tty for output that is not a terminal')
  } finally {
    dir.cleanup()
  }
})

function runCliSync(stateDir: string, args: string[], input: string): number | null {
  const env: Record<string, string | undefined> = {...process.env, NETCTL_STATE_DIR: stateDir, XDG_CONFIG_HOME: join(stateDir, 'config')}
  for (const name of ['DATASTORE_TYPE', 'CALICO_DATASTORE_TYPE', 'ETCD_ENDPOINTS', 'KUBECONFIG', 'NETCTL_CONFIG', 'NETCTL_DEBUG']) delete env[name]
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'run.js'), ...args], {env, input, encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  return r.status
}
