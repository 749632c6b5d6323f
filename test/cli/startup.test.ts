import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {test} from 'node:test'

import {Config} from '@oclif/core'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'

test('--version prints exactly the user agent oclif would print', async () => {
  const config = await Config.load(join(repoRoot, 'bin', 'run.js'))
  const result = await runCli(['--version'])
  assert.equal(result.code, 0, result.stderr)
  assert.equal(result.stdout, `${config.userAgent}\n`)
  assert.equal(result.stderr, '')
})

// A resolve hook (in the loader thread) that appends every module URL the CLI resolves to a file.
const recorder = `import {appendFileSync} from 'node:fs'
let file
export function initialize(data) { file = data.file }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(file, result.url + '\\n')
  return result
}`

test('--version and get load neither datastore clients, prompts, progress bars nor the lab code', async () => {
  const dir = tempDir()
  try {
    const log = join(dir.path, 'modules.txt')
    const hook = join(dir.path, 'record.mjs')
    writeFileSync(join(dir.path, 'hook.mjs'), recorder)
    writeFileSync(hook, `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(join(dir.path, 'hook.mjs')).href)}, {data: {file: ${JSON.stringify(log)}}})\n`)
    const heavy = ['@kubernetes/client-node', 'etcd3', '@inquirer/prompts', 'cli-progress', '/dist/lab/']
    for (const args of [['--version'], ['get', 'ippools', '-o', 'yaml'], ['get', 'ippools']]) {
      writeFileSync(log, '')
      const result = await runCli(args, {stateDir: dir.path, env: {NODE_OPTIONS: `--import ${pathToFileURL(hook).href}`}})
      assert.equal(result.code, 0, result.stderr)
      const loaded = readFileSync(log, 'utf8')
      assert.match(loaded, /bin\/run\.js/, 'the recorder saw the CLI start')
      for (const name of heavy) assert.ok(!loaded.includes(name), `netctl ${args.join(' ')} loaded ${name}`)
    }
  } finally {
    dir.cleanup()
  }
})
