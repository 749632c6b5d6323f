/**
 * `policy eval` on a big cluster: one flow must not pay for the whole world. The evaluator makes
 * the peers (labels, profiles, views) of the endpoints a flow touches only, and the service lists
 * each kind once (not once more per end of the flow), with the same verdicts.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {Datastore} from '../../src/datastore/datastore.js'
import type {KindInfo} from '../../src/resources/kind.js'
import type {Resource} from '../../src/resources/types.js'
import {buildWorld, evaluate} from '../../src/policy/index.js'
import {evaluateFlow} from '../../src/services/policy.js'
import {gnp, wep} from './fixtures.js'

/** n endpoints whose labels count how often they are read (makePeer reads them once per peer made). */
function countedEndpoints(n: number) {
  const reads = {count: 0}
  const resources: Resource[] = []
  for (let i = 0; i < n; i++) {
    const r = wep(`ns${i % 10}`, `pod-${i}`, {app: `app${i % 20}`}, `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`)
    const labels = r.metadata.labels
    Object.defineProperty(r.metadata, 'labels', {
      enumerable: true,
      get() {
        reads.count++
        return labels
      },
    })
    resources.push(r)
  }
  return {resources, reads}
}

const policies = [gnp('web', {selector: "app == 'app3'", ingress: [{action: 'Allow', protocol: 'TCP', source: {selector: "app == 'app1'"}, destination: {ports: [80]}}]})]

describe('policy eval builds only what a flow needs', () => {
  it('one flow between two of 2,000 endpoints makes only their peers, with the same verdict as the full world', () => {
    const {resources, reads} = countedEndpoints(2000)
    const world = buildWorld({resources: [...resources, ...policies]})
    const byName = evaluate({from: {name: 'pod-1', namespace: 'ns1'}, to: {name: 'pod-3', namespace: 'ns3'}, protocol: 'TCP', port: 80}, world)
    const byAddress = evaluate({from: '10.1.0.2', to: '10.1.0.4', protocol: 'TCP', port: 80}, world)
    assert.ok(reads.count <= 4, `labels of ${reads.count} endpoints were read`)
    assert.equal(byName.allowed, true)
    assert.equal(byAddress.allowed, true)
    assert.equal(byName.ingress.policy?.name, 'web')
    // The full views agree with the lazy ones (and reuse the peers already made).
    assert.equal(world.peers.length, 2000)
    assert.equal(world.endpointsByAddress.get(`4:${(10n << 24n) | (1n << 16n) | 4n}`)?.[0], world.endpointsNamed('pod-3')[0])
    const denied = evaluate({from: {name: 'pod-2', namespace: 'ns2'}, to: {name: 'pod-3', namespace: 'ns3'}, protocol: 'TCP', port: 80}, world)
    assert.equal(denied.allowed, false)
    assert.equal(denied.ingress.decidedBy, 'end-of-tier')
  })

  it('an address written differently (IPv6, a /128) still finds its endpoint', () => {
    const world = buildWorld({resources: [wep('a', 'six', {}, ['fd00::0:1']), wep('a', 'four', {}, '10.0.0.1')]})
    const v = evaluate({from: 'fd00::1', to: {name: 'six', namespace: 'a'}, protocol: 'ICMPv6'}, world)
    assert.deepEqual(v.egress.endpoint, {kind: 'WorkloadEndpoint', name: 'six', namespace: 'a'})
    assert.deepEqual(world.endpointsAt(4, (10n << 24n) | 1n).map((p) => p.name), ['four'])
  })

  it('evaluateFlow lists each kind once and asks for no object again', async () => {
    const {resources} = countedEndpoints(50)
    const all = [...resources, ...policies]
    const calls: string[] = []
    const ds: Datastore = {
      location: 'counting datastore',
      async list(kind: KindInfo) {
        calls.push(`list ${kind.kind}`)
        return all.filter((r) => r.kind === kind.kind)
      },
      async get(kind: KindInfo, name: string) {
        calls.push(`get ${kind.kind} ${name}`)
        throw new Error('not expected')
      },
      create: () => Promise.reject(new Error('read only')),
      update: () => Promise.reject(new Error('read only')),
      delete: () => Promise.reject(new Error('read only')),
      close: async () => {},
    }
    const v = await evaluateFlow(ds, {from: 'pod-1', to: 'pod-3', protocol: 'TCP', port: 80})
    assert.equal(v.allowed, true)
    assert.equal(calls.filter((c) => c === 'list WorkloadEndpoint').length, 1, calls.join('\n'))
    assert.equal(new Set(calls).size, calls.length, `a kind was listed twice:\n${calls.join('\n')}`)
    assert.deepEqual(calls.filter((c) => c.startsWith('get')), [])
  })
})
