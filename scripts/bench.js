#!/usr/bin/env node
// Startup benchmark: median wall time of netctl commands against `node -e 0`, in one run.
// Usage: npm run bench [-- --runs 21]
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 21
const state = mkdtempSync(join(tmpdir(), 'netctl-bench-'))
const env = {...process.env, NETCTL_STATE_DIR: state, XDG_CONFIG_HOME: join(state, 'config')}
delete env.DATASTORE_TYPE

const netctl = (...args) => [process.execPath, 'bin/run.js', ...args]
const run = ([cmd, ...args]) => {
  const started = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`)
  return Number(process.hrtime.bigint() - started) / 1e6
}

try {
  const pools = [0, 1, 2].map((i) => `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool-${i}}\nspec: {cidr: 10.${i}.0.0/16}\n`)
  writeFileSync(join(state, 'pools.yaml'), pools.join('---\n'))
  run(netctl('apply', '-f', join(state, 'pools.yaml')))

  const cases = {
    'node -e 0': [process.execPath, '-e', '0'],
    'netctl --version': netctl('--version'),
    'netctl get ippools -o yaml (3 pools)': netctl('get', 'ippools', '-o', 'yaml'),
    'netctl get ippools (3 pools)': netctl('get', 'ippools'),
  }
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  for (const command of Object.values(cases)) run(command) // warm the file cache
  // Interleave the cases so that machine noise hits them alike.
  for (let i = 0; i < runs; i++) for (const [name, command] of Object.entries(cases)) times[name].push(run(command))
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const baseline = median(times['node -e 0'])
  console.log(`startup, median of ${runs} runs (ratio to node -e 0):`)
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs)
    const target = name === 'node -e 0' ? '' : `   (target: under 1.5x: ${m / baseline < 1.5 ? 'met' : 'MISSED'})`
    console.log(`  ${name.padEnd(40)} ${m.toFixed(1).padStart(7)} ms   ${(m / baseline).toFixed(2)}x${target}`)
  }
} finally {
  rmSync(state, {recursive: true, force: true})
}

// The other benchmarks are TypeScript (they reuse the test harness and planners): run them through tsx.
for (const script of ['scripts/bench-datastores.ts', 'scripts/bench-policy.ts', 'scripts/bench-lab.ts']) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', script], {stdio: 'inherit'})
  if (result.status !== 0) process.exit(result.status ?? 1)
}

// The policy acceptance test with more seeds (root: it builds a lab): predicted = measured.
if (process.getuid?.() === 0) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', 'test/lab/policy-acceptance.test.ts'], {stdio: 'inherit', env: {...process.env, NETCTL_POLICY_SEEDS: '20'}})
  if (result.status !== 0) process.exit(result.status ?? 1)
}
