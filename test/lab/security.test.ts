/**
 * Labs run as root and reprogram themselves from a datastore others can write: what an
 * attacker or a careless user puts there must never run, and a lab must harm nothing it did
 * not create (other clusters' objects, other labs' namespaces and processes). Root only.
 */
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {netctlBin, runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'
import {killPid} from '../helpers/process.js'

const skip = kernelSkipReason()
const tag = `s${process.pid % 10000}`

/** Processes whose argv[0] is `program`, inside the namespaces whose names start with prefix. */
function processesNamed(program: string, prefix: string): number {
  const inodes = new Set(namespacesWithPrefix(prefix).map((ns) => String(statSync(`/run/netns/${ns}`).ino)))
  let count = 0
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const ns = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1]
      if (ns && inodes.has(ns) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === program) count++
    } catch {
      // Gone meanwhile.
    }
  }
  return count
}

/** Change a lab's file datastore behind netctl's back, as any other client of it could. */
function tamper(stateDir: string, lab: string, change: (objects: Record<string, Record<string, any>>) => void): void {
  const file = join(stateDir, 'labs', lab, 'datastore.json')
  const store = JSON.parse(readFileSync(file, 'utf8'))
  change(store.objects)
  store.revision += 1
  writeFileSync(file, JSON.stringify(store))
}

describe('lab security: injection, ownership, integrity', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  const lab = (suffix: string) => `${tag}${suffix}`
  const marker = join(tmpdir(), `netctl-pwned-${process.pid}`)

  before(() => {
    state = tempDir()
    rmSync(marker, {force: true})
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
    rmSync(marker, {force: true})
  })

  it('a block affinity carrying an ip command is refused, and nothing runs', async () => {
    const name = lab('i')
    assert.equal((await netctl(['lab', 'up', '--name', name, '--bgp', 'off', '--pods-per-node', '1'])).code, 0)
    tamper(state.path, name, (objects) => {
      const key = Object.keys(objects).find((k) => k.startsWith('blockaffinities/node01-'))!
      objects[key]!.spec.cidr = `192.168.0.64/26\nnetns exec nc-${name}.n-controlplane touch ${marker}`
    })
    for (const args of [['lab', 'up', '--name', name], ['ippool', 'set', 'default-ipv4-ippool', '--vxlan', 'Always', '--lab', name]]) {
      const r = await netctl(args)
      assert.notEqual(r.code, 0, `${args.join(' ')} went through`)
      assert.match(r.stderr, /BlockAffinity|refusing to write/)
      assert.equal(r.stderr.includes('    at '), false, 'no stack trace')
      assert.equal(existsSync(marker), false, `${args.join(' ')} ran the injected command`)
    }
  })

  it('a route reflector cluster ID carrying BIRD config is refused, and BIRD never sees it', async () => {
    const name = lab('r')
    const up = await netctl(['lab', 'up', '--name', name, '--route-reflectors', '1', '--pods-per-node', '0'])
    assert.equal(up.code, 0, up.stderr)
    const evil = `244.0.0.1; }\nlog "${marker}" all; protocol device {`
    const patch = await netctl(['patch', 'node', 'controlplane', '--lab', name, '-p', JSON.stringify({spec: {bgp: {routeReflectorClusterID: evil}}})])
    assert.equal(patch.code, 2, 'refused at the door')
    assert.match(patch.stderr, /routeReflectorClusterID/)
    tamper(state.path, name, (objects) => {
      objects['nodes/controlplane']!.spec.bgp.routeReflectorClusterID = evil
    })
    const again = await netctl(['lab', 'up', '--name', name])
    assert.notEqual(again.code, 0)
    assert.match(again.stderr, /Node "controlplane"|refusing to write/)
    assert.equal(readFileSync(join(state.path, 'labs', name, 'controlplane', 'bird.conf'), 'utf8').includes(marker), false)
    assert.equal(existsSync(marker), false)
  })

  it('shares an etcd with another cluster and another lab without touching their objects', async () => {
    const {startEtcd} = await import('../helpers/etcd.js')
    const etcd = await startEtcd()
    const inEtcd = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input, env: {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint}})
    const key = (plural: string, name: string) => `/calico/resources/v3/projectcalico.org/${plural}/${name}`
    try {
      // Another cluster's objects, written by another client: no lab label.
      const foreign = [
        {apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: {name: 'prod-node'}, spec: {bgp: {ipv4Address: '10.0.0.5/24'}}},
        {apiVersion: 'projectcalico.org/v3', kind: 'BlockAffinity', metadata: {name: 'prod-node-192-168-0-0-26'}, spec: {state: 'confirmed', node: 'prod-node', cidr: '192.168.0.0/26', deleted: 'false'}},
        {apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: {name: 'prod--node-k8s-web-eth0', namespace: 'default'}, spec: {node: 'prod-node', pod: 'web', endpoint: 'eth0', orchestrator: 'k8s', ipNetworks: ['192.168.0.1/32'], interfaceName: 'cali0123456789a'}},
      ]
      const created = await inEtcd(['create', '-f', '-'], JSON.stringify({apiVersion: 'v1', kind: 'List', items: foreign}))
      assert.equal(created.code, 0, created.stderr)
      const first = lab('ea')
      const up = await netctl(['lab', 'up', '--name', first, '--bgp', 'off', '--pods-per-node', '1', '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint])
      assert.equal(up.code, 0, up.stderr)
      assert.match(up.stderr, /› sharing the datastore \(leaves 3 Nodes, WorkloadEndpoints and BlockAffinities of others alone\)/)
      // The foreign block was not handed out again, and nothing foreign was deleted.
      assert.doesNotMatch(up.stdout, /192\.168\.0\.0\/26/)
      // Calico keeps block affinities with IPAM, under /calico/ipam/v2/host/<node>/.
      const foreignAffinity = '/calico/ipam/v2/host/prod-node/ipv4/block/192.168.0.0-26'
      for (const k of [key('nodes', 'prod-node'), foreignAffinity, key('workloadendpoints', 'default/prod--node-k8s-web-eth0')]) {
        assert.equal(etcd.etcdctl(['get', '--print-value-only', k]).stdout.trim() !== '', true, `${k} was deleted`)
      }
      const before = etcd.etcdctl(['get', '--print-value-only', key('nodes', 'node01')]).stdout
      // A second lab with the same node names: refused before it writes anything, and gone again.
      const second = await netctl(['lab', 'up', '--name', lab('eb'), '--bgp', 'off', '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint])
      assert.equal(second.code, 1)
      assert.match(second.stderr, new RegExp(`Node "controlplane" in etcd .* belongs to lab "${first}"; lab "${lab('eb')}" will not overwrite it`))
      assert.equal(etcd.etcdctl(['get', '--print-value-only', key('nodes', 'node01')]).stdout, before)
      assert.doesNotMatch((await netctl(['lab', 'list'])).stdout, new RegExp(lab('eb')))
      assert.deepEqual(namespacesWithPrefix(`nc-${lab('eb')}.`), [])
      // With its own node names it shares the etcd; taking it down leaves the first lab alone.
      const topology = join(state.path, 'other.yaml')
      writeFileSync(topology, 'flavor: calico\nbgp: false\nnodes:\n  - name: other-a\n    pods: [pod-a]\n  - name: other-b\n    pods: [pod-b]\n')
      const third = await netctl(['lab', 'up', '--name', lab('ec'), '-f', topology, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint])
      assert.equal(third.code, 0, third.stderr)
      assert.match(third.stderr, new RegExp(`› sharing the datastore \\(uses IPPool default-ipv4-ippool \\(192\\.168\\.0\\.0/16\\) of lab "${first}"; leaves \\d+ Nodes`))
      assert.equal(etcd.etcdctl(['get', '--print-value-only', key('nodes', 'node01')]).stdout, before)
      const downThird = await netctl(['lab', 'down', lab('ec')])
      assert.match(downThird.stdout, /and its \d+ objects in etcd/)
      assert.equal(etcd.etcdctl(['get', '--print-value-only', key('nodes', 'other-a')]).stdout, '', 'lab down takes its own objects along')
      assert.equal(etcd.etcdctl(['get', '--print-value-only', key('nodes', 'node01')]).stdout, before)
      assert.equal((await netctl(['lab', 'exec', '--lab', first, 'busybox-controlplane-0', '--', 'ping', '-c1', '-W2', '192.168.0.129'])).code, 0)
      assert.equal((await netctl(['lab', 'down', first])).code, 0)
      const left = etcd.etcdctl(['get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/']).stdout.split('\n').filter(Boolean).sort()
      // ClusterInformation is the cluster's, not a lab's (created with the first Node, as calico-node does).
      assert.deepEqual(left, [key('clusterinformations', 'default'), key('nodes', 'prod-node'), key('workloadendpoints', 'default/prod--node-k8s-web-eth0')].sort())
      assert.deepEqual(etcd.etcdctl(['get', '--prefix', '--keys-only', '/calico/ipam/v2/']).stdout.split('\n').filter(Boolean), [foreignAffinity], 'the labs\' blocks, affinities and handles went with them')
    } finally {
      await netctl(['lab', 'down', lab('ea')])
      await etcd.stop()
    }
  })

  it('never takes a namespace it did not create, and no lab\'s names are another\'s', async () => {
    const name = lab('n')
    const squatter = `nc-${name}.probe`
    spawnSync('ip', ['netns', 'add', squatter])
    try {
      const up = await netctl(['lab', 'up', 'veth', '--name', name])
      assert.equal(up.code, 1)
      assert.match(up.stderr, new RegExp(`network namespace ${squatter.replace('.', '\\.')} exists but lab "${name}" did not create it`))
      assert.deepEqual(namespacesWithPrefix(squatter), [squatter], 'the squatter is still there')
      assert.doesNotMatch((await netctl(['lab', 'list'])).stdout, new RegExp(name))
    } finally {
      removeNamespaces([squatter])
    }
    // Lab "<x>" and lab "<x>-p": taking one down leaves every namespace of the other.
    assert.equal((await netctl(['lab', 'up', 'veth', '--name', name])).code, 0)
    assert.equal((await netctl(['lab', 'up', 'veth', '--name', `${name}-p`])).code, 0)
    const mine = namespacesWithPrefix(`nc-${name}.`)
    assert.equal((await netctl(['lab', 'down', `${name}-p`])).code, 0)
    assert.deepEqual(namespacesWithPrefix(`nc-${name}.`), mine)
    assert.equal((await netctl(['lab', 'down', name])).code, 0)
  })

  it('two lab up at once: one waits for the other, one BIRD per node', async () => {
    const name = lab('c')
    const upOnce = () => new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [netctlBin, 'lab', 'up', '--name', name, '--pods-per-node', '1'], {env: {...process.env, NETCTL_STATE_DIR: state.path}, stdio: 'ignore'})
      child.on('close', (code) => resolve(code ?? -1))
    })
    assert.deepEqual(await Promise.all([upOnce(), upOnce()]), [0, 0])
    assert.equal(processesNamed('bird', `nc-${name}.n-`), 2)
    // A write to the lab's datastore beside a lab up: both take the lab's lock before the
    // datastore's, so neither waits for the other forever.
    const started = Date.now()
    const [up, write] = await Promise.all([upOnce(), netctl(['apply', '--lab', name, '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: extra}\nspec: {cidr: 10.99.0.0/16, vxlanMode: Always}\n')])
    assert.equal(up, 0)
    assert.equal(write.code, 0, write.stderr)
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`)
  })

  it('adopts a BIRD a killed run started but never recorded, instead of starting a second', async () => {
    const name = lab('c')
    const owned = join(state.path, 'labs', name, 'owned.jsonl')
    const lines = readFileSync(owned, 'utf8').split('\n').filter((l) => l && !l.includes('"bird '))
    writeFileSync(owned, lines.map((l) => l + '\n').join(''))
    const again = await netctl(['lab', 'up', '--name', name])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(processesNamed('bird', `nc-${name}.n-`), 2)
    assert.match(readFileSync(owned, 'utf8'), /"bird controlplane"/)
    assert.equal((await netctl(['lab', 'down', name])).code, 0)
  })

  it('a build interrupted after it made its namespaces converges on the next lab up', async () => {
    const name = lab('b')
    assert.equal((await netctl(['lab', 'up', '--name', name, '--pods-per-node', '1', '--encapsulation', 'None'])).code, 0)
    // What a kill right after "creating namespaces" leaves: namespaces with only lo, and no BIRD.
    for (const line of readFileSync(join(state.path, 'labs', name, 'owned.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"pid"'))) {
      killPid(JSON.parse(line).pid)
    }
    for (const ns of namespacesWithPrefix(`nc-${name}.`)) if (!ns.endsWith('.underlay')) spawnSync('ip', ['-n', ns, 'link', 'del', 'eth0'])
    spawnSync('ip', ['netns', 'exec', `nc-${name}.n-controlplane`, 'nft', 'delete', 'table', 'inet', 'netctl'])
    // lab status tells the truth about it, and lab list too.
    const status = await netctl(['lab', 'status', name])
    assert.equal(status.code, 1)
    assert.match(status.stdout, /Health: \d+ problems/)
    assert.match(status.stdout, new RegExp(`namespace nc-${name}\\.n-controlplane differs from the lab's plan by \\d+ changes \\(link add`))
    assert.match(status.stdout, /BIRD is not running on every node/)
    assert.match(status.stdout, /network policy is not programmed \(nftables table inet netctl\) on controlplane\n/)
    assert.match(status.stdout, new RegExp(`fix: netctl lab up --name ${name}`))
    const list = await netctl(['lab', 'list'])
    assert.equal(list.code, 1)
    assert.match(list.stdout, new RegExp(`${name}\\s+calico\\s+none\\s+mesh\\s+2\\s+2\\s+namespace nc-${name}`))
    const again = await netctl(['lab', 'up', '--name', name, '--pods-per-node', '1'])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /BGP: 2 sessions Established/)
    const healthy = await netctl(['lab', 'status', name])
    assert.equal(healthy.code, 0, healthy.stdout)
    assert.match(healthy.stdout, /\(calico, none, BGP mesh\).*\nHealth: ok/)
    assert.equal((await netctl(['lab', 'exec', '--lab', name, 'busybox-controlplane-0', '--', 'ping', '-c1', '-W2', '192.168.0.65'])).code, 0)
    assert.equal((await netctl(['lab', 'down', name])).code, 0)
  })

  it('a node put at another place in the topology, or renamed, is rewired', async () => {
    const name = lab('t')
    const file = join(state.path, `${name}.yaml`)
    const topology = (first: string) => `flavor: calico\nbgp: false\nnodes:\n  - name: ${first}\n    pods: [pod-${first}]\n  - name: keep\n    pods: [pod-keep]\n`
    writeFileSync(file, topology('alpha'))
    assert.equal((await netctl(['lab', 'up', '--name', name, '-f', file])).code, 0)
    writeFileSync(file, topology('beta'))
    const renamed = await netctl(['lab', 'up', '--name', name, '-f', file, '--json'])
    assert.equal(renamed.code, 0, renamed.stderr)
    const target = JSON.parse(renamed.stdout).pods.find((p: {name: string}) => p.name === 'pod-keep').ip
    const ping = await netctl(['lab', 'exec', '--lab', name, 'pod-beta', '--', 'ping', '-c1', '-W2', target])
    assert.equal(ping.code, 0, ping.stdout + ping.stderr)
    assert.equal((await netctl(['lab', 'down', name])).code, 0)
  })

  it('lab down --all goes on past a lab it cannot take down; a failed first build leaves no lab', async () => {
    const failed = await netctl(['lab', 'up', '--name', lab('f'), '--bgp', 'off', '--datastore', 'etcdv3', '--etcd-endpoints', 'http://127.0.0.1:1'])
    assert.equal(failed.code, 1)
    assert.match(failed.stderr, /the new lab was removed again/)
    assert.doesNotMatch((await netctl(['lab', 'list'])).stdout, new RegExp(lab('f')))
    assert.deepEqual(namespacesWithPrefix(`nc-${lab('f')}.`), [])

    assert.equal((await netctl(['lab', 'up', 'veth', '--name', lab('v')])).code, 0)
    mkdirSync(join(state.path, 'labs', 'Not_A_Lab'), {recursive: true})
    const down = await netctl(['lab', 'down', '--all'])
    assert.equal(down.code, 1)
    assert.match(down.stdout, new RegExp(`Lab "${lab('v')}" is down`))
    assert.match(down.stderr, /Not_A_Lab/)
    assert.deepEqual(namespacesWithPrefix(`nc-${lab('v')}.`), [])
    rmSync(join(state.path, 'labs', 'Not_A_Lab'), {recursive: true})
  })
})
