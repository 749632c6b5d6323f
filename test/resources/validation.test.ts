/**
 * Every kind's validator: unknown fields, types, bounds and formats, with hostile values in
 * every field the lab renders (ip -batch lines, bird.conf, nft, sysctl paths, file names).
 * Cases marked "Calico" come from libcalico-go's validator_test.go tables.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {NetctlError} from '../../src/errors.js'
import {felixConfigurationSpecFields} from '../../src/resources/felixconfiguration.js'
import {kindInfo} from '../../src/resources/registry.js'
import {API_VERSION, type Resource} from '../../src/resources/types.js'

const TEN_KB = 'x'.repeat(10_000)
/** What must never reach a rendered line: newline, ';', '"', '}', NUL, 10 kB. */
const hostile = ['a\nb', 'a;b', 'a"b', 'a}b', 'a\u0000b', TEN_KB, '10.0.0.1\n', '10.0.0.1;reboot', '10.0.0.1"', '10.0.0.1}', '10.0.0.1\u0000']

function validate(resource: Resource): void {
  const info = kindInfo(resource.kind)
  const ready = info.withDefaults ? info.withDefaults(resource) : resource
  info.validate!(ready, {others: []})
}

/** Throws NetctlError('invalid') whose message names kind, object and field, and has a fix. */
function rejects(resource: Resource, field: string, pattern?: RegExp): NetctlError {
  let caught: unknown
  try {
    validate(resource)
  } catch (error) {
    caught = error
  }
  const where = `${resource.kind} ${field} = ${JSON.stringify(get(resource, field))?.slice(0, 80)}`
  assert.ok(caught instanceof NetctlError, `${where}: expected a NetctlError, got ${String(caught)}`)
  assert.equal(caught.kind, 'invalid', where)
  assert.ok(caught.message.startsWith(`${resource.kind} `), `${where}: ${caught.message}`)
  const name = resource.metadata?.name
  if (typeof name === 'string' && /^[a-z0-9.-]{1,253}$/.test(name)) assert.ok(caught.message.includes(`"${name}"`), `${where}: ${caught.message}`)
  assert.ok(caught.message.includes(field), `${where}: the message does not name ${field}: ${caught.message}`)
  assert.ok(caught.message.length < 500, `${where}: message of ${caught.message.length} characters`)
  assert.ok(!/[\n\u0000]/.test(caught.message), `${where}: raw control character in the message`)
  assert.ok(caught.suggestion, `${where}: no suggestion`)
  if (pattern) assert.match(caught.message, pattern, where)
  return caught
}

function accepts(resource: Resource): void {
  assert.doesNotThrow(() => validate(resource), `${resource.kind} ${JSON.stringify(resource.spec)?.slice(0, 200)}`)
}

/** spec.ipNetworks[0] → ['spec', 'ipNetworks', 0] */
const pathOf = (field: string): Array<string | number> => field.split(/\.|(?=\[)/).map((p) => (p.startsWith('[') ? Number(p.slice(1, -1)) : p))

function get(object: unknown, field: string): unknown {
  return pathOf(field).reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], object)
}

function set(resource: Resource, field: string, value: unknown): Resource {
  const copy = structuredClone(resource) as unknown as Record<string | number, unknown>
  const keys = pathOf(field)
  let at = copy
  for (const [i, key] of keys.slice(0, -1).entries()) {
    at[key] ??= typeof keys[i + 1] === 'number' ? [] : {}
    at = at[key] as Record<string | number, unknown>
  }
  if (value === undefined) delete at[keys.at(-1)!]
  else at[keys.at(-1)!] = value
  return copy as unknown as Resource
}

const object = (kind: string, name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Resource => ({apiVersion: API_VERSION, kind, metadata: {name, ...metadata}, spec})

// Valid objects of every kind, shaped like what the lab and Calico write.
const node = object('Node', 'node01', {
  bgp: {ipv4Address: '172.17.0.40/16', ipv6Address: 'fd00::40/64', asNumber: 64512, routeReflectorClusterID: '244.0.0.1', ipv4IPIPTunnelAddr: '192.168.0.1'},
  ipv4VXLANTunnelAddr: '192.168.0.2',
  ipv6VXLANTunnelAddr: 'fd00:10::2',
  vxlanTunnelMACAddr: '66:8f:2a:1c:00:01',
  vxlanTunnelMACAddrV6: '66:8f:2a:1c:00:02',
  orchRefs: [{nodeName: 'node01', orchestrator: 'k8s'}],
  wireguard: {interfaceIPv4Address: '192.168.0.3', interfaceIPv6Address: 'fd00:10::3'},
  addresses: [{address: '172.17.0.40/16', type: 'CalicoNodeIP'}, {address: '172.17.0.40', type: 'InternalIP'}],
  interfaces: [{name: 'eth0', addresses: ['172.17.0.40/16']}],
}, {labels: {'kubernetes.io/hostname': 'node01', 'route-reflector': 'true'}})
const affinity = object('BlockAffinity', 'node01-192-168-0-64-26', {state: 'confirmed', node: 'node01', cidr: '192.168.0.64/26', deleted: 'false', type: 'host'})
const wep = object('WorkloadEndpoint', 'node01-k8s-busybox--0-eth0', {
  orchestrator: 'k8s', workload: '', node: 'node01', containerID: 'a1b2c3', pod: 'busybox-0', endpoint: 'eth0', serviceAccountName: 'default',
  ipNetworks: ['192.168.0.65/32', 'fd00:10::65/128'], ipNATs: [{internalIP: '192.168.0.65', externalIP: '172.17.100.1'}], ipv4Gateway: '169.254.1.1',
  profiles: ['kns.default', 'ksa.default.default'], interfaceName: 'calib673e730d42', mac: 'ee:ee:ee:ee:ee:ee',
  ports: [{name: 'http', protocol: 'TCP', port: 80, hostPort: 0}],
}, {namespace: 'default', labels: {'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'k8s'}})
delete (wep.spec as Record<string, unknown>).workload
const peer = object('BGPPeer', 'peer-1', {node: 'node01', peerIP: '172.17.0.200:179', asNumber: 64513, keepOriginalNextHop: true, password: {secretKeyRef: {name: 'bgp-secrets', key: 'peer-1'}}, sourceAddress: 'UseNodeIP', maxRestartTime: '2m', ttlSecurity: 1, filters: ['export-v4']})
const selectorPeer = object('BGPPeer', 'peer-with-route-reflectors', {nodeSelector: 'all()', peerSelector: "route-reflector == 'true'"})
const bgpConfig = object('BGPConfiguration', 'default', {
  logSeverityScreen: 'Info', nodeToNodeMeshEnabled: true, asNumber: 64512, serviceClusterIPs: [{cidr: '10.96.0.0/12'}], serviceExternalIPs: [{cidr: '104.244.42.129/32'}],
  serviceLoadBalancerIPs: [{cidr: 'fd00:96::/112'}], communities: [{name: 'community-test', value: '101:5695'}],
  prefixAdvertisements: [{cidr: '192.168.0.0/16', communities: ['community-test', '100:300:500']}], listenPort: 179, bindMode: 'NodeIP', ignoredInterfaces: ['eth*', 'docker0'],
})
const pool = object('IPPool', 'default-ipv4-ippool', {cidr: '192.168.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()'})
const felix = object('FelixConfiguration', 'default', {
  logSeverityScreen: 'Info', reportingInterval: '0s', bpfLogLevel: '', vxlanVNI: 4096, wireguardInterfaceName: 'wireguard.cali', natOutgoingAddress: '172.17.0.1',
  healthPort: 9099, kubeNodePortRanges: [30000, '30000:32767'], failsafeInboundHostPorts: [{protocol: 'TCP', port: 22}], featureDetectOverride: 'ChecksumOffloadBroken=true',
  routeTableRange: {min: 1, max: 250}, bpfLogFilters: {all: 'tcp port 80'}, externalNodesList: ['10.0.0.0/8'], iptablesBackend: 'nft',
})
const clusterInfo = object('ClusterInformation', 'default', {clusterGUID: 'b4f7bd6c1b1d4c1a9e9c0a1e2f3b4c5d', clusterType: 'k8s,bgp,kubeadm,kdd', calicoVersion: 'v3.28.0', datastoreReady: true})

const all = [node, affinity, wep, peer, selectorPeer, bgpConfig, pool, felix, clusterInfo]

describe('every kind: the valid examples pass', () => {
  for (const resource of all) it(`${resource.kind} ${resource.metadata.name}`, () => accepts(resource))
})

describe('every kind refuses unknown fields, in spec, nested objects, metadata and at the top', () => {
  for (const resource of all) {
    it(resource.kind, () => {
      rejects(set(resource, 'spec.bogus', 1), 'spec.bogus', /spec\.bogus is not a known field/)
      rejects(set(resource, 'metadata.bogus', 'x'), 'metadata.bogus', /metadata\.bogus is not a known field/)
      rejects(set(resource, 'spec.IPNetworks', 'x'), 'spec.IPNetworks', /is not a known field/)
      rejects({...resource, extra: 1}, 'extra', /extra is not a known top-level field/)
      assert.throws(() => kindInfo(resource.kind).validate!({...resource, kind: resource.kind === 'Node' ? 'IPPool' : 'Node'}, {others: []}), /kind is "(IPPool|Node)", not /)
      rejects({...resource, apiVersion: 'projectcalico.org/v2'}, 'apiVersion', /apiVersion is "projectcalico.org\/v2"/)
      rejects(set(resource, 'spec.a\nb', 1), 'spec', /spec\."a\\nb" is not a known field/)
    })
  }
  it('in nested objects', () => {
    rejects(set(node, 'spec.bgp.ipv4address', '10.0.0.1/8'), 'spec.bgp.ipv4address', /spec\.bgp\.ipv4address is not a known field/)
    rejects(set(node, 'spec.orchRefs[0].extra', 'x'), 'spec.orchRefs[0].extra', /is not a known field/)
    rejects(set(node, 'spec.addresses[0].extra', 'x'), 'spec.addresses[0].extra', /is not a known field/)
    rejects(set(wep, 'spec.ipNATs[0].port', 1), 'spec.ipNATs[0].port', /is not a known field/)
    rejects(set(wep, 'spec.ports[0].extra', 1), 'spec.ports[0].extra', /is not a known field/)
    rejects(set(peer, 'spec.password.secretKeyRef.extra', 1), 'spec.password.secretKeyRef.extra', /is not a known field/)
    rejects(set(bgpConfig, 'spec.communities[0].extra', 1), 'spec.communities[0].extra', /is not a known field/)
    rejects(set(bgpConfig, 'spec.serviceClusterIPs[0].CIDR', '10.0.0.0/8'), 'spec.serviceClusterIPs[0].CIDR', /is not a known field/)
    rejects(set(felix, 'spec.routeTableRange.extra', 1), 'spec.routeTableRange.extra', /is not a known field/)
    rejects(set(node, 'status.extra', 1), 'status.extra', /is not a known field/)
    rejects(set(peer, 'status', {}), 'status', /status is not a known top-level field/)
  })
  it('metadata keeps exactly ObjectMeta\'s fields', () => {
    accepts(set(node, 'metadata', {
      name: 'node01', generateName: 'node-', uid: '3f6e9f1c-2b6a-4f0e-9d8e-0c1b2a3d4e5f', resourceVersion: '12345', generation: 2, creationTimestamp: '2024-05-01T12:00:00Z',
      deletionTimestamp: null, deletionGracePeriodSeconds: 30, labels: {}, annotations: {}, selfLink: '/apis/crd.projectcalico.org/v1/nodes/node01',
      ownerReferences: [{apiVersion: 'v1', kind: 'Node', name: 'node01', uid: 'abc-123', controller: true}], finalizers: ['projectcalico.org/cleanup'],
      managedFields: [{manager: 'calico-node', operation: 'Update', apiVersion: 'projectcalico.org/v3', time: '2024-05-01T12:00:00Z', fieldsType: 'FieldsV1', fieldsV1: {'f:spec': {}}}],
    }))
    accepts(set(node, 'metadata.creationTimestamp', null))
    rejects(set(node, 'metadata.clusterName', 'x'), 'metadata.clusterName', /is not a known field/)
    rejects(set(node, 'metadata.generation', -1), 'metadata.generation')
    rejects(set(node, 'metadata.generation', '1'), 'metadata.generation')
    rejects(set(node, 'metadata.creationTimestamp', 'yesterday'), 'metadata.creationTimestamp', /RFC 3339/)
    rejects(set(node, 'metadata.deletionGracePeriodSeconds', 1.5), 'metadata.deletionGracePeriodSeconds')
    rejects(set(node, 'metadata.finalizers', ['a/b/c']), 'metadata.finalizers[0]')
    rejects(set(node, 'metadata.ownerReferences', [{apiVersion: 'v1', kind: 'Node', name: 'x'}]), 'metadata.ownerReferences[0].uid', /is required/)
    rejects(set(node, 'metadata.managedFields', [{manager: 'x', fieldsV1: 'not an object'}]), 'metadata.managedFields[0].fieldsV1')
    for (const field of ['metadata.uid', 'metadata.resourceVersion', 'metadata.generateName', 'metadata.selfLink', 'metadata.creationTimestamp']) {
      for (const value of hostile) rejects(set(node, field, value), field)
    }
  })
})

describe('metadata.name and namespace', () => {
  it('are DNS names of bounded length, shown escaped when hostile', () => {
    for (const value of hostile) {
      const error = rejects(set(node, 'metadata.name', value), 'metadata.name')
      assert.ok(!error.message.includes('\n'))
    }
    rejects(set(node, 'metadata.name', 'a'.repeat(254)), 'metadata.name', /254 characters long; the limit is 253/)
    accepts(set(node, 'metadata.name', 'a'.repeat(253)))
    rejects(set(node, 'metadata.name', 7), 'metadata.name', /must be a string/)
    rejects(set(node, 'metadata.namespace', 'default'), 'metadata.namespace', /cluster-scoped/)
    for (const value of hostile) rejects(set(wep, 'metadata.namespace', value), 'metadata.namespace')
    rejects(set(wep, 'metadata.namespace', 'a'.repeat(64)), 'metadata.namespace')
  })
})

describe('metadata.labels, as Kubernetes checks them', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['app', 'web', true],
    ['projectcalico.org/zone', 'zone-a', true],
    ['a.b/c_d.e-f', 'A.b_c-9', true],
    ['k', '', true],
    ['k', 'v'.repeat(63), true],
    ['k', 'v'.repeat(64), false],
    ['k', '-v', false],
    ['k', 'v-', false],
    ['k', 'a b', false],
    ['k', 'a/b', false],
    ['k', 1, false],
    ['k', true, false],
    ['k', null, false],
    ['n'.repeat(63), 'v', true],
    ['n'.repeat(64), 'v', false],
    [`${'p'.repeat(253)}/n`, 'v', true],
    [`${'p'.repeat(254)}/n`, 'v', false],
    ['Upper.Case/n', 'v', false],
    ['/n', 'v', false],
    ['a/b/c', 'v', false],
    ['-n', 'v', false],
    ['', 'v', false],
    ['a b', 'v', false],
    // Calico's validator_test.go cases.
    ['projectcalico.org/label', 'v'.repeat(63), true],
    ['projectcalico.org/label', 'v'.repeat(64), false],
    ['ProjectCalico.org/label', 'value', false],
    ['projectcalico.org/Label', 'value', true],
    ['.mylabel', 'value', false],
    ['my!nvalid-label', 'value', false],
    ['my-invalid-label$', 'value', false],
  ]
  for (const [key, value, ok] of cases) {
    it(`${ok ? 'accepts' : 'refuses'} ${JSON.stringify(key).slice(0, 40)}: ${JSON.stringify(value)?.slice(0, 40)}`, () => {
      const resource = set(node, 'metadata.labels', {[key]: value})
      if (ok) accepts(resource)
      else rejects(resource, 'metadata.labels')
    })
  }
  it('refuses every hostile key and value', () => {
    for (const value of hostile) {
      rejects(set(node, 'metadata.labels', {k: value}), 'metadata.labels')
      rejects(set(node, 'metadata.labels', {[value]: 'v'}), 'metadata.labels')
    }
    rejects(set(node, 'metadata.labels', ['a']), 'metadata.labels', /must be a mapping/)
  })
})

describe('metadata.annotations', () => {
  it('keys are qualified names (checked in lower case, as Calico does), values strings', () => {
    accepts(set(node, 'metadata.annotations', {'projectcalico.org/IPv4Address': '172.17.0.40/16', note: 'free text; with "quotes" {and braces}\nand lines'}))
    for (const key of ['a b', 'a/b/c', 'x'.repeat(64), 'a\nb', 'a;b']) rejects(set(node, 'metadata.annotations', {[key]: 'v'}), 'metadata.annotations')
    rejects(set(node, 'metadata.annotations', {k: 1}), 'metadata.annotations.k', /must be a string/)
  })
  it('Calico\'s cases: any case in keys, no "$"; at most 262144 bytes', () => {
    accepts(set(node, 'metadata.annotations', {'ProjectCalico.org/Label': 'value'}))
    rejects(set(node, 'metadata.annotations', {'projectcalico.org$label': 'value'}), 'metadata.annotations')
    accepts(set(node, 'metadata.annotations', {key: 'v'.repeat(262144 - 3)}))
    rejects(set(node, 'metadata.annotations', {key: 'v'.repeat(262144 - 2)}), 'metadata.annotations')
  })
  it('are at most 256 kB (262144 bytes of keys and values) in all', () => {
    accepts(set(node, 'metadata.annotations', {k: 'v'.repeat(262144 - 1)}))
    rejects(set(node, 'metadata.annotations', {k: 'v'.repeat(262144)}), 'metadata.annotations', /262145 bytes in all; the limit is 262144/)
    rejects(set(node, 'metadata.annotations', {a: 'v'.repeat(200_000), b: 'v'.repeat(70_000)}), 'metadata.annotations', /the limit is 262144/)
  })
})

describe('the size of a whole object', () => {
  it('a 50 MB value is refused quickly, with a short message', () => {
    const started = Date.now()
    const error = rejects(set(node, 'metadata.annotations', {k: 'v'.repeat(50 * 1024 * 1024)}), 'object', /object is larger than the limit of 1572864 bytes/)
    assert.ok(error.message.length < 200)
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`)
    rejects(set(wep, 'spec.profiles', Array.from({length: 200_000}, (_, i) => `p${i}`)), 'object', /limit of 1572864/)
    // Just over the limit in UTF-8 bytes, though not in characters.
    rejects(set(node, 'metadata.annotations', {k: 'é'.repeat(800_000)}), 'object', /is \d+ bytes as JSON; the limit is 1572864/)
  })
  it('a YAML alias loop is refused, not followed forever', () => {
    const loop: Record<string, unknown> = {}
    loop.self = loop
    rejects(set(node, 'spec.bgp', loop), 'object')
  })
})

/** [kind example, field, good values, extra bad values]; every hostile value must be refused too. */
type FieldCase = [Resource, string, unknown[], unknown[]]
const renderedFields: FieldCase[] = [
  // Node: bird.conf (router id, neighbour addresses, rr cluster id), ip -batch (tunnel addresses, MACs).
  [node, 'spec.bgp.ipv4Address', ['172.17.0.40/16', '172.17.0.40', '10.0.0.1/32'], ['172.17.0.40/33', 'fd00::1/64', '172.17.0.040/16', '172.17.0.40/016', ' 172.17.0.40/16', '', 1]],
  [node, 'spec.bgp.ipv6Address', ['fd00::40/64', 'fd00::40'], ['172.17.0.40/16', 'fd00::40/129', 'fe80::1%eth0/64']],
  // Calico: bad RR cluster IDs "abcdef" and "300.34.3.1"; an RR cluster ID is a dotted quad.
  [node, 'spec.bgp.routeReflectorClusterID', ['244.0.0.1', '0.0.0.1'], ['abcdef', '300.34.3.1', 'fd00::1', '244.0.0.1/32', '244.0.0.01', '', 244]],
  [node, 'spec.bgp.ipv4IPIPTunnelAddr', ['192.168.0.1'], ['192.168.0.1/32', 'fd00::1']],
  [node, 'spec.bgp.asNumber', [1, 64512, 4294967295], [0, -1, 4294967296, 1.5, '64512', Number.NaN, Number.POSITIVE_INFINITY]],
  [node, 'spec.ipv4VXLANTunnelAddr', ['192.168.0.2'], ['fd00::2', '192.168.0.2/32', '192.168.000.2']],
  [node, 'spec.ipv6VXLANTunnelAddr', ['fd00:10::2'], ['192.168.0.2']],
  [node, 'spec.vxlanTunnelMACAddr', ['66:8f:2a:1c:00:01', '66-8F-2A-1C-00-01', '668f.2a1c.0001'], ['66:8f:2a:1c:00', '66:8f:2a:1c:00:0g', '66:8f:2a:1c:00:01:', '668f2a1c0001']],
  [node, 'spec.vxlanTunnelMACAddrV6', ['66:8f:2a:1c:00:02'], ['x']],
  [node, 'spec.wireguard.interfaceIPv4Address', ['192.168.0.3'], ['fd00::3']],
  [node, 'spec.addresses[0].address', ['172.17.0.40', '172.17.0.40/16', 'fd00::40'], ['172.17.0.40/33', '172.17.0.400']],
  [node, 'spec.addresses[0].type', ['InternalIP', 'ExternalIP', 'CalicoNodeIP'], ['Hostname']],
  [node, 'spec.orchRefs[0].nodeName', ['node01', 'Node_01.example'], []],
  [node, 'spec.orchRefs[0].orchestrator', ['k8s', 'openstack'], []],
  [node, 'spec.interfaces[0].name', ['eth0', 'br-1.100'], ['.', '..', 'a/b', 'interfaceTooLong']],
  // BlockAffinity: routes and blackholes in bird.conf and ip -batch.
  [affinity, 'spec.cidr', ['192.168.0.64/26', 'fd00:10::/122'], ['192.168.0.65/26', '192.168.0.64', '192.168.0.64/026', '192.168.00.64/26', ' 192.168.0.64/26', '192.168.0.64/26 ']],
  [affinity, 'spec.node', ['node01', 'node-1.example.com'], ['Node01', 'node_01', '-node']],
  [affinity, 'spec.state', ['confirmed', 'pending', 'pendingDeletion', ''], ['Confirmed', 'deleted']],
  [affinity, 'spec.deleted', ['false', 'true', false, true], ['False', 'no', 0]],
  [affinity, 'spec.type', ['host', 'virtual'], ['Host']],
  // WorkloadEndpoint: veths, routes, sysctl paths, nft sets.
  // Calico: "Valid_Iface.0-9" accepted; "interfaceTooLong", "Invalid&Intface", "#", ":" refused.
  [wep, 'spec.interfaceName', ['calib673e730d42', 'Valid_Iface.0-9', 'eth0'], ['interfaceTooLong', 'Invalid&Intface', 'Invalid#Intface', 'Invalid:Intface', '.', '..', '*', 'a/b', '', 'a b']],
  [wep, 'spec.ipNetworks[0]', ['192.168.0.65/32', '192.168.0.65'], ['192.168.0.64/26', '192.168.0.65/032', '192.168.0.065/32']],
  [wep, 'spec.mac', ['ee:ee:ee:ee:ee:ee'], ['ee:ee:ee:ee:ee']],
  [wep, 'spec.node', ['node01'], ['Node01']],
  [wep, 'spec.pod', ['busybox-0'], ['Busybox']],
  [wep, 'spec.containerID', ['a1b2c3', 'ABC-123'], ['-abc', 'abc_def']],
  [wep, 'spec.endpoint', ['eth0'], ['eth 0']],
  [wep, 'spec.orchestrator', ['k8s'], ['K8s']],
  [wep, 'spec.serviceAccountName', ['default'], ['Default']],
  [wep, 'spec.profiles[0]', ['kns.default', 'ksa.default.default'], ['kns default']],
  [wep, 'spec.ipNATs[0].internalIP', ['192.168.0.65'], ['192.168.0.65/32']],
  [wep, 'spec.ipNATs[0].externalIP', ['172.17.100.1'], ['172.17.100.1/32']],
  [wep, 'spec.ipv4Gateway', ['169.254.1.1'], ['fd00::1']],
  // BGPPeer: neighbour lines and selectors in bird.conf.
  [peer, 'spec.peerIP', ['172.17.0.200', '172.17.0.200:179', '192.168.1.1:500', 'fd00::200', '[9000::]:500'], ['[192.168.0.0]:98956', '192.168.0.0:65536', '192.168.0.0:0', '192.168.0.330:170', '[9000::]:98956', '192.168.0.0:', '[9000::]:', '[9000::]:65536', '[9000::]:0', '[9000::FFFFF]:170', ':8552', '[]:8552', 'fd00::200:179x']],
  [peer, 'spec.node', ['node01'], ['Node01']],
  [peer, 'spec.asNumber', [64513], ['64513', 0]],
  [peer, 'spec.keepOriginalNextHop', [true, false], ['true', 1]],
  [peer, 'spec.ttlSecurity', [0, 255], [256, -1]],
  [peer, 'spec.maxRestartTime', ['2m', '90s', '1m30s', '250ms'], ['2 minutes', '-1s', '']],
  [peer, 'spec.sourceAddress', ['UseNodeIP', 'None'], ['Other']],
  [peer, 'spec.filters[0]', ['export-v4'], ['Export']],
  [peer, 'spec.password.secretKeyRef.name', ['bgp-secrets'], ['Bgp']],
  [selectorPeer, 'spec.nodeSelector', ['all()', '', "has(zone) && zone != 'a'", "!all()", "a not in {'x'}"], ['all(', "a == 'x' b", 'x'.repeat(1025)]],
  [selectorPeer, 'spec.peerSelector', ["route-reflector == 'true'", 'has(route-reflector)'], ["route-reflector == true", 'a = b']],
  // BGPConfiguration: bird.conf globals.
  [bgpConfig, 'spec.asNumber', [64512], ['64512', 0]],
  [bgpConfig, 'spec.logSeverityScreen', ['Info', 'debug', 'WARNING', ''], ['Verbose', 'Info ']],
  [bgpConfig, 'spec.nodeToNodeMeshEnabled', [true, false], ['false', 0]],
  [bgpConfig, 'spec.serviceClusterIPs[0].cidr', ['10.96.0.0/12', 'fd00:96::/112', '10.96.0.10'], ['10.96.0.1/12', '10.96.0.0/012']],
  [bgpConfig, 'spec.serviceExternalIPs[0].cidr', ['104.244.42.129/32'], ['104.244.42.129/24']],
  [bgpConfig, 'spec.serviceLoadBalancerIPs[0].cidr', ['fd00:96::/112'], ['fd00:96::1/112']],
  // Calico: 101:5695, 100:520:56 accepted; 100, ab-n, 65536:999999, 4147483647:999999 refused.
  [bgpConfig, 'spec.communities[0].value', ['101:5695', '100:520:56', '65535:65535', '4294967295:0:1'], ['100', 'ab-n', '65536:999999', '4147483647:999999', '4294967296:1:1', '1:2:3:4']],
  [bgpConfig, 'spec.communities[0].name', ['community-test'], ['Community']],
  [bgpConfig, 'spec.listenPort', [179, 65535], [0, 65536, '179']],
  [bgpConfig, 'spec.ignoredInterfaces[0]', ['eth*', 'docker0'], ['*', 'interfaceTooLong', 'a/b']],
  [bgpConfig, 'spec.bindMode', ['None', 'NodeIP'], ['nodeip']],
  // IPPool: routes, nft sets.
  [pool, 'spec.cidr', ['10.0.0.0/8', '172.16.0.0/12'], ['10.0.0.0/008', '010.0.0.0/8', ' 10.0.0.0/8', '10.0.0.0/8 ', '10.0.0.0 /8']],
  [pool, 'spec.nodeSelector', ['all()', '!all()', "kubernetes.io/os == 'linux'"], ['all(', 'x'.repeat(1025)]],
  [pool, 'spec.ipipMode', ['Never', 'CrossSubnet', 'Always'], ['never']],
  // FelixConfiguration and ClusterInformation: not rendered by the lab, but typed and bounded.
  [felix, 'spec.logSeverityScreen', ['Info', 'debug'], ['Verbose']],
  [felix, 'spec.wireguardInterfaceName', ['wireguard.cali'], ['wireguard.cali.x']],
  [felix, 'spec.natOutgoingAddress', ['172.17.0.1', 'fd00::1'], ['172.17.0.1/32']],
  [felix, 'spec.reportingInterval', ['0s', '1h0m0s'], ['1 hour']],
  [felix, 'spec.healthHost', ['localhost', '127.0.0.1'], []],
  [felix, 'spec.vxlanVNI', [4096], [16777216, '4096']],
  [felix, 'spec.kubeNodePortRanges', [[30000, '30000:32767']], [['http'], ['32767:30000'], Array(8).fill(80)]],
  [felix, 'spec.iptablesBackend', ['Auto', 'nft', 'Legacy'], ['iptables']],
  [felix, 'spec.routeTableRange', [{min: 1, max: 250}], [{min: 0, max: 250}, {min: 10, max: 5}, {min: 1, max: 251}]],
  [felix, 'spec.featureDetectOverride', ['ChecksumOffloadBroken=true,IPIPDeviceIsL3='], ['ChecksumOffloadBroken=yes']],
  [clusterInfo, 'spec.calicoVersion', ['v3.28.0'], ['v3.28.0 beta']],
  [clusterInfo, 'spec.clusterType', ['k8s,bgp,kubeadm,kdd'], ['k8s bgp']],
]

describe('fields the lab renders: good values pass, hostile and malformed ones are refused', () => {
  for (const [example, field, good, bad] of renderedFields) {
    it(`${example.kind} ${field}`, () => {
      for (const value of good) accepts(set(example, field, value))
      for (const value of [...hostile, ...bad]) rejects(set(example, field, value), field.replace(/\[\d+\]$/, ''))
      rejects(set(example, field, {}), field.replace(/\[\d+\]$/, ''))
      // IPPool's defaults fill a null mode or selector, as Calico fills an unset one.
      if (example === pool && field !== 'spec.cidr') accepts(set(example, field, null))
      else rejects(set(example, field, null), field.replace(/\[\d+\]$/, ''))
    })
  }
  it('free-text Felix fields take any one line of printable text, but no newline, NUL or 10 kB', () => {
    accepts(set(felix, 'spec.logFilePath', '/var/log/calico/felix "current"; {x}.log'))
    for (const value of ['a\nb', 'a\u0000b', 'x'.repeat(5000)]) rejects(set(felix, 'spec.logFilePath', value), 'spec.logFilePath')
  })
  it('NaN (an AS number annotation that is not a number) is named as NaN', () => {
    rejects(set(node, 'spec.bgp.asNumber', Number.NaN), 'spec.bgp.asNumber', /NaN is not an AS number/)
  })
  it('a 10 kB value is refused with its length, not echoed', () => {
    const error = rejects(set(wep, 'spec.interfaceName', TEN_KB), 'spec.interfaceName', /is 10000 characters long; the limit is 15/)
    assert.ok(!error.message.includes('x'.repeat(100)))
  })
})

describe('rules across fields (Calico\'s struct validators and CEL rules)', () => {
  it('Node: spec.bgp must not be empty (Calico)', () => {
    rejects(set(node, 'spec.bgp', {}), 'spec.bgp', /spec\.bgp is empty/)
    accepts(set(node, 'spec.bgp', {ipv4IPIPTunnelAddr: '10.0.0.1'}))
    accepts(set(node, 'spec', {}))
  })
  it('Node: addresses need an address, orchRefs an orchestrator', () => {
    rejects(set(node, 'spec.addresses', [{type: 'InternalIP'}]), 'spec.addresses[0].address', /is required/)
    rejects(set(node, 'spec.orchRefs', [{nodeName: 'n'}]), 'spec.orchRefs[0].orchestrator', /is required/)
  })
  it('WorkloadEndpoint: interfaceName is required (Calico: no omitempty)', () => {
    rejects(set(wep, 'spec.interfaceName', undefined), 'spec.interfaceName', /is required/)
  })
  it('WorkloadEndpoint: networks are single addresses; NATs inside them and of one family', () => {
    rejects(set(wep, 'spec.ipNetworks[0]', '192.168.0.64/26'), 'spec.ipNetworks[0]', /holds more than one address/)
    rejects(set(wep, 'spec.ipNATs[0].internalIP', '192.168.0.66'), 'spec.ipNATs[0].internalIP', /is not one of the endpoint's ipNetworks/)
    rejects(set(wep, 'spec.ipNATs[0].externalIP', 'fd00::1'), 'spec.ipNATs[0]', /maps IPv4 .* to IPv6/)
    accepts(set(wep, 'spec.ipNATs[0]', {internalIP: 'fd00:10::65', externalIP: 'fd00::1'}))
  })
  it('WorkloadEndpoint: ports need a port protocol, and a name unless hostPort is set', () => {
    rejects(set(wep, 'spec.ports[0].protocol', 'ICMP'), 'spec.ports[0].protocol', /has no ports/)
    rejects(set(wep, 'spec.ports[0].protocol', 'tcp'), 'spec.ports[0].protocol')
    rejects(set(wep, 'spec.ports[0].name', ''), 'spec.ports[0].name', /is required when hostPort is not set/)
    accepts(set(set(wep, 'spec.ports[0].name', ''), 'spec.ports[0].hostPort', 8080))
    rejects(set(wep, 'spec.ports[0].port', 0), 'spec.ports[0].port')
    rejects(set(wep, 'spec.ports[0].name', 'HTTP'), 'spec.ports[0].name')
    accepts(set(wep, 'spec.ports[0].hostIP', ''))
    accepts(set(wep, 'spec.ports[0].hostIP', '10.0.0.1'))
    for (const value of hostile) rejects(set(wep, 'spec.ports[0].hostIP', value), 'spec.ports[0].hostIP')
  })
  it('BGPPeer: Calico\'s exclusive pairs', () => {
    rejects(set(peer, 'spec.nodeSelector', 'all()'), 'spec', /sets both node and nodeSelector/)
    rejects(set(selectorPeer, 'spec.peerIP', '10.0.0.1'), 'spec', /sets both peerIP and peerSelector/)
    rejects(set(selectorPeer, 'spec.asNumber', 64512), 'spec.asNumber', /is set with peerSelector/)
    rejects(set(peer, 'spec.nextHopMode', 'Self'), 'spec', /keepOriginalNextHop and nextHopMode/)
    accepts(set(set(peer, 'spec.keepOriginalNextHop', undefined), 'spec.nextHopMode', 'Keep'))
  })
  it('BGPPeer: reachableBy needs peerIP of the same family (Calico)', () => {
    accepts(set(peer, 'spec.reachableBy', '172.17.0.1'))
    rejects(set(peer, 'spec.reachableBy', 'fd00::1'), 'spec.reachableBy', /different families/)
    rejects(set(set(peer, 'spec.peerIP', '[fd00::200]:179'), 'spec.reachableBy', '172.17.0.1'), 'spec.reachableBy', /different families/)
    rejects(set(selectorPeer, 'spec.reachableBy', '172.17.0.1'), 'spec.reachableBy', /needs peerIP/)
  })
  it('BGPConfiguration: communities need prefixAdvertisements, which name defined ones (Calico)', () => {
    rejects(set(bgpConfig, 'spec.prefixAdvertisements', undefined), 'spec.communities', /no prefixAdvertisements/)
    rejects(set(bgpConfig, 'spec.prefixAdvertisements[0].communities[0]', 'undefined-name'), 'spec.prefixAdvertisements[0].communities[0]', /neither a community value nor one of spec.communities/)
    rejects(set(bgpConfig, 'spec.prefixAdvertisements[0].cidr', '192.168.0.1/16'), 'spec.prefixAdvertisements[0].cidr')
  })
  it('BGPConfiguration: mesh password and restart time need the mesh on', () => {
    const off = set(bgpConfig, 'spec.nodeToNodeMeshEnabled', false)
    rejects(set(off, 'spec.nodeMeshPassword', {secretKeyRef: {name: 's', key: 'k'}}), 'spec.nodeMeshPassword', /mesh is off/)
    rejects(set(off, 'spec.nodeMeshMaxRestartTime', '120s'), 'spec.nodeMeshMaxRestartTime', /mesh is off/)
    accepts(set(bgpConfig, 'spec.nodeMeshMaxRestartTime', '120s'))
  })
  it('BlockAffinity: node and cidr are required', () => {
    rejects(set(affinity, 'spec.node', undefined), 'spec.node', /is required/)
    rejects(set(affinity, 'spec.cidr', undefined), 'spec.cidr', /is required/)
  })
})

describe('validators are pure: the same object, the same answer, nothing changed', () => {
  it('for every kind', () => {
    for (const resource of all) {
      const before = structuredClone(resource)
      validate(resource)
      validate(resource)
      assert.deepEqual(resource, before)
    }
  })
})

describe('FelixConfiguration: every one of its fields is typed and bounded', () => {
  const fields = Object.keys(felixConfigurationSpecFields)
  // One value of each shape Calico's FelixConfigurationSpec uses; each field must take one of them.
  const candidates: unknown[] = [
    true, 0, 1, 80, 3000, '1m', 'Enabled', 'Disabled', 'Auto', 'TCP', 'Info', 'Off', 'Drop', 'Accept', 'Insert', 'None', 'IPPoolsOnly', 'TunnelAddress', 'Strict',
    'Userspace', 'DoNothing', 'PodsAndLoadBalancers', 'RequireAndVerifyClientCert', 'Continuous', 'TC', 'All', 'Any', 'WorkloadIPs', 'Tunnel', 'DoubleIfFull', 'all',
    '1/second', 'all()', '10.0.0.1', 'fd00::1', 'eth0', 'cali', 'a=b', 'a=true', '/var/log/x', 'host', 'AF11', '30000:32767', 'x', ['10.0.0.0/8'], ['eth0'], [80],
    [{protocol: 'TCP', port: 22}], [{min: 1, max: 2}], [{name: 'Felix', timeout: '30s'}], {min: 1, max: 2}, {all: 'x'}, {tcpSynSent: '20s'},
  ]
  it(`all ${fields.length} fields take a value of their type`, () => {
    assert.ok(fields.length > 180)
    for (const field of fields) {
      const taken = candidates.filter((value) => {
        try {
          validate(set(felix, `spec.${field}`, value))
          return true
        } catch {
          return false
        }
      })
      assert.ok(taken.length > 0, `spec.${field} takes none of the candidates`)
      // Free-text fields (paths, regular expressions) take any one-line string, but only strings.
      assert.ok(taken.length < candidates.length / 2 || taken.every((v) => typeof v === 'string'), `spec.${field} takes almost anything: ${JSON.stringify(taken).slice(0, 200)}`)
    }
  })
  it('and refuse a newline, NUL, 10 kB, an object and a list where they take none', () => {
    for (const field of fields) {
      for (const value of ['a\nb', 'a\u0000b', TEN_KB, {bogus: 1}]) rejects(set(felix, `spec.${field}`, value), `spec.${field}`)
    }
  })
})
