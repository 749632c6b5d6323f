/** What the lab writes into its datastore must pass the same validators as what users write. */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {load} from 'js-yaml'

import {clusterResources, planCluster, routeReflectorClusterID, routeReflectorLabel} from '../../src/lab/plan/cluster.js'
import {defaultTopology, parseTopology, type Topology} from '../../src/lab/topology/topology.js'
import {kindInfo} from '../../src/resources/registry.js'
import {API_VERSION, type Resource} from '../../src/resources/types.js'
import {repoRoot} from '../helpers/cli.js'

const none = {nodes: [], affinities: [], weps: []}

/** As services/resources.ts prepare() does: defaults, then the kind's validator. */
function check(resource: Resource, others: Resource[] = []): void {
  const info = kindInfo(resource.kind)
  const ready = info.withDefaults ? info.withDefaults(resource) : resource
  assert.doesNotThrow(() => info.validate!(ready, {others}), `${resource.kind} ${resource.metadata.name}`)
}

function checkLab(topology: Topology): number {
  const cluster = planCluster('demo', topology, none)
  const written = clusterResources(cluster, topology.routeReflectors)
  const all = [cluster.pool as Resource, ...written.nodes, ...written.affinities, ...written.weps]
  // ensureBgpConfiguration's objects (src/lab/plan/cluster.ts).
  all.push({apiVersion: API_VERSION, kind: 'BGPConfiguration', metadata: {name: 'default'}, spec: {asNumber: 64512, nodeToNodeMeshEnabled: topology.routeReflectors === 0, logSeverityScreen: 'Info'}})
  all.push({apiVersion: API_VERSION, kind: 'BGPPeer', metadata: {name: 'peer-with-route-reflectors'}, spec: {nodeSelector: 'all()', peerSelector: `${routeReflectorLabel} == 'true'`}})
  for (const resource of all) check(resource)
  return all.length
}

describe('objects the lab writes', () => {
  it('pass validation: calico, default topology', () => {
    assert.ok(checkLab(defaultTopology({})) > 6)
  })

  it('pass validation: calico with route reflectors (cluster ID 244.0.0.1), BGP on', () => {
    const topology = defaultTopology({nodes: 4, podsPerNode: 3, bgp: true, routeReflectors: 2})
    const cluster = planCluster('demo', topology, none)
    const nodes = clusterResources(cluster, 2).nodes
    assert.equal((nodes[0]!.spec as {bgp: {routeReflectorClusterID: string}}).bgp.routeReflectorClusterID, routeReflectorClusterID)
    checkLab(topology)
  })

  it('pass validation: flannel, and the cross-subnet example', () => {
    checkLab(defaultTopology({flavor: 'flannel'}))
    checkLab(parseTopology(load(readFileSync(`${repoRoot}/examples/cross-subnet-lab.yaml`, 'utf8'))))
  })
})
