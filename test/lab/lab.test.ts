/** Real labs in real network namespaces, driven through the netctl binary (root only). */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces, rootNamespaceSnapshot} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const tag = `t${process.pid % 10000}`

describe('netctl lab (network namespaces)', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  let rootBefore: string
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const lab = (suffix: string) => `${tag}${suffix}`

  before(() => {
    state = tempDir()
    rootBefore = rootNamespaceSnapshot()
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
  })

  it('reproduces seed 000: ttl=62 across nodes, 169.254.1.1 answered by ee:ee:ee:ee:ee:ee, blackhole and /32 routes', async () => {
    const up = await netctl(['lab', 'up', '--name', lab('c'), '--encapsulation', 'None'])
    assert.equal(up.code, 0, up.stderr)
    assert.match(up.stdout, /Lab "\w+" \(calico\) is up in [\d.]+ s: 2 nodes, 4 pods; 8 namespaces created/)
    const ping = await netctl(['lab', 'exec', 'busybox-controlplane-0', '--', 'ping', '-c1', '-W2', '192.168.0.65'])
    assert.equal(ping.code, 0, ping.stdout + ping.stderr)
    assert.match(ping.stdout, /64 bytes from 192\.168\.0\.65: icmp_seq=1 ttl=62/)
    const podRoute = await netctl(['lab', 'exec', 'busybox-controlplane-0', '--', 'ip', 'route'])
    assert.equal(podRoute.stdout, 'default via 169.254.1.1 dev eth0 \n169.254.1.1 dev eth0 scope link \n')
    const arp = await netctl(['lab', 'exec', 'busybox-controlplane-0', '--', 'ip', 'neigh', 'show', '169.254.1.1'])
    assert.match(arp.stdout, /^169\.254\.1\.1 dev eth0 lladdr ee:ee:ee:ee:ee:ee /)
    const nodeRoutes = (await netctl(['lab', 'exec', 'controlplane', '--', 'ip', 'route'])).stdout
    assert.match(nodeRoutes, /^default via 172\.17\.0\.1 dev eth0 $/m)
    assert.match(nodeRoutes, /^blackhole 192\.168\.0\.0\/26 proto bird $/m)
    assert.match(nodeRoutes, /^192\.168\.0\.1 dev cali[0-9a-f]{11} scope link $/m)
    assert.match(nodeRoutes, /^192\.168\.0\.64\/26 via 172\.17\.0\.40 dev eth0 proto bird $/m)
    const proxyArp = await netctl(['lab', 'exec', 'controlplane', '--', 'sh', '-c', 'cat /proc/sys/net/ipv4/conf/cali*/proxy_arp'])
    assert.equal(proxyArp.stdout, '1\n1\n')
    // The lab is the current context: plain netctl commands read its datastore.
    const weps = await netctl(['get', 'workloadendpoints'])
    assert.match(weps.stdout, /^WORKLOAD\s+NODE\s+NETWORKS\s+INTERFACE\nbusybox-controlplane-0\s+controlplane\s+192\.168\.0\.1\/32\s+cali[0-9a-f]{11}\n/)
    const nodes = await netctl(['get', 'nodes', '-o', 'wide'])
    assert.match(nodes.stdout, /controlplane\s+\(64512\)\s+172\.17\.0\.32\/16/)
    const matrix = await netctl(['lab', 'ping', '--count', '1'])
    assert.equal(matrix.code, 0, matrix.stdout)
    assert.match(matrix.stdout, /12\/12 pairs without loss/)
  })

  it('reconciles a running lab to a new topology instead of rebuilding it', async () => {
    const before = JSON.parse((await netctl(['lab', 'status', '--json'])).stdout)
    const grow = await netctl(['lab', 'up', '--name', lab('c'), '--nodes', '3', '--pods-per-node', '1'])
    assert.equal(grow.code, 0, grow.stderr)
    assert.match(grow.stdout, /3 nodes, 3 pods; 2 namespaces created, 2 removed/)
    const after = JSON.parse((await netctl(['lab', 'status', '--json'])).stdout)
    assert.equal(after.pods.find((p: {name: string}) => p.name === 'busybox-node01-0').ip, before.pods.find((p: {name: string}) => p.name === 'busybox-node01-0').ip)
    assert.equal(after.health.healthy, true, JSON.stringify(after.health.problems))
    assert.equal(namespacesWithPrefix(`nc-${lab('c')}.p-busybox-node01-1`).length, 0)
    const again = await netctl(['lab', 'up', '--name', lab('c'), '--nodes', '3', '--pods-per-node', '1'])
    assert.match(again.stdout, /0 namespaces created, 0 removed, 0 kernel changes/)
    assert.equal((await netctl(['lab', 'ping', '--count', '1'])).code, 0)
  })

  it('builds flannel\'s cni0 layout with host-gw routes and subnet.env', async () => {
    const up = await netctl(['lab', 'up', '--name', lab('f'), '--flavor', 'flannel'])
    assert.equal(up.code, 0, up.stderr)
    const ping = await netctl(['lab', 'exec', 'busybox-controlplane-0', '--', 'ping', '-c1', '-W2', '10.244.1.2'])
    assert.match(ping.stdout, /ttl=62/)
    const routes = (await netctl(['lab', 'exec', 'node01', '--', 'ip', 'route'])).stdout
    assert.match(routes, /^10\.244\.1\.0\/24 dev cni0 proto kernel scope link src 10\.244\.1\.1 $/m)
    assert.match(routes, /^10\.244\.0\.0\/24 via 172\.17\.0\.32 dev eth0 $/m)
    const hairpin = (await netctl(['lab', 'exec', 'node01', '--', 'bridge', '-d', 'link'])).stdout
    assert.equal(hairpin.match(/master cni0/g)?.length, 2)
    assert.equal(hairpin.match(/hairpin on/g)?.length, 2)
    const podRoute = (await netctl(['lab', 'exec', 'busybox-node01-0', '--', 'ip', 'route'])).stdout
    assert.match(podRoute, /^default via 10\.244\.1\.1 dev eth0 $/m)
    assert.equal(readFileSync(join(state.path, 'labs', lab('f'), 'node01', 'subnet.env'), 'utf8'), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=true\n')
  })

  it('builds the netns article\'s small labs, and refuses ipvlan where the kernel lacks it', async () => {
    for (const [kind, target] of [['veth', '1.1.1.2'], ['bridge', '1.1.1.2'], ['proxy-arp', '192.168.100.2'], ['macvlan', '1.1.1.2']] as const) {
      const name = lab(kind.slice(0, 2))
      const up = await netctl(['lab', 'up', kind, '--name', name])
      assert.equal(up.code, 0, up.stderr)
      assert.match(up.stdout, new RegExp(`Try: netctl lab exec --lab ${name} ns1 -- ping -c1 ${target.replaceAll('.', '\\.')}`))
      const ping = await netctl(['lab', 'exec', '--lab', name, 'ns1', '--', 'ping', '-c1', '-W2', target])
      assert.equal(ping.code, 0, `${kind}: ${ping.stdout}${ping.stderr}`)
      assert.equal((await netctl(['lab', 'down', name])).code, 0)
    }
    const ipvlan = await netctl(['lab', 'up', 'ipvlan', '--name', lab('iv')])
    if (ipvlan.code === 0) {
      console.log('# this kernel has ipvlan: the ipvlan lab was built')
      await netctl(['lab', 'down', lab('iv')])
    } else {
      console.log('# ipvlan refused: this kernel has no ipvlan module')
      assert.match(ipvlan.stderr, /this kernel cannot build the ipvlan lab: it lacks ipvlan \(kernel module ipvlan/)
      assert.equal(namespacesWithPrefix(`nc-${lab('iv')}`).length, 0)
    }
  })

  it('lab down removes exactly what was recorded, even after lab up was killed with SIGKILL', async () => {
    const {spawn} = await import('node:child_process')
    const {netctlBin} = await import('../helpers/cli.js')
    // netctl takes about 0.4 s to start; the build itself about as long: kill before, during and after.
    for (const delay of [250, 300, 350, 400, 450, 550, 800]) {
      const name = lab(`k${delay}`)
      const child = spawn(process.execPath, [netctlBin, 'lab', 'up', '--name', name, '--nodes', '3', '--pods-per-node', '3'], {env: {...process.env, NETCTL_STATE_DIR: state.path}, stdio: 'ignore'})
      const closed = new Promise((resolve) => child.on('close', resolve))
      await new Promise((resolve) => setTimeout(resolve, delay))
      child.kill('SIGKILL')
      await closed
      const left = namespacesWithPrefix(`nc-${name}.`).length
      const down = await netctl(['lab', 'down', name])
      assert.ok(down.code === 0 || /there is no lab/.test(down.stderr), down.stderr)
      assert.deepEqual(namespacesWithPrefix(`nc-${name}.`), [], `after a kill at ${delay} ms`)
      console.log(`# SIGKILL at ${delay} ms: ${left} namespaces existed; lab down ${down.code === 0 ? 'removed them' : 'found no lab'}`)
    }
  })

  it('remembers its topology: lab up NAME reconciles to it, flags change only what they name and say so', async () => {
    const name = lab('m')
    assert.equal((await netctl(['lab', 'up', '--name', name, '--flavor', 'flannel', '--nodes', '3', '--pods-per-node', '1'])).code, 0)
    const same = await netctl(['lab', 'up', '--name', name])
    assert.equal(same.code, 0, same.stderr)
    assert.match(same.stdout, /\(flannel\) is up .*: 3 nodes, 3 pods; 0 namespaces created, 0 removed, 0 kernel changes/)
    const shrink = await netctl(['lab', 'up', '--name', name, '--nodes', '2'])
    assert.equal(shrink.code, 0, shrink.stderr)
    assert.match(shrink.stderr, /Changing lab ".*": -1 nodes \(node02\), -1 pods \(busybox-node02-0\)\./)
    assert.match(shrink.stdout, /\(flannel\) is up .*: 2 nodes, 2 pods/)
    const moved = join(state.path, 'moved.yaml')
    writeFileSync(moved, `name: ${name}\nflavor: flannel\npool: {cidr: 10.10.0.0/16}\nnodes: [{name: controlplane, pods: 1}, {name: node01, pods: 1}]\n`)
    const refused = await netctl(['lab', 'up', '-f', moved])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /the lab's pool is 10\.244\.0\.0\/16 in .*, but the topology asks for 10\.10\.0\.0\/16; a running lab's pool cannot move, and nothing was changed/)
    const flip = await netctl(['lab', 'up', '--name', name, '--flavor', 'calico'])
    assert.equal(flip.code, 2)
    assert.match(flip.stderr, /is a flannel lab; it cannot become calico in place/)
    assert.equal((await netctl(['lab', 'down', name])).code, 0)
  })

  it('lab down --all removes every recorded lab and nothing else', async () => {
    const foreign = `nc-${tag}x-foreign`
    removeNamespaces([foreign])
    const {spawnSync} = await import('node:child_process')
    spawnSync('ip', ['netns', 'add', foreign])
    try {
      assert.equal((await netctl(['lab', 'up', 'veth', '--name', lab('x')])).code, 0)
      // What a SIGKILL right after the kernel probe leaves: a lab directory with nothing recorded.
      const {mkdirSync, writeFileSync} = await import('node:fs')
      mkdirSync(join(state.path, 'labs', lab('h')), {recursive: true})
      writeFileSync(join(state.path, 'labs', lab('h'), 'owned.jsonl'), '')
      const down = await netctl(['lab', 'down', '--all'])
      assert.equal(down.code, 0, down.stderr)
      assert.deepEqual(namespacesWithPrefix(`nc-${tag}`), [foreign])
      assert.match((await netctl(['lab', 'list'])).stdout, /^NAME\s+FLAVOR\s+MODE\s+BGP\s+NODES\s+PODS\s+HEALTH\s+CURRENT\n$/)
      assert.equal((await netctl(['get', 'weps'])).stdout, 'WORKLOAD   NODE   NETWORKS   INTERFACE\n', 'the current lab is gone: back to the embedded datastore')
    } finally {
      removeNamespaces([foreign])
    }
  })

  it('keeps its cluster in etcd when built with --datastore etcdv3', async () => {
    const {startEtcd} = await import('../helpers/etcd.js')
    const etcd = await startEtcd()
    try {
      const up = await netctl(['lab', 'up', '--name', lab('e'), '--pods-per-node', '1', '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint])
      assert.equal(up.code, 0, up.stderr)
      assert.match(up.stderr, /writing the cluster to the datastore \(etcd http:\/\/127\.0\.0\.1:\d+\)/)
      const keys = etcd.etcdctl(['get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/workloadendpoints/']).stdout.split('\n').filter(Boolean)
      assert.deepEqual(keys, [
        '/calico/resources/v3/projectcalico.org/workloadendpoints/default/controlplane-k8s-busybox--controlplane--0-eth0',
        '/calico/resources/v3/projectcalico.org/workloadendpoints/default/node01-k8s-busybox--node01--0-eth0',
      ])
      const weps = await netctl(['get', 'weps'])
      assert.match(weps.stdout, /busybox-node01-0\s+node01\s+192\.168\.0\.65\/32/)
      assert.match((await netctl(['config', 'view'])).stdout, /datastoreType\s+etcdv3\s+lab /)
      assert.equal((await netctl(['lab', 'down', lab('e')])).code, 0)
    } finally {
      await etcd.stop()
    }
  })

  it('without root: a clear message and nothing created', async () => {
    const {spawnSync} = await import('node:child_process')
    const {netctlBin} = await import('../helpers/cli.js')
    const {existsSync} = await import('node:fs')
    const dir = join(state.path, 'unprivileged')
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', `NETCTL_STATE_DIR=${dir}`, 'HOME=/tmp', process.execPath, netctlBin, 'lab', 'up', '--name', lab('np')], {encoding: 'utf8'})
    assert.equal(r.status, 1)
    assert.match(r.stderr, /^Error: building a lab needs root \(CAP_NET_ADMIN and CAP_SYS_ADMIN to make network namespaces\); nothing was created\n  run it as root: sudo netctl lab up\n$/)
    assert.equal(existsSync(dir), false)
    assert.deepEqual(namespacesWithPrefix(`nc-${lab('np')}`), [])
  })

  it('leaves the host\'s own namespace exactly as it was', () => {
    assert.equal(rootNamespaceSnapshot(), rootBefore)
  })
})
