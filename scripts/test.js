#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (TypeScript through tsx).
import {spawn} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

const files = readdirSync('test', {recursive: true})
  .filter((f) => String(f).endsWith('.test.ts'))
  .map((f) => join('test', String(f)))
  .filter((f) => process.argv.length <= 2 || process.argv.slice(2).some((pattern) => f.includes(pattern)))
  .sort()
// In a process group of its own: a test that signals a whole group by mistake (kill(0)) ends the
// tests, and this script says so, instead of also ending npm and the CI script that ran it.
const runner = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {stdio: 'inherit', detached: true})
// Ctrl-C and a CI's timeout reach only this script's group now: pass them on.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => runner.kill(signal))
runner.on('close', (code, signal) => {
  if (signal) console.error(`the test runner was ended by ${signal}`)
  process.exit(code ?? 1)
})
