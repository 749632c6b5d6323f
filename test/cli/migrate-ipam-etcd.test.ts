/**
 * IPAM through a migration: Calico's own IPAM keys in a real etcd (libcalico-go's model JSON under
 * /calico/ipam/v2, as calico-node writes them) exported and imported into the Kubernetes API double
 * and the embedded store. Needs the IPAM kinds (IPAMBlock, IPAMHandle, IPAMConfig) in the registry.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {findKind} from '../../src/resources/registry.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

const registered = ['ipamblock', 'ipamhandle', 'ipamconfig'].every((k) => findKind(k))
const ipamPart = (text: string) => JSON.parse(text.split(/^===\n/m)[2]!)

const block = {
  cidr: '10.60.0.0/30', affinity: 'host:etcd-node-1', allocations: [0, 1, null, null], unallocated: [2, 3],
  attributes: [{handle_id: 'ipip-tunnel-addr-etcd-node-1', secondary: {node: 'etcd-node-1', type: 'ipipTunnelAddress'}}, {handle_id: 'k8s-pod-network.c0ffee', secondary: {namespace: 'shop', node: 'etcd-node-1', pod: 'web'}}],
  sequenceNumber: 2, sequenceNumberForAllocation: {'0': 0, '1': 1}, deleted: false,
}

describe('datastore migrate carries IPAM (etcd keys → Kubernetes and the embedded store)', {skip: registered ? false : 'the IPAM kinds are not registered in this build'}, () => {
  let etcd: EtcdServer
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let kubeconfig: string
  let exported: string
  const onEtcd = (args: string[], input?: string) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint], {input})
  const onKube = (args: string[]) => runCli(args, {env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig}})

  before(async () => {
    etcd = await startEtcd()
    api = await startKubeApiDouble()
    dir = tempDir()
    kubeconfig = join(dir.path, 'kubeconfig')
    api.writeKubeconfig(kubeconfig)
    api.seed('nodes', [{metadata: {name: 'node01'}}])
    const node = await onEtcd(['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: etcd-node-1}\nspec:\n  bgp: {ipv4Address: 10.0.0.1/24}\n  orchRefs: [{orchestrator: k8s, nodeName: node01}]\n')
    assert.equal(node.code, 0, node.stderr)
    for (const [key, value] of [
      ['/calico/ipam/v2/assignment/ipv4/block/10.60.0.0-30', block],
      ['/calico/ipam/v2/host/etcd-node-1/ipv4/block/10.60.0.0-30', {state: 'confirmed', deleted: false}],
      ['/calico/ipam/v2/handle/ipip-tunnel-addr-etcd-node-1', {block: {'10.60.0.0/30': 1}, deleted: false}],
      ['/calico/ipam/v2/handle/k8s-pod-network.c0ffee', {block: {'10.60.0.0/30': 1}, deleted: false}],
      ['/calico/ipam/v2/config', {strict_affinity: false, auto_allocate_blocks: true}],
    ] as const) assert.equal(etcd.etcdctl(['put', key, JSON.stringify(value)]).code, 0)
    assert.equal((await onEtcd(['datastore', 'migrate', 'lock'])).code, 0)
  })
  after(async () => {
    await etcd?.stop()
    await api?.stop()
    dir?.cleanup()
  })

  it('exports calicoctl\'s IPAM JSON with the Kubernetes node name', async () => {
    const r = await onEtcd(['datastore', 'migrate', 'export'])
    assert.equal(r.code, 0, r.stderr)
    exported = r.stdout
    writeFileSync(join(dir.path, 'etcd-data'), exported)
    const ipam = ipamPart(exported)
    assert.deepEqual(ipam.block_affinities, [{Key: '/calico/ipam/v2/host/node01/ipv4/block/10.60.0.0-30', Value: {state: 'confirmed', deleted: false}, TTL: 0}])
    assert.equal(ipam.blocks.length, 1)
    assert.equal(ipam.blocks[0].Key, '/calico/ipam/v2/assignment/ipv4/block/10.60.0.0-30')
    assert.equal(ipam.blocks[0].Value.affinity, 'host:node01')
    assert.equal(ipam.blocks[0].Value.attributes[0].handle_id, 'ipip-tunnel-addr-node01')
    assert.deepEqual(ipam.handles.map((h: {Key: string}) => h.Key).sort(), ['/calico/ipam/v2/handle/ipip-tunnel-addr-node01', '/calico/ipam/v2/handle/k8s-pod-network.c0ffee'])
    assert.deepEqual(ipam.config, {Key: '/calico/ipam/v2/config', Value: {strict_affinity: false, auto_allocate_blocks: true}, TTL: 0})
  })

  for (const target of ['kubernetes', 'file'] as const) {
    it(`imports it into ${target === 'file' ? 'the embedded store' : 'Kubernetes'} and exports the same IPAM again`, async () => {
      const state = tempDir()
      const on = (args: string[]) => (target === 'file' ? runCli(args, {stateDir: state.path}) : onKube(args))
      try {
        const r = await on(['datastore', 'migrate', 'import', '-f', join(dir.path, 'etcd-data')])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /Successfully applied 1 'IPAMBlock' resource\(s\)\nSuccessfully applied 2 'IPAMHandle' resource\(s\)\nSuccessfully applied 1 'IPAMConfig' resource\(s\)/)
        const again = await on(['datastore', 'migrate', 'export'])
        assert.equal(again.code, 0, again.stderr)
        const sorted = (ipam: Record<string, any>) => ({...ipam, handles: [...ipam.handles].sort((a, b) => a.Key.localeCompare(b.Key))})
        assert.deepEqual(sorted(ipamPart(again.stdout)), sorted(ipamPart(exported)))
      } finally {
        state.cleanup()
      }
    })
  }
})
