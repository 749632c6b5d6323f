/**
 * The kubeconfig as kubectl reads it, loaded into @kubernetes/client-node's KubeConfig:
 * --kubeconfig (one file, which must exist), else KUBECONFIG (a list: missing files skipped,
 * the first file to name a context, cluster or user wins, the first current-context wins),
 * else ~/.kube/config, else the pod's service account; none of those is an error that says
 * where netctl looked (client-node would quietly try http://localhost:8080).
 * Two things kubectl accepts and client-node 1.4 does not are adjusted here, with
 * client-node's own settings (see kubectlCompatible).
 */
import {accessSync, existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {delimiter, join} from 'node:path'

import {NetctlError} from '../errors.js'
import {requireVendorBundle} from './vendor.js'

type KubeConfig = import('@kubernetes/client-node').KubeConfig

export interface KubeconfigSource {
  /** The setting: --kubeconfig, KUBECONFIG or the config file's kubeconfig. */
  kubeconfig?: string
  /** Where it came from: "flag --kubeconfig", "env KUBECONFIG", "file …". */
  source?: string
  /** The context to use instead of the current one (--context). */
  context?: string
  /** The namespace to use instead of the context's (kubectl -n). */
  namespace?: string
}

const serviceAccountToken = '/var/run/secrets/kubernetes.io/serviceaccount/token'

/** The files a kubeconfig setting names, and where they were looked for (for messages). */
export function kubeconfigFiles(setting: KubeconfigSource, env: NodeJS.ProcessEnv = process.env): {files: string[]; inCluster: boolean} {
  const {kubeconfig, source = 'flag --kubeconfig'} = setting
  if (kubeconfig) {
    // Only an environment variable is a list (kubectl's KUBECONFIG); a flag or config file names one file.
    if (!source.startsWith('env ')) {
      if (!existsSync(kubeconfig)) throw new NetctlError('usage', `cannot load the kubeconfig ${kubeconfig} (from ${source}): it does not exist`, 'point --kubeconfig or KUBECONFIG at an existing kubeconfig file')
      return {files: [kubeconfig], inCluster: false}
    }
    const listed = kubeconfig.split(delimiter).filter(Boolean)
    const files = listed.filter((f) => existsSync(f))
    if (files.length === 0) {
      throw new NetctlError('usage', `no kubeconfig found: none of the files in ${source.slice(4)} exists (${listed.join(', ')})`, `point ${source.slice(4)} or --kubeconfig at a kubeconfig file`)
    }
    return {files, inCluster: false}
  }
  const home = join(env.HOME || homedir(), '.kube', 'config')
  if (existsSync(home)) return {files: [home], inCluster: false}
  if (env.KUBERNETES_SERVICE_HOST && readable(serviceAccountToken)) return {files: [], inCluster: true}
  throw new NetctlError(
    'usage',
    `no kubeconfig found: KUBECONFIG is not set and ${home} does not exist`,
    'point KUBECONFIG or --kubeconfig at a kubeconfig file (or run inside a pod, with its service account)',
  )
}

/** Load the kubeconfig the setting names (see the file comment) into a client-node KubeConfig. */
export async function loadKubeconfig(setting: KubeconfigSource, env: NodeJS.ProcessEnv = process.env): Promise<KubeConfig> {
  const KubeConfig = await kubeConfigClass()
  const {files, inCluster} = kubeconfigFiles(setting, env)
  const kc = new KubeConfig()
  if (inCluster) {
    kc.loadFromCluster()
    return withOverrides(kubectlCompatible(kc), setting)
  }
  const loaded = files.map((file) => {
    const one = new KubeConfig()
    try {
      one.loadFromFile(file)
    } catch (error) {
      throw new NetctlError('usage', `cannot load the kubeconfig ${file}: ${(error as Error).message}`, 'fix the file, or point KUBECONFIG or --kubeconfig at a valid kubeconfig', {cause: error})
    }
    return one
  })
  // kubectl's merge: the first file to set a name (or the current context) wins.
  const firstByName = <T extends {name: string}>(lists: T[][]) => {
    const seen = new Map<string, T>()
    for (const item of lists.flat()) if (!seen.has(item.name)) seen.set(item.name, item)
    return [...seen.values()]
  }
  kc.loadFromOptions({
    clusters: firstByName(loaded.map((k) => k.clusters)),
    users: firstByName(loaded.map((k) => k.users)),
    contexts: firstByName(loaded.map((k) => k.contexts)),
    currentContext: loaded.map((k) => k.currentContext).find(Boolean) ?? '',
  })
  return withOverrides(kubectlCompatible(kc), setting)
}

/**
 * client-node's KubeConfig as `npm run build` bundles it (scripts/bundle-vendor.js: without the
 * generated API clients netctl never calls, 50 ms and 13 MB to load instead of 0.6 s and 75 MB);
 * the package itself when running from src.
 */
async function kubeConfigClass(): Promise<typeof import('@kubernetes/client-node').KubeConfig> {
  return (requireVendorBundle<typeof import('@kubernetes/client-node')>('kubeconfig.js') ?? (await import('@kubernetes/client-node'))).KubeConfig
}

/** --context and -n over the kubeconfig's current context and its namespace, as kubectl applies them. */
function withOverrides(kc: KubeConfig, {context, namespace}: KubeconfigSource): KubeConfig {
  if (context) {
    if (!kc.getContextObject(context)) {
      throw new NetctlError('usage', `the kubeconfig has no context "${context}"`, `use one of: ${kc.getContexts().map((c) => c.name).join(', ') || '(none)'}`)
    }
    kc.setCurrentContext(context)
  }
  if (namespace) {
    const current = kc.getCurrentContext()
    kc.loadFromOptions({
      clusters: kc.clusters, users: kc.users, currentContext: current,
      contexts: kc.contexts.map((c) => (c.name === current ? {...c, namespace} : c)),
    })
  }
  return kc
}

/** A user entry for contexts that name none. */
const anonymous = 'netctl:no-user'

/**
 * What kubectl accepts and client-node 1.4 refuses or drops, stated with client-node's own settings:
 * - A cluster served over plain http (`kubectl proxy`: server http://127.0.0.1:8001). client-node
 *   builds an http agent only for a cluster marked insecure-skip-tls-verify and throws "HTTP
 *   protocol is not allowed" otherwise; on plain HTTP there is no TLS to verify, so the mark
 *   changes nothing but the agent.
 * - A context with no user (the same proxy, or an anonymous cluster): client-node then skips the
 *   cluster's CA and TLS server name along with the user's credentials. An empty user keeps them.
 */
function kubectlCompatible(kc: KubeConfig): KubeConfig {
  const plainHttp = kc.clusters.some((c) => c.server?.startsWith('http:') && !c.skipTLSVerify)
  const userless = kc.contexts.some((c) => !c.user)
  if (!plainHttp && !userless) return kc
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.server?.startsWith('http:') ? {...c, skipTLSVerify: true} : c)),
    users: userless ? [...kc.users, {name: anonymous}] : kc.users,
    contexts: kc.contexts.map((c) => (c.user ? c : {...c, user: anonymous})),
    currentContext: kc.currentContext,
  })
  return kc
}

function readable(path: string): boolean {
  try {
    accessSync(path)
    return true
  } catch {
    return false
  }
}

/** One row of `config get-contexts`: kubectl's columns, for netctl's contexts and the kubeconfig's. */
export interface ContextRow {
  current: boolean
  name: string
  cluster: string
  authInfo: string
  namespace: string
  /** netctl's own (default, lab/NAME) or the kubeconfig's. */
  from: 'netctl' | 'kubeconfig'
}

interface ContextSettings {
  values: import('./config.js').ConfigValues
  settings: import('./config.js').ResolvedConfig['settings']
}

/** The kubeconfig of these settings, or undefined when there is none anywhere (not an error for listing). */
async function optionalKubeconfig(resolved: ContextSettings, required: boolean): Promise<KubeConfig | undefined> {
  const setting = {kubeconfig: resolved.values.kubeconfig, source: resolved.values.kubeconfigSource}
  try {
    return await loadKubeconfig(setting)
  } catch (error) {
    if (!required && error instanceof NetctlError && error.message.startsWith('no kubeconfig found')) return undefined
    throw error
  }
}

/** The name of the context plain netctl uses with these settings: the kubeconfig context on the Kubernetes datastore, else lab/NAME or default. */
export async function contextInUse(resolved: ContextSettings, kc?: KubeConfig): Promise<string> {
  const {values} = resolved
  if (values.datastoreType !== 'kubernetes') return values.lab ? `lab/${values.lab}` : 'default'
  if (values.k8sContext) return values.k8sContext
  const config = kc ?? (await optionalKubeconfig(resolved, true))!
  if (!config.currentContext) throw new NetctlError('usage', 'the kubeconfig sets no current-context', 'pass --context NAME, or set one with: netctl config use-context NAME')
  return config.currentContext
}

/** netctl's contexts (default, then the labs), then the kubeconfig's; `current` on the one in use. */
export async function listContexts(resolved: ContextSettings, labs: string[]): Promise<ContextRow[]> {
  const kube = resolved.values.datastoreType === 'kubernetes'
  const kc = await optionalKubeconfig(resolved, kube)
  const inUse = await contextInUse(resolved, kc)
  // What `default` means: the datastore that flags, environment and config file choose, else the embedded one.
  const chosen = resolved.settings.datastoreType
  const defaultType = chosen && /^(flag|env|file) /.test(chosen.source) && !/^flag --(context|kubeconfig)$/.test(chosen.source) ? chosen.value : 'file'
  const rows: ContextRow[] = [
    {current: !kube && inUse === 'default', name: 'default', cluster: `(netctl: ${defaultType} datastore)`, authInfo: '', namespace: '', from: 'netctl'},
    ...labs.map((lab): ContextRow => ({current: !kube && inUse === `lab/${lab}`, name: `lab/${lab}`, cluster: `(netctl: lab ${lab})`, authInfo: '', namespace: '', from: 'netctl'})),
  ]
  for (const context of kc?.contexts ?? []) {
    rows.push({
      current: kube && inUse === context.name, name: context.name, cluster: context.cluster,
      authInfo: context.user === anonymous ? '' : context.user, namespace: context.namespace ?? '', from: 'kubeconfig',
    })
  }
  return rows
}
