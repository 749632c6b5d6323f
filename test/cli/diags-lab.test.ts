/** netctl node diags / cluster diags of a small calico lab (root): every recorded namespace and each BIRD. */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, rmSync} from 'node:fs'
import {dirname} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const listing = (archive: string) => spawnSync('tar', ['-tzf', archive], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean)
const member = (archive: string, path: string) => spawnSync('tar', ['-xzOf', archive, path], {encoding: 'utf8'}).stdout
const bundleOf = (stdout: string) => /(?:Diagnostic bundle created at|Diags saved to) (\S+\.tar\.gz)\n/.exec(stdout)?.[1]

// Unique to this worktree's test and process: nc-migdNNNN.*
const lab = `migd${process.pid % 10000}`

describe('diags of a lab', {skip: kernelSkipReason()}, () => {
  let state: ReturnType<typeof tempDir>
  const made: string[] = []
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  before(async () => {
    state = tempDir()
    const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '2', '--pods-per-node', '1', '--encapsulation', 'None'])
    assert.equal(up.code, 0, up.stderr)
  })
  after(async () => {
    await netctl(['lab', 'down', lab]).catch(() => undefined)
    removeNamespaces(namespacesWithPrefix(`nc-${lab}.`))
    state.cleanup()
    for (const archive of made) rmSync(dirname(archive), {recursive: true, force: true})
  })

  it('node diags --lab: addresses, routes, neighbours and nftables of every namespace, and each node\'s BIRD', async () => {
    const r = await netctl(['node', 'diags', '--lab', lab])
    assert.equal(r.code, 0, r.stderr)
    const archive = bundleOf(r.stdout)
    assert.ok(archive, r.stdout)
    made.push(archive)
    const files = listing(archive)
    const namespaces = member(archive, 'diagnostics/lab/namespaces').split('\n').filter(Boolean)
    assert.deepEqual([...namespaces].sort(), namespacesWithPrefix(`nc-${lab}.`).sort())
    assert.ok(namespaces.includes(`nc-${lab}.n-node01`) && namespaces.some((n) => n.startsWith(`nc-${lab}.p-`)), namespaces.join(' '))
    for (const netns of namespaces) {
      for (const f of ['ipv4_addr', 'ipv4_route', 'ipv6_route', 'neigh', 'links', 'nft_ruleset']) assert.ok(files.includes(`diagnostics/namespaces/${netns}/${f}`), `${netns}/${f}`)
    }
    assert.match(member(archive, `diagnostics/namespaces/nc-${lab}.n-node01/ipv4_route`), /proto bird/)
    for (const node of ['controlplane', 'node01']) {
      assert.match(member(archive, `diagnostics/bird/${node}/bird_protocols`), /Established/)
      assert.ok(files.includes(`diagnostics/bird/${node}/bird.conf`))
    }
    assert.ok(files.includes('diagnostics/lab/lab.json'))
    assert.ok(!files.includes('diagnostics/ipv4_route'), 'the host is not collected for a lab')
  })

  it('cluster diags --lab --focus-nodes: the lab datastore\'s resources and only that node\'s namespace and BIRD', async () => {
    const r = await netctl(['cluster', 'diags', '--lab', lab, '--focus-nodes', 'node01', '--max-parallelism', '2'])
    assert.equal(r.code, 0, r.stderr)
    const archive = bundleOf(r.stdout)
    assert.ok(archive, r.stdout)
    made.push(archive)
    const dir = /calico-diagnostics-\d{8}_\d{6}/.exec(archive)![0]
    const files = listing(archive)
    assert.match(member(archive, `${dir}/cluster/crd/nodes.yaml`), /name: node01/)
    assert.match(member(archive, `${dir}/cluster/crd/workloadendpoints.yaml`), /kind: WorkloadEndpoint\n/)
    assert.ok(files.includes(`${dir}/namespaces/nc-${lab}.n-node01/ipv4_route`))
    assert.ok(!files.some((f) => f.includes(`nc-${lab}.n-controlplane/`)), 'other nodes left out')
    assert.ok(files.includes(`${dir}/bird/node01/bird_protocols`))
    assert.ok(!files.some((f) => f.includes('bird/controlplane/')))
    const unknown = await netctl(['cluster', 'diags', '--lab', lab, '--focus-nodes', 'node09'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /lab "migd\d+" has no node "node09"/)
    const temp = /Created temporary directory: (\S+)\n/.exec(unknown.stdout)?.[1]
    assert.ok(temp && !existsSync(temp), `${temp} removed after the failure`)
  })
})
