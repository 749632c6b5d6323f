/**
 * Applying against the spec netctl last applied (no observation): the plan is the change from
 * that spec, and a kernel that differs from it is observed and planned again.
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {applySpecs, createNamespaces, deleteNamespaces, observeNetns} from '../../src/dataplane/apply.js'
import {diffNetns, planSize} from '../../src/dataplane/diff.js'
import {emptyNetns, type NetnsSpec} from '../../src/dataplane/model.js'
import {observedFromSpec} from '../../src/dataplane/observe.js'
import {planCluster} from '../../src/lab/plan/cluster.js'
import {planLab} from '../../src/lab/plan/plan.js'
import {parseTopology} from '../../src/lab/topology/topology.js'
import type {IPPoolSpec} from '../../src/resources/types.js'

const none = {nodes: [], affinities: [], weps: []}

describe('plans from the last applied spec', () => {
  it('a spec diffed against itself, as observedFromSpec shows it, needs nothing (calico with and without VXLAN, flannel)', () => {
    const calico = parseTopology({kind: 'LabTopology', nodes: [{name: 'a', pods: 2}, {name: 'b', pods: 1}]})
    const vxlan = planCluster('known', calico, none)
    vxlan.pool = {...vxlan.pool, spec: {...vxlan.pool.spec, vxlanMode: 'Always'} as IPPoolSpec}
    const flannel = planCluster('known', parseTopology({kind: 'LabTopology', flavor: 'flannel', backend: {type: 'vxlan'}, nodes: [{name: 'a', pods: 1}, {name: 'b', pods: 1}]}), none)
    for (const cluster of [planCluster('known', calico, none), vxlan, flannel]) {
      const specs = planLab(cluster)
      if (cluster === vxlan) assert.ok(specs.some((s) => s.links.some((l) => l.kind === 'vxlan')))
      for (const spec of specs) {
        const plan = diffNetns(spec, observedFromSpec(spec), {foreignRouteProtos: ['kernel'], existsElsewhere: () => true})
        assert.equal(planSize(plan), 0, `${spec.netns}: ${JSON.stringify(plan)}`)
      }
    }
  })

  const root = process.getuid?.() === 0
  const netns = `speed-known-${process.pid}`
  after(() => deleteNamespaces([netns]))

  it('observes a namespace whose kernel state is not the recorded one, and applies what is really missing', {skip: !root && 'needs root'}, async () => {
    const spec = (mtu: number, cidr: string): NetnsSpec => {
      const s = emptyNetns(netns)
      s.links.push({name: 'br0', kind: 'bridge', mtu})
      s.addresses.push({dev: 'br0', cidr})
      return s
    }
    await createNamespaces([netns])
    await applySpecs([spec(1500, '10.9.0.1/24')], {fresh: new Set([netns])})
    // The record is wrong: it says br0 had no address, so the plan adds one that is there ("File exists").
    const wrong = spec(1500, '10.9.0.1/24')
    wrong.addresses = []
    await applySpecs([spec(1400, '10.9.0.1/24')], {known: new Map([[netns, wrong]])})
    const seen = await observeNetns(spec(1400, '10.9.0.1/24'))
    assert.equal(seen.links.find((l) => l.name === 'br0')?.mtu, 1400)
    assert.deepEqual(seen.addresses.filter((a) => a.dev === 'br0').map((a) => a.cidr), ['10.9.0.1/24'])
    // A right record: the change alone, and no observation needed to find it.
    const [report] = await applySpecs([spec(1300, '10.8.0.1/24')], {known: new Map([[netns, spec(1400, '10.9.0.1/24')]])})
    assert.equal(report!.changes, 3)
    const now = await observeNetns(spec(1300, '10.8.0.1/24'))
    assert.deepEqual([now.links.find((l) => l.name === 'br0')?.mtu, now.addresses.filter((a) => a.dev === 'br0').map((a) => a.cidr)], [1300, ['10.8.0.1/24']])
  })
})
