/**
 * Kubernetes NetworkPolicy → Calico NetworkPolicy, with the facts of Calico's own conversion
 * tests (libcalico-go lib/backend/k8s/conversion/conversion_test.go) restated here, and the
 * strict reading of a NetworkPolicy file a person hands netctl.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {NetctlError} from '../../src/errors.js'
import {parseDocuments} from '../../src/resources/documents.js'
import {
  convertKubernetesDocument, convertUid, k8sNetworkPolicyToCalico, k8sSelectorToCalico, kubernetesNetworkPolicyWriteKind, namespaceToProfile, serviceAccountToProfile, simplifyPorts,
  type KubeNetworkPolicy,
} from '../../src/resources/k8s-networkpolicy.js'
import {networkPolicyKind} from '../../src/resources/policy.js'

const UID = '30316465-6365-4463-ad63-3564622d3638'
const np = (spec: KubeNetworkPolicy['spec'], name = 'test.policy'): KubeNetworkPolicy => ({metadata: {name, namespace: 'default', uid: UID}, spec})
const convert = (spec: KubeNetworkPolicy['spec']) => k8sNetworkPolicyToCalico(np(spec)).policy
const specOf = (spec: KubeNetworkPolicy['spec']) => convert(spec).spec as Record<string, any>
const K8S = "projectcalico.org/orchestrator == 'k8s'"

describe('k8sNetworkPolicyToCalico (Calico conversion facts)', () => {
  it('a basic policy: knp.default.<name>, default tier, order 1000, sorted matchLabels, TCP by default, named and numeric ports', () => {
    const policy = convert({
      podSelector: {matchLabels: {label2: 'value2', label: 'value'}},
      ingress: [{ports: [{port: 80}, {port: 'foo'}], from: [{podSelector: {matchLabels: {k2: 'v2', k: 'v'}}}]}],
      policyTypes: ['Ingress'],
    })
    assert.deepEqual(policy, {
      apiVersion: 'projectcalico.org/v3',
      kind: 'NetworkPolicy',
      metadata: {name: 'knp.default.test.policy', namespace: 'default', uid: '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c'},
      spec: {
        tier: 'default',
        order: 1000,
        selector: `${K8S} && label == 'value' && label2 == 'value2'`,
        ingress: [{action: 'Allow', protocol: 'TCP', source: {selector: `${K8S} && k == 'v' && k2 == 'v2'`}, destination: {ports: [80, 'foo']}}],
        types: ['Ingress'],
      },
    })
  })

  it('no ports: any protocol; a blank port: all TCP ports', () => {
    assert.deepEqual(specOf({ingress: [{from: [{podSelector: {matchLabels: {k: 'v'}}}]}], policyTypes: ['Ingress']}).ingress, [
      {action: 'Allow', source: {selector: `${K8S} && k == 'v'`}, destination: {}},
    ])
    assert.deepEqual(specOf({ingress: [{ports: [{port: 80}, {}], from: [{podSelector: {matchLabels: {k: 'v'}}}]}], policyTypes: ['Ingress']}).ingress, [
      {action: 'Allow', protocol: 'TCP', source: {selector: `${K8S} && k == 'v'`}, destination: {}},
    ])
    // Egress, blank port: the peer goes to the destination, the source stays empty.
    assert.deepEqual(specOf({egress: [{ports: [{}], to: [{podSelector: {matchLabels: {k: 'v'}}}]}], policyTypes: ['Egress']}).egress, [
      {action: 'Allow', protocol: 'TCP', source: {}, destination: {selector: `${K8S} && k == 'v'`}},
    ])
  })

  it('a rule whose port does not parse is dropped and reported; the others stay', () => {
    const {policy, dropped} = k8sNetworkPolicyToCalico(np({
      ingress: [
        {ports: [{port: 80}], from: [{podSelector: {matchLabels: {k: 'v'}}}]},
        {ports: [{port: 80}, {port: '-50:-1'}], from: [{podSelector: {matchLabels: {k: 'v'}}}]},
      ],
      policyTypes: ['Ingress'],
    }))
    assert.equal((policy.spec!.ingress as unknown[]).length, 1)
    assert.deepEqual(dropped, [{field: 'spec.ingress[1]', reason: "k8s rule couldn't be converted: failed to parse k8s port: invalid port -50:-1: invalid name for named port (-50:-1)"}])
  })

  it('no rules; default-deny egress; an empty podSelector selects every k8s pod', () => {
    assert.deepEqual(specOf({podSelector: {matchLabels: {label: 'value'}}, policyTypes: ['Ingress']}), {tier: 'default', order: 1000, selector: `${K8S} && label == 'value'`, types: ['Ingress']})
    assert.deepEqual(specOf({podSelector: {}, policyTypes: ['Egress']}), {tier: 'default', order: 1000, selector: K8S, types: ['Egress']})
  })

  it('policyTypes: both in Calico order; none given means Ingress only, even with egress rules', () => {
    assert.deepEqual(specOf({policyTypes: ['Egress', 'Ingress']}).types, ['Ingress', 'Egress'])
    const old = specOf({egress: [{to: [{podSelector: {}}]}]})
    assert.deepEqual(old.types, ['Ingress'])
    assert.equal(old.egress.length, 1)
  })

  it('multiple peers and ports: one rule per protocol (sorted) and peer (in order)', () => {
    const rules = specOf({
      podSelector: {matchLabels: {label: 'value'}},
      ingress: [{ports: [{port: 90, protocol: 'UDP'}, {port: 80, protocol: 'TCP'}], from: [{podSelector: {matchLabels: {k: 'v'}}}, {podSelector: {matchLabels: {k2: 'v2'}}}]}],
      policyTypes: ['Ingress'],
    }).ingress
    assert.deepEqual(rules.map((r: any) => [r.protocol, r.source.selector, r.destination.ports]), [
      ['TCP', `${K8S} && k == 'v'`, [80]],
      ['TCP', `${K8S} && k2 == 'v2'`, [80]],
      ['UDP', `${K8S} && k == 'v'`, [90]],
      ['UDP', `${K8S} && k2 == 'v2'`, [90]],
    ])
  })

  it('namespace selectors: kept as namespaceSelector (nil → none, empty → all()), the peer selector still says k8s', () => {
    const source = (peer: object) => specOf({ingress: [{from: [peer]}], policyTypes: ['Ingress']}).ingress[0].source
    assert.deepEqual(source({namespaceSelector: {matchLabels: {namespaceRole: 'dev', namespaceFoo: 'bar'}}}), {selector: K8S, namespaceSelector: "namespaceFoo == 'bar' && namespaceRole == 'dev'"})
    assert.deepEqual(source({podSelector: {}}), {selector: K8S})
    assert.deepEqual(source({namespaceSelector: {matchLabels: {}}}), {selector: K8S, namespaceSelector: 'all()'})
    assert.deepEqual(source({namespaceSelector: {matchLabels: {namespaceFoo: 'bar'}}, podSelector: {matchLabels: {podC: 'D', podA: 'B'}}}), {
      selector: `${K8S} && podA == 'B' && podC == 'D'`,
      namespaceSelector: "namespaceFoo == 'bar'",
    })
  })

  it('matchExpressions: In, NotIn, Exists, DoesNotExist after the matchLabels', () => {
    assert.equal(k8sSelectorToCalico({matchExpressions: [{key: 'k', operator: 'In', values: ['v1', 'v2']}]}, 'pod'), `${K8S} && k in { 'v1', 'v2' }`)
    assert.equal(
      k8sSelectorToCalico({matchLabels: {a: 'b'}, matchExpressions: [{key: 'k', operator: 'NotIn', values: ['x']}, {key: 'e', operator: 'Exists'}, {key: 'toast', operator: 'DoesNotExist'}]}, 'namespace'),
      "a == 'b' && k not in { 'x' } && has(e) && ! has(toast)",
    )
  })

  it('endPort makes a range; ports of one protocol merge into ranges', () => {
    assert.deepEqual(specOf({ingress: [{ports: [{protocol: 'TCP', port: 32000, endPort: 32768}]}], policyTypes: ['Ingress']}).ingress, [
      {action: 'Allow', protocol: 'TCP', source: {}, destination: {ports: ['32000:32768']}},
    ])
    assert.deepEqual(specOf({egress: [{ports: [{port: 80}, {port: 'http'}, {port: 81}, {port: 82}, {port: 9090}]}], policyTypes: ['Egress']}).egress[0].destination.ports, ['http', '80:82', 9090])
    assert.deepEqual(simplifyPorts([80, 'foo']), [80, 'foo'])
    assert.deepEqual(simplifyPorts([90, 80]), [80, 90])
  })

  it('ipBlock: nets and notNets (networks masked), no selectors; an unparsable cidr leaves the peer open', () => {
    const egress = specOf({
      egress: [{ports: [{port: 90, protocol: 'UDP'}, {port: 80}], to: [{ipBlock: {cidr: '192.168.0.0/16', except: ['192.168.3.0/24', '192.168.4.0/24', '192.168.5.0/24']}}]}],
      policyTypes: ['Egress'],
    }).egress
    assert.deepEqual(egress, [
      {action: 'Allow', protocol: 'TCP', source: {}, destination: {nets: ['192.168.0.0/16'], notNets: ['192.168.3.0/24', '192.168.4.0/24', '192.168.5.0/24'], ports: [80]}},
      {action: 'Allow', protocol: 'UDP', source: {}, destination: {nets: ['192.168.0.0/16'], notNets: ['192.168.3.0/24', '192.168.4.0/24', '192.168.5.0/24'], ports: [90]}},
    ])
    assert.deepEqual(specOf({ingress: [{from: [{ipBlock: {cidr: '10.1.2.3/8'}}]}]}).ingress[0].source, {nets: ['10.0.0.0/8']})
    assert.deepEqual(specOf({ingress: [{from: [{ipBlock: {cidr: '192.168.0.0/55'}}]}]}).ingress[0].source, {})
  })

  it('ConvertUID: bit-reversed bytes, version and variant kept, its own inverse', () => {
    assert.equal(convertUid(UID), '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c')
    assert.equal(convertUid('0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c'), UID)
  })

  it('NamespaceToProfile: kns.<ns>, pcns.<label> and pcns.projectcalico.org/name, allow all', () => {
    assert.deepEqual(namespaceToProfile({metadata: {name: 'default', uid: UID, resourceVersion: '7', labels: {foo: 'bar', roger: 'rabbit'}}}), {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Profile',
      metadata: {name: 'kns.default', resourceVersion: '7/', uid: '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c'},
      spec: {ingress: [{action: 'Allow'}], egress: [{action: 'Allow'}], labelsToApply: {'pcns.foo': 'bar', 'pcns.roger': 'rabbit', 'pcns.projectcalico.org/name': 'default'}},
    })
  })

  it('ServiceAccountToProfile: ksa.<ns>.<sa>, pcsa.<label> and pcsa.projectcalico.org/name, no rules', () => {
    assert.deepEqual(serviceAccountToProfile({metadata: {name: 'sa-name', namespace: 'test', resourceVersion: '9', labels: {'k1': 'v1'}}}), {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Profile',
      metadata: {name: 'ksa.test.sa-name', resourceVersion: '/9'},
      spec: {labelsToApply: {'pcsa.k1': 'v1', 'pcsa.projectcalico.org/name': 'sa-name'}},
    })
  })

  it('the converted policy passes NetworkPolicy validation through the write kind, and only there', () => {
    const policy = convert({podSelector: {}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 80}]}], policyTypes: ['Ingress']})
    assert.doesNotThrow(() => kubernetesNetworkPolicyWriteKind.validate!(policy, {others: []}))
    assert.throws(() => networkPolicyKind.validate!(policy, {others: []}), /knp\.default\./)
  })
})

describe('a NetworkPolicy file (networking.k8s.io/v1)', () => {
  const yaml = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-frontend
  namespace: shop
  labels: {team: web}
spec:
  podSelector:
    matchLabels: {app: backend}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {role: frontend}}
      podSelector: {matchLabels: {app: web}}
    - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
    ports:
    - {protocol: TCP, port: 6379}
    - {port: 7000, endPort: 7010}
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: postgres}]
`

  it('parseDocuments turns it into the converted Calico policy, written as the Kubernetes policy kind', async () => {
    const [doc, ...rest] = await parseDocuments(yaml, 'np.yaml')
    assert.equal(rest.length, 0)
    assert.equal(doc!.writeAs, kubernetesNetworkPolicyWriteKind)
    assert.deepEqual(doc!.resource, {
      apiVersion: 'projectcalico.org/v3',
      kind: 'NetworkPolicy',
      metadata: {name: 'knp.default.allow-frontend', namespace: 'shop'},
      spec: {
        tier: 'default',
        order: 1000,
        selector: `${K8S} && app == 'backend'`,
        ingress: [
          {action: 'Allow', protocol: 'TCP', source: {selector: `${K8S} && app == 'web'`, namespaceSelector: "role == 'frontend'"}, destination: {ports: [6379, '7000:7010']}},
          {action: 'Allow', protocol: 'TCP', source: {nets: ['172.17.0.0/16'], notNets: ['172.17.1.0/24']}, destination: {ports: [6379, '7000:7010']}},
        ],
        egress: [{action: 'Allow', protocol: 'TCP', source: {}, destination: {selector: `${K8S} && app == 'db'`, ports: ['postgres']}}],
        types: ['Ingress', 'Egress'],
      },
    })
  })

  it('a NetworkPolicyList and a v3 document in one file both parse', async () => {
    const list = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {name: a}\n  spec: {podSelector: {}}\n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: b}\nspec: {selector: all()}\n`
    const docs = await parseDocuments(list, 'np.yaml')
    assert.deepEqual(docs.map((d) => [d.resource.metadata.name, d.writeAs === kubernetesNetworkPolicyWriteKind]), [['knp.default.a', true], ['b', false]])
  })

  it('what kubectl get -o yaml prints (a v1 List, server metadata) reads as the policies it holds', async () => {
    const exported = `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata:
    annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
    creationTimestamp: "2026-11-30T10:00:00Z"
    generation: 1
    name: web
    namespace: shop
    resourceVersion: "4242"
    uid: ${UID}
    managedFields: [{manager: kubectl, operation: Update}]
  spec:
    podSelector: {}
    policyTypes: [Ingress]
  status: {}
`
    const [doc] = await parseDocuments(exported, 'exported.yaml')
    // The cluster's resourceVersion is no precondition for a lab's datastore.
    assert.deepEqual(doc!.resource.metadata, {name: 'knp.default.web', namespace: 'shop'})
    assert.equal(doc!.writeAs, kubernetesNetworkPolicyWriteKind)
  })

  const refused = (text: string, pattern: RegExp) =>
    assert.rejects(parseDocuments(text, 'np.yaml'), (error: unknown) => {
      assert.ok(error instanceof NetctlError)
      assert.equal(error.kind, 'usage')
      assert.match(error.message, pattern)
      return true
    })
  const withSpec = (spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: ${spec}\n`

  it('refuses what the API server would refuse, naming the field', async () => {
    await refused(withSpec('{ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}'), /np\.yaml: spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr "10\.0\.0\.0\/33" is not a CIDR/)
    await refused(withSpec('{ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]}'), /except\[0\] 11\.0\.0\.0\/16 is not inside 10\.0\.0\.0\/8/)
    await refused(withSpec('{egress: [{ports: [{port: 70000}]}]}'), /spec\.egress\[0\]\.ports\[0\]\.port 70000 is neither a port number/)
    await refused(withSpec('{egress: [{ports: [{port: 80, endPort: 79}]}]}'), /endPort 79 must be a port number no smaller than port 80/)
    await refused(withSpec('{egress: [{ports: [{port: 80, protocol: ICMP}]}]}'), /protocol is "ICMP"/)
    await refused(withSpec('{podSelector: {matchExpressions: [{key: a, operator: Equals}]}}'), /spec\.podSelector\.matchExpressions\[0\]\.operator is "Equals"/)
    await refused(withSpec('{ingres: []}'), /spec has an unknown field "ingres"/)
    await refused(withSpec('{ingress: [{from: [{}]}]}'), /from\[0\] is empty/)
    await refused('apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x}\n', /"Ingress" is not a kind netctl reads/)
    await refused('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: Bad_Name}\n', /metadata\.name "Bad_Name" is not a valid NetworkPolicy name/)
  })

  it('other apiVersions are still refused as before', async () => {
    await refused('apiVersion: networking.k8s.io/v2\nkind: NetworkPolicy\nmetadata: {name: x}\n', /apiVersion is "networking\.k8s\.io\/v2"/)
  })

  it('convertKubernetesDocument keeps no labels or annotations of the Kubernetes object (Calico does not)', () => {
    const policy = convertKubernetesDocument({apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: {name: 'x', labels: {a: 'b'}}, spec: {}}, 'np.yaml')
    assert.deepEqual(policy.metadata, {name: 'knp.default.x'})
  })
})
