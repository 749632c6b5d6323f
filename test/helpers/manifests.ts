/** Generated manifests for the write tests: many WorkloadEndpoints, overlapping pools. */
import {writeFileSync} from 'node:fs'

import {dump} from 'js-yaml'

import type {Resource} from '../../src/resources/types.js'

export const wep = (i: number, annotations?: Record<string, string>): Resource => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'WorkloadEndpoint',
  metadata: {name: `node1-k8s-pod${String(i).padStart(5, '0')}-eth0`, namespace: 'default', ...(annotations ? {annotations} : {})},
  spec: {orchestrator: 'k8s', node: 'node1', pod: `pod${String(i).padStart(5, '0')}`, endpoint: 'eth0', ipNetworks: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`], interfaceName: `cali${String(i).padStart(11, '0')}`},
})

/** count WorkloadEndpoints as one multi-document YAML file; change(i) may replace document i+1's object. */
export function writeWeps(path: string, count: number, change: (i: number) => Resource | undefined = () => undefined): void {
  const docs = Array.from({length: count}, (_, i) => dump(change(i) ?? wep(i), {lineWidth: -1}))
  writeFileSync(path, docs.join('---\n'))
}

export const poolYaml = (name: string, cidr: string) => `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ${name}}\nspec: {cidr: ${cidr}}\n`
