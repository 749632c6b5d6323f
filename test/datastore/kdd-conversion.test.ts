import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  customResourcePath, customResourceToV3, hasWorkloadEndpoint, kubeNodeToV3, podToWorkloadEndpoint, v3NodeToPatch, v3ToCustomResource, type Pod,
} from '../../src/datastore/kdd-conversion.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import {globalNetworkPolicyKind, networkPolicyKind} from '../../src/resources/policy.js'
import {tierKind} from '../../src/resources/tier.js'
import {parseWorkloadEndpointName} from '../../src/resources/workloadendpoint.js'

/** The busybox pod of seed 000, as the API server returns it. */
const busybox = (overrides: Partial<Pod> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'busybox-deployment-8c7dc8548-btnkv',
    generateName: 'busybox-deployment-8c7dc8548-',
    namespace: 'default',
    uid: '5f1e7d4c-3a7b-4f1e-9d61-0c1a2b3c4d5e',
    resourceVersion: '12345',
    creationTimestamp: '2020-10-20T08:00:00Z',
    labels: {app: 'busybox', 'pod-template-hash': '8c7dc8548'},
    annotations: {
      'cni.projectcalico.org/podIP': '192.168.196.131/32',
      'cni.projectcalico.org/podIPs': '192.168.196.131/32',
      'cni.projectcalico.org/containerID': '3f1c9a7e5b2d',
    },
  },
  spec: {nodeName: 'node01', serviceAccountName: 'default', containers: [{ports: [{name: 'http', containerPort: 8080}, {containerPort: 9090}]}]},
  status: {phase: 'Running', podIP: '192.168.196.131', podIPs: [{ip: '192.168.196.131'}]},
  ...overrides,
})

describe('pods → WorkloadEndpoints (Calico KDD)', () => {
  it('converts a running pod as Calico does', () => {
    const wep = podToWorkloadEndpoint(busybox())
    assert.equal(wep.metadata.name, 'node01-k8s-busybox--deployment--8c7dc8548--btnkv-eth0')
    assert.equal(wep.metadata.namespace, 'default')
    assert.equal(wep.metadata.uid, '5f1e7d4c-3a7b-4f1e-9d61-0c1a2b3c4d5e')
    assert.equal(wep.metadata.resourceVersion, '12345')
    assert.deepEqual(wep.metadata.labels, {
      app: 'busybox', 'pod-template-hash': '8c7dc8548',
      'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'k8s', 'projectcalico.org/serviceaccount': 'default',
    })
    assert.deepEqual(wep.spec, {
      orchestrator: 'k8s', node: 'node01', pod: 'busybox-deployment-8c7dc8548-btnkv', endpoint: 'eth0', serviceAccountName: 'default',
      ipNetworks: ['192.168.196.131/32'], profiles: ['kns.default', 'ksa.default.default'], interfaceName: 'calib673e730d42',
      containerID: '3f1c9a7e5b2d', ports: [{name: 'http', protocol: 'TCP', port: 8080}],
    })
  })

  it('takes every IP of a dual-stack pod, as /32 and /128', () => {
    const wep = podToWorkloadEndpoint(busybox({status: {phase: 'Running', podIP: '10.0.0.5', podIPs: [{ip: '10.0.0.5'}, {ip: 'fd00::5'}]}}))
    assert.deepEqual(wep.spec!.ipNetworks, ['10.0.0.5/32', 'fd00::5/128'])
  })

  it('falls back to podIP, then the Calico annotations, in that order', () => {
    const annotationsOnly = busybox({status: {phase: 'Pending'}})
    assert.deepEqual(podToWorkloadEndpoint(annotationsOnly).spec!.ipNetworks, ['192.168.196.131/32'])
    const singular = busybox({status: {phase: 'Pending'}})
    singular.metadata.annotations = {'cni.projectcalico.org/podIP': '192.168.196.140'}
    assert.deepEqual(podToWorkloadEndpoint(singular).spec!.ipNetworks, ['192.168.196.140/32'])
    const both = busybox({status: {phase: 'Running', podIP: '10.9.9.9'}})
    assert.deepEqual(podToWorkloadEndpoint(both).spec!.ipNetworks, ['10.9.9.9/32'], 'status.podIP wins over annotations')
    const none = busybox({status: {phase: 'Pending'}})
    none.metadata.annotations = {}
    assert.deepEqual(podToWorkloadEndpoint(none).spec!.ipNetworks, [])
  })

  it('shows finished pods with no IPs', () => {
    for (const phase of ['Succeeded', 'Failed']) {
      assert.deepEqual(podToWorkloadEndpoint(busybox({status: {phase, podIP: '192.168.196.131', podIPs: [{ip: '192.168.196.131'}]}})).spec!.ipNetworks, [])
    }
  })

  it('skips host-networked and unscheduled pods', () => {
    assert.equal(hasWorkloadEndpoint(busybox()), true)
    assert.equal(hasWorkloadEndpoint(busybox({spec: {nodeName: 'node01', hostNetwork: true}})), false)
    assert.equal(hasWorkloadEndpoint(busybox({spec: {}})), false)
  })

  it('omits the service-account profile when the pod names none', () => {
    const wep = podToWorkloadEndpoint(busybox({spec: {nodeName: 'node01'}}))
    assert.deepEqual(wep.spec!.profiles, ['kns.default'])
    assert.equal(wep.metadata.labels!['projectcalico.org/serviceaccount'], undefined)
  })

  it('copies the pod\'s labels as they are, a "__proto__" key as an own label (never the object\'s prototype)', () => {
    const pod = busybox()
    pod.metadata.labels = JSON.parse('{"app":"busybox","__proto__":{"polluted":"yes"},"projectcalico.org/namespace":"forged"}')
    const labels = podToWorkloadEndpoint(pod).metadata.labels!
    assert.equal(Object.getPrototypeOf(labels), Object.prototype)
    assert.deepEqual(Object.keys(labels), ['app', '__proto__', 'projectcalico.org/namespace', 'projectcalico.org/orchestrator', 'projectcalico.org/serviceaccount'])
    assert.deepEqual(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value, {polluted: 'yes'})
    assert.equal((labels as Record<string, unknown>).polluted, undefined)
    // Calico's own labels win over a pod's label of the same name.
    assert.equal(labels['projectcalico.org/namespace'], 'default')
  })

  it('parses an escaped endpoint name back into its parts', () => {
    assert.deepEqual(parseWorkloadEndpointName('node01-k8s-busybox--deployment--8c7dc8548--btnkv-eth0'), {
      node: 'node01', orchestrator: 'k8s', pod: 'busybox-deployment-8c7dc8548-btnkv', endpoint: 'eth0',
    })
    assert.deepEqual(parseWorkloadEndpointName('k8s--node--1-k8s-web-eth0')?.node, 'k8s-node-1')
    assert.equal(parseWorkloadEndpointName('just-a-pod'), undefined)
  })
})

describe('custom resources and nodes (Calico KDD)', () => {
  it('keeps v3 metadata Kubernetes has no field for in projectcalico.org/metadata', () => {
    const crd = v3ToCustomResource({
      apiVersion: 'projectcalico.org/v3', kind: 'IPPool',
      metadata: {name: 'p', uid: 'u-1', creationTimestamp: '2020-01-01T00:00:00Z', labels: {a: 'b'}, annotations: {note: 'x'}, resourceVersion: '7'},
      spec: {cidr: '10.0.0.0/16'},
    })
    assert.equal(crd.apiVersion, 'crd.projectcalico.org/v1')
    assert.deepEqual(crd.metadata, {
      name: 'p', resourceVersion: '7', labels: {a: 'b'},
      annotations: {note: 'x', 'projectcalico.org/metadata': '{"creationTimestamp":"2020-01-01T00:00:00Z","uid":"u-1"}'},
    })
    const back = customResourceToV3(ipPoolKind, {...crd, metadata: {...crd.metadata, uid: 'k8s-uid', resourceVersion: '8'}})
    assert.deepEqual(back.metadata, {name: 'p', uid: 'u-1', creationTimestamp: '2020-01-01T00:00:00Z', resourceVersion: '8', labels: {a: 'b'}, annotations: {note: 'x'}})
  })

  it('reads a custom resource that has no metadata annotation', () => {
    const v3 = customResourceToV3(ipPoolKind, {metadata: {name: 'plain', uid: 'k', resourceVersion: '3', creationTimestamp: '2021-01-01T00:00:00Z'}, spec: {cidr: '10.1.0.0/16'}})
    assert.deepEqual(v3.metadata, {name: 'plain', uid: 'k', resourceVersion: '3', creationTimestamp: '2021-01-01T00:00:00Z'})
  })

  it('maps Calico node annotations to a v3 Node and back to a merge patch', () => {
    const node = kubeNodeToV3({
      metadata: {name: 'node01', resourceVersion: '55', labels: {'kubernetes.io/hostname': 'node01'}, annotations: {
        'projectcalico.org/IPv4Address': '172.17.0.40/16', 'projectcalico.org/IPv4IPIPTunnelAddr': '192.168.196.128', 'node.alpha.kubernetes.io/ttl': '0',
      }},
      status: {addresses: [{type: 'InternalIP', address: '172.17.0.40'}, {type: 'Hostname', address: 'node01'}]},
    })
    assert.deepEqual(node.spec, {
      bgp: {ipv4Address: '172.17.0.40/16', ipv4IPIPTunnelAddr: '192.168.196.128'},
      addresses: [{address: '172.17.0.40/16', type: 'CalicoNodeIP'}, {address: '172.17.0.40', type: 'InternalIP'}],
      orchRefs: [{nodeName: 'node01', orchestrator: 'k8s'}],
    })
    const patch = v3NodeToPatch({...node, spec: {...node.spec, bgp: {ipv4Address: '172.17.0.40/16', asNumber: 64600}}}) as {metadata: {annotations: Record<string, string | null>; resourceVersion: string}}
    assert.equal(patch.metadata.resourceVersion, '55')
    assert.equal(patch.metadata.annotations['projectcalico.org/ASNumber'], '64600')
    assert.equal(patch.metadata.annotations['projectcalico.org/IPv4IPIPTunnelAddr'], null, 'a removed field is removed')
  })

  it('puts namespaced Calico kinds under namespaces/<ns>/ and cluster-scoped ones at the group root', () => {
    assert.equal(customResourcePath(networkPolicyKind, 'production', 'allow-web'), '/apis/crd.projectcalico.org/v1/namespaces/production/networkpolicies/allow-web')
    assert.equal(customResourcePath(networkPolicyKind, 'production'), '/apis/crd.projectcalico.org/v1/namespaces/production/networkpolicies')
    // Every namespace: the cluster-wide list of a namespaced kind.
    assert.equal(customResourcePath(networkPolicyKind), '/apis/crd.projectcalico.org/v1/networkpolicies')
    assert.equal(customResourcePath(globalNetworkPolicyKind, 'ignored', 'deny-all'), '/apis/crd.projectcalico.org/v1/globalnetworkpolicies/deny-all')
    assert.equal(customResourcePath(tierKind, undefined, 'security'), '/apis/crd.projectcalico.org/v1/tiers/security')
  })

  it('keeps a policy\'s namespace on the custom resource and its name in the metadata annotation, as Calico does', () => {
    const crd = v3ToCustomResource({
      apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy',
      metadata: {name: 'allow-web', namespace: 'production', uid: 'u-1', labels: {'projectcalico.org/tier': 'default'}},
      spec: {tier: 'default', selector: 'app == "web"', types: ['Ingress']},
    })
    assert.equal(crd.apiVersion, 'crd.projectcalico.org/v1')
    assert.equal(crd.metadata.namespace, 'production')
    assert.deepEqual(JSON.parse(crd.metadata.annotations!['projectcalico.org/metadata']!), {name: 'allow-web', creationTimestamp: null, uid: 'u-1'})
    const back = customResourceToV3(networkPolicyKind, {...crd, metadata: {...crd.metadata, resourceVersion: '4'}})
    assert.deepEqual(back.metadata, {name: 'allow-web', namespace: 'production', uid: 'u-1', resourceVersion: '4', labels: {'projectcalico.org/tier': 'default'}})
    assert.deepEqual(back.spec, {tier: 'default', selector: 'app == "web"', types: ['Ingress']})
    // Other kinds keep the name out of the annotation.
    const tier = v3ToCustomResource({apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: {name: 'security'}, spec: {order: 100}})
    assert.equal(JSON.parse(tier.metadata.annotations!['projectcalico.org/metadata']!).name, undefined)
    assert.equal(tier.metadata.namespace, undefined)
  })
})
