/**
 * The Kubernetes datastore shows the cluster's Kubernetes NetworkPolicies (knp.default.<name>)
 * and the kns.<namespace> Profiles as Calico derives them, read-only, through the bounded list
 * machinery; writes to them are refused with the kubectl command that does it.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {KubernetesDatastore} from '../../src/datastore/kubernetes.js'
import {NetctlError} from '../../src/errors.js'
import {parseDocuments} from '../../src/resources/documents.js'
import {networkPolicyKind} from '../../src/resources/policy.js'
import {profileKind} from '../../src/resources/profile.js'
import {writeResources} from '../../src/services/resources.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

const K8S = "projectcalico.org/orchestrator == 'k8s'"
const NP_PATH = '/apis/networking.k8s.io/v1/networkpolicies'

const k8sPolicy = (namespace: string, name: string, spec: Record<string, unknown>) => ({apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: {name, namespace}, spec})

const pod = (namespace: string, name: string, node: string, ip: string, labels: Record<string, string>) => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {name, namespace, labels},
  spec: {nodeName: node, serviceAccountName: 'default', containers: [{}]},
  status: {phase: 'Running', podIP: ip, podIPs: [{ip}]},
})

describe('kubernetes datastore: Kubernetes NetworkPolicies and namespace profiles', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let kubeconfig: string
  const netctl = (args: string[], input?: string) => runCli(args, {input, env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig}})
  const open = (limits = {}) => KubernetesDatastore.open({kubeconfig} as never, limits)

  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir()
    kubeconfig = join(dir.path, 'kubeconfig')
    api.writeKubeconfig(kubeconfig, {namespace: 'shop'})
    api.seed('/api/v1/namespaces', [
      {metadata: {name: 'shop', uid: '30316465-6365-4463-ad63-3564622d3638', labels: {'kubernetes.io/metadata.name': 'shop', env: 'prod'}}},
      {metadata: {name: 'web', labels: {'kubernetes.io/metadata.name': 'web', role: 'frontend'}}},
      {metadata: {name: 'batch', labels: {'kubernetes.io/metadata.name': 'batch'}}},
    ])
    api.seed('/api/v1/namespaces/x/serviceaccounts', [{metadata: {name: 'db', namespace: 'shop', labels: {team: 'data'}}}])
    api.seed(NP_PATH, [
      k8sPolicy('shop', 'db-from-frontend', {
        podSelector: {matchLabels: {app: 'db'}},
        policyTypes: ['Ingress'],
        ingress: [{from: [{namespaceSelector: {matchLabels: {role: 'frontend'}}}], ports: [{port: 5432}]}],
      }),
      k8sPolicy('batch', 'deny-all', {podSelector: {}, policyTypes: ['Ingress', 'Egress']}),
    ])
    api.seed('networkpolicies', [{metadata: {name: 'calico-own', namespace: 'shop'}, spec: {tier: 'default', selector: 'all()', order: 10, types: ['Ingress']}}])
    api.seed('pods', [
      pod('shop', 'db-0', 'node01', '192.168.1.10', {app: 'db'}),
      pod('web', 'frontend-0', 'node01', '192.168.1.20', {app: 'frontend'}),
      pod('batch', 'job-0', 'node01', '192.168.1.30', {app: 'job'}),
    ])
  })
  after(async () => {
    await api?.stop()
    dir?.cleanup()
  })

  it('get networkpolicies lists the Kubernetes ones after Calico\'s, as knp.default.<name> in the default tier', async () => {
    const r = await netctl(['get', 'networkpolicies'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/)), [
      ['NAME', 'TIER'],
      ['calico-own', 'default'],
      ['knp.default.db-from-frontend', 'default'],
    ])
    const all = await netctl(['get', 'networkpolicies', '-A'])
    assert.equal(all.code, 0, all.stderr)
    assert.match(all.stdout, /batch\s+knp\.default\.deny-all\s+default/)
    assert.match(all.stdout, /shop\s+knp\.default\.db-from-frontend\s+default/)
  })

  it('get one by its Calico name shows the converted policy', async () => {
    const r = await netctl(['get', 'networkpolicy', 'knp.default.db-from-frontend', '-o', 'json'])
    assert.equal(r.code, 0, r.stderr)
    const policy = JSON.parse(r.stdout)
    assert.equal(policy.metadata.name, 'knp.default.db-from-frontend')
    assert.equal(policy.metadata.namespace, 'shop')
    assert.deepEqual(policy.spec, {
      tier: 'default', order: 1000, selector: `${K8S} && app == 'db'`,
      ingress: [{action: 'Allow', protocol: 'TCP', source: {selector: K8S, namespaceSelector: "role == 'frontend'"}, destination: {ports: [5432]}}],
      types: ['Ingress'],
    })
    const missing = await netctl(['get', 'networkpolicy', 'knp.default.nope'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /knp\.default\.nope/)
  })

  it('refuses to change or delete them, pointing at kubectl', async () => {
    const del = await netctl(['delete', 'networkpolicy', 'knp.default.db-from-frontend', '-n', 'shop'])
    assert.equal(del.code, 1)
    assert.match(del.stderr, /cannot delete NetworkPolicy "shop\/knp\.default\.db-from-frontend": it is the Kubernetes NetworkPolicy "db-from-frontend", which belongs to Kubernetes/)
    assert.match(del.stderr, /kubectl delete networkpolicy db-from-frontend -n shop/)
    const ds = await open()
    const stored = await ds.get(networkPolicyKind, 'knp.default.db-from-frontend', 'shop')
    await assert.rejects(ds.update(networkPolicyKind, stored), (error: unknown) => {
      assert.ok(error instanceof NetctlError)
      assert.equal(error.kind, 'unsupported')
      assert.match(error.suggestion ?? '', /kubectl edit networkpolicy db-from-frontend -n shop/)
      return true
    })
  })

  it('a Kubernetes NetworkPolicy file given to netctl apply says to use kubectl, and nothing in the file is written', async () => {
    const file = join(dir.path, 'np.yaml')
    writeFileSync(file, [
      'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: first}\nspec: {selector: all()}\n',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-deny}\nspec: {podSelector: {}}\n',
    ].join('---\n'))
    const writes = () => api.requests.filter((q) => q.method !== 'GET').length
    const before = writes()
    const r = await netctl(['apply', '-f', file])
    assert.equal(r.code, 1, r.stdout)
    assert.match(r.stderr, /cannot write the Kubernetes NetworkPolicy "shop\/web-deny" through netctl to a Kubernetes datastore/)
    assert.match(r.stderr, /kubectl apply -f/)
    assert.equal(writes(), before)
  })

  it('get profiles lists projectcalico-default-allow, kns.<namespace> with pcns. labels and ksa.<ns>.<sa>; they are read-only', async () => {
    const r = await netctl(['get', 'profiles', '-o', 'wide'])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/))
    assert.deepEqual(lines.map((l) => l[0]), ['NAME', 'projectcalico-default-allow', 'kns.batch', 'kns.shop', 'kns.web', 'ksa.shop.db'])
    assert.match(r.stdout, /ksa\.shop\.db\s+pcsa\.projectcalico\.org\/name=db,pcsa\.team=data/)
    const account = await netctl(['get', 'profile', 'ksa.shop.db', '-o', 'json'])
    assert.equal(account.code, 0, account.stderr)
    assert.deepEqual(JSON.parse(account.stdout).spec, {labelsToApply: {'pcsa.team': 'data', 'pcsa.projectcalico.org/name': 'db'}})
    assert.match(r.stdout, /kns\.web\s+pcns\.kubernetes\.io\/metadata\.name=web,pcns\.projectcalico\.org\/name=web,pcns\.role=frontend/)
    const one = await netctl(['get', 'profile', 'kns.shop', '-o', 'json'])
    assert.equal(one.code, 0, one.stderr)
    assert.deepEqual(JSON.parse(one.stdout).spec, {
      ingress: [{action: 'Allow'}], egress: [{action: 'Allow'}],
      labelsToApply: {'pcns.kubernetes.io/metadata.name': 'shop', 'pcns.env': 'prod', 'pcns.projectcalico.org/name': 'shop'},
    })
    assert.equal(JSON.parse(one.stdout).metadata.uid, '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c')
    const none = await netctl(['get', 'profile', 'kns.nowhere'])
    assert.equal(none.code, 1)
    const del = await netctl(['delete', 'profile', 'kns.shop'])
    assert.equal(del.code, 1)
    assert.match(del.stderr, /Calico derives them from Namespaces/)
  })

  it('namespace selectors of Kubernetes policies see namespace labels: policy eval allows only from the frontend namespace', async () => {
    const allowed = await netctl(['policy', 'eval', '--from', 'frontend-0', '--to', 'db-0', '--protocol', 'TCP', '--port', '5432', '-o', 'json'])
    assert.equal(allowed.code, 0, allowed.stderr + allowed.stdout)
    assert.equal(JSON.parse(allowed.stdout).allowed, true)
    assert.match(allowed.stdout, /knp\.default\.db-from-frontend/)
    // The batch namespace is not role=frontend: db-0's ingress policy matches nothing, end of tier.
    const denied = await netctl(['policy', 'eval', '--from', 'job-0', '--to', 'db-0', '--protocol', 'TCP', '--port', '5432', '-o', 'json'])
    assert.equal(denied.code, 1, denied.stderr + denied.stdout)
    assert.equal(JSON.parse(denied.stdout).allowed, false)
  })

  it('lists Kubernetes policies and namespaces through the bounded, paged listing', async () => {
    api.seed(NP_PATH, Array.from({length: 1100}, (_, i) => k8sPolicy('many', `p-${String(i).padStart(4, '0')}`, {podSelector: {}})))
    api.requests.length = 0
    const ds = await open()
    const listed = await ds.list(networkPolicyKind, {namespace: 'many'})
    assert.equal(listed.length, 1100)
    const pages = api.requests.filter((q) => q.path === '/apis/networking.k8s.io/v1/namespaces/many/networkpolicies')
    assert.equal(pages.length, 3)
    assert.ok(pages.every((q) => q.query.get('limit') === '500'))
    assert.ok(pages.slice(1).every((q) => q.query.get('continue')))
    const bounded = await open({maxListObjects: 600})
    await assert.rejects(bounded.list(networkPolicyKind, {namespace: 'many'}), /networkpolicies\.networking\.k8s\.io \(GET \/apis\/networking\.k8s\.io\/v1\/namespaces\/many\/networkpolicies\) .*returned more than 600 objects/)
    api.misbehave({path: '/api/v1/namespaces', mode: 'repeat-continue'})
    try {
      await assert.rejects(ds.list(profileKind), /sent the same continue token twice .* namespaces/)
    } finally {
      api.behave()
    }
  })

  it('a policy the API server holds with a rule Calico cannot convert is listed without that rule', async () => {
    api.seed(NP_PATH, [k8sPolicy('odd', 'bad-port', {podSelector: {}, ingress: [{ports: [{port: 'not_a:port'}]}, {ports: [{port: 80}]}]})])
    const ds = await open()
    const [policy] = await ds.list(networkPolicyKind, {namespace: 'odd'})
    assert.deepEqual(policy!.spec!.ingress, [{action: 'Allow', protocol: 'TCP', source: {}, destination: {ports: [80]}}])
  })

  it('writeResources refuses the converted policy before any write', async () => {
    const ds = await open()
    const docs = await parseDocuments('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: shop}\nspec: {podSelector: {}}\n', 'np.yaml')
    await assert.rejects(writeResources(ds, docs, 'apply'), (error: unknown) => error instanceof NetctlError && error.kind === 'unsupported' && /np\.yaml: cannot write the Kubernetes NetworkPolicy "shop\/x"/.test(error.message))
  })
})
