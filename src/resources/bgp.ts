import {parseIp} from './cidr.js'
import {asNumber, community, duration, ignoredInterface, ip, isCommunity, name, network, nodeName, peerIp, secretKeyRef, selector, splitPeerIp} from './formats.js'
import {name as nameCell, text, type KindInfo} from './kind.js'
import {checkResource} from './metadata.js'
import type {Resource} from './types.js'
import {boolean, dnsSubdomain, integer, invalid, list, object, oneOf, show, string} from './validate.js'

const spec = (r: Resource) => (r.spec ?? {}) as Record<string, unknown>

/** The address part of a BGPPeer peerIP (10.0.0.1:179 → 10.0.0.1, [fd00::1]:179 → fd00::1). */
export const peerAddress = (value: string): string => splitPeerIp(value)?.address ?? value

const password = object({secretKeyRef: object(secretKeyRef, {required: ['key']})})

// Calico's BGPPeerSpec (api/pkg/apis/projectcalico/v3/bgppeer.go).
const bgpPeerSpecFields = {
  node: nodeName,
  nodeSelector: selector,
  peerIP: peerIp,
  asNumber,
  localASNumber: asNumber,
  peerSelector: selector,
  keepOriginalNextHop: boolean,
  nextHopMode: oneOf(['Auto', 'Self', 'Keep']),
  password,
  sourceAddress: oneOf(['UseNodeIP', 'None']),
  maxRestartTime: duration,
  keepaliveTime: duration,
  numAllowedLocalASNumbers: integer(0, 2147483647),
  ttlSecurity: integer(0, 255),
  reachableBy: ip(),
  filters: list(name, {max: 100}),
  localWorkloadSelector: selector,
  reversePeering: oneOf(['Auto', 'Manual']),
}

const isSet = (value: unknown) => value !== undefined && value !== ''

export function validateBgpPeer(resource: Resource): void {
  checkResource(resource, {kind: 'BGPPeer', namespaced: false, spec: bgpPeerSpecFields})
  const s = spec(resource)
  // Calico's CEL rules on BGPPeerSpec.
  if (isSet(s.node) && isSet(s.nodeSelector)) throw invalid(resource, 'spec', 'sets both node and nodeSelector', 'keep one of them')
  if (isSet(s.peerIP) && isSet(s.peerSelector)) throw invalid(resource, 'spec', 'sets both peerIP and peerSelector', 'keep one of them')
  if (isSet(s.peerSelector) && isSet(s.asNumber)) throw invalid(resource, 'spec.asNumber', 'is set with peerSelector', 'remove asNumber: the selected nodes\' own AS numbers are used')
  if (isSet(s.localWorkloadSelector) && (isSet(s.peerIP) || isSet(s.peerSelector))) throw invalid(resource, 'spec.localWorkloadSelector', 'is set with peerIP or peerSelector', 'keep one of them')
  if (isSet(s.localWorkloadSelector) && !isSet(s.asNumber)) throw invalid(resource, 'spec.asNumber', 'is required with localWorkloadSelector', 'set the workloads\' AS number')
  if (isSet(s.reachableBy) && !isSet(s.peerIP)) throw invalid(resource, 'spec.reachableBy', 'needs peerIP', 'set peerIP, or remove reachableBy')
  if (s.keepOriginalNextHop === true && s.nextHopMode !== undefined) throw invalid(resource, 'spec', 'sets both keepOriginalNextHop and nextHopMode', 'use nextHopMode: Keep alone')
  if (isSet(s.reachableBy) && isSet(s.peerIP) && parseIp(String(s.reachableBy))!.family !== parseIp(peerAddress(String(s.peerIP)))!.family) {
    throw invalid(resource, 'spec.reachableBy', `${show(s.reachableBy)} and peerIP ${show(s.peerIP)} are of different families`, 'use a gateway of the peer\'s family')
  }
}

export const bgpPeerKind: KindInfo = {
  kind: 'BGPPeer',
  plural: 'bgppeers',
  aliases: ['bgppeer', 'bgppeers', 'bgpp', 'bgpps', 'bp', 'bps'],
  namespaced: false,
  columns: {ps: ['NAME', 'PEERIP', 'NODE', 'ASN'], wide: ['NAME', 'PEERIP', 'NODE', 'ASN']},
  cells: {
    NAME: nameCell,
    PEERIP: (r) => text(spec(r).peerIP),
    NODE: (r) => text(spec(r).node || spec(r).nodeSelector || '(global)'),
    ASN: (r) => text(spec(r).asNumber),
  },
  validate: validateBgpPeer,
}

const serviceIPBlock = object({cidr: network()})

// Calico's BGPConfigurationSpec (api/pkg/apis/projectcalico/v3/bgpconfig.go).
/** Which cluster routes BIRD (BGPConfiguration) or Felix (FelixConfiguration) programs: src/lab/plan/calico.ts birdProgramsPool. */
export const programClusterRoutesValues = ['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'] as const

const bgpConfigurationSpecFields = {
  logSeverityScreen: string({max: 7, test: (v) => /^(trace|debug|info|warning|error|fatal)$/i.test(v), what: 'a log level', fix: 'use Trace, Debug, Info, Warning, Error or Fatal', allowEmpty: true}),
  nodeToNodeMeshEnabled: boolean,
  asNumber,
  serviceLoadBalancerIPs: list(serviceIPBlock, {max: 100}),
  serviceExternalIPs: list(serviceIPBlock, {max: 100}),
  serviceClusterIPs: list(serviceIPBlock, {max: 100}),
  serviceLoadBalancerAggregation: oneOf(['Enabled', 'Disabled']),
  communities: list(object({name, value: community}, {required: ['name', 'value']}), {max: 500}),
  prefixAdvertisements: list(object({cidr: network(), communities: list(string({max: 253, test: (v) => isCommunity(v) || dnsSubdomain.test(v), what: 'a community value or name', fix: 'write aa:nn, aa:nn:mm or the name of one of spec.communities'}), {max: 50})}, {required: ['cidr', 'communities']}), {max: 500}),
  listenPort: integer(1, 65535),
  nodeMeshPassword: password,
  nodeMeshMaxRestartTime: duration,
  bindMode: oneOf(['None', 'NodeIP']),
  ignoredInterfaces: list(ignoredInterface, {max: 100}),
  localWorkloadPeeringIPV4: ip(4),
  localWorkloadPeeringIPV6: ip(6),
  programClusterRoutes: oneOf(programClusterRoutesValues),
  ipv4NormalRoutePriority: integer(1, 2147483646),
  ipv6NormalRoutePriority: integer(1, 2147483646),
}

/** Fields Calico refuses on any BGPConfiguration but "default" (libcalico-go clientv3/bgpconfig.go). */
export const defaultOnlyFields = ['nodeToNodeMeshEnabled', 'asNumber', 'serviceLoadBalancerIPs', 'serviceExternalIPs', 'serviceClusterIPs', 'nodeMeshPassword', 'nodeMeshMaxRestartTime'] as const

export function validateBgpConfiguration(resource: Resource): void {
  checkResource(resource, {kind: 'BGPConfiguration', namespaced: false, spec: bgpConfigurationSpecFields})
  const s = spec(resource)
  // libcalico-go's ValidateDefaultOnlyFields: cluster-wide settings live on "default" only.
  if (resource.metadata.name !== 'default') {
    for (const field of defaultOnlyFields) {
      const value = s[field]
      if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) {
        throw invalid(resource, `spec.${field}`, 'can only be set on the BGPConfiguration named "default"', `remove it here and set it on "default" (netctl patch bgpconfig default -p '{"spec":{"${field}":...}}'); per-node settings go in a BGPConfiguration named node.<node name>`)
      }
    }
  }
  const meshOff = s.nodeToNodeMeshEnabled === false
  if (meshOff && s.nodeMeshPassword !== undefined) throw invalid(resource, 'spec.nodeMeshPassword', 'is set but the node-to-node mesh is off', 'remove it, or set nodeToNodeMeshEnabled: true')
  if (meshOff && s.nodeMeshMaxRestartTime !== undefined) throw invalid(resource, 'spec.nodeMeshMaxRestartTime', 'is set but the node-to-node mesh is off', 'remove it, or set nodeToNodeMeshEnabled: true')
  const communities = (s.communities ?? []) as Array<{name: string}>
  const advertisements = (s.prefixAdvertisements ?? []) as Array<{communities: string[]}>
  if (communities.length > 0 && advertisements.length === 0) throw invalid(resource, 'spec.communities', 'are defined but no prefixAdvertisements use them', 'add spec.prefixAdvertisements, or remove spec.communities')
  advertisements.forEach((a, i) =>
    a.communities.forEach((c, j) => {
      if (!isCommunity(c) && !communities.some((d) => d.name === c)) {
        throw invalid(resource, `spec.prefixAdvertisements[${i}].communities[${j}]`, `${show(c)} is neither a community value nor one of spec.communities`, 'write aa:nn or aa:nn:mm, or define it under spec.communities')
      }
    }),
  )
}

export const bgpConfigurationKind: KindInfo = {
  kind: 'BGPConfiguration',
  plural: 'bgpconfigurations',
  aliases: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs'],
  namespaced: false,
  columns: {ps: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'], wide: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER']},
  cells: {
    NAME: nameCell,
    LOGSEVERITY: (r) => text(spec(r).logSeverityScreen),
    MESHENABLED: (r) => text(spec(r).nodeToNodeMeshEnabled),
    ASNUMBER: (r) => text(spec(r).asNumber),
  },
  validate: validateBgpConfiguration,
}
