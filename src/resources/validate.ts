/** Shared checks that every kind's validator uses. */
import {NetctlError} from '../errors.js'
import type {Resource} from './types.js'

/** A validation failure that names the object and the field. */
export function invalid(resource: Resource, field: string, problem: string, suggestion?: string): NetctlError {
  const name = resource.metadata?.name ? ` "${resource.metadata.name}"` : ''
  return new NetctlError('invalid', `${resource.kind}${name}: ${field} ${problem}`, suggestion)
}

// Kubernetes' DNS-1123 subdomain: what Calico accepts for most object names.
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

export function checkName(resource: Resource, namespaced: boolean): void {
  const name = resource.metadata?.name
  if (typeof name !== 'string' || name === '') {
    throw invalid(resource, 'metadata.name', 'is required', 'give the object a name under metadata.name')
  }
  if (name.length > 253 || !dnsSubdomain.test(name)) {
    throw invalid(
      resource,
      'metadata.name',
      `"${name}" is not a valid name`,
      'use at most 253 lower-case letters, digits, "-" and ".", starting and ending with a letter or digit',
    )
  }
  const namespace = resource.metadata.namespace
  if (!namespaced && namespace !== undefined && namespace !== '') {
    throw invalid(resource, 'metadata.namespace', `is set, but ${resource.kind} is cluster-scoped`, 'remove metadata.namespace')
  }
  if (namespaced && namespace !== undefined && (namespace.length > 63 || !dnsLabel.test(namespace))) {
    throw invalid(resource, 'metadata.namespace', `"${namespace}" is not a valid namespace`, 'use at most 63 lower-case letters, digits and "-"')
  }
}

export function checkEnum(resource: Resource, field: string, value: unknown, allowed: readonly string[]): void {
  if (value === undefined) return
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw invalid(resource, field, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`)
  }
}

export function checkBoolean(resource: Resource, field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalid(resource, field, `must be true or false, not ${JSON.stringify(value)}`)
  }
}

export function checkKnownFields(resource: Resource, field: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw invalid(resource, `${field}.${key}`, 'is not a known field', `known fields of ${field}: ${known.join(', ')}`)
    }
  }
}

export function checkAsNumber(resource: Resource, field: string, value: unknown): void {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 4294967295) {
    throw invalid(resource, field, `${JSON.stringify(value)} is not an AS number`, 'use a whole number from 1 to 4294967295')
  }
}
