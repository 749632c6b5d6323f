/**
 * FelixConfiguration and ClusterInformation: netctl stores them but the lab renders none of
 * their fields; still every field is typed and bounded, as Calico's FelixConfigurationSpec and
 * ClusterInformationSpec (api/pkg/apis/projectcalico/v3) have them.
 */
import {randomUUID} from 'node:crypto'

import {NetctlError} from '../errors.js'
import {programClusterRoutesValues} from './bgp.js'
import {cidr, dscp, duration, ifaceFilter, interfaceName, ip, isInterfaceName, port, selector} from './formats.js'
import {name, type KindInfo} from './kind.js'
import {checkResource} from './metadata.js'
import {API_VERSION, type Resource} from './types.js'
import {boolean, integer, invalid, list, map, object, oneOf, show, string, text, type Rule} from './validate.js'

const count = integer(0, 2147483647)
const portNumber = integer(0, 65535)
const mark = integer(0, 4294967295)
/** The CRDs' (?i)(A|B)? patterns: one of the words in any case, or empty. */
const word = (...words: string[]): Rule =>
  string({max: 32, test: (v) => words.some((w) => w.toLowerCase() === v.toLowerCase()), what: `one of ${words.join(', ')}`, fix: `use one of ${words.join(', ')}`, allowEmpty: true})
const logLevel = word('Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal')
/** A Go regular expression: bounded text (Felix compiles it; the lab never renders it). */
const regexp = text(1024)
const path = string({max: 4096, test: (v) => !/[\u0000-\u001f\u007f]/.test(v), what: 'a path on one line', fix: 'remove newlines and control characters'})
const keyValueList = (values: string): Rule =>
  string({max: 4096, test: (v) => new RegExp(`^([a-zA-Z0-9_-]+=(${values}),)*([a-zA-Z0-9_-]+=(${values}))?$`).test(v), what: 'a list of key=value', fix: 'write it like Name1=value1,Name2=value2', allowEmpty: true})
const protoPorts = list(object({protocol: oneOf(['TCP', 'UDP', 'SCTP']), port: portNumber, net: cidr()}, {required: ['port']}), {max: 256})
const conntrackTimeout = string({max: 32, test: (v) => /^(([0-9]*(\.[0-9]*)?(ms|s|h|m|us)+)+|Auto)$/.test(v), what: 'a conntrack timeout', fix: 'write a duration like 30s, or Auto'})
const routeTableRange = (max: number): Rule => (resource, field, value) => {
  object({min: integer(1, max), max: integer(1, max)}, {required: ['min', 'max']})(resource, field, value)
  const range = value as {min: number; max: number}
  if (range.min > range.max) throw invalid(resource, field, `has min ${range.min} above max ${range.max}`, 'swap them')
}

export const felixConfigurationSpecFields: Readonly<Record<string, Rule>> = {
  nodeSelector: selector,
  useInternalDataplaneDriver: boolean,
  dataplaneDriver: path,
  dataplaneWatchdogTimeout: duration,
  ipv6Support: boolean,
  routeRefreshInterval: duration,
  interfaceRefreshInterval: duration,
  iptablesRefreshInterval: duration,
  iptablesPostWriteCheckInterval: duration,
  iptablesLockProbeInterval: duration,
  featureDetectOverride: keyValueList('true|false|'),
  featureGates: keyValueList('[^=,\\s]+'),
  ipsetsRefreshInterval: duration,
  maxIpsetSize: count,
  iptablesBackend: word('Auto', 'Legacy', 'NFT'),
  xdpRefreshInterval: duration,
  netlinkTimeout: duration,
  metadataAddr: string({max: 253, test: (v) => /^[A-Za-z0-9.:-]+$/.test(v), what: 'a host name or address', fix: 'write an IP address or a host name', allowEmpty: true}),
  metadataPort: portNumber,
  openstackRegion: string({max: 46, test: (v) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v), what: 'a DNS label', fix: 'use at most 46 lower-case letters, digits and "-"', allowEmpty: true}),
  interfacePrefix: string({max: 256, test: (v) => /^[a-zA-Z0-9_.,-]+$/.test(v), what: 'interface prefixes', fix: 'write prefixes joined by ",", e.g. cali,tap', allowEmpty: true}),
  interfaceExclude: text(4096),
  chainInsertMode: word('Insert', 'Append'),
  defaultEndpointToHostAction: word('Drop', 'Accept', 'Return'),
  iptablesFilterAllowAction: word('Accept', 'Return'),
  iptablesMangleAllowAction: word('Accept', 'Return'),
  iptablesFilterDenyAction: word('Drop', 'Reject'),
  logPrefix: string({max: 256, test: (v) => /^[a-zA-Z0-9%: /_-]*$/.test(v), what: 'a log prefix', fix: 'use letters, digits, "%", ":", " ", "/", "_" and "-"', allowEmpty: true}),
  logActionRateLimit: string({max: 16, test: (v) => /^[1-9]\d{0,3}\/(?:second|minute|hour|day)$/.test(v), what: 'a rate', fix: 'write it like 10/second'}),
  logActionRateLimitBurst: integer(0, 9999),
  logFilePath: path,
  logSeverityFile: logLevel,
  logSeverityScreen: logLevel,
  logSeveritySys: logLevel,
  logDebugFilenameRegex: regexp,
  ipipEnabled: boolean,
  ipipMTU: count,
  vxlanEnabled: boolean,
  vxlanMTU: count,
  vxlanMTUV6: count,
  vxlanPort: portNumber,
  vxlanVNI: integer(0, 16777215),
  allowVXLANPacketsFromWorkloads: boolean,
  allowIPIPPacketsFromWorkloads: boolean,
  reportingInterval: duration,
  reportingTTL: duration,
  endpointReportingEnabled: boolean,
  endpointReportingDelay: duration,
  endpointStatusPathPrefix: path,
  iptablesMarkMask: mark,
  disableConntrackInvalidCheck: boolean,
  healthEnabled: boolean,
  healthHost: string({max: 253, test: (v) => /^[A-Za-z0-9.:-]+$/.test(v), what: 'a host name or address', fix: 'write an IP address or a host name'}),
  healthPort: portNumber,
  healthTimeoutOverrides: list(object({name: string({max: 128, test: (v) => /^[a-zA-Z0-9_ -]+$/.test(v), what: 'a health reporter name'}), timeout: duration}, {required: ['name', 'timeout']}), {max: 100}),
  prometheusMetricsEnabled: boolean,
  prometheusMetricsHost: string({max: 64, test: (v) => /^[a-zA-Z0-9:._+-]{1,64}$/.test(v), what: 'a host name or address', fix: 'write an IP address or a host name'}),
  prometheusMetricsPort: portNumber,
  prometheusGoMetricsEnabled: boolean,
  prometheusProcessMetricsEnabled: boolean,
  prometheusWireGuardMetricsEnabled: boolean,
  prometheusMetricsCAFile: path,
  prometheusMetricsCertFile: path,
  prometheusMetricsKeyFile: path,
  prometheusMetricsClientAuth: oneOf(['RequireAndVerifyClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'NoClientCert']),
  failsafeInboundHostPorts: protoPorts,
  failsafeOutboundHostPorts: protoPorts,
  kubeNodePortRanges: (resource, field, value) => {
    list(port, {max: 7})(resource, field, value)
    for (const [i, p] of (value as unknown[]).entries()) {
      if (typeof p === 'string' && !/^\d/.test(p)) throw invalid(resource, `${field}[${i}]`, `${show(p)} is a named port`, 'use numbers or ranges like 30000:32767')
    }
  },
  policySyncPathPrefix: path,
  usageReportingEnabled: boolean,
  usageReportingInitialDelay: duration,
  usageReportingInterval: duration,
  natPortRange: port,
  natOutgoingAddress: ip(),
  natOutgoingExclusions: oneOf(['IPPoolsOnly', 'IPPoolsAndHostIPs']),
  deviceRouteSourceAddress: ip(4),
  deviceRouteSourceAddressIPv6: ip(6),
  deviceRouteProtocol: integer(0, 255),
  removeExternalRoutes: boolean,
  programClusterRoutes: oneOf(programClusterRoutesValues),
  ipForwarding: oneOf(['Enabled', 'Disabled']),
  externalNodesList: list(cidr(4), {max: 1000}),
  debugMemoryProfilePath: path,
  debugDisableLogDropping: boolean,
  debugSimulateCalcGraphHangAfter: duration,
  debugSimulateDataplaneHangAfter: duration,
  debugSimulateDataplaneApplyDelay: duration,
  debugHost: string({max: 253, test: (v) => /^[A-Za-z0-9.:-]+$/.test(v), what: 'a host name or address', fix: 'write an IP address or a host name'}),
  debugPort: portNumber,
  iptablesNATOutgoingInterfaceFilter: ifaceFilter,
  sidecarAccelerationEnabled: boolean,
  xdpEnabled: boolean,
  genericXDPEnabled: boolean,
  nftablesMode: oneOf(['Disabled', 'Enabled', 'Auto']),
  nftablesFlowTableOffload: oneOf(['All', 'Disabled']),
  nftablesFlowTableDataIfacePattern: regexp,
  nftablesRefreshInterval: duration,
  nftablesFilterAllowAction: word('Accept', 'Return'),
  nftablesMangleAllowAction: word('Accept', 'Return'),
  nftablesFilterDenyAction: word('Drop', 'Reject'),
  nftablesMarkMask: mark,
  bpfEnabled: boolean,
  bpfOverlayHostSourceIP: oneOf(['TunnelAddress', 'HostAddress']),
  bpfDisableUnprivileged: boolean,
  bpfJITHardening: oneOf(['Auto', 'Strict']),
  bpfLogLevel: word('Off', 'Info', 'Debug'),
  bpfConntrackLogLevel: oneOf(['Off', 'Debug']),
  bpfConntrackMode: oneOf(['Auto', 'Userspace', 'BPFProgram']),
  bpfConntrackTimeouts: object(Object.fromEntries(['creationGracePeriod', 'tcpSynSent', 'tcpEstablished', 'tcpFinsSeen', 'tcpResetSeen', 'udpTimeout', 'genericTimeout', 'icmpTimeout'].map((k) => [k, conntrackTimeout]))),
  bpfIPFragTimeout: duration,
  bpfLogFilters: map(
    (resource, field, key) => {
      if (key !== 'all' && !isInterfaceName(key)) throw invalid(resource, `${field} key ${show(key)}`, 'is not an interface name', 'use an interface name or "all"')
    },
    text(1024),
    {max: 256},
  ),
  bpfCTLBLogFilter: oneOf(['', 'all']),
  bpfDataIfacePattern: regexp,
  bpfL3IfacePattern: regexp,
  bpfConnectTimeLoadBalancingEnabled: boolean,
  bpfConnectTimeLoadBalancing: oneOf(['TCP', 'Enabled', 'Disabled']),
  bpfHostNetworkedNATWithoutCTLB: oneOf(['Enabled', 'Disabled']),
  bpfExternalServiceMode: word('Tunnel', 'DSR'),
  bpfDSROptoutCIDRs: list(cidr(), {max: 1000}),
  bpfExtToServiceConnmark: mark,
  bpfKubeProxyIptablesCleanupEnabled: boolean,
  bpfKubeProxyMinSyncPeriod: duration,
  bpfKubeProxyHealthzPort: portNumber,
  bpfPSNATPorts: port,
  bpfMapSizeNATFrontend: count,
  bpfMapSizeNATBackend: count,
  bpfMapSizeNATAffinity: count,
  bpfMapSizeRoute: count,
  bpfMapSizeConntrack: count,
  bpfMapSizePerCpuConntrack: count,
  bpfMapSizeConntrackScaling: word('Disabled', 'DoubleIfFull'),
  bpfMapSizeConntrackCleanupQueue: integer(1, 2147483647),
  bpfMapSizeIPSets: count,
  bpfMapSizeIfState: count,
  bpfHostConntrackBypass: boolean,
  bpfIPFragmentReassemblyEnabled: boolean,
  bpfEnforceRPF: word('Disabled', 'Strict', 'Loose'),
  bpfPolicyDebugEnabled: boolean,
  bpfForceTrackPacketsFromIfaces: list(ifaceFilter, {max: 256}),
  bpfDisableGROForIfaces: regexp,
  bpfExcludeCIDRsFromNAT: list(cidr(), {max: 1000}),
  bpfExportBufferSizeMB: count,
  istioAmbientMode: oneOf(['Enabled', 'Disabled']),
  istioDSCPMark: dscp,
  cgroupV2Path: path,
  flowLogsPolicyEvaluationMode: oneOf(['None', 'Continuous']),
  bpfRedirectToPeer: oneOf(['Enabled', 'Disabled']),
  bpfAttachType: oneOf(['TC', 'TCX', 'Netkit']),
  flowLogsFlushInterval: duration,
  flowLogsCollectorDebugTrace: boolean,
  flowLogsGoldmaneServer: text(1024),
  flowLogsLocalReporter: oneOf(['Disabled', 'Enabled']),
  bpfProfiling: oneOf(['Disabled', 'Enabled']),
  routeSource: word('WorkloadIPs', 'CalicoIPAM'),
  routeTableRanges: list(routeTableRange(4294967295), {max: 100}),
  routeTableRange: routeTableRange(250),
  routeSyncDisabled: boolean,
  ipv4NormalRoutePriority: integer(1, 2147483646),
  ipv4ElevatedRoutePriority: integer(1, 2147483646),
  ipv6NormalRoutePriority: integer(1, 2147483646),
  ipv6ElevatedRoutePriority: integer(1, 2147483646),
  liveMigrationRouteConvergenceTime: duration,
  wireguardEnabled: boolean,
  wireguardEnabledV6: boolean,
  wireguardThreadingEnabled: boolean,
  wireguardListeningPort: integer(1, 65535),
  wireguardListeningPortV6: integer(1, 65535),
  wireguardRoutingRulePriority: integer(1, 32765),
  wireguardInterfaceName: interfaceName,
  wireguardInterfaceNameV6: interfaceName,
  wireguardMTU: count,
  wireguardMTUV6: count,
  wireguardHostEncryptionEnabled: boolean,
  wireguardKeepAlive: duration,
  awsSrcDstCheck: oneOf(['DoNothing', 'Enable', 'Disable']),
  serviceLoopPrevention: oneOf(['Drop', 'Reject', 'Disabled']),
  workloadSourceSpoofing: oneOf(['Disabled', 'Any']),
  mtuIfacePattern: regexp,
  floatingIPs: oneOf(['Enabled', 'Disabled']),
  localSubnetL2Reachability: oneOf(['Disabled', 'PodsAndLoadBalancers']),
  localSubnetL2ReachabilityRefreshInterval: duration,
  windowsManageFirewallRules: oneOf(['Enabled', 'Disabled']),
  goGCThreshold: integer(-1, 2147483647),
  goMemoryLimitMB: integer(-1, 2147483647),
  goMaxProcs: integer(-1, 2147483647),
  requireMTUFile: boolean,
  bpfMaglevMaxEndpointsPerService: integer(1, 3000),
  bpfMaglevMaxServices: integer(1, 3000),
}

export function validateFelixConfiguration(resource: Resource): void {
  checkResource(resource, {kind: 'FelixConfiguration', namespaced: false, spec: felixConfigurationSpecFields})
}

export const felixConfigurationKind: KindInfo = {
  kind: 'FelixConfiguration',
  plural: 'felixconfigurations',
  aliases: ['felixconfiguration', 'felixconfigurations', 'felixconfig', 'felixconfigs'],
  namespaced: false,
  columns: {ps: ['NAME'], wide: ['NAME']},
  cells: {NAME: name},
  validate: validateFelixConfiguration,
}

// Calico's ClusterInformationSpec: written by Calico itself, free text in Calico, tokens here.
const clusterInformationSpecFields = {
  clusterGUID: string({max: 64, test: (v) => /^[A-Za-z0-9-]+$/.test(v), what: 'a cluster GUID', fix: 'use hex digits and "-"', allowEmpty: true}),
  clusterType: string({max: 256, test: (v) => /^[A-Za-z0-9._,+-]+$/.test(v), what: 'a list of cluster types', fix: 'write types joined by ",", e.g. k8s,bgp,kdd', allowEmpty: true}),
  calicoVersion: string({max: 64, test: (v) => /^[A-Za-z0-9._+-]+$/.test(v), what: 'a version', fix: 'write it like v3.28.0', allowEmpty: true}),
  datastoreReady: boolean,
  variant: string({max: 64, test: (v) => /^[A-Za-z0-9._-]+$/.test(v), what: 'a product variant', fix: 'write it like Calico', allowEmpty: true}),
}

export function validateClusterInformation(resource: Resource): void {
  checkResource(resource, {kind: 'ClusterInformation', namespaced: false, spec: clusterInformationSpecFields})
}

const clusterSpec = (r: Resource) => (r.spec ?? {}) as Record<string, unknown>
const cell = (value: unknown) => (value === undefined || value === null ? '' : String(value))
const clusterColumns = ['NAME', 'CLUSTERGUID', 'CLUSTERTYPE', 'CALICOVERSION', 'DATASTOREREADY'] as const

export const clusterInformationKind: KindInfo = {
  kind: 'ClusterInformation',
  plural: 'clusterinformations',
  aliases: ['clusterinformation', 'clusterinformations', 'clusterinfo', 'clusterinfos'],
  namespaced: false,
  // calicoctl's columns (resourcemgr/clusterinfo.go), the same for ps and wide.
  columns: {ps: clusterColumns, wide: clusterColumns},
  cells: {
    NAME: name,
    CLUSTERGUID: (r) => cell(clusterSpec(r).clusterGUID),
    CLUSTERTYPE: (r) => cell(clusterSpec(r).clusterType),
    CALICOVERSION: (r) => cell(clusterSpec(r).calicoVersion),
    DATASTOREREADY: (r) => cell(clusterSpec(r).datastoreReady),
  },
  validate: validateClusterInformation,
}

/** The Calico release whose resources netctl reads and writes, recorded in ClusterInformation. */
export const calicoVersion = 'v3.32.0'

/**
 * Calico's own record of the cluster, written by Calico (libcalico-go's ensureClusterInformation),
 * never by users: calicoctl refuses create, apply, replace and delete on it, and so does netctl.
 */
export function clusterInformationIsReadOnly(operation: string): NetctlError {
  return new NetctlError(
    'unsupported',
    `ClusterInformation is read-only: ${operation} is not supported on it (Calico, and netctl, write it themselves)`,
    'netctl writes ClusterInformation "default" when the first Node is written; read it with: netctl get clusterinformation -o yaml',
  )
}

/** What libcalico-go creates when there is none: a random GUID (a UUID's 32 hex digits), the version, ready. */
export function newClusterInformation(): Resource {
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterInformation',
    metadata: {name: 'default'},
    spec: {clusterGUID: randomUUID().replaceAll('-', ''), calicoVersion, datastoreReady: true},
  }
}
