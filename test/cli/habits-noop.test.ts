/**
 * A change that changes nothing says so and writes nothing (the resourceVersion stays), as
 * kubectl's "unchanged": apply of an identical object, ippool set to the current value, a patch
 * with no effect. On the file store, etcd and the Kubernetes API test double.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

const pool = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: noop-pool
  labels: {team: net}
spec:
  cidr: 10.60.0.0/16
  ipipMode: Always
  natOutgoing: true
`
const other = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: other-pool}
spec: {cidr: 10.61.0.0/16}
`

interface Backend {
  name: string
  start(): Promise<{env: Record<string, string>; writes?: () => number; stop(): Promise<void>}>
}

const backends: Backend[] = [
  {
    name: 'file store',
    async start() {
      const dir = tempDir()
      return {env: {NETCTL_STATE_DIR: dir.path}, stop: async () => dir.cleanup()}
    },
  },
  {
    name: 'etcd',
    async start() {
      const etcd: EtcdServer = await startEtcd()
      return {env: {DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint}, stop: () => etcd.stop()}
    },
  },
  {
    name: 'Kubernetes API test double',
    async start() {
      const api: KubeApiDouble = await startKubeApiDouble()
      const dir = tempDir()
      const kubeconfig = join(dir.path, 'kubeconfig')
      api.writeKubeconfig(kubeconfig)
      return {
        env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig},
        writes: () => api.requests.filter((r) => ['PUT', 'PATCH', 'POST'].includes(r.method)).length,
        stop: async () => {
          await api.stop()
          dir.cleanup()
        },
      }
    },
  },
]

for (const backend of backends) {
  describe(`no-op changes on the ${backend.name}`, () => {
    let store: Awaited<ReturnType<Backend['start']>>
    const netctl = (args: string[], input?: string) => runCli(args, {env: store.env, input})
    const version = async (name = 'noop-pool') => {
      const r = await netctl(['get', 'ippool', name, '-o', 'json'])
      assert.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout).metadata.resourceVersion as string
    }

    before(async () => {
      store = await backend.start()
      const r = await netctl(['apply', '-f', '-'], pool + '---\n' + other)
      assert.equal(r.code, 0, r.stderr)
    })
    after(() => store?.stop())

    it('apply of an identical object says unchanged and keeps the resourceVersion', async () => {
      const rv = await version()
      const writes = store.writes?.()
      const r = await netctl(['apply', '-f', '-'], pool)
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, "Nothing to apply: 1 'IPPool' resource(s) unchanged (already as given)\n")
      assert.equal(await version(), rv)
      if (writes !== undefined) assert.equal(store.writes!(), writes, 'no write request was sent')
    })

    it('apply of one changed and one identical object writes only the changed one, and says so', async () => {
      const [rv, otherRv] = [await version(), await version('other-pool')]
      const r = await netctl(['apply', '-f', '-'], pool + '---\n' + other.replace('10.61.0.0/16}', '10.61.0.0/16, natOutgoing: true}'))
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, "Successfully applied 2 'IPPool' resource(s) (1 unchanged)\n")
      assert.equal(await version(), rv)
      assert.notEqual(await version('other-pool'), otherRv)
    })

    it('ippool set to the current value says unchanged and keeps the resourceVersion', async () => {
      const rv = await version()
      const r = await netctl(['ippool', 'set', 'noop-pool', '--ipip', 'Always', '--nat-outgoing'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /IPPool "noop-pool" unchanged: it is already as asked\n$/)
      assert.equal(await version(), rv)
      const changed = await netctl(['ippool', 'set', 'noop-pool', '--ipip', 'Never'])
      assert.equal(changed.code, 0, changed.stderr)
      assert.notEqual(await version(), rv)
    })

    it('a patch with no effect says unchanged and keeps the resourceVersion', async () => {
      const rv = await version()
      for (const patch of ['{"spec":{"natOutgoing":true}}', '{"metadata":{"labels":{"team":"net"}}}', '{}']) {
        const r = await netctl(['patch', 'ippool', 'noop-pool', '-p', patch])
        assert.equal(r.code, 0, r.stderr)
        assert.equal(r.stdout, `IPPool "noop-pool" unchanged: the patch changes nothing\n`, patch)
        assert.equal(await version(), rv, patch)
      }
      const real = await netctl(['patch', 'ippool', 'noop-pool', '-p', '{"spec":{"natOutgoing":false}}'])
      assert.equal(real.stdout, "Successfully patched 1 'IPPool' resource\n")
      assert.notEqual(await version(), rv)
    })
  })
}
