/** Calico projectcalico.org/v3 objects as netctl reads and writes them. */
export const API_VERSION = 'projectcalico.org/v3'

export interface ObjectMeta {
  name: string
  namespace?: string
  resourceVersion?: string
  uid?: string
  creationTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  [field: string]: unknown
}

export interface Resource<Spec = Record<string, unknown>> {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  spec?: Spec
  [field: string]: unknown
}

export type EncapMode = 'Always' | 'CrossSubnet' | 'Never'
export const encapModes: readonly EncapMode[] = ['Always', 'CrossSubnet', 'Never']

export interface IPPoolSpec {
  cidr: string
  ipipMode?: EncapMode
  vxlanMode?: EncapMode
  natOutgoing?: boolean
  disabled?: boolean
  disableBGPExport?: boolean
  blockSize?: number
  nodeSelector?: string
  allowedUses?: string[]
  assignmentMode?: string
  [field: string]: unknown
}

export interface NodeSpec {
  bgp?: {
    ipv4Address?: string
    ipv6Address?: string
    asNumber?: number
    routeReflectorClusterID?: string
    ipv4IPIPTunnelAddr?: string
  }
  ipv4VXLANTunnelAddr?: string
  vxlanTunnelMACAddr?: string
  ipv6VXLANTunnelAddr?: string
  vxlanTunnelMACAddrV6?: string
  wireguard?: {interfaceIPv4Address?: string; interfaceIPv6Address?: string}
  addresses?: Array<{address: string; type?: string}>
  orchRefs?: Array<{nodeName?: string; orchestrator?: string}>
  interfaces?: Array<{name?: string; addresses?: string[]}>
  [field: string]: unknown
}

export interface WorkloadEndpointSpec {
  orchestrator?: string
  workload?: string
  node?: string
  containerID?: string
  pod?: string
  endpoint?: string
  serviceAccountName?: string
  ipNetworks?: string[]
  ipNATs?: Array<{internalIP: string; externalIP: string}>
  profiles?: string[]
  interfaceName?: string
  mac?: string
  [field: string]: unknown
}

export type IPPool = Resource<IPPoolSpec>
export type WorkloadEndpoint = Resource<WorkloadEndpointSpec>
