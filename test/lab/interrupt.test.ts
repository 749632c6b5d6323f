/** What people do to a running lab command: Ctrl-C, SIGTERM, a closed pipe. Root only. */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {after, before, describe, it} from 'node:test'

import {netctlBin, runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const tag = `i${process.pid % 10000}`

interface Interrupted {
  code: number | null
  stdout: string
  stderr: string
}

describe('lab commands interrupted', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const lab = (suffix: string) => `${tag}${suffix}`

  /** Run netctl and send `signal` once stderr shows `when`. */
  const interrupt = (args: string[], when: RegExp, signal: NodeJS.Signals = 'SIGINT') =>
    new Promise<Interrupted>((resolve) => {
      const child = spawn(process.execPath, [netctlBin, ...args], {env: {...process.env, NETCTL_STATE_DIR: state.path}, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      let sent = false
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => {
        stderr += d
        if (!sent && when.test(stderr)) {
          sent = true
          child.kill(signal)
        }
      })
      child.on('close', (code) => resolve({code, stdout, stderr}))
    })

  before(() => {
    state = tempDir()
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
  })

  it('Ctrl-C during a first lab up stops at a safe point and leaves nothing', async () => {
    const r = await interrupt(['lab', 'up', '--name', lab('a'), '--nodes', '3', '--pods-per-node', '3', '--bgp', 'off'], /creating namespaces/)
    assert.equal(r.code, 130, r.stderr)
    assert.match(r.stderr, /Error: interrupted (before|after) .* \(the new lab was removed again\)\n  netctl lab up --name .* builds it again/)
    assert.deepEqual(namespacesWithPrefix(`nc-${lab('a')}.`), [])
    assert.doesNotMatch((await netctl(['lab', 'list'])).stdout, new RegExp(lab('a')))
  })

  it('SIGTERM during a reconcile says what state the lab is in, and lab up finishes it', async () => {
    const name = lab('b')
    assert.equal((await netctl(['lab', 'up', '--name', name, '--pods-per-node', '1'])).code, 0)
    const r = await interrupt(['lab', 'up', '--name', name, '--pods-per-node', '3'], /creating namespaces/, 'SIGTERM')
    assert.equal(r.code, 130, r.stderr)
    assert.match(r.stderr, new RegExp(`lab "${name}" is partly reconciled\\n  netctl lab up --name ${name} finishes it; netctl lab down ${name} removes it`))
    const again = await netctl(['lab', 'up', '--name', name, '--pods-per-node', '3'])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /2 nodes, 6 pods/)
    assert.equal((await netctl(['lab', 'exec', '--lab', name, 'busybox-controlplane-2', '--', 'ping', '-c1', '-W2', '192.168.0.67'])).code, 0)
  })

  it('lab up | head -3: a closed pipe does not stop the build half-way', async () => {
    const name = lab('c')
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [netctlBin, 'lab', 'up', '--name', name, '--bgp', 'off', '--encapsulation', 'None'], {env: {...process.env, NETCTL_STATE_DIR: state.path}, stdio: ['ignore', 'pipe', 'ignore']})
      child.stdout.once('data', () => child.stdout.destroy())
      child.on('close', resolve)
    })
    assert.equal(code, 0)
    const status = await netctl(['lab', 'exec', '--lab', name, 'busybox-controlplane-0', '--', 'ping', '-c1', '-W2', '192.168.0.65'])
    assert.equal(status.code, 0, status.stderr)
  })

  it('lab bench --modes interrupted puts the lab back in its mode', async () => {
    const name = lab('c')
    const r = await interrupt(['lab', 'bench', name, '--modes', '--seconds', '1', '--rounds', '1'], /switching to vxlan/)
    assert.equal(r.code, 130, r.stderr)
    assert.match(r.stderr, /interrupted .*\n {2}the lab is back in its none mode/)
    const pools = await netctl(['get', 'ippools', '-o', 'wide', '--lab', name])
    assert.match(pools.stdout, /default-ipv4-ippool\s+192\.168\.0\.0\/16\s+true\s+Never\s+Never/)
  })
})

describe('lab progress', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const name = `${tag}p`
  before(() => {
    state = tempDir()
  })
  after(async () => {
    await runCli(['lab', 'down', '--all'], {stateDir: state.path})
    removeNamespaces(namespacesWithPrefix(`nc-${name}`))
    state.cleanup()
  })

  it('shows bars on a terminal (namespaces programmed, BGP sessions Established) and only step lines without one', async () => {
    const {spawnSync} = await import('node:child_process')
    const {join} = await import('node:path')
    const {repoRoot} = await import('../helpers/cli.js')
    const env = {...process.env, NETCTL_STATE_DIR: state.path, CI: undefined}
    const r = spawnSync('python3', [join(repoRoot, 'test/helpers/pty-run.py'), '[]', '--', process.execPath, netctlBin, 'lab', 'up', '--name', name, '--pods-per-node', '1'], {env, encoding: 'utf8', timeout: 60_000})
    assert.equal(r.status, 0, r.stdout)
    assert.match(r.stdout, /› programming links, addresses, routes and sysctls \[[^\]]*\] (\d+)\/\1\u001b/)
    assert.match(r.stdout, /› BGP sessions Established \[[^\]]*\] 2\/2/)
    const ping = spawnSync('python3', [join(repoRoot, 'test/helpers/pty-run.py'), '[]', '--', process.execPath, netctlBin, 'lab', 'ping', name, '--count', '1'], {env, encoding: 'utf8', timeout: 60_000})
    assert.equal(ping.status, 0, ping.stdout)
    assert.match(ping.stdout, /› pinging pairs \[[^\]]*\] 2\/2/)
    const bench = spawnSync('python3', [join(repoRoot, 'test/helpers/pty-run.py'), '[]', '--', process.execPath, netctlBin, 'lab', 'bench', name, '--rounds', '1', '--seconds', '1'], {env, encoding: 'utf8', timeout: 60_000})
    assert.equal(bench.status, 0, bench.stdout)
    assert.match(bench.stdout, /› measuring \[[^\]]*\] 0\/2  \w+, round 1\/1, ~2 s left/)
    assert.match(bench.stdout, /› measuring \[[^\]]*\] 2\/2  \w+, round 1\/1, ~0 s left/)
    const trace = spawnSync('python3', [join(repoRoot, 'test/helpers/pty-run.py'), '[]', '--', process.execPath, netctlBin, 'lab', 'trace', 'busybox-controlplane-0', 'busybox-node01-0', '--lab', name, '--verify'], {env, encoding: 'utf8', timeout: 60_000})
    assert.equal(trace.status, 0, trace.stdout)
    assert.match(trace.stdout, /› captures listening \[[^\]]*\] (\d+)\/\1/)
    assert.match(trace.stdout, /› sending one probe from 192\.168\.\S+ to 192\.168\.\S+\r?\n/)
    const plain = await runCli(['lab', 'up', '--name', name, '--pods-per-node', '2'], {stateDir: state.path})
    assert.equal(plain.code, 0, plain.stderr)
    assert.doesNotMatch(plain.stderr, /\[|\d+\/\d+/)
    assert.match(plain.stderr, /› reloading BIRD where its config changed, waiting for BGP \(2 nodes\)\n/)
  })
})
