/** Small builders for Calico v3 objects in policy tests. */
import type {Resource} from '../../src/resources/types.js'

const API = 'projectcalico.org/v3'
type Spec = Record<string, unknown>

export function wep(namespace: string, name: string, labels: Record<string, string>, ips: string | string[], extra: Spec = {}): Resource {
  const sa = typeof extra.serviceAccountName === 'string' ? extra.serviceAccountName : 'default'
  return {
    apiVersion: API,
    kind: 'WorkloadEndpoint',
    metadata: {name, namespace, labels},
    spec: {orchestrator: 'k8s', node: 'node1', pod: name, endpoint: 'eth0', interfaceName: `cali${name}`.slice(0, 15), ipNetworks: [ips].flat().map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)), profiles: [`kns.${namespace}`, `ksa.${namespace}.${sa}`], serviceAccountName: sa, ...extra},
  }
}

export const hep = (name: string, labels: Record<string, string>, ips: string[], extra: Spec = {}): Resource => ({
  apiVersion: API,
  kind: 'HostEndpoint',
  metadata: {name, labels},
  spec: {node: 'host1', interfaceName: 'eth0', expectedIPs: ips, ...extra},
})

export const np = (namespace: string, name: string, spec: Spec): Resource => ({apiVersion: API, kind: 'NetworkPolicy', metadata: {name, namespace}, spec})
export const gnp = (name: string, spec: Spec): Resource => ({apiVersion: API, kind: 'GlobalNetworkPolicy', metadata: {name}, spec})
export const snp = (namespace: string, name: string, spec: Spec): Resource => ({apiVersion: API, kind: 'StagedNetworkPolicy', metadata: {name, namespace}, spec})
export const sgnp = (name: string, spec: Spec): Resource => ({apiVersion: API, kind: 'StagedGlobalNetworkPolicy', metadata: {name}, spec})
export const tier = (name: string, order?: number, defaultAction?: 'Deny' | 'Pass'): Resource => ({apiVersion: API, kind: 'Tier', metadata: {name}, spec: {...(order !== undefined ? {order} : {}), ...(defaultAction ? {defaultAction} : {})}})
export const netset = (namespace: string, name: string, labels: Record<string, string>, nets: string[]): Resource => ({apiVersion: API, kind: 'NetworkSet', metadata: {name, namespace, labels}, spec: {nets}})
export const gnetset = (name: string, labels: Record<string, string>, nets: string[]): Resource => ({apiVersion: API, kind: 'GlobalNetworkSet', metadata: {name, labels}, spec: {nets}})
export const profile = (name: string, labelsToApply: Record<string, string>, ingress: Spec[] = [], egress: Spec[] = []): Resource => ({apiVersion: API, kind: 'Profile', metadata: {name}, spec: {labelsToApply, ingress, egress}})

/** A deterministic PRNG (mulberry32) for the random tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
