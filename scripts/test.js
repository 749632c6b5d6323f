#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (TypeScript through tsx).
import {spawnSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

const files = readdirSync('test', {recursive: true})
  .filter((f) => String(f).endsWith('.test.ts'))
  .map((f) => join('test', String(f)))
  .filter((f) => process.argv.length <= 2 || process.argv.slice(2).some((pattern) => f.includes(pattern)))
  .sort()
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {stdio: 'inherit'})
process.exit(result.status ?? 1)
