/**
 * netctl datastore migrate: lock a real etcd, export it in calicoctl's format, import the file into
 * the Kubernetes API double and into the embedded file store, and find the same objects there.
 */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {load} from 'js-yaml'

import {runCli, tempDir} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

const seed = `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-a}
spec: {cidr: 10.50.0.0/16, ipipMode: Always}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: etcd-node-1}
spec:
  bgp: {ipv4Address: 10.0.0.1/24}
  orchRefs: [{orchestrator: k8s, nodeName: node01}]
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.deny-all}
spec: {tier: security, selector: all(), types: [Ingress]}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: partners, namespace: shop}
spec: {nets: [192.0.2.0/24]}
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: node.etcd-node-1}
spec: {defaultEndpointToHostAction: ACCEPT}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: custom}
spec: {labelsToApply: {team: a}}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.shop}
spec: {}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: etcd--node--1-k8s-web-eth0, namespace: shop}
spec: {orchestrator: k8s, node: etcd-node-1, pod: web, endpoint: eth0, interfaceName: cali0123456789a, ipNetworks: [10.50.0.5/32]}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {name: etcd-node-1-10-50-0-0-26}
spec: {state: confirmed, node: etcd-node-1, cidr: 10.50.0.0/26, deleted: "false"}
`

interface Parsed {
  lists: Map<string, Array<Record<string, any>>>
  clusterInformation: Record<string, any>
  ipam: Record<string, any>
}

function parseExport(text: string): Parsed {
  const [v3, info, ipam] = text.split(/^===\n/m)
  assert.ok(v3 !== undefined && info !== undefined && ipam !== undefined, 'three parts')
  const lists = new Map<string, Array<Record<string, any>>>()
  for (const doc of v3.split(/^---\n/m).filter((d) => d.trim())) {
    const list = load(doc) as {kind: string; items: Array<Record<string, any>>}
    lists.set(list.kind.replace(/List$/, ''), list.items)
  }
  return {lists, clusterInformation: JSON.parse(info), ipam: JSON.parse(ipam)}
}

describe('datastore migrate: etcd → Kubernetes and → the embedded store', () => {
  let etcd: EtcdServer
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let kubeconfig: string
  let exported: string
  const onEtcd = (args: string[], input?: string) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint], {input})
  const onKube = (args: string[]) => runCli(args, {env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig}})
  const onFile = (stateDir: string, args: string[]) => runCli(args, {stateDir})
  const migrationFile = () => join(dir.path, 'etcd-data')
  const derivedProfile = 'apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: kns.shop}\nspec: {}\n'
  /** The export with a derived Profile added at the end of its v3 part (export leaves those out). */
  const withDerivedProfile = () => {
    const file = join(dir.path, 'with-kns')
    writeFileSync(file, exported.replace(/^===\n/m, `${derivedProfile}---\n===\n`))
    return file
  }

  before(async () => {
    etcd = await startEtcd()
    api = await startKubeApiDouble()
    dir = tempDir()
    kubeconfig = join(dir.path, 'kubeconfig')
    api.writeKubeconfig(kubeconfig)
    api.seed('nodes', [{metadata: {name: 'node01'}}])
    const applied = await onEtcd(['apply', '-f', '-'], seed)
    assert.equal(applied.code, 0, applied.stderr)
  })
  after(async () => {
    await etcd?.stop()
    await api?.stop()
    dir?.cleanup()
  })

  it('refuses to export an unlocked datastore, as calicoctl does', async () => {
    const r = await onEtcd(['datastore', 'migrate', 'export'])
    assert.equal(r.code, 1)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /Error: etcd.* is not locked\n {2}run netctl datastore migrate lock/)
  })

  it('lock sets datastoreReady false; export writes calicoctl\'s three parts in kind order', async () => {
    const lock = await onEtcd(['datastore', 'migrate', 'lock'])
    assert.equal(lock.code, 0, lock.stderr)
    assert.equal(lock.stdout, 'Datastore locked.\n')
    const info = await onEtcd(['get', 'clusterinformation', 'default', '-o', 'json'])
    assert.equal(JSON.parse(info.stdout).spec.datastoreReady, false)

    const r = await onEtcd(['datastore', 'migrate', 'export'])
    assert.equal(r.code, 0, r.stderr)
    exported = r.stdout
    writeFileSync(migrationFile(), exported)
    const parsed = parseExport(exported)
    const order = [...parsed.lists.keys()]
    assert.ok(order.indexOf('IPPool') === 0 && order.indexOf('Tier') < order.indexOf('GlobalNetworkPolicy'), order.join(','))
    assert.ok(order.indexOf('Node') < order.indexOf('FelixConfiguration') && order.indexOf('Node') < order.indexOf('WorkloadEndpoint'), order.join(','))
    assert.ok(!order.includes('ClusterInformation') && !order.includes('BlockAffinity'), 'ClusterInformation and IPAM have their own parts')
    // calicoctl's renames: the Node takes its Kubernetes name, and so does what names it.
    assert.deepEqual(parsed.lists.get('Node')!.map((n) => n.metadata.name), ['node01'])
    const felix = parsed.lists.get('FelixConfiguration')!
    assert.deepEqual(felix.map((f) => [f.metadata.name, f.spec.defaultEndpointToHostAction]), [['node.node01', 'Accept']])
    assert.deepEqual(parsed.lists.get('WorkloadEndpoint')!.map((w) => [w.metadata.name, w.spec.node]), [['node01-k8s-web-eth0', 'node01']])
    // Derived profiles stay behind; metadata is cleaned.
    assert.deepEqual(parsed.lists.get('Profile')!.map((p) => p.metadata.name), ['custom'])
    for (const items of parsed.lists.values()) for (const item of items) assert.deepEqual(Object.keys(item.metadata).filter((k) => ['uid', 'resourceVersion', 'creationTimestamp'].includes(k)), [])
    assert.match(r.stderr, /Not exported: 1 Profiles kns\.\*/)
    assert.equal(parsed.clusterInformation.kind, 'ClusterInformation')
    assert.equal(parsed.clusterInformation.spec.datastoreReady, false)
    assert.deepEqual(parsed.ipam, {block_affinities: [{Key: '/calico/ipam/v2/host/node01/ipv4/block/10.50.0.0-26', Value: {state: 'confirmed', deleted: false}, TTL: 0}]})
  })

  it('imports into the embedded store: the same objects, the GUID kept, left locked', async () => {
    const state = tempDir()
    try {
      const r = await onFile(state.path, ['datastore', 'migrate', 'import', '-f', migrationFile()])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /Successfully applied 1 'IPPool' resource\(s\)/)
      assert.match(r.stdout, /Datastore information successfully imported/)
      const again = await onFile(state.path, ['datastore', 'migrate', 'export'])
      assert.equal(again.code, 0, again.stderr)
      const [source, target] = [parseExport(exported), parseExport(again.stdout)]
      assert.deepEqual(target.lists, source.lists)
      assert.deepEqual(target.ipam, source.ipam)
      assert.equal(target.clusterInformation.spec.clusterGUID, source.clusterInformation.spec.clusterGUID)
      assert.equal(target.clusterInformation.spec.datastoreReady, false)

      // Not empty now: a second import is refused and writes nothing.
      const refused = await onFile(state.path, ['datastore', 'migrate', 'import', '-f', migrationFile()])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /already has Calico data: 1 IPPool \(pool-a\); .*1 BlockAffinity/)

      const unlock = await onFile(state.path, ['datastore', 'migrate', 'unlock'])
      assert.equal(unlock.stdout, 'Datastore unlocked.\n')
      const info = await onFile(state.path, ['get', 'clusterinformation', 'default', '-o', 'json'])
      assert.equal(JSON.parse(info.stdout).spec.datastoreReady, true)
    } finally {
      state.cleanup()
    }
  })

  it('imports into another etcd (in transactions of many creates): the same objects', async () => {
    const target = await startEtcd()
    try {
      const on = (args: string[], input?: string) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', target.endpoint], {input})
      // A create that fails fails its transaction: nothing of it is written, and the message says so.
      assert.equal((await on(['apply', '-f', '-'], derivedProfile)).code, 0)
      const refused = await on(['datastore', 'migrate', 'import', '-f', withDerivedProfile()])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /Profile "kns\.shop": Profile "kns\.shop" already exists; 0 of \d+ objects were written\n {2}.*is locked and partly filled: remove what was written, then import again/)
      assert.deepEqual(JSON.parse((await on(['get', 'ippools', '-o', 'json'])).stdout).items, [])
      assert.equal((await on(['delete', 'profile', 'kns.shop'])).code, 0)

      const r = await on(['datastore', 'migrate', 'import', '-f', migrationFile()])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /Successfully applied 1 'WorkloadEndpoint' resource\(s\)/)
      const again = await on(['datastore', 'migrate', 'export'])
      assert.equal(again.code, 0, again.stderr)
      const [source, copy] = [parseExport(exported), parseExport(again.stdout)]
      assert.deepEqual(copy.lists, source.lists)
      assert.deepEqual(copy.ipam, source.ipam)
      assert.equal(copy.clusterInformation.spec.clusterGUID, source.clusterInformation.spec.clusterGUID)
    } finally {
      await target.stop()
    }
  })

  it('writes all or nothing into the embedded store: a write that fails half-way leaves it as it was', async () => {
    const state = tempDir()
    try {
      // A derived Profile does not make the store "not empty", but the file's own copy of it
      // fails to be created, after the objects before it were.
      assert.equal((await runCli(['apply', '-f', '-'], {stateDir: state.path, input: derivedProfile})).code, 0)
      const r = await onFile(state.path, ['datastore', 'migrate', 'import', '-f', withDerivedProfile()])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /Profile "kns\.shop" already exists/)
      for (const kind of ['ippools', 'nodes', 'globalnetworkpolicies', 'clusterinformations']) {
        const listed = await onFile(state.path, ['get', kind, '-o', 'json'])
        assert.deepEqual(JSON.parse(listed.stdout).items, [], kind)
      }
      assert.deepEqual(JSON.parse((await onFile(state.path, ['get', 'profiles', '-o', 'json'])).stdout).items.map((p: {metadata: {name: string}}) => p.metadata.name), ['kns.shop'])

      // The same object twice in a file is refused before anything is written.
      const [first] = exported.split(/^---\n/m)
      const twice = join(dir.path, 'twice')
      writeFileSync(twice, exported.replace(/^===\n/m, `${first}---\n===\n`))
      const dup = await onFile(state.path, ['datastore', 'migrate', 'import', '-f', twice])
      assert.equal(dup.code, 2)
      assert.match(dup.stderr, /twice has IPPool "pool-a" twice \(.*\)\n {2}keep one of them/)
    } finally {
      state.cleanup()
    }
  })

  it('refuses a datastore whose ClusterInformation is not locked, even with nothing else in it', async () => {
    const state = tempDir()
    try {
      assert.equal((await onFile(state.path, ['datastore', 'migrate', 'lock'])).code, 0)
      assert.equal((await onFile(state.path, ['datastore', 'migrate', 'unlock'])).code, 0)
      const r = await onFile(state.path, ['datastore', 'migrate', 'import', '-f', migrationFile()])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /already has Calico data: ClusterInformation "default" \(not locked\)\n {2}import only into an empty datastore/)
      const pools = await onFile(state.path, ['get', 'ippools', '-o', 'json'])
      assert.deepEqual(JSON.parse(pools.stdout).items, [])
    } finally {
      state.cleanup()
    }
  })

  it('imports into Kubernetes: Nodes onto the Kubernetes Nodes, WorkloadEndpoints left to Pods, the rest equal', async () => {
    const r = await onKube(['datastore', 'migrate', 'import', '-f', migrationFile()])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /\[WARNING\] WorkloadEndpoint "node01-k8s-web-eth0": skipped: .*derives WorkloadEndpoints from Pods/)
    const again = await onKube(['datastore', 'migrate', 'export'])
    assert.equal(again.code, 0, again.stderr)
    const [source, target] = [parseExport(exported), parseExport(again.stdout)]
    for (const [kind, items] of source.lists) {
      if (kind === 'Node' || kind === 'WorkloadEndpoint' || kind === 'Profile') continue
      assert.deepEqual(target.lists.get(kind), items, kind)
    }
    assert.match(r.stderr, /\[WARNING\] Profile "custom": skipped: the Kubernetes datastore keeps no Profiles of its own/)
    assert.deepEqual(target.lists.get('WorkloadEndpoint'), [])
    assert.deepEqual(target.lists.get('Profile'), [])
    assert.deepEqual(target.lists.get('Node')!.map((n) => [n.metadata.name, n.spec.bgp?.ipv4Address]), [['node01', '10.0.0.1/24']])
    assert.deepEqual(target.ipam, source.ipam)
    assert.equal(target.clusterInformation.spec.clusterGUID, source.clusterInformation.spec.clusterGUID)
    assert.equal(target.clusterInformation.spec.datastoreReady, false)
  })

  it('exporting Kubernetes leaves out Kubernetes NetworkPolicies (knp.default.*) and the WorkloadEndpoints of Pods', async () => {
    api.seed('/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies', [{metadata: {name: 'allow-web', namespace: 'shop'}, spec: {podSelector: {}, policyTypes: ['Ingress']}}])
    api.seed('pods', [{metadata: {name: 'web', namespace: 'shop'}, spec: {nodeName: 'node01'}, status: {podIP: '10.50.0.5'}}])
    const listed = await onKube(['get', 'networkpolicies', '-A', '-o', 'json'])
    assert.deepEqual(JSON.parse(listed.stdout).items.map((p: {metadata: {name: string}}) => p.metadata.name), ['knp.default.allow-web'])
    assert.equal(JSON.parse((await onKube(['get', 'weps', '-A', '-o', 'json'])).stdout).items.length, 1)
    const r = await onKube(['datastore', 'migrate', 'export'])
    assert.equal(r.code, 0, r.stderr)
    const parsed = parseExport(r.stdout)
    assert.deepEqual(parsed.lists.get('NetworkPolicy'), [])
    assert.deepEqual(parsed.lists.get('WorkloadEndpoint'), [])
    assert.match(r.stderr, /Not exported: 1 NetworkPolicies knp\.default\.\*: Kubernetes NetworkPolicies/)
    assert.match(r.stderr, /Not exported: 1 WorkloadEndpoints: in the Kubernetes datastore Calico derives them from Pods/)
  })

  it('unlock sets datastoreReady true again', async () => {
    const r = await onEtcd(['datastore', 'migrate', 'unlock'])
    assert.equal(r.code, 0, r.stderr)
    const info = await onEtcd(['get', 'clusterinformation', 'default', '-o', 'json'])
    assert.equal(JSON.parse(info.stdout).spec.datastoreReady, true)
    assert.equal(readFileSync(migrationFile(), 'utf8'), exported)
  })
})
