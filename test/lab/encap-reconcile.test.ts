/**
 * What an encapsulation change runs on a lab with static routes (root): it trusts what it last
 * applied instead of observing namespaces, sets the pods' MTUs in one process, checks no policy
 * table and probes no kernel module it knows is loaded. Every program netctl starts goes through
 * a logging shim on PATH, so the test sees each one.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {pingDuring} from '../../src/lab/inspect/ping.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const lab = `encap${process.pid % 100000}`

describe('encap set on a lab with static routes: only what changed, nothing observed', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  let shims: ReturnType<typeof tempDir>
  const log = () => join(shims.path, 'commands.log')
  const netctl = (args: string[], env: Record<string, string> = {}) => runCli(args, {stateDir: state.path, env})
  /** netctl with every ip, bridge, nsenter, nft, sysctl and python3 it starts logged, one line each; returns the lines. */
  const logged = async (args: string[]) => {
    writeFileSync(log(), '')
    const result = await netctl(args, {PATH: `${shims.path}:${process.env.PATH}`})
    return {...result, commands: readFileSync(log(), 'utf8').split('\n').filter(Boolean)}
  }
  const exec = async (target: string, command: string[]) => (await netctl(['lab', 'exec', '--lab', lab, target, '--', ...command])).stdout

  before(async () => {
    state = tempDir()
    shims = tempDir('netctl-shims-')
    for (const program of ['ip', 'bridge', 'nsenter', 'nft', 'sysctl', 'python3']) {
      const real = spawnSync('sh', ['-c', `command -v ${program}`], {encoding: 'utf8'}).stdout.trim()
      if (!real) continue
      const shim = join(shims.path, program)
      writeFileSync(shim, `#!/bin/sh\necho "${program} $*" >> '${log()}'\nexec '${real}' "$@"\n`)
      chmodSync(shim, 0o755)
    }
    const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '2', '--pods-per-node', '2', '--bgp', 'off', '--encapsulation', 'None'])
    assert.equal(up.code, 0, up.stderr)
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${lab}.`))
    state.cleanup()
    shims.cleanup()
  })

  it('vxlan: no namespace observed, no pod entered but by one python3, no nft asked, no kernel probe; the phases under --debug', async () => {
    const set = await logged(['encap', 'set', 'vxlan', '--yes', '--debug'])
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stderr, /^phases \(wall ms; process age \d+ ms, its own CPU \d+ ms\):$/m)
    assert.match(set.stderr, /^ {2}apply: switch \(2 namespaces\) +\d+ ms$/m)
    assert.deepEqual(set.commands.filter((c) => / -d -j -batch|fdb show|sysctl -e/.test(c)), [], 'nothing observed')
    assert.deepEqual(set.commands.filter((c) => c.includes(`/run/netns/nc-${lab}.p-`)), [], 'no process entered a pod')
    assert.equal(set.commands.filter((c) => c.startsWith('python3 ') && c.includes('netns-link-mtu.py')).length, 1, 'one process set the pods\' MTUs')
    assert.deepEqual(set.commands.filter((c) => / nft list tables/.test(c)), [], 'no policy table asked for: the recorded scripts did not change')
    if (existsSync('/sys/module/vxlan')) assert.deepEqual(set.commands.filter((c) => c.includes(`nc-${lab}.probe`)), [], 'the vxlan module is loaded: no probe namespace')
    // And the lab is switched: pods at 1450, routes through vxlan.calico, traffic across.
    assert.match(await exec('busybox-controlplane-0', ['ip', 'link', 'show', 'eth0']), /mtu 1450/)
    assert.match(await exec('busybox-node01-1', ['ip', 'link', 'show', 'eth0']), /mtu 1450/)
    assert.match(await exec('controlplane', ['ip', 'route']), /^192\.168\.0\.64\/26 via 192\.168\.0\.64 dev vxlan\.calico onlink $/m)
    assert.match(await exec('busybox-controlplane-0', ['ping', '-c1', '-W2', '192.168.0.65']), /ttl=62/)
  })

  it('none, where the kernel differs from the record (vxlan.calico removed by hand on node01): that node is observed and finished', async () => {
    spawnSync('ip', ['-n', `nc-${lab}.n-node01`, 'link', 'del', 'vxlan.calico'])
    const set = await logged(['encap', 'set', 'none', '--yes'])
    assert.equal(set.code, 0, set.stderr)
    const observed = set.commands.filter((c) => c.startsWith('nsenter ') && / -d -j -batch/.test(c)).map((c) => /--net=\/run\/netns\/(\S+)/.exec(c)?.[1])
    assert.deepEqual(observed, [`nc-${lab}.n-node01`], 'only the node whose batch failed')
    for (const node of ['controlplane', 'node01']) assert.doesNotMatch(await exec(node, ['ip', 'link', 'show']), /vxlan\.calico/)
    assert.match(await exec('busybox-node01-0', ['ip', 'link', 'show', 'eth0']), /mtu 1500/)
    assert.match(await exec('controlplane', ['ip', 'route']), /^192\.168\.0\.64\/26 via 172\.17\.0\.40 dev eth0 proto 80\s*$/m)
    assert.match(await exec('busybox-controlplane-0', ['ping', '-c1', '-W2', '192.168.0.65']), /ttl=62/)
  })

  it('loses no packet of a 100 pps ping across four switches made this way (vxlan, none, vxlan, none)', async () => {
    const {sent, lost} = await pingDuring(`nc-${lab}.p-busybox-controlplane-0`, '192.168.0.65', async () => {
      for (const mode of ['vxlan', 'none', 'vxlan', 'none']) {
        const set = await netctl(['encap', 'set', mode, '--yes'])
        assert.equal(set.code, 0, set.stderr)
      }
    })
    console.log(`# 4 live switches on static routes under a 100 pps ping: ${lost} of ${sent} lost`)
    assert.ok(sent > 50, `${sent} sent`)
    assert.equal(lost, 0)
  })
})
