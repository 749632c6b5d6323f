/** Names a lab puts on the command line and in the kernel, validated before any use. */
import {createHash} from 'node:crypto'

import {NetctlError} from '../../errors.js'

const labName = /^[a-z][a-z0-9-]{0,14}$/
const objectName = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/

export function checkLabName(name: string): string {
  if (!labName.test(name) || name.endsWith('-')) {
    throw new NetctlError('usage', `"${name}" is not a valid lab name`, 'use 1 to 15 lower-case letters, digits and "-", starting with a letter')
  }
  return name
}

export function checkObjectName(what: 'node' | 'pod', name: string): string {
  if (!objectName.test(name)) {
    throw new NetctlError('usage', `"${name}" is not a valid ${what} name`, 'use 1 to 40 lower-case letters, digits and "-", starting and ending with a letter or digit')
  }
  return name
}

/**
 * Every namespace of a lab starts with nc-<lab>. — a dot, which no lab name holds, so that no
 * name of one lab is ever a name of another (with "-", lab "rsa-p"'s probe was lab "rsa"'s pod "probe").
 */
export const netnsPrefix = (lab: string) => `nc-${lab}.`
export const underlayNetns = (lab: string) => `${netnsPrefix(lab)}underlay`
/** Somewhere outside every pool for natOutgoing to reach: a host behind the underlay's router. */
export const outsideNetns = (lab: string) => `${netnsPrefix(lab)}outside`
export const probeNetns = (lab: string) => `${netnsPrefix(lab)}probe`
export const nodeNetns = (lab: string, node: string) => `${netnsPrefix(lab)}n-${node}`
export const podNetns = (lab: string, pod: string) => `${netnsPrefix(lab)}p-${pod}`

/**
 * The underlay's port for a node (≤ 15 characters), named after the node and not its place
 * in the topology: a node put at another index keeps its port, and a new name gets a new one.
 */
export const underlayPort = (node: string) => `un-${createHash('sha1').update(node).digest('hex').slice(0, 10)}`

/** flannel names a pod's host-side veth veth + 8 hex (the kernel allows 15 characters). */
export const flannelVethName = (namespace: string, pod: string) => `veth${createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 8)}`
