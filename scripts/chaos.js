#!/usr/bin/env node
// Chaos for labs (root, not in CI): kill `lab up` at random points between 0.05 s and 3 s,
// run `lab up` again, and check that every pod reaches every other (`lab ping`) and that
// `lab down` leaves no namespace behind. Prints how many of the rounds came out whole.
// Usage: npm run chaos [-- --rounds 20 --seed 1]
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const arg = (name, fallback) => Number(process.argv[process.argv.indexOf(name) + 1]) || fallback
const rounds = arg('--rounds', 20)
let seed = arg('--seed', Date.now() % 100000)
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
const signals = ['SIGKILL', 'SIGINT', 'SIGTERM']

const state = mkdtempSync(join(tmpdir(), 'netctl-chaos-'))
const env = {...process.env, NETCTL_STATE_DIR: state, XDG_CONFIG_HOME: join(state, 'config')}
const lab = `chaos${process.pid % 1000}`
const netctl = (...args) => spawnSync(process.execPath, ['bin/run.js', ...args], {env, encoding: 'utf8'})
const namespaces = () => spawnSync('ip', ['netns', 'list'], {encoding: 'utf8'}).stdout.split('\n').filter((l) => l.startsWith(`nc-${lab}.`))

function killedUp(afterMs, signal) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/run.js', 'lab', 'up', '--name', lab, '--nodes', '3', '--pods-per-node', '2'], {env, stdio: 'ignore'})
    const timer = setTimeout(() => child.kill(signal), afterMs)
    child.on('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

console.log(`chaos: ${rounds} rounds, seed ${seed}, lab ${lab} (3 nodes, 6 pods, BGP mesh)`)
let whole = 0
try {
  for (let i = 1; i <= rounds; i++) {
    const afterMs = Math.round(50 + random() * 2950)
    const signal = signals[Math.floor(random() * signals.length)]
    await killedUp(afterMs, signal)
    const up = netctl('lab', 'up', '--name', lab, '--nodes', '3', '--pods-per-node', '2')
    const ping = up.status === 0 ? netctl('lab', 'ping', '--lab', lab, '--count', '1') : {status: 1, stdout: '', stderr: ''}
    const down = netctl('lab', 'down', lab)
    const left = namespaces()
    const ok = up.status === 0 && ping.status === 0 && down.status === 0 && left.length === 0
    if (ok) whole++
    const why = ok ? '' : ` | up ${up.status} ${up.stderr.trim().split('\n').at(-2) ?? ''} | ping ${ping.status} | down ${down.status} | left ${left.length}`
    console.log(`round ${String(i).padStart(2)}: ${signal.padEnd(7)} at ${String(afterMs).padStart(4)} ms → ${ok ? 'whole' : 'BROKEN'}${why}`)
    if (left.length) for (const ns of left) spawnSync('ip', ['netns', 'del', ns])
  }
} finally {
  netctl('lab', 'down', '--all')
  rmSync(state, {recursive: true, force: true})
}
console.log(`chaos: ${whole} of ${rounds} rounds whole`)
process.exit(whole === rounds ? 0 : 1)
