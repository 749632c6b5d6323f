/**
 * Namespaces whose only change is an MTU (the pods, when the encapsulation changes) are set by
 * one helper process (libexec/netns-link-mtu.py) that enters each of them; what it cannot set
 * goes the ordinary way.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {applySpecs, createNamespaces, deleteNamespaces, observeNetns} from '../../src/dataplane/apply.js'
import {emptyNetns, type NetnsSpec} from '../../src/dataplane/model.js'
import {phaseTimes} from '../../src/dataplane/phases.js'
import {repoRoot} from '../helpers/cli.js'

const root = process.getuid?.() === 0
const python = spawnSync('sh', ['-c', 'command -v python3']).status === 0
const skip = (!root && 'needs root') || (!python && 'needs python3')
const helper = join(repoRoot, 'libexec', 'netns-link-mtu.py')

describe('MTU-only changes through one process', {skip}, () => {
  const netns = [`speed-mtu-${process.pid}-a`, `speed-mtu-${process.pid}-b`]
  after(() => deleteNamespaces(netns))

  it('the helper sets a link\'s MTU in each namespace named, one line a job, and says which it could not', async () => {
    await createNamespaces(netns)
    for (const ns of netns) spawnSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'])
    const jobs = [`/run/netns/${netns[0]} v0 1400`, `/run/netns/${netns[1]} v0 1300`, `/run/netns/${netns[1]} nosuch 1300`, `/run/netns/${netns[0]}-gone v0 1300`].join('\n') + '\n'
    const r = spawnSync('python3', [helper], {input: jobs, encoding: 'utf8'})
    assert.equal(r.status, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    assert.deepEqual(lines.slice(0, 2), ['ok', 'ok'])
    assert.match(lines[2]!, /^error 19 /, 'no such device')
    assert.match(lines[3]!, /^error 2 /, 'no such namespace')
    const mtu = (ns: string) => JSON.parse(spawnSync('ip', ['-n', ns, '-j', 'link', 'show', 'v0'], {encoding: 'utf8'}).stdout)[0].mtu
    assert.deepEqual([mtu(netns[0]!), mtu(netns[1]!)], [1400, 1300])
  })

  it('applySpecs sends trusted MTU-only plans to it, and a record the kernel contradicts the ordinary way', async () => {
    const spec = (ns: string, mtu: number, link = 'v0'): NetnsSpec => {
      const s = emptyNetns(ns)
      s.links.push({name: link, kind: 'veth', peer: {name: `${link}p`, netns: ns}, mtu})
      return s
    }
    // a: v0 is there, as recorded. b: the record names v9, which is not (made the ordinary way once the helper fails).
    spawnSync('ip', ['-n', netns[1]!, 'link', 'del', 'v0'])
    const known = new Map([[netns[0]!, spec(netns[0]!, 1400)], [netns[1]!, spec(netns[1]!, 1500, 'v9')]])
    await applySpecs([spec(netns[0]!, 1280), spec(netns[1]!, 1280, 'v9')], {known})
    assert.ok(phaseTimes().some(([phase]) => phase.startsWith('apply: make, MTU-only (2 namespaces')), JSON.stringify(phaseTimes()))
    assert.equal((await observeNetns(spec(netns[0]!, 1280))).links.find((l) => l.name === 'v0')?.mtu, 1280)
    assert.equal((await observeNetns(spec(netns[1]!, 1280, 'v9'))).links.find((l) => l.name === 'v9')?.mtu, 1280)
  })

  it('an MTU that grows is set beside the break, once routes have moved (one that shrinks, in the make phase)', async () => {
    const spec = (mtu: number): NetnsSpec => {
      const s = emptyNetns(netns[0]!)
      s.links.push({name: 'v0', kind: 'veth', peer: {name: 'v0p', netns: netns[0]!}, mtu})
      return s
    }
    const raisesBefore = phaseTimes().filter(([phase]) => phase.startsWith('apply: MTU raises (1 namespaces')).length
    await applySpecs([spec(1500)], {known: new Map([[netns[0]!, spec(1280)]])})
    assert.ok(phaseTimes().some(([phase]) => phase.startsWith('apply: MTU raises (1 namespaces')), JSON.stringify(phaseTimes()))
    assert.equal(raisesBefore, 0)
    assert.equal((await observeNetns(spec(1500))).links.find((l) => l.name === 'v0')?.mtu, 1500)
  })
})
