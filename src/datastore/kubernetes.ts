/**
 * Calico's Kubernetes datastore (KDD): custom resources in crd.projectcalico.org/v1,
 * Calico Node fields as annotations on Kubernetes Nodes, WorkloadEndpoints derived from
 * Pods. The kubeconfig, its contexts and every auth method @kubernetes/client-node knows
 * (token, client certificates, exec plugins, OIDC) come from client-node; requests go out
 * through node:http(s) (kube-request.ts, bounded in time and size) so paging, merge patches
 * and errors stay in our hands. Every reply is checked for the shape netctl reads.
 */
import {Agent as HttpAgent} from 'node:http'
import {Agent as HttpsAgent, type RequestOptions} from 'node:https'

import {NetctlError} from '../errors.js'
import {
  defaultAllowProfile, DEFAULT_ALLOW_PROFILE, k8sNetworkPolicyToCalico, kubernetesNetworkPolicyWriteKind, kubernetesPolicyName, namespaceToProfile, NAMESPACE_PROFILE_PREFIX,
  SERVICE_ACCOUNT_PROFILE_PREFIX, serviceAccountToProfile, type KubeNamespace, type KubeNetworkPolicy, type KubeServiceAccount,
} from '../resources/k8s-networkpolicy.js'
import type {KindInfo} from '../resources/kind.js'
import type {NodeSpec, Resource} from '../resources/types.js'
import {parseWorkloadEndpointName} from '../resources/workloadendpoint.js'
import type {ConfigValues} from './config.js'
import {alreadyExists, conflict, notFound, type Datastore, type ListOptions} from './datastore.js'
import {
  crdGroupVersion, customResourcePath, customResourceToV3, hasWorkloadEndpoint, kubeNodeToV3, kubernetesNetworkPolicyPath, namespacePath, podToWorkloadEndpoint, serviceAccountPath, v3NodeToPatch, v3ToCustomResource,
  type KubeObject, type Pod,
} from './kdd-conversion.js'
import {boundedRequest, defaultKubeLimits, type KubeLimits} from './kube-request.js'
import {redactEndpoint} from './redact.js'

export {defaultKubeLimits, type KubeLimits} from './kube-request.js'

type KubeConfig = import('@kubernetes/client-node').KubeConfig

/** Pods per list request, as Calico pages them. */
export const kubePageSize = 500
// Auth providers client-node implements; others would silently send no credentials.
const supportedAuthProviders = ['azure', 'gcp', 'oidc']

interface Response {
  status: number
  body: unknown
  /** "GET /api/v1/pods": what was asked, for messages. */
  what: string
}

/** When a listing must be over by, and the error that says it was not. */
interface ListDeadline {
  at: number
  error: () => NetctlError
}

interface KubeStatus {
  kind?: string
  message?: string
  reason?: string
}

/**
 * The continue token of a list whose body starts as the API server writes it,
 * `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"TOKEN",...`;
 * undefined for any other start (the token then comes from the parsed page).
 */
export function headContinueToken(head: string): string | undefined {
  const metadata = /^\{(?:"(?:kind|apiVersion)":"[^"\\]*",){0,2}"metadata":\{([^{}[\]]*)\}/.exec(head)?.[1]
  return metadata === undefined ? undefined : /(?:^|,)"continue":"([^"\\]+)"/.exec(metadata)?.[1]
}

export class KubernetesDatastore implements Datastore {
  readonly location: string
  readonly defaultNamespace: string

  /** The server as messages show it: credentials in the URL masked. */
  private readonly shownServer: string
  /** The keep-alive agent requests go through, and the settings of client-node's agent it stands for. */
  private reused?: {agent: HttpAgent; settings: Array<[string, unknown]>}

  private constructor(private readonly kc: KubeConfig, private readonly server: string, private readonly limits: KubeLimits) {
    const context = kc.getCurrentContext()
    this.shownServer = redactEndpoint(server)
    this.location = `kubernetes ${this.shownServer} (context ${context})`
    this.defaultNamespace = kc.getContextObject(context)?.namespace || 'default'
  }

  /** `limits` overrides defaultKubeLimits (tests use small ones). */
  static async open(config: ConfigValues, limits: Partial<KubeLimits> = {}): Promise<KubernetesDatastore> {
    const {loadKubeconfig} = await import('./kubeconfig.js')
    const kc = await loadKubeconfig({kubeconfig: config.kubeconfig, source: config.kubeconfigSource, context: config.k8sContext, namespace: config.k8sNamespace})
    const cluster = kc.getCurrentCluster()
    if (!cluster?.server) throw new NetctlError('usage', 'the kubeconfig names no cluster server for the current context', 'check current-context and its cluster in the kubeconfig')
    const provider = kc.getCurrentUser()?.authProvider?.name as string | undefined
    if (provider && !supportedAuthProviders.includes(provider) && !kc.getCurrentUser()?.authProvider?.config?.tokenFile) {
      throw new NetctlError('unsupported', `the kubeconfig user uses the auth provider "${provider}", which netctl cannot use`, 'use a token, client certificates or an exec credential plugin in the kubeconfig')
    }
    return new KubernetesDatastore(kc, cluster.server.replace(/\/+$/, ''), {...defaultKubeLimits, ...limits})
  }

  async get(kind: KindInfo, name: string, namespace?: string): Promise<Resource> {
    if (kind === kubernetesNetworkPolicyWriteKind) throw kubernetesPolicyFile(name, namespace)
    if (kind.kind === 'WorkloadEndpoint') return this.getWorkloadEndpoint(kind, name, namespace ?? this.defaultNamespace)
    if (kind.kind === 'Profile') return this.getProfile(kind, name)
    const k8sName = kind.kind === 'NetworkPolicy' ? kubernetesPolicyName(name) : undefined
    if (k8sName !== undefined) {
      const ns = namespace ?? this.defaultNamespace
      const response = await this.call('GET', kubernetesNetworkPolicyPath(ns, k8sName), {verb: 'get', kind})
      if (response.status === 404) throw notFound(kind, name, ns)
      this.check(response, 'get', kind, k8sPolicies)
      return k8sNetworkPolicyToCalico(this.object(response) as unknown as KubeNetworkPolicy).policy
    }
    const response = await this.call('GET', this.path(kind, name, namespace), {verb: 'get', kind})
    if (response.status === 404) throw notFound(kind, name, namespace)
    this.check(response, 'get', kind)
    return this.toV3(kind, this.object(response))
  }

  async list(kind: KindInfo, options: ListOptions = {}): Promise<Resource[]> {
    if (kind.kind === 'WorkloadEndpoint') {
      const out: Resource[] = []
      for await (const page of this.listPages(kind, options)) out.push(...page)
      return out
    }
    if (kind.kind === 'Profile') return this.listProfiles(kind)
    const out: Resource[] = []
    for await (const object of this.pages<KubeObject>(this.path(kind, undefined, options.namespace), {}, kind)) out.push(this.toV3(kind, object))
    if (kind.kind === 'NetworkPolicy') {
      // The cluster's Kubernetes NetworkPolicies, after Calico's own, as Calico lists them. A rule
      // Calico cannot convert is dropped, as Calico drops it.
      for await (const np of this.pages<KubeNetworkPolicy>(kubernetesNetworkPolicyPath(options.namespace), {}, kind, k8sPolicies)) out.push(k8sNetworkPolicyToCalico(np).policy)
    }
    return out
  }

  /**
   * The listing page by page as the API server hands them out: a printer can start before the
   * last page. WorkloadEndpoints keep their pods' order (namespace, then pod name), as calicoctl
   * prints them: libcalico-go converts each page of pods and sorts nothing. Kinds assembled from
   * several listings (Profiles, NetworkPolicies) come as one page.
   */
  async *listPages(kind: KindInfo, options: ListOptions = {}): AsyncGenerator<Resource[]> {
    if (kind.kind === 'WorkloadEndpoint') {
      const base = options.namespace !== undefined ? `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods` : '/api/v1/pods'
      const query: Record<string, string> = options.node ? {fieldSelector: `spec.nodeName=${options.node}`} : {}
      for await (const pods of this.pageArrays<Pod>(base, query, kind)) yield pods.filter(hasWorkloadEndpoint).map(podToWorkloadEndpoint)
    } else if (kind.kind === 'Profile' || kind.kind === 'NetworkPolicy') {
      yield await this.list(kind, options)
    } else {
      for await (const objects of this.pageArrays<KubeObject>(this.path(kind, undefined, options.namespace), {}, kind)) yield objects.map((object) => this.toV3(kind, object))
    }
  }

  async create(kind: KindInfo, resource: Resource): Promise<Resource> {
    this.refuseDerived(kind, 'create', false, resource.metadata.name, resource.metadata.namespace)
    const body = v3ToCustomResource({...resource, metadata: {...resource.metadata, resourceVersion: undefined}})
    const response = await this.call('POST', this.path(kind, undefined, resource.metadata.namespace), {verb: 'create', kind, body})
    if (response.status === 409) throw alreadyExists(kind, resource.metadata.name)
    this.check(response, 'create', kind)
    return this.toV3(kind, this.object(response))
  }

  async update(kind: KindInfo, resource: Resource): Promise<Resource> {
    this.refuseDerived(kind, 'update', resource.kind === 'Node', resource.metadata.name, resource.metadata.namespace)
    const {name, resourceVersion} = resource.metadata
    if (kind.kind === 'Node') {
      // A Kubernetes Node belongs to the kubelet too: patch only Calico's annotations and labels.
      const response = await this.call('PATCH', this.path(kind, name), {verb: 'patch', kind, body: v3NodeToPatch(resource as Resource<NodeSpec>), contentType: 'application/merge-patch+json'})
      return this.afterWrite(kind, resource, response)
    }
    let body = v3ToCustomResource(resource)
    if (!resourceVersion) {
      // Kubernetes requires a resourceVersion on update: take the stored one ("whatever is there now").
      const current = await this.get(kind, name, resource.metadata.namespace)
      body = v3ToCustomResource({...resource, metadata: {...resource.metadata, resourceVersion: current.metadata.resourceVersion}})
    }
    const response = await this.call('PUT', this.path(kind, name, resource.metadata.namespace), {verb: 'update', kind, body})
    return this.afterWrite(kind, resource, response)
  }

  async delete(kind: KindInfo, name: string, namespace?: string, resourceVersion?: string): Promise<Resource> {
    this.refuseDerived(kind, 'delete', false, name, namespace)
    const current = await this.get(kind, name, namespace)
    const body = resourceVersion ? {kind: 'DeleteOptions', apiVersion: 'v1', preconditions: {resourceVersion}} : undefined
    const response = await this.call('DELETE', this.path(kind, name, namespace), {verb: 'delete', kind, body})
    if (response.status === 404) throw notFound(kind, name, namespace)
    if (response.status === 409) throw await this.conflictNow(kind, name, resourceVersion ?? '', namespace)
    this.check(response, 'delete', kind)
    return current
  }

  async close(): Promise<void> {
    this.reused?.agent.destroy()
    this.reused = undefined
  }

  /**
   * client-node makes a new agent for every request, and such an agent closes its connection
   * after one reply: a listing of 40 pages would connect (and shake TLS hands) 40 times. One
   * keep-alive agent per set of connection settings instead (new certificates from an exec
   * plugin make a new one). Proxy agents are used as they come.
   */
  private keepAlive(agent: unknown): unknown {
    if (!(agent instanceof HttpAgent) || (agent.constructor !== HttpAgent && agent.constructor !== HttpsAgent)) return agent
    const options = (agent as HttpAgent & {options: Record<string, unknown>}).options
    const settings = Object.entries(options).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    settings.push(['(class)', agent.constructor])
    const known = this.reused
    if (known && known.settings.length === settings.length && known.settings.every(([key, value], i) => key === settings[i]![0] && sameSetting(value, settings[i]![1]))) return known.agent
    known?.agent.destroy()
    const Made = agent.constructor as typeof HttpAgent
    this.reused = {agent: new Made({...options, keepAlive: true}), settings}
    return this.reused.agent
  }

  // --- workload endpoints ------------------------------------------------------------------

  /** By the escaped endpoint name, or simply by the pod's name. */
  private async getWorkloadEndpoint(kind: KindInfo, name: string, namespace: string): Promise<Resource> {
    const parsed = parseWorkloadEndpointName(name)
    for (const podName of [name, parsed?.pod].filter((n): n is string => Boolean(n))) {
      const response = await this.call('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}`, {verb: 'get', kind})
      if (response.status === 404) continue
      this.check(response, 'get', kind)
      const pod = this.object(response) as Pod
      if (!hasWorkloadEndpoint(pod)) continue
      const wep = podToWorkloadEndpoint(pod)
      if (podName === name || wep.metadata.name === name) return wep
    }
    throw notFound(kind, name, namespace)
  }

  // --- profiles: derived from Namespaces ---------------------------------------------------

  /**
   * Calico's KDD profile listing: projectcalico-default-allow, kns.<namespace> for every
   * Namespace, ksa.<namespace>.<account> for every ServiceAccount.
   */
  private async listProfiles(kind: KindInfo): Promise<Resource[]> {
    const out = [defaultAllowProfile()]
    for await (const ns of this.pages<KubeNamespace>(namespacePath(), {}, kind, 'namespaces')) out.push(namespaceToProfile(ns))
    for await (const sa of this.pages<KubeServiceAccount>(serviceAccountPath(), {}, kind, 'serviceaccounts')) out.push(serviceAccountToProfile(sa))
    return out
  }

  private async getProfile(kind: KindInfo, name: string): Promise<Resource> {
    if (name === DEFAULT_ALLOW_PROFILE) return defaultAllowProfile()
    if (name.startsWith(SERVICE_ACCOUNT_PROFILE_PREFIX)) {
      // ksa.<namespace>.<account>: a namespace name has no dots.
      const [, namespace, account] = /^ksa\.([^.]+)\.(.+)$/.exec(name) ?? []
      if (!namespace || !account) throw notFound(kind, name)
      const response = await this.call('GET', serviceAccountPath(namespace, account), {verb: 'get', kind})
      if (response.status === 404) throw notFound(kind, name)
      this.check(response, 'get', kind, 'serviceaccounts')
      return serviceAccountToProfile(this.object(response) as unknown as KubeServiceAccount)
    }
    if (!name.startsWith(NAMESPACE_PROFILE_PREFIX)) throw notFound(kind, name)
    const response = await this.call('GET', namespacePath(name.slice(NAMESPACE_PROFILE_PREFIX.length)), {verb: 'get', kind})
    if (response.status === 404) throw notFound(kind, name)
    this.check(response, 'get', kind, 'namespaces')
    return namespaceToProfile(this.object(response) as unknown as KubeNamespace)
  }

  private refuseDerived(kind: KindInfo, verb: string, allowNodeUpdate = false, name?: string, namespace?: string): void {
    if (kind === kubernetesNetworkPolicyWriteKind) throw kubernetesPolicyFile(name ?? '', namespace)
    if (kind.kind === 'NetworkPolicy' && name !== undefined && kubernetesPolicyName(name) !== undefined) {
      const k8sName = kubernetesPolicyName(name)!
      const ns = namespace ?? this.defaultNamespace
      const kubectl = verb === 'delete' ? `kubectl delete networkpolicy ${k8sName} -n ${ns}` : `kubectl edit networkpolicy ${k8sName} -n ${ns}`
      throw new NetctlError('unsupported', `cannot ${verb} NetworkPolicy "${ns}/${name}": it is the Kubernetes NetworkPolicy "${k8sName}", which belongs to Kubernetes (Calico only reads it)`, `change it with ${kubectl}`)
    }
    if (kind.kind === 'Profile') {
      throw new NetctlError('unsupported', `cannot ${verb} a Profile in the Kubernetes datastore: Calico derives them from Namespaces (kns.<namespace>) and ServiceAccounts (ksa.<namespace>.<account>)`, 'change the Namespace or ServiceAccount with kubectl instead (kubectl label namespace|serviceaccount ...)')
    }
    if (kind.kind === 'WorkloadEndpoint') {
      throw new NetctlError('unsupported', `cannot ${verb} a WorkloadEndpoint in the Kubernetes datastore: Calico derives them from Pods`, 'change the Pod with kubectl instead')
    }
    if (kind.kind === 'Node' && !allowNodeUpdate) {
      throw new NetctlError('unsupported', `cannot ${verb} a Node in the Kubernetes datastore: Calico's Nodes are the cluster's Node objects`, 'nodes join and leave through the kubelet; netctl can update their Calico fields')
    }
  }

  // --- plumbing ---------------------------------------------------------------------------

  private path(kind: KindInfo, name?: string, namespace?: string): string {
    if (kind.kind !== 'Node') return customResourcePath(kind, namespace, name)
    return name === undefined ? '/api/v1/nodes' : `/api/v1/nodes/${encodeURIComponent(name)}`
  }

  private toV3(kind: KindInfo, object: KubeObject): Resource {
    return kind.kind === 'Node' ? kubeNodeToV3(object) : customResourceToV3(kind, object)
  }

  /** A 409 names no revision: read the stored one so the message can. */
  private async conflictNow(kind: KindInfo, name: string, given: string, namespace?: string): Promise<NetctlError> {
    const stored = await this.get(kind, name, namespace).then((r) => r.metadata.resourceVersion ?? '?', () => '(deleted)')
    return conflict(kind, name, namespace, given, stored)
  }

  private async afterWrite(kind: KindInfo, resource: Resource, response: Response): Promise<Resource> {
    const {name, resourceVersion} = resource.metadata
    if (response.status === 404) throw notFound(kind, name)
    if (response.status === 409) throw await this.conflictNow(kind, name, resourceVersion ?? '', resource.metadata.namespace)
    this.check(response, 'update', kind)
    return this.toV3(kind, this.object(response))
  }

  /**
   * Follow `continue` tokens; each page is dropped once its items are handed out. A listing
   * must end: a token that comes back, too many pages or objects, or too long is an error.
   */
  private async *pages<T>(path: string, query: Record<string, string>, kind: KindInfo, resource = resourceName(kind)): AsyncGenerator<T> {
    for await (const page of this.pageArrays<T>(path, query, kind, resource)) yield* page
  }

  /** pages(), a page at a time. */
  private async *pageArrays<T>(path: string, query: Record<string, string>, kind: KindInfo, resource = resourceName(kind)): AsyncGenerator<T[]> {
    const {listMs, maxListPages, maxListObjects} = this.limits
    const listed = `${resource} (GET ${path})`
    const listing = `listing ${listed} at ${this.shownServer}`
    const giveUp = (message: string) => new NetctlError('unavailable', message, 'retry; if it persists, the API server (or a proxy in front of it) is misbehaving')
    let pages = 0
    let objects = 0
    const deadline: ListDeadline = {
      at: Date.now() + listMs,
      error: () => giveUp(`${listing} did not finish within ${listMs / 1000} s (${pages} pages, ${objects} objects so far)`),
    }
    const seenTokens = new Set<string>()
    // However the listing ends (done, failed, or its caller stopped), no page is asked for after it,
    // and a page asked for ahead is not waited for.
    let over = false
    const outstanding = new Set<AbortController>()
    /** The page's reply, when its request is on the wire (or failed before it got there), the start of its body, and its cancellation. */
    type Request = {pending: Promise<Response>; sent: Promise<void>; head: Promise<string>; cancel: () => void}
    const request = (token?: string): Request => {
      const params = new URLSearchParams({...query, limit: String(kubePageSize)})
      if (token) params.set('continue', token)
      let onSent!: () => void
      const sent = new Promise<void>((resolve) => (onSent = resolve))
      let onHead!: (head: string) => void
      const head = new Promise<string>((resolve) => (onHead = resolve))
      const cancel = new AbortController()
      outstanding.add(cancel)
      const pending = this.call('GET', `${path}?${params}`, {verb: 'list', kind, listDeadline: deadline, onSent, onHead, signal: cancel.signal})
      // A consumer that stops early (or a failed page) must not leave it unhandled.
      pending.catch(() => {})
      const settled = pending.then(() => void outstanding.delete(cancel), () => void outstanding.delete(cancel))
      return {pending, sent: Promise.race([sent, settled]), head: Promise.race([head, settled.then(() => '')]), cancel: () => cancel.abort()}
    }
    let next: Request | undefined = request()
    let token: string | undefined
    try {
      do {
        if (!next) throw giveUp(`${listing} did not end after ${pages} pages (${objects} objects)`)
        // The page's continue token is at the start of its body: the page after it is asked for as
        // soon as that arrives, and the server works on it while this one arrives, is parsed and
        // printed. Used only if the parsed page carries the same token; at most one page ahead of
        // the one the caller asked for.
        const ahead: Promise<{token: string; request: Request} | undefined> = next.head.then((head) => {
          const early = headContinueToken(head)
          return !over && early !== undefined && !seenTokens.has(early) && pages + 1 < maxListPages ? {token: early, request: request(early)} : undefined
        })
        const response: Response = await next.pending
        pages += 1
        if (response.status === 404) {
          throw new NetctlError('unavailable', `the API server at ${this.shownServer} does not serve ${resource}`, resource === resourceName(kind) ? 'install Calico (its CRDs) in this cluster, or check the kubeconfig context' : 'check the kubeconfig context: the server does not look like a Kubernetes API server')
        }
        this.check(response, 'list', kind, resource)
        const list: {items: T[]; continue?: string} = this.listPage<T>(response)
        objects += list.items.length
        if (objects > maxListObjects) throw giveUp(`${listing} returned more than ${maxListObjects} objects`)
        token = list.continue
        // Checked before the page is handed out: a page that repeats an earlier one is never printed.
        if (token !== undefined) {
          if (seenTokens.has(token)) throw giveUp(`the API server at ${this.shownServer} sent the same continue token twice (page ${pages}) when listing ${listed}: the list would never end`)
          seenTokens.add(token)
        }
        // The next page is asked for before this one is handed out (if its head did not already), and
        // its request seen sent (credentials, a socket from the agent and the write take a few turns
        // of the event loop): the server then works while we convert and print.
        const asked = await ahead
        if (asked && asked.token !== token) asked.request.cancel()
        next = token === undefined || pages >= maxListPages ? undefined : asked?.token === token ? asked.request : request(token)
        await next?.sent
        yield list.items
      } while (token !== undefined)
    } finally {
      over = true
      for (const cancel of outstanding) cancel.abort()
    }
  }

  // --- the shape of replies ---------------------------------------------------------------

  private malformed(response: Response, fault: string): NetctlError {
    return new NetctlError(
      'unavailable',
      `the API server at ${this.shownServer} answered ${response.what} with ${fault}`,
      'check that the kubeconfig server URL is the Kubernetes API server itself (not a proxy or a login page); retry if it is',
    )
  }

  /** A single object: what get, create, update and patch answer. */
  private object(response: Response): KubeObject {
    const body = response.body
    if (!isPlainObject(body)) throw this.malformed(response, `${describeJson(body)} where an object with metadata.name belongs`)
    if (!hasName(body)) throw this.malformed(response, 'an object without metadata.name')
    return body as unknown as KubeObject
  }

  /** A list page: items (each an object with a name) and an optional continue token. */
  private listPage<T>(response: Response): {items: T[]; continue?: string} {
    const body = response.body
    if (!isPlainObject(body)) throw this.malformed(response, `${describeJson(body)} where a list belongs`)
    if (!Array.isArray(body.items)) throw this.malformed(response, 'a list that has no items array')
    const bad = body.items.findIndex((item) => !isPlainObject(item) || !hasName(item))
    if (bad >= 0) throw this.malformed(response, `a list whose item ${bad} is not an object with metadata.name`)
    const metadata = body.metadata
    if (metadata !== undefined && !isPlainObject(metadata)) throw this.malformed(response, 'a list whose metadata is not an object')
    const token = metadata?.continue
    if (token !== undefined && token !== null && typeof token !== 'string') throw this.malformed(response, 'a list whose metadata.continue is not a string')
    return {items: body.items as T[], continue: token || undefined}
  }

  private check(response: Response, verb: string, kind: KindInfo, resource = resourceName(kind)): void {
    if (response.status >= 200 && response.status < 300) return
    const status = response.body as KubeStatus | undefined
    const detail = status?.message ?? `HTTP ${response.status}`
    if (response.status === 401) {
      throw new NetctlError('unavailable', `the API server at ${this.shownServer} did not accept netctl's credentials (401) when it tried to ${verb} ${resource}: ${detail}`, 'refresh the token or certificates of the kubeconfig user')
    }
    if (response.status === 403) {
      throw new NetctlError('unavailable', `the API server denied "${verb}" on ${resource} (403): ${detail}`, `grant the kubeconfig user ${verb} on ${resource} (kubectl auth can-i ${verb} ${resource})`)
    }
    if (response.status === 422 || response.status === 400) {
      throw new NetctlError('invalid', `the API server rejected the ${kind.kind}: ${detail}`, 'fix the object and retry')
    }
    throw new NetctlError('unavailable', `the API server at ${this.shownServer} failed to ${verb} ${resource} (HTTP ${response.status}): ${detail}`, 'retry; if it persists, check the API server')
  }

  /**
   * One request, bounded by limits.requestMs (credentials included) and, for a list page,
   * by what is left of the listing's time. A 2xx reply must be JSON.
   */
  private async call(method: string, path: string, options: {verb: string; kind: KindInfo; body?: unknown; contentType?: string; listDeadline?: ListDeadline; onSent?: () => void; onHead?: (head: string) => void; signal?: AbortSignal}): Promise<Response> {
    const url = new URL(this.server + path)
    const what = `${method} ${url.pathname}`
    const {idleMs, requestMs, maxBodyBytes} = this.limits
    const requestDeadline = {
      at: Date.now() + requestMs,
      error: (received: number) =>
        new NetctlError('unavailable', `the Kubernetes API at ${this.shownServer} did not finish answering ${what} within ${requestMs / 1000} s (${received} bytes received)`, 'check the API server and the network to it (a stalled proxy in between?), then retry'),
    }
    const listDeadline = options.listDeadline
    const onDeadline = listDeadline && listDeadline.at < requestDeadline.at ? () => listDeadline.error() : requestDeadline.error
    const deadlineAt = Math.min(requestDeadline.at, listDeadline?.at ?? Infinity)

    const requestOptions: RequestOptions = {method, headers: {Accept: 'application/json'}, signal: options.signal}
    // A cancelled request runs no credential plugin and opens no connection.
    options.signal?.throwIfAborted()
    try {
      // An exec credential plugin can hang too.
      await withDeadline(this.kc.applyToHTTPSOptions(requestOptions), deadlineAt - Date.now(), () =>
        listDeadline && listDeadline.at < requestDeadline.at ? listDeadline.error() : new Error(`none came within ${requestMs / 1000} s`),
      )
    } catch (error) {
      if (error instanceof NetctlError) throw error
      throw new NetctlError('unavailable', `cannot get credentials for the kubeconfig user: ${(error as Error).message}`, 'check the user entry (token, certificates or exec plugin) of the kubeconfig', {cause: error})
    }
    requestOptions.agent = this.keepAlive(requestOptions.agent) as RequestOptions['agent']
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
    if (payload) Object.assign(requestOptions.headers!, {'Content-Type': options.contentType ?? 'application/json', 'Content-Length': payload.length})
    const reply = await boundedRequest({
      url, options: requestOptions, payload, idleMs, maxBodyBytes, what, server: this.shownServer, onSent: options.onSent, onHead: options.onHead,
      deadlineMs: deadlineAt - Date.now(), onDeadline: (received) => onDeadline(received),
    })
    const response: Response = {status: reply.status, body: undefined, what}
    const ok = reply.status >= 200 && reply.status < 300
    if (!reply.text) {
      if (ok) throw this.malformed(response, 'an empty body')
      return response
    }
    try {
      response.body = JSON.parse(reply.text)
    } catch {
      const snippet = reply.text.slice(0, 60).replace(/\s+/g, ' ')
      if (ok) throw this.malformed(response, `a body that is not JSON (${reply.contentType || 'no content type'}: ${snippet}${reply.text.length > 60 ? '…' : ''})`)
      // An error page (a proxy's, say): keep the text for the message.
      response.body = {message: reply.text.slice(0, 200)}
    }
    return response
  }
}

const k8sPolicies = 'networkpolicies.networking.k8s.io'

/** A Kubernetes NetworkPolicy file given to netctl with a Kubernetes datastore: kubectl's job. */
const kubernetesPolicyFile = (name: string, namespace?: string) => {
  const k8sName = kubernetesPolicyName(name) ?? name
  return new NetctlError(
    'unsupported',
    `cannot write the Kubernetes NetworkPolicy "${namespace ? `${namespace}/` : ''}${k8sName}" through netctl to a Kubernetes datastore: it belongs to the cluster's Kubernetes API, and Calico only reads it (as NetworkPolicy ${name})`,
    'apply it with kubectl instead: kubectl apply -f FILE (netctl apply -f takes it for a lab\'s datastore)',
  )
}

const resourceName = (kind: KindInfo): string =>
  kind.kind === 'WorkloadEndpoint' ? 'pods' : kind.kind === 'Node' ? 'nodes' : `${kind.plural}.${crdGroupVersion.split('/')[0]}`

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

const hasName = (object: Record<string, unknown>): boolean => {
  const metadata = object.metadata
  return isPlainObject(metadata) && typeof metadata.name === 'string' && metadata.name !== ''
}

const describeJson = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`

/** Equal connection settings: CA, certificates and keys come as new buffers (or lists of them) each time. */
function sameSetting(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b)
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameSetting(item, b[i]))
  return false
}

/** The promise, or `error()` if it has not settled within ms. */
async function withDeadline<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), Math.max(0, ms))))])
  } finally {
    clearTimeout(timer)
  }
}
