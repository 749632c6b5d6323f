/**
 * Calico's Kubernetes datastore (KDD): custom resources in crd.projectcalico.org/v1,
 * Calico Node fields as annotations on Kubernetes Nodes, WorkloadEndpoints derived from
 * Pods. The kubeconfig, its contexts and every auth method @kubernetes/client-node knows
 * (token, client certificates, exec plugins, OIDC) come from client-node; requests go out
 * through node:http(s) so paging, merge patches and errors stay in our hands.
 */
import {request as httpRequest, type IncomingMessage} from 'node:http'
import {request as httpsRequest, type RequestOptions} from 'node:https'

import {NetctlError} from '../errors.js'
import type {KindInfo} from '../resources/kind.js'
import type {NodeSpec, Resource} from '../resources/types.js'
import {parseWorkloadEndpointName} from '../resources/workloadendpoint.js'
import type {ConfigValues} from './config.js'
import {alreadyExists, conflict, notFound, type Datastore, type ListOptions} from './datastore.js'
import {
  crdGroupVersion, customResourceToV3, hasWorkloadEndpoint, kubeNodeToV3, podToWorkloadEndpoint, v3NodeToPatch, v3ToCustomResource,
  type KubeObject, type Pod,
} from './kdd-conversion.js'

type KubeConfig = import('@kubernetes/client-node').KubeConfig

/** Pods per list request, as Calico pages them. */
export const kubePageSize = 500
const timeoutMs = 10_000
// Auth providers client-node implements; others would silently send no credentials.
const supportedAuthProviders = ['azure', 'gcp', 'oidc']

interface Response {
  status: number
  body: unknown
}

interface KubeStatus {
  kind?: string
  message?: string
  reason?: string
}

export class KubernetesDatastore implements Datastore {
  readonly location: string
  readonly defaultNamespace: string

  private constructor(private readonly kc: KubeConfig, private readonly server: string) {
    const context = kc.getCurrentContext()
    this.location = `kubernetes ${server} (context ${context})`
    this.defaultNamespace = kc.getContextObject(context)?.namespace || 'default'
  }

  static async open(config: ConfigValues): Promise<KubernetesDatastore> {
    const {KubeConfig} = await import('@kubernetes/client-node')
    const kc = new KubeConfig()
    try {
      if (config.kubeconfig) kc.loadFromFile(config.kubeconfig)
      else kc.loadFromDefault()
    } catch (error) {
      throw new NetctlError('usage', `cannot load the kubeconfig ${config.kubeconfig ?? '(default)'}: ${(error as Error).message}`, 'point KUBECONFIG or --kubeconfig at a valid kubeconfig file')
    }
    if (config.k8sContext) {
      if (!kc.getContextObject(config.k8sContext)) {
        throw new NetctlError('usage', `the kubeconfig has no context "${config.k8sContext}"`, `use one of: ${kc.getContexts().map((c) => c.name).join(', ') || '(none)'}`)
      }
      kc.setCurrentContext(config.k8sContext)
    }
    const cluster = kc.getCurrentCluster()
    if (!cluster?.server) throw new NetctlError('usage', 'the kubeconfig names no cluster server for the current context', 'check current-context and its cluster in the kubeconfig')
    const provider = kc.getCurrentUser()?.authProvider?.name as string | undefined
    if (provider && !supportedAuthProviders.includes(provider) && !kc.getCurrentUser()?.authProvider?.config?.tokenFile) {
      throw new NetctlError('unsupported', `the kubeconfig user uses the auth provider "${provider}", which netctl cannot use`, 'use a token, client certificates or an exec credential plugin in the kubeconfig')
    }
    return new KubernetesDatastore(kc, cluster.server.replace(/\/+$/, ''))
  }

  async get(kind: KindInfo, name: string, namespace?: string): Promise<Resource> {
    if (kind.kind === 'WorkloadEndpoint') return this.getWorkloadEndpoint(kind, name, namespace ?? this.defaultNamespace)
    const response = await this.call('GET', this.path(kind, name), {verb: 'get', kind})
    if (response.status === 404) throw notFound(kind, name, namespace)
    this.check(response, 'get', kind)
    return this.toV3(kind, response.body as KubeObject)
  }

  async list(kind: KindInfo, options: ListOptions = {}): Promise<Resource[]> {
    if (kind.kind === 'WorkloadEndpoint') {
      const base = options.namespace !== undefined ? `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods` : '/api/v1/pods'
      const query: Record<string, string> = options.node ? {fieldSelector: `spec.nodeName=${options.node}`} : {}
      const out: Resource[] = []
      for await (const pod of this.pages<Pod>(base, query, kind)) if (hasWorkloadEndpoint(pod)) out.push(podToWorkloadEndpoint(pod))
      return out.sort((a, b) => (a.metadata.namespace! + '/' + a.metadata.name).localeCompare(b.metadata.namespace! + '/' + b.metadata.name))
    }
    const out: Resource[] = []
    for await (const object of this.pages<KubeObject>(this.path(kind), {}, kind)) out.push(this.toV3(kind, object))
    return out
  }

  async create(kind: KindInfo, resource: Resource): Promise<Resource> {
    this.refuseDerived(kind, 'create')
    const body = v3ToCustomResource({...resource, metadata: {...resource.metadata, resourceVersion: undefined}})
    const response = await this.call('POST', this.path(kind), {verb: 'create', kind, body})
    if (response.status === 409) throw alreadyExists(kind, resource.metadata.name)
    this.check(response, 'create', kind)
    return this.toV3(kind, response.body as KubeObject)
  }

  async update(kind: KindInfo, resource: Resource): Promise<Resource> {
    this.refuseDerived(kind, 'update', resource.kind === 'Node')
    const {name, resourceVersion} = resource.metadata
    if (kind.kind === 'Node') {
      // A Kubernetes Node belongs to the kubelet too: patch only Calico's annotations and labels.
      const response = await this.call('PATCH', this.path(kind, name), {verb: 'patch', kind, body: v3NodeToPatch(resource as Resource<NodeSpec>), contentType: 'application/merge-patch+json'})
      return this.afterWrite(kind, resource, response)
    }
    let body = v3ToCustomResource(resource)
    if (!resourceVersion) {
      // Kubernetes requires a resourceVersion on update: take the stored one ("whatever is there now").
      const current = await this.get(kind, name)
      body = v3ToCustomResource({...resource, metadata: {...resource.metadata, resourceVersion: current.metadata.resourceVersion}})
    }
    const response = await this.call('PUT', this.path(kind, name), {verb: 'update', kind, body})
    return this.afterWrite(kind, resource, response)
  }

  async delete(kind: KindInfo, name: string, namespace?: string, resourceVersion?: string): Promise<Resource> {
    this.refuseDerived(kind, 'delete')
    const current = await this.get(kind, name, namespace)
    const body = resourceVersion ? {kind: 'DeleteOptions', apiVersion: 'v1', preconditions: {resourceVersion}} : undefined
    const response = await this.call('DELETE', this.path(kind, name), {verb: 'delete', kind, body})
    if (response.status === 404) throw notFound(kind, name, namespace)
    if (response.status === 409) throw await this.conflictNow(kind, name, resourceVersion ?? '')
    this.check(response, 'delete', kind)
    return current
  }

  async close(): Promise<void> {}

  // --- workload endpoints ------------------------------------------------------------------

  /** By the escaped endpoint name, or simply by the pod's name. */
  private async getWorkloadEndpoint(kind: KindInfo, name: string, namespace: string): Promise<Resource> {
    const parsed = parseWorkloadEndpointName(name)
    for (const podName of [name, parsed?.pod].filter((n): n is string => Boolean(n))) {
      const response = await this.call('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}`, {verb: 'get', kind})
      if (response.status === 404) continue
      this.check(response, 'get', kind)
      const pod = response.body as Pod
      if (!hasWorkloadEndpoint(pod)) continue
      const wep = podToWorkloadEndpoint(pod)
      if (podName === name || wep.metadata.name === name) return wep
    }
    throw notFound(kind, name, namespace)
  }

  private refuseDerived(kind: KindInfo, verb: string, allowNodeUpdate = false): void {
    if (kind.kind === 'WorkloadEndpoint') {
      throw new NetctlError('unsupported', `cannot ${verb} a WorkloadEndpoint in the Kubernetes datastore: Calico derives them from Pods`, 'change the Pod with kubectl instead')
    }
    if (kind.kind === 'Node' && !allowNodeUpdate) {
      throw new NetctlError('unsupported', `cannot ${verb} a Node in the Kubernetes datastore: Calico's Nodes are the cluster's Node objects`, 'nodes join and leave through the kubelet; netctl can update their Calico fields')
    }
  }

  // --- plumbing ---------------------------------------------------------------------------

  private path(kind: KindInfo, name?: string): string {
    const base = kind.kind === 'Node' ? '/api/v1/nodes' : `/apis/${crdGroupVersion}/${kind.plural}`
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`
  }

  private toV3(kind: KindInfo, object: KubeObject): Resource {
    return kind.kind === 'Node' ? kubeNodeToV3(object) : customResourceToV3(kind, object)
  }

  /** A 409 names no revision: read the stored one so the message can. */
  private async conflictNow(kind: KindInfo, name: string, given: string): Promise<NetctlError> {
    const stored = await this.get(kind, name).then((r) => r.metadata.resourceVersion ?? '?', () => '(deleted)')
    return conflict(kind, name, undefined, given, stored)
  }

  private async afterWrite(kind: KindInfo, resource: Resource, response: Response): Promise<Resource> {
    const {name, resourceVersion} = resource.metadata
    if (response.status === 404) throw notFound(kind, name)
    if (response.status === 409) throw await this.conflictNow(kind, name, resourceVersion ?? '')
    this.check(response, 'update', kind)
    return this.toV3(kind, response.body as KubeObject)
  }

  /** Follow `continue` tokens; each page is dropped once its items are handed out. */
  private async *pages<T>(path: string, query: Record<string, string>, kind: KindInfo): AsyncGenerator<T> {
    let token: string | undefined
    do {
      const params = new URLSearchParams({...query, limit: String(kubePageSize)})
      if (token) params.set('continue', token)
      const response = await this.call('GET', `${path}?${params}`, {verb: 'list', kind, resource: path.includes('/pods') ? 'pods' : undefined})
      if (response.status === 404) {
        throw new NetctlError('unavailable', `the API server at ${this.server} does not serve ${kind.kind === 'WorkloadEndpoint' ? 'pods' : `${kind.plural}.${crdGroupVersion.split('/')[0]}`}`, 'install Calico (its CRDs) in this cluster, or check the kubeconfig context')
      }
      this.check(response, 'list', kind)
      const list = response.body as {items?: T[]; metadata?: {continue?: string}}
      for (const item of list.items ?? []) yield item
      token = list.metadata?.continue || undefined
    } while (token)
  }

  private check(response: Response, verb: string, kind: KindInfo): void {
    if (response.status >= 200 && response.status < 300) return
    const status = response.body as KubeStatus
    const resource = kind.kind === 'WorkloadEndpoint' ? 'pods' : kind.kind === 'Node' ? 'nodes' : `${kind.plural}.${crdGroupVersion.split('/')[0]}`
    const detail = status?.message ?? `HTTP ${response.status}`
    if (response.status === 401) {
      throw new NetctlError('unavailable', `the API server at ${this.server} did not accept netctl's credentials (401) when it tried to ${verb} ${resource}: ${detail}`, 'refresh the token or certificates of the kubeconfig user')
    }
    if (response.status === 403) {
      throw new NetctlError('unavailable', `the API server denied "${verb}" on ${resource} (403): ${detail}`, `grant the kubeconfig user ${verb} on ${resource} (kubectl auth can-i ${verb} ${resource})`)
    }
    if (response.status === 422 || response.status === 400) {
      throw new NetctlError('invalid', `the API server rejected the ${kind.kind}: ${detail}`, 'fix the object and retry')
    }
    throw new NetctlError('unavailable', `the API server at ${this.server} failed to ${verb} ${resource} (HTTP ${response.status}): ${detail}`, 'retry; if it persists, check the API server')
  }

  private async call(method: string, path: string, options: {verb: string; kind: KindInfo; resource?: string; body?: unknown; contentType?: string}): Promise<Response> {
    const url = new URL(this.server + path)
    const requestOptions: RequestOptions = {method, headers: {Accept: 'application/json'}}
    try {
      await this.kc.applyToHTTPSOptions(requestOptions)
    } catch (error) {
      throw new NetctlError('unavailable', `cannot get credentials for the kubeconfig user: ${(error as Error).message}`, 'check the user entry (token, certificates or exec plugin) of the kubeconfig', {cause: error})
    }
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
    if (payload) Object.assign(requestOptions.headers!, {'Content-Type': options.contentType ?? 'application/json', 'Content-Length': payload.length})
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise<Response>((resolve, reject) => {
      const req = send(url, {...requestOptions, timeout: timeoutMs}, (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let body: unknown = text
          try {
            body = text ? JSON.parse(text) : undefined
          } catch {
            // Not JSON (a proxy's error page, say): keep the text for the message.
            body = {message: text.slice(0, 200)}
          }
          resolve({status: res.statusCode ?? 0, body})
        })
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)))
      req.on('error', (error) =>
        reject(new NetctlError('unavailable', `cannot reach the Kubernetes API at ${this.server}: ${error.message}`, `check the server URL in the kubeconfig and that the API server is up (timeout ${timeoutMs / 1000} s)`, {cause: error})),
      )
      req.end(payload)
    })
  }
}
