/**
 * TEST DOUBLE of the Kubernetes API server: only the part netctl uses, on 127.0.0.1.
 * It behaves as the real API server does for: list with limit/continue and field
 * selectors, get, create, update with resourceVersion conflicts, JSON merge patch (and
 * only that content type), delete with preconditions, bearer-token authentication, and
 * Status bodies for 401/403/404/409/415/422. It serves pods, nodes, namespaces, service accounts, Calico's
 * custom resources and networking.k8s.io/v1 NetworkPolicies. It is not a Kubernetes: no watch, no
 * admission, no strategic merge patch, no label selectors.
 * `misbehave` makes it answer as a broken server or proxy would (a repeated continue token,
 * pages without end, a body trickled a byte at a time, a reply that is not a Kubernetes object).
 */
import {randomUUID} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'

type KubeObject = {apiVersion?: string; kind?: string; metadata: Record<string, unknown> & {name: string; namespace?: string; resourceVersion?: string}; [k: string]: unknown}

interface ResourceType {
  name: string
  /** Where its objects are kept: the plural, with the group for the networking.k8s.io kinds (whose plural a Calico kind shares). */
  store: string
  group: string
  kind: string
  namespaced: boolean
  apiVersion: string
}

const calicoPlurals: Record<string, string> = {
  ippools: 'IPPool', bgppeers: 'BGPPeer', bgpconfigurations: 'BGPConfiguration',
  felixconfigurations: 'FelixConfiguration', clusterinformations: 'ClusterInformation',
  globalnetworkpolicies: 'GlobalNetworkPolicy', tiers: 'Tier', networkpolicies: 'NetworkPolicy', networksets: 'NetworkSet',
  globalnetworksets: 'GlobalNetworkSet', hostendpoints: 'HostEndpoint', stagednetworkpolicies: 'StagedNetworkPolicy',
  stagedglobalnetworkpolicies: 'StagedGlobalNetworkPolicy', stagedkubernetesnetworkpolicies: 'StagedKubernetesNetworkPolicy',
  blockaffinities: 'BlockAffinity', ipamblocks: 'IPAMBlock', ipamhandles: 'IPAMHandle', ipamconfigs: 'IPAMConfig',
}
const namespacedCalicoPlurals = new Set(['networkpolicies', 'networksets', 'stagednetworkpolicies', 'stagedkubernetesnetworkpolicies'])

export interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  contentType?: string
}

/** How the double breaks the protocol, for the requests that `method` and `path` (exact) select. */
export type Misbehaviour = {method?: string; path?: string} & (
  /** Every list page carries the same continue token (and the first page again). */
  | {mode: 'repeat-continue'}
  /** Every list page carries `itemsPerPage` made-up objects and a fresh continue token: a list without end. */
  | {mode: 'endless-pages'; itemsPerPage: number}
  /** 200 and headers at once, then the body (a valid empty list, padded to `bytes`) one byte every `intervalMs`. */
  | {mode: 'trickle'; intervalMs: number; bytes: number}
  /** This status, content type and body, whatever was asked. */
  | {mode: 'raw'; status?: number; contentType?: string; body: string}
)

export interface KubeApiDouble {
  url: string
  token: string
  requests: RecordedRequest[]
  /** Responses the client hung up on before the double finished them. */
  readonly abandoned: number
  /** Break the protocol from now on (see Misbehaviour); `behave` ends it. */
  misbehave(misbehaviour: Misbehaviour): void
  behave(): void
  /**
   * Put objects straight into the store (as if another client created them): 'pods', 'nodes', a
   * Calico plural, or a collection path such as '/api/v1/namespaces' or
   * '/apis/networking.k8s.io/v1/networkpolicies'.
   */
  seed(resource: 'pods' | 'nodes' | string, objects: KubeObject[]): void
  /** Answer 403 to this verb on this resource ("list", "pods"). */
  deny(verb: string, resource: string): void
  /** Write a kubeconfig for this server; `exec` makes the user fetch its token from a plugin. */
  writeKubeconfig(path: string, options?: {namespace?: string; token?: string; exec?: {command: string; args: string[]}; extraContext?: string}): void
  stop(): Promise<void>
}

const status = (code: number, reason: string, message: string, details?: Record<string, unknown>) => ({
  kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code,
})

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch
  const base = (typeof target === 'object' && target !== null && !Array.isArray(target) ? {...target} : {}) as Record<string, unknown>
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key]
    else base[key] = mergePatch(base[key], value)
  }
  return base
}

function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object
  for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part]
  return value === undefined || value === null ? '' : String(value)
}

function matchesFieldSelector(object: KubeObject, selector: string | null): boolean {
  if (!selector) return true
  return selector.split(',').every((term) => {
    const m = /^([\w.]+)(!=|==|=)(.*)$/.exec(term.trim())
    if (!m) return true
    const actual = fieldValue(object, m[1]!)
    return m[2] === '!=' ? actual !== m[3] : actual === m[3]
  })
}

export async function startKubeApiDouble(): Promise<KubeApiDouble> {
  const token = randomUUID()
  const store = new Map<string, Map<string, KubeObject>>()
  const denied = new Set<string>()
  const requests: RecordedRequest[] = []
  let revision = 1000
  let misbehaviour: Misbehaviour | undefined
  let abandoned = 0
  let endlessCounter = 0
  let endlessPage = 0
  const trickles = new Set<NodeJS.Timeout>()

  const bucket = (resource: string) => {
    if (!store.has(resource)) store.set(resource, new Map())
    sortedCache.delete(resource)
    return store.get(resource)!
  }
  // Lists walk the keys in order; sorting 20,000 keys for every page would make the double the bottleneck.
  const sortedCache = new Map<string, Array<[string, KubeObject]>>()
  const sorted = (resource: string) => {
    let entries = sortedCache.get(resource)
    if (!entries) {
      entries = [...(store.get(resource) ?? new Map<string, KubeObject>()).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      sortedCache.set(resource, entries)
    }
    return entries
  }
  const keyOf = (namespace: string | undefined, name: string) => (namespace ? `${namespace}/${name}` : name)
  const stamp = (object: KubeObject, type: ResourceType, namespace?: string): KubeObject => {
    revision += 1
    const metadata: KubeObject['metadata'] = {...object.metadata, resourceVersion: String(revision)}
    if (type.namespaced) metadata.namespace = namespace ?? metadata.namespace ?? 'default'
    metadata.uid ??= randomUUID()
    metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    return {...object, apiVersion: type.apiVersion, kind: type.kind, metadata}
  }

  function route(path: string): {type: ResourceType; namespace?: string; name?: string} | undefined {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
    if (parts[0] === 'api' && parts[1] === 'v1') {
      const rest = parts.slice(2)
      let namespace: string | undefined
      if (rest[0] === 'namespaces' && rest.length >= 3) {
        namespace = rest[1]
        rest.splice(0, 2)
      }
      const [resource, name, extra] = rest
      if (extra !== undefined) return undefined
      if (resource === 'pods') return {type: {name: 'pods', store: 'pods', group: '', kind: 'Pod', namespaced: true, apiVersion: 'v1'}, namespace, name}
      if (resource === 'serviceaccounts') return {type: {name: 'serviceaccounts', store: 'serviceaccounts', group: '', kind: 'ServiceAccount', namespaced: true, apiVersion: 'v1'}, namespace, name}
      if (resource === 'nodes' && namespace === undefined) return {type: {name: 'nodes', store: 'nodes', group: '', kind: 'Node', namespaced: false, apiVersion: 'v1'}, name}
      // /api/v1/namespaces[/<name>] (the namespaced form above took /namespaces/<ns>/<resource>).
      if (parts.length <= 4 && parts[2] === 'namespaces') return {type: {name: 'namespaces', store: 'namespaces', group: '', kind: 'Namespace', namespaced: false, apiVersion: 'v1'}, name: parts[3]}
      return undefined
    }
    if (parts[0] === 'apis' && parts[1] === 'networking.k8s.io' && parts[2] === 'v1') {
      const namespace = parts[3] === 'namespaces' ? parts[4] : undefined
      const [plural, name, extra] = namespace === undefined ? parts.slice(3) : parts.slice(5)
      if (plural !== 'networkpolicies' || extra !== undefined) return undefined
      return {type: {name: plural, store: 'networkpolicies.networking.k8s.io', group: 'networking.k8s.io', kind: 'NetworkPolicy', namespaced: true, apiVersion: 'networking.k8s.io/v1'}, namespace, name}
    }
    if (parts[0] === 'apis' && parts[1] === 'crd.projectcalico.org' && parts[2] === 'v1') {
      // Namespaced kinds: /apis/crd.projectcalico.org/v1/[namespaces/<ns>/]<plural>[/<name>].
      const namespace = parts[3] === 'namespaces' ? parts[4] : undefined
      const [plural, name, extra] = namespace === undefined ? parts.slice(3) : parts.slice(5)
      const kind = calicoPlurals[plural ?? '']
      if (!kind || extra !== undefined) return undefined
      const namespaced = namespacedCalicoPlurals.has(plural!)
      if (!namespaced && namespace !== undefined) return undefined
      return {type: {name: plural!, store: plural!, group: 'crd.projectcalico.org', kind, namespaced, apiVersion: 'crd.projectcalico.org/v1'}, namespace, name}
    }
    return undefined
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    return text ? JSON.parse(text) : undefined
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double')
    const send = (code: number, body: unknown) => {
      res.writeHead(code, {'Content-Type': 'application/json'})
      res.end(JSON.stringify(body))
    }
    const contentType = req.headers['content-type']
    requests.push({method: req.method ?? '', path: url.pathname, query: url.searchParams, contentType})
    const broken = misbehaviour && (!misbehaviour.method || misbehaviour.method === req.method) && (!misbehaviour.path || misbehaviour.path === url.pathname) ? misbehaviour : undefined
    if (broken?.mode === 'raw') {
      res.writeHead(broken.status ?? 200, {'Content-Type': broken.contentType ?? 'application/json'})
      return void res.end(broken.body)
    }
    if (broken?.mode === 'trickle') return trickle(res, broken.intervalMs, broken.bytes)
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'))
    const target = route(url.pathname)
    if (!target) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'))
    const {type, namespace, name} = target
    const verb = {GET: name ? 'get' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete'}[req.method ?? ''] ?? 'unknown'
    const resourceName = type.group ? `${type.name}.${type.group}` : type.name
    if (denied.has(`${verb} ${type.name}`)) {
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'
      return send(403, status(403, 'Forbidden', `${resourceName}${name ? ` "${name}"` : ''} is forbidden: User "netctl-test" cannot ${verb} resource "${type.name}" in API group "${type.group}" ${scope}`, {name, group: type.group, kind: type.name}))
    }
    const objects = store.get(type.store) ?? new Map<string, KubeObject>()
    const notFound = () => send(404, status(404, 'NotFound', `${resourceName} "${name}" not found`, {name, group: type.group, kind: type.name}))
    const conflictWith = (stored: KubeObject) =>
      send(409, status(409, 'Conflict', `Operation cannot be fulfilled on ${resourceName} "${stored.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`, {name: stored.metadata.name, group: type.group, kind: type.name}))
    const key = name === undefined ? undefined : keyOf(type.namespaced ? namespace ?? 'default' : undefined, name)

    if (req.method === 'GET' && key === undefined) {
      const limit = Number(url.searchParams.get('limit') ?? 0)
      const token = url.searchParams.get('continue')
      if (broken?.mode === 'endless-pages') {
        const items = Array.from({length: broken.itemsPerPage}, () => stamp({metadata: {name: `endless-${endlessCounter++}`}}, type, namespace))
        return send(200, {kind: `${type.kind}List`, apiVersion: type.apiVersion, metadata: {resourceVersion: String(revision), continue: `endless-page-${++endlessPage}`}, items})
      }
      const after = token && broken?.mode !== 'repeat-continue' ? (JSON.parse(Buffer.from(token, 'base64url').toString()) as {after: string; rv: string}) : undefined
      const all = sorted(type.store)
        .filter(([k]) => !after || k > after.after)
        .filter(([, o]) => namespace === undefined || o.metadata.namespace === namespace)
        .filter(([, o]) => matchesFieldSelector(o, url.searchParams.get('fieldSelector')))
      const page = limit > 0 ? all.slice(0, limit) : all
      const metadata: Record<string, unknown> = {resourceVersion: after?.rv ?? String(revision)}
      if (broken?.mode === 'repeat-continue') metadata.continue = 'the-same-token-again'
      else if (page.length < all.length) {
        metadata.continue = Buffer.from(JSON.stringify({after: page.at(-1)![0], rv: metadata.resourceVersion})).toString('base64url')
        metadata.remainingItemCount = all.length - page.length
      }
      return send(200, {kind: `${type.kind}List`, apiVersion: type.apiVersion, metadata, items: page.map(([, o]) => o)})
    }
    if (req.method === 'GET') {
      const object = objects.get(key!)
      return object ? send(200, object) : notFound()
    }
    if (req.method === 'POST' && key === undefined) {
      const body = (await readBody(req)) as KubeObject
      if (!body?.metadata?.name) return send(422, status(422, 'Invalid', `${type.kind} is invalid: metadata.name: Required value: name or generateName is required`))
      if (body.metadata.resourceVersion) return send(422, status(422, 'Invalid', `${type.kind} "${body.metadata.name}" is invalid: metadata.resourceVersion: Invalid value: resourceVersion should not be set on objects to be created`))
      const createKey = keyOf(type.namespaced ? namespace ?? body.metadata.namespace ?? 'default' : undefined, body.metadata.name)
      if (objects.has(createKey)) return send(409, status(409, 'AlreadyExists', `${resourceName} "${body.metadata.name}" already exists`, {name: body.metadata.name, group: type.group, kind: type.name}))
      const created = stamp(body, type, namespace)
      bucket(type.store).set(createKey, created)
      return send(201, created)
    }
    const stored = key === undefined ? undefined : objects.get(key)
    if (req.method === 'PUT' && key !== undefined) {
      const body = (await readBody(req)) as KubeObject
      if (!stored) return notFound()
      if (body?.metadata?.name !== name) return send(400, status(400, 'BadRequest', `the name of the object (${body?.metadata?.name}) does not match the name on the URL (${name})`))
      if (!body.metadata.resourceVersion) return send(422, status(422, 'Invalid', `${type.kind} "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`))
      if (body.metadata.resourceVersion !== stored.metadata.resourceVersion) return conflictWith(stored)
      const updated = stamp({...body, metadata: {...body.metadata, uid: stored.metadata.uid, creationTimestamp: stored.metadata.creationTimestamp}}, type, stored.metadata.namespace)
      bucket(type.store).set(key, updated)
      return send(200, updated)
    }
    if (req.method === 'PATCH' && key !== undefined) {
      if (contentType !== 'application/merge-patch+json') {
        return send(415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (this test double implements no other)`))
      }
      const patch = (await readBody(req)) as {metadata?: {resourceVersion?: string}}
      if (!stored) return notFound()
      if (patch?.metadata?.resourceVersion && patch.metadata.resourceVersion !== stored.metadata.resourceVersion) return conflictWith(stored)
      const patched = stamp(mergePatch(stored, patch) as KubeObject, type, stored.metadata.namespace)
      bucket(type.store).set(key, patched)
      return send(200, patched)
    }
    if (req.method === 'DELETE' && key !== undefined) {
      const body = (await readBody(req)) as {preconditions?: {resourceVersion?: string}} | undefined
      if (!stored) return notFound()
      if (body?.preconditions?.resourceVersion && body.preconditions.resourceVersion !== stored.metadata.resourceVersion) return conflictWith(stored)
      bucket(type.store).delete(key)
      revision += 1
      return send(200, stored)
    }
    return send(405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`))
  }

  /** A valid empty list, padded with spaces to `bytes`, one byte per interval until done or the client hangs up. */
  function trickle(res: ServerResponse, intervalMs: number, bytes: number): void {
    const body = Buffer.from(JSON.stringify({kind: 'List', apiVersion: 'v1', metadata: {}, items: []}).padEnd(bytes, ' '))
    res.writeHead(200, {'Content-Type': 'application/json'})
    res.flushHeaders()
    let sent = 0
    const timer = setInterval(() => {
      res.write(body.subarray(sent, sent + 1))
      sent += 1
      if (sent >= body.length) finish()
    }, intervalMs)
    trickles.add(timer)
    const finish = () => {
      clearInterval(timer)
      trickles.delete(timer)
      res.end()
    }
    res.on('close', () => {
      if (sent < body.length) abandoned += 1
      clearInterval(timer)
      trickles.delete(timer)
    })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      res.writeHead(500, {'Content-Type': 'application/json'})
      res.end(JSON.stringify(status(500, 'InternalError', error.message)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as {port: number}).port}`

  return {
    url,
    token,
    requests,
    get abandoned() {
      return abandoned
    },
    misbehave(next) {
      misbehaviour = next
    },
    behave() {
      misbehaviour = undefined
    },
    seed(resource, objects) {
      const type = resource.startsWith('/') ? route(resource)!.type
        : resource === 'pods' ? route('/api/v1/namespaces/x/pods')!.type : resource === 'nodes' ? route('/api/v1/nodes')!.type : route(`/apis/crd.projectcalico.org/v1/${resource}`)!.type
      for (const object of objects) {
        const stamped = stamp(object, type, object.metadata.namespace)
        bucket(type.store).set(keyOf(stamped.metadata.namespace, stamped.metadata.name), stamped)
      }
    },
    deny(verb, resource) {
      denied.add(`${verb} ${resource}`)
    },
    writeKubeconfig(path, options = {}) {
      const user = options.exec
        ? {exec: {apiVersion: 'client.authentication.k8s.io/v1beta1', command: options.exec.command, args: options.exec.args, interactiveMode: 'Never'}}
        : {token: options.token ?? token}
      const contexts = [{name: 'double', context: {cluster: 'double', user: 'tester', namespace: options.namespace}}]
      if (options.extraContext) contexts.push({name: options.extraContext, context: {cluster: 'double', user: 'tester', namespace: 'other'}})
      writeFileSync(path, JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'double',
        // client-node refuses plain HTTP unless the cluster says insecure-skip-tls-verify.
        clusters: [{name: 'double', cluster: {server: url, 'insecure-skip-tls-verify': true}}],
        users: [{name: 'tester', user}],
        contexts,
      }))
    },
    stop: () => {
      // A trickle nobody hung up on must not keep the double (and the test run) alive.
      for (const timer of trickles) clearInterval(timer)
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
