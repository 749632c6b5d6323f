/**
 * A small Calico cluster as Calico's CNI IPAM leaves it, written into any datastore: pool
 * 10.244.0.0/16 (/26 blocks), nodes node-a (pods pod-a1, pod-a2) and node-b (pod-b1), their
 * blocks, affinities, handles and endpoints. In Kubernetes nodes and pods go into the API double.
 */
import type {Datastore} from '../../src/datastore/datastore.js'
import {allocateAddresses, podHandleID} from '../../src/ipam/allocator.js'
import {blockResource} from '../../src/ipam/block.js'
import {blockAffinityKind, blockAffinityName} from '../../src/resources/blockaffinity.js'
import {clusterInformationKind, newClusterInformation} from '../../src/resources/felixconfiguration.js'
import {ipamBlockKind, ipamHandleKind} from '../../src/resources/ipam.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import {nodeKind} from '../../src/resources/node.js'
import {API_VERSION, type Resource} from '../../src/resources/types.js'
import {workloadEndpointKind, workloadEndpointName} from '../../src/resources/workloadendpoint.js'
import type {KubeApiDouble} from '../helpers/kube-api-double.js'

export const seedPods = [
  {pod: 'pod-a1', node: 'node-a'},
  {pod: 'pod-a2', node: 'node-a'},
  {pod: 'pod-b1', node: 'node-b'},
]
export const containerIDOf = (pod: string) => `c0ffee${pod.replace(/-/g, '')}`.padEnd(64, '0')
export const handleOf = (pod: string) => podHandleID(containerIDOf(pod))

export function seedAllocation() {
  const blocks = ['10.244.0.0/26', '10.244.0.64/26']
  return allocateAddresses({
    nodes: [{name: 'node-a', blocks: []}, {name: 'node-b', blocks: []}],
    pods: seedPods.map((p) => ({...p, namespace: 'default', handleID: handleOf(p.pod)})),
    blocks: [],
    claimBlock: () => blocks.shift()!,
    reserved: (i) => new Set(i === 0 ? [0] : []),
    timestamp: '2026-01-01T00:00:00Z',
  })
}

export const wepOf = (pod: string, node: string, ip: string): Resource => ({
  apiVersion: API_VERSION,
  kind: 'WorkloadEndpoint',
  metadata: {name: workloadEndpointName({node, pod}), namespace: 'default', labels: {'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'k8s'}},
  spec: {orchestrator: 'k8s', node, pod, endpoint: 'eth0', containerID: containerIDOf(pod), ipNetworks: [`${ip}/32`], profiles: ['kns.default'], interfaceName: `cali${pod.replace(/-/g, '')}`.slice(0, 15)},
})

export async function seedCluster(ds: Datastore, kube?: KubeApiDouble): Promise<void> {
  const allocated = seedAllocation()
  await ds.create(ipPoolKind, {apiVersion: API_VERSION, kind: 'IPPool', metadata: {name: 'default-ipv4-ippool'}, spec: {cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'}})
  for (const spec of allocated.blocks) {
    await ds.create(ipamBlockKind, blockResource(spec))
    const node = spec.affinity!.slice('host:'.length)
    await ds.create(blockAffinityKind, {apiVersion: API_VERSION, kind: 'BlockAffinity', metadata: {name: blockAffinityName(node, spec.cidr)}, spec: {state: 'confirmed', node, cidr: spec.cidr, deleted: 'false'}})
  }
  for (const handle of allocated.handles) await ds.create(ipamHandleKind, handle)
  const ipOf = (pod: string) => allocated.addresses.get(handleOf(pod))!
  if (kube) {
    kube.seed('nodes', ['node-a', 'node-b'].map((name) => ({metadata: {name}})))
    kube.seed('pods', seedPods.map((p) => ({
      metadata: {name: p.pod, namespace: 'default', annotations: {'cni.projectcalico.org/containerID': containerIDOf(p.pod)}},
      spec: {nodeName: p.node},
      status: {phase: 'Running', podIP: ipOf(p.pod)},
    })))
    await ds.create(clusterInformationKind, newClusterInformation())
    return
  }
  for (const name of ['node-a', 'node-b']) await ds.create(nodeKind, {apiVersion: API_VERSION, kind: 'Node', metadata: {name}, spec: {orchRefs: [{nodeName: name, orchestrator: 'k8s'}]}})
  await ds.create(clusterInformationKind, newClusterInformation())
  for (const p of seedPods) await ds.create(workloadEndpointKind, wepOf(p.pod, p.node, ipOf(p.pod)))
}

/** What ipam show prints for this cluster. */
export const usageTable = [
  '+----------+---------------+-----------+------------+--------------+--------------+',
  '| GROUPING | CIDR          | IPS TOTAL | IPS IN USE | IPS RESERVED | IPS FREE     |',
  '+----------+---------------+-----------+------------+--------------+--------------+',
  '| IP Pool  | 10.244.0.0/16 |     65536 |     3 (0%) |       0 (0%) | 65533 (100%) |',
  '+----------+---------------+-----------+------------+--------------+--------------+',
].join('\n')

export const blocksTable = [
  '+----------+----------------+-----------+------------+--------------+--------------+',
  '| GROUPING | CIDR           | IPS TOTAL | IPS IN USE | IPS RESERVED | IPS FREE     |',
  '+----------+----------------+-----------+------------+--------------+--------------+',
  '| IP Pool  | 10.244.0.0/16  |     65536 |     3 (0%) |       0 (0%) | 65533 (100%) |',
  '| Block    | 10.244.0.0/26  |        64 |     2 (3%) |       0 (0%) |     62 (97%) |',
  '| Block    | 10.244.0.64/26 |        64 |     1 (2%) |       0 (0%) |     63 (98%) |',
  '+----------+----------------+-----------+------------+--------------+--------------+',
].join('\n')
