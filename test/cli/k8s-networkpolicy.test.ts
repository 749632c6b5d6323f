/**
 * A Kubernetes NetworkPolicy file applied to netctl's own datastores (the embedded file store a
 * lab uses, and etcd): stored as the Calico NetworkPolicy knp.default.<name>, updated by applying
 * it again, removed by delete -f, while Calico's own apiVersion still may not use that prefix.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {startEtcd, type EtcdServer} from '../helpers/etcd.js'

const K8S = "projectcalico.org/orchestrator == 'k8s'"

const policyYaml = (port: number) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-frontend
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: db}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {role: frontend}}
    ports:
    - port: ${port}
`

function suite(name: string, setup: () => Promise<{netctl: (args: string[]) => ReturnType<typeof runCli>; cleanup: () => Promise<void>}>) {
  describe(name, () => {
    let netctl: (args: string[]) => ReturnType<typeof runCli>
    let cleanup: () => Promise<void>
    let dir: ReturnType<typeof tempDir>
    before(async () => {
      ;({netctl, cleanup} = await setup())
      dir = tempDir()
    })
    after(async () => {
      await cleanup?.()
      dir?.cleanup()
    })

    it('apply -f stores the converted policy; applying again updates it; delete -f removes it', async () => {
      const file = join(dir.path, 'np.yaml')
      writeFileSync(file, policyYaml(5432))
      const applied = await netctl(['apply', '-f', file])
      assert.equal(applied.code, 0, applied.stderr)
      const listed = await netctl(['get', 'networkpolicies', '-n', 'shop', '-o', 'wide'])
      assert.equal(listed.code, 0, listed.stderr)
      assert.match(listed.stdout, /knp\.default\.db-from-frontend\s+default\s+1000\s+projectcalico\.org\/orchestrator == 'k8s' && app == 'db'/)
      const shown = await netctl(['get', 'networkpolicy', 'knp.default.db-from-frontend', '-n', 'shop', '-o', 'json'])
      assert.equal(shown.code, 0, shown.stderr)
      const spec = JSON.parse(shown.stdout).spec
      assert.deepEqual(spec.ingress, [{action: 'Allow', protocol: 'TCP', source: {selector: K8S, namespaceSelector: "role == 'frontend'"}, destination: {ports: [5432]}}])
      assert.equal(spec.order, 1000)
      assert.equal(spec.tier, 'default')

      writeFileSync(file, policyYaml(6432))
      const again = await netctl(['apply', '-f', file])
      assert.equal(again.code, 0, again.stderr)
      const updated = await netctl(['get', 'networkpolicy', 'knp.default.db-from-frontend', '-n', 'shop', '-o', 'json'])
      assert.deepEqual(JSON.parse(updated.stdout).spec.ingress[0].destination, {ports: [6432]})

      const deleted = await netctl(['delete', '-f', file])
      assert.equal(deleted.code, 0, deleted.stderr)
      const gone = await netctl(['get', 'networkpolicy', 'knp.default.db-from-frontend', '-n', 'shop'])
      assert.equal(gone.code, 1)
    })

    it('a bad Kubernetes policy is refused before anything is written, naming the field', async () => {
      const file = join(dir.path, 'bad.yaml')
      writeFileSync(file, policyYaml(5432).replace('port: 5432', 'port: 99999'))
      const r = await netctl(['apply', '-f', file])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /bad\.yaml: spec\.ingress\[0\]\.ports\[0\]\.port 99999 is neither a port number/)
    })

    it('a Calico v3 NetworkPolicy may still not take the knp.default. prefix', async () => {
      const file = join(dir.path, 'v3.yaml')
      writeFileSync(file, 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: knp.default.sneaky, namespace: shop}\nspec: {selector: all()}\n')
      const r = await netctl(['apply', '-f', file])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /starts with "knp\.default\."/)
    })
  })
}

suite('Kubernetes NetworkPolicy files on the embedded datastore', async () => {
  const state = tempDir()
  return {netctl: (args) => runCli(args, {stateDir: state.path}), cleanup: async () => state.cleanup()}
})

suite('Kubernetes NetworkPolicy files on etcd', async () => {
  const etcd: EtcdServer = await startEtcd()
  return {netctl: (args) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint]), cleanup: () => etcd.stop()}
})
