/**
 * metadata as Kubernetes' ObjectMeta has it, checked as Kubernetes and Calico check it:
 * qualified-name keys, label values of at most 63 characters, annotations of at most 256 kB
 * in all, and no field that ObjectMeta does not have.
 */
import {API_VERSION, type Resource} from './types.js'
import {checkName, checkObject, checkSize, dnsSubdomain, integer, invalid, isPlainObject, list, object, safeName, show, string, text, type Rule} from './validate.js'

/** Kubernetes' TotalAnnotationSizeLimitB. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/** Kubernetes' IsQualifiedName: [prefix/]name, the prefix a DNS subdomain, the name 63 characters at most. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/')
  if (parts.length > 2) return 'has more than one "/"'
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]!]
  if (prefix !== undefined) {
    if (prefix === '') return 'has an empty prefix before "/"'
    if (prefix.length > 253) return `has a prefix of ${prefix.length} characters; the limit is 253`
    if (!dnsSubdomain.test(prefix)) return 'has a prefix that is not a DNS subdomain (lower-case letters, digits, "-" and ".")'
  }
  if (name === undefined || name === '') return 'has an empty name'
  if (name.length > 63) return `has a name part of ${name.length} characters; the limit is 63`
  if (!qualifiedNamePart.test(name)) return 'must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit'
  return undefined
}

export function labelValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a string, not ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}`
  if (value.length > 63) return `is ${value.length} characters long; the limit is 63`
  if (!labelValuePattern.test(value)) return `${show(value)} must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit`
  return undefined
}

const keyFix = 'write keys as [prefix/]name, e.g. projectcalico.org/zone: name up to 63 letters, digits, "-", "_", "."; prefix a DNS name'

export const labels: Rule = (resource, field, value) => {
  if (!isPlainObject(value)) throw invalid(resource, field, `must be a mapping of strings, not ${show(value)}`, 'write labels as key: value lines')
  for (const [key, labelValue] of Object.entries(value)) {
    const keyProblem = qualifiedNameProblem(key)
    if (keyProblem) throw invalid(resource, `${field} key ${show(key)}`, keyProblem, keyFix)
    const valueProblem = labelValueProblem(labelValue)
    if (valueProblem) throw invalid(resource, `${field}.${safeName(key)}`, valueProblem, 'use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (quote values like "true")')
  }
}

export const annotations: Rule = (resource, field, value) => {
  if (!isPlainObject(value)) throw invalid(resource, field, `must be a mapping of strings, not ${show(value)}`, 'write annotations as key: value lines')
  let total = 0
  for (const [key, annotation] of Object.entries(value)) {
    // Calico checks annotation keys in lower case, as Kubernetes does.
    const keyProblem = qualifiedNameProblem(key.toLowerCase())
    if (keyProblem) throw invalid(resource, `${field} key ${show(key)}`, keyProblem, keyFix)
    if (typeof annotation !== 'string') throw invalid(resource, `${field}.${safeName(key)}`, `must be a string, not ${show(annotation)}`, 'quote the value')
    total += Buffer.byteLength(key) + Buffer.byteLength(annotation)
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) {
    throw invalid(resource, field, `are ${total} bytes in all; the limit is ${TOTAL_ANNOTATION_SIZE_LIMIT} (256 kB)`, 'keep large data out of annotations')
  }
}

const timestamp: Rule = string({max: 64, test: (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(v), what: 'an RFC 3339 time', fix: 'write it like 2024-05-01T12:00:00Z'})
const opaque = (max: number): Rule => string({max, test: (v) => /^[A-Za-z0-9._:-]*$/.test(v), what: 'an identifier', fix: 'leave it to the datastore: remove it', allowEmpty: true})
const qualifiedName: Rule = string({max: 316, test: (v) => qualifiedNameProblem(v) === undefined, what: 'a qualified name', fix: keyFix})

const ownerReference = object(
  {
    apiVersion: text(256),
    kind: string({max: 63, test: (v) => /^[A-Za-z][A-Za-z0-9]*$/.test(v), what: 'a kind'}),
    name: text(253),
    uid: opaque(128),
    controller: (r, f, v) => {
      if (typeof v !== 'boolean') throw invalid(r, f, `must be true or false, not ${show(v)}`, `write ${f}: true or false`)
    },
    blockOwnerDeletion: (r, f, v) => {
      if (typeof v !== 'boolean') throw invalid(r, f, `must be true or false, not ${show(v)}`, `write ${f}: true or false`)
    },
  },
  {required: ['apiVersion', 'kind', 'name', 'uid']},
)

const managedFieldsEntry = object(
  {
    manager: text(128),
    operation: string({max: 16, test: (v) => v === 'Apply' || v === 'Update', what: 'Apply or Update'}),
    apiVersion: text(256),
    time: timestamp,
    fieldsType: string({max: 16, test: (v) => v === 'FieldsV1', what: 'FieldsV1'}),
    // Kubernetes' own bookkeeping: any JSON object, never rendered; the object size bound covers it.
    fieldsV1: (r, f, v) => {
      if (!isPlainObject(v)) throw invalid(r, f, `must be an object, not ${show(v)}`, 'leave managedFields to the API server: remove it')
    },
    subresource: text(128),
  },
  {nullable: ['time']},
)

const metadataFields: Record<string, Rule> = {
  name: () => undefined, // checkName
  namespace: () => undefined, // checkName
  generateName: string({max: 253, test: (v) => /^[a-z0-9]([-a-z0-9.]*)?$/.test(v), what: 'a name prefix', fix: 'use lower-case letters, digits, "-" and "."'}),
  selfLink: string({max: 1024, test: (v) => /^[A-Za-z0-9/._~:%-]*$/.test(v), what: 'an API path', fix: 'remove it: the API server sets it', allowEmpty: true}),
  uid: opaque(128),
  resourceVersion: opaque(128),
  generation: integer(0, Number.MAX_SAFE_INTEGER),
  creationTimestamp: timestamp,
  deletionTimestamp: timestamp,
  deletionGracePeriodSeconds: integer(0, Number.MAX_SAFE_INTEGER),
  labels,
  annotations,
  ownerReferences: list(ownerReference, {max: 100}),
  finalizers: list(qualifiedName, {max: 100}),
  managedFields: list(managedFieldsEntry, {max: 100}),
}

/** The whole of metadata: name and namespace (checkName), then every other ObjectMeta field. */
export function checkMetadata(resource: Resource, namespaced: boolean): void {
  if (!isPlainObject(resource.metadata)) throw invalid(resource, 'metadata', `must be an object, not ${show(resource.metadata)}`, 'add metadata: with a name')
  checkName(resource, namespaced)
  checkObject(resource, 'metadata', resource.metadata, metadataFields, {nullable: ['creationTimestamp', 'deletionTimestamp']})
}

export interface ResourceSchema {
  kind: string
  namespaced: boolean
  /** The spec's fields; any other key is refused. */
  spec: Readonly<Record<string, Rule>>
  specRequired?: readonly string[]
  /** The status's fields, for the kinds whose Calico type has a status. */
  status?: Readonly<Record<string, Rule>>
}

const topLevel = ['apiVersion', 'kind', 'metadata', 'spec']

/**
 * Everything every kind shares: the object's size, its top-level fields, its metadata, and a
 * spec (and status) with only the fields of the kind's Calico type, each of the right type.
 */
export function checkResource(resource: Resource, schema: ResourceSchema): void {
  checkSize(resource)
  for (const key of Object.keys(resource)) {
    if (!topLevel.includes(key) && !(key === 'status' && schema.status)) {
      throw invalid(resource, safeName(key), 'is not a known top-level field', `keep ${[...topLevel, ...(schema.status ? ['status'] : [])].join(', ')}`)
    }
  }
  if (resource.kind !== schema.kind) throw invalid(resource, 'kind', `is ${show(resource.kind)}, not ${schema.kind}`, `set kind: ${schema.kind}`)
  if (resource.apiVersion !== API_VERSION) throw invalid(resource, 'apiVersion', `is ${show(resource.apiVersion)}`, `set apiVersion: ${API_VERSION}`)
  checkMetadata(resource, schema.namespaced)
  const spec = resource.spec ?? {}
  if (!isPlainObject(spec)) throw invalid(resource, 'spec', `must be an object, not ${show(spec)}`, 'write spec as a YAML mapping')
  checkObject(resource, 'spec', spec, schema.spec, {required: schema.specRequired})
  if (schema.status && resource.status !== undefined && resource.status !== null) {
    if (!isPlainObject(resource.status)) throw invalid(resource, 'status', `must be an object, not ${show(resource.status)}`, 'remove status: the datastore keeps it')
    checkObject(resource, 'status', resource.status, schema.status)
  }
}
