/**
 * A file calicoctl wrote, and the IPAM part of a migration file: v3 IPAM objects ↔ calicoctl's {Key, Value, TTL} with
 * libcalico-go's etcd keys and model JSON, node renames included. The IPAM kinds are stood in
 * for by minimal KindInfos here, so the conversion is checked whether or not they are registered.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {blockAffinityKind} from '../../src/resources/blockaffinity.js'
import type {KindInfo} from '../../src/resources/kind.js'
import type {Resource} from '../../src/resources/types.js'
import {exportKinds, fromIpamKv, ipamKinds, toIpamKv} from '../../src/services/migrate.js'
import {runCli, tempDir} from '../helpers/cli.js'

const stand = (kind: string): KindInfo => ({kind, plural: `${kind.toLowerCase()}s`, aliases: [], namespaced: false, columns: {ps: [], wide: []}, cells: {}})
const v3 = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({apiVersion: 'projectcalico.org/v3', kind, metadata: {name}, spec})
const same = (n: unknown) => n

describe('migration file: the IPAM section', () => {
  it('keeps the IPAM kinds of the registry out of the v3 part', () => {
    const names = (list: KindInfo[]) => list.map((k) => k.kind)
    assert.ok(names(ipamKinds()).includes('BlockAffinity'))
    for (const k of ['BlockAffinity', 'IPAMBlock', 'IPAMHandle', 'IPAMConfig', 'ClusterInformation']) assert.ok(!names(exportKinds()).includes(k), k)
  })

  it('IPAMBlock: calicoctl\'s key, model JSON (affinity_claim_time), and back', () => {
    const block = v3('IPAMBlock', '10-50-0-0-30', {
      cidr: '10.50.0.0/30', affinity: 'host:node01', affinityClaimTime: '2026-01-01T00:00:00Z',
      allocations: [0, null, null, null], unallocated: [1, 2, 3], attributes: [{handle_id: 'ipip-tunnel-addr-etcd-node-1', secondary: {node: 'etcd-node-1', type: 'ipipTunnelAddress'}}],
      sequenceNumber: 4, deleted: false,
    })
    const kv = toIpamKv('IPAMBlock', block, same)
    assert.equal(kv.Key, '/calico/ipam/v2/assignment/ipv4/block/10.50.0.0-30')
    assert.equal(kv.Value.affinity_claim_time, '2026-01-01T00:00:00Z')
    assert.equal(kv.Value.affinityClaimTime, undefined)
    assert.deepEqual(fromIpamKv(stand('IPAMBlock'), kv), block)
    // calicoctl renames the etcd node to its Kubernetes name in the affinity and tunnel handles.
    const renamed = toIpamKv('IPAMBlock', block, (n) => (n === 'etcd-node-1' ? 'node01' : n))
    assert.equal((renamed.Value.attributes as Array<{handle_id: string}>)[0]!.handle_id, 'ipip-tunnel-addr-node01')
  })

  it('IPAMHandle, IPAMConfig and a v6 BlockAffinity', () => {
    const handle = v3('IPAMHandle', 'k8s-pod-network.abc', {handleID: 'k8s-pod-network.ABC', block: {'10.50.0.0/26': 1}, deleted: false})
    const hkv = toIpamKv('IPAMHandle', handle, same)
    assert.deepEqual(hkv, {Key: '/calico/ipam/v2/handle/k8s-pod-network.ABC', Value: {block: {'10.50.0.0/26': 1}, deleted: false}, TTL: 0})
    assert.deepEqual(fromIpamKv(stand('IPAMHandle'), hkv), handle)

    const config = v3('IPAMConfig', 'default', {strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 4})
    const ckv = toIpamKv('IPAMConfig', config, same)
    assert.deepEqual(ckv, {Key: '/calico/ipam/v2/config', Value: {strict_affinity: true, auto_allocate_blocks: true, maxBlocksPerHost: 4}, TTL: 0})
    assert.deepEqual(fromIpamKv(stand('IPAMConfig'), ckv), config)

    const affinity = v3('BlockAffinity', 'node01-fd00-1--122', {state: 'confirmed', node: 'node01', cidr: 'fd00:1::/122', deleted: 'false'})
    const akv = toIpamKv('BlockAffinity', affinity, same)
    assert.equal(akv.Key, '/calico/ipam/v2/host/node01/ipv6/block/fd00:1::-122')
    assert.deepEqual(fromIpamKv(blockAffinityKind, akv).spec, affinity.spec)
  })

  it('refuses a key that is not libcalico-go\'s', () => {
    assert.throws(() => fromIpamKv(blockAffinityKind, {Key: '/calico/ipam/v2/elsewhere', Value: {}, TTL: 0}), /not libcalico-go's/)
  })
})

describe('migration file written by calicoctl', () => {
  // The shape of calicoctl datastore migrate export (v3.29): lists with list metadata, a
  // KubeControllersConfiguration (a kind netctl lacks), Go's indented JSON for the rest.
  const calicoctlFile = `apiVersion: projectcalico.org/v3
items:
- apiVersion: projectcalico.org/v3
  kind: IPPool
  metadata:
    name: default-ipv4-ippool
  spec:
    allowedUses:
    - Workload
    - Tunnel
    blockSize: 26
    cidr: 192.168.0.0/16
    ipipMode: Always
    natOutgoing: true
    nodeSelector: all()
    vxlanMode: Never
kind: IPPoolList
metadata:
  resourceVersion: "1234"
---
apiVersion: projectcalico.org/v3
items: []
kind: BGPPeerList
metadata:
  resourceVersion: "1234"
---
apiVersion: projectcalico.org/v3
items:
- apiVersion: projectcalico.org/v3
  kind: KubeControllersConfiguration
  metadata:
    name: default
  spec:
    controllers:
      node:
        reconcilerPeriod: 5m
kind: KubeControllersConfigurationList
metadata:
  resourceVersion: "1234"
---
===
{
  "kind": "ClusterInformation",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "default",
    "uid": "2b1a7a4e-0a3c-4a0e-9f3b-3f1c2d4e5f60",
    "resourceVersion": "1200",
    "creationTimestamp": "2025-01-01T00:00:00Z"
  },
  "spec": {
    "clusterGUID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "clusterType": "typha,kdd,k8s,operator,bgp",
    "calicoVersion": "v3.29.1",
    "datastoreReady": false
  }
}
===
{
  "block_affinities": [
    {
      "Key": "/calico/ipam/v2/host/node01/ipv4/block/192.168.0.0-26",
      "Value": {
        "state": "confirmed",
        "deleted": false
      },
      "TTL": 0
    }
  ]
}
`

  it('imports it into the embedded store; the kind netctl lacks is named, not imported', async () => {
    const dir = tempDir()
    try {
      const file = join(dir.path, 'calicoctl-export')
      writeFileSync(file, calicoctlFile)
      const r = await runCli(['datastore', 'migrate', 'import', '-f', file], {stateDir: dir.path})
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stderr, '[WARNING] 1 KubeControllersConfiguration: netctl has no such kind (not imported)\n')
      assert.match(r.stdout, /Successfully applied 1 'IPPool' resource\(s\)\nSuccessfully applied 1 'BlockAffinity' resource\(s\)\n/)
      const info = JSON.parse((await runCli(['get', 'clusterinformation', 'default', '-o', 'json'], {stateDir: dir.path})).stdout)
      assert.deepEqual([info.spec.clusterGUID, info.spec.calicoVersion, info.spec.datastoreReady], ['0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'v3.29.1', false])
      const affinity = JSON.parse((await runCli(['get', 'blockaffinities', '-o', 'json'], {stateDir: dir.path})).stdout).items[0]
      assert.deepEqual([affinity.metadata.name, affinity.spec], ['node01-192-168-0-0-26', {state: 'confirmed', node: 'node01', cidr: '192.168.0.0/26', deleted: 'false'}])
    } finally {
      dir.cleanup()
    }
  })
})
