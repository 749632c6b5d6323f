/**
 * Where netctl's datastore settings come from: flags over environment over a config file
 * (calicoctl's CalicoAPIConfig format), and where each value came from, for `config view`.
 */
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {NetctlError} from '../errors.js'
import {datastoreTypes, type DatastoreType} from './datastore.js'
import {readStateFile} from './safe-fs.js'

export interface ConfigValues {
  datastoreType: DatastoreType
  /** netctl's own state: the embedded datastore, labs, the current context. */
  stateDir: string
  /** The lab whose datastore is used (from --lab or the current context). */
  lab?: string
  /** Where the file datastore lives: the state dir, or the lab's directory. */
  fileDatastoreDir?: string
  etcdEndpoints?: string
  etcdUsername?: string
  etcdPassword?: string
  etcdCACertFile?: string
  etcdCertFile?: string
  etcdKeyFile?: string
  kubeconfig?: string
  /** Where kubeconfig came from ("env KUBECONFIG" is a list of files, a flag or file names one). */
  kubeconfigSource?: string
  k8sContext?: string
  /** The Kubernetes datastore's default namespace, over the context's (kubectl -n, through the kubectl plugin). */
  k8sNamespace?: string
}

export type ConfigField = Exclude<keyof ConfigValues, 'fileDatastoreDir' | 'kubeconfigSource'>

export interface ConfigSetting {
  value: string
  /** "flag --datastore", "env DATASTORE_TYPE", "file /etc/calico/calicoctl.cfg" or "default". */
  source: string
  secret?: boolean
}

export interface ResolvedConfig {
  values: ConfigValues
  settings: Partial<Record<ConfigField, ConfigSetting>>
  /** The config file that was read, if any. */
  file?: string
}

export type ConfigFlags = Partial<Record<ConfigField, string>> & {config?: string}

interface FieldSpec {
  flag?: string
  env: string[]
  /** Key under spec: in a CalicoAPIConfig file. */
  file?: string
  secret?: boolean
}

// The CALICO_-prefixed names are calicoctl's alternates; the plain name wins when both are set.
const calicoEnv = (name: string) => [name, `CALICO_${name}`]

const fields: Record<ConfigField, FieldSpec> = {
  datastoreType: {flag: '--datastore', env: calicoEnv('DATASTORE_TYPE'), file: 'datastoreType'},
  lab: {flag: '--lab', env: ['NETCTL_LAB']},
  stateDir: {flag: '--state-dir', env: ['NETCTL_STATE_DIR']},
  etcdEndpoints: {flag: '--etcd-endpoints', env: calicoEnv('ETCD_ENDPOINTS'), file: 'etcdEndpoints'},
  etcdUsername: {env: calicoEnv('ETCD_USERNAME'), file: 'etcdUsername'},
  etcdPassword: {env: calicoEnv('ETCD_PASSWORD'), file: 'etcdPassword', secret: true},
  etcdCACertFile: {env: calicoEnv('ETCD_CA_CERT_FILE'), file: 'etcdCACertFile'},
  etcdCertFile: {env: calicoEnv('ETCD_CERT_FILE'), file: 'etcdCertFile'},
  etcdKeyFile: {env: calicoEnv('ETCD_KEY_FILE'), file: 'etcdKeyFile'},
  kubeconfig: {flag: '--kubeconfig', env: calicoEnv('KUBECONFIG'), file: 'kubeconfig'},
  k8sContext: {flag: '--context', env: calicoEnv('K8S_CURRENT_CONTEXT'), file: 'k8sCurrentContext'},
  k8sNamespace: {env: ['NETCTL_K8S_NAMESPACE']},
}

export const defaultStateDir = (env: NodeJS.ProcessEnv): string =>
  join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'netctl')

/** The files tried when --config is not given, in order. */
export const defaultConfigFiles = (env: NodeJS.ProcessEnv): string[] => [
  join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'netctl', 'config.yaml'),
  '/etc/calico/calicoctl.cfg',
]

export async function resolveConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  const explicitFile = flags.config ?? env.NETCTL_CONFIG
  const candidates = explicitFile ? [explicitFile] : defaultConfigFiles(env)
  let file: string | undefined
  let fileSpec: Record<string, unknown> = {}
  for (const path of candidates) {
    const spec = await readConfigFile(path, explicitFile !== undefined)
    if (spec) {
      file = path
      fileSpec = spec
      break
    }
  }

  const settings: Partial<Record<ConfigField, ConfigSetting>> = {}
  for (const [field, spec] of Object.entries(fields) as Array<[ConfigField, FieldSpec]>) {
    const fromFlag = flags[field]
    const envName = spec.env.find((name) => env[name])
    const fromFile = spec.file ? fileSpec[spec.file] : undefined
    let setting: ConfigSetting | undefined
    if (fromFlag !== undefined) setting = {value: fromFlag, source: `flag ${spec.flag}`}
    else if (envName) setting = {value: env[envName]!, source: `env ${envName}`}
    else if (fromFile !== undefined && fromFile !== '') setting = {value: String(fromFile), source: `file ${file}`}
    if (setting) settings[field] = spec.secret ? {...setting, secret: true} : setting
  }
  settings.datastoreType ??= {value: 'file', source: 'default'}
  settings.stateDir ??= {value: defaultStateDir(env), source: 'default'}

  selectContext(settings)
  const type = settings.datastoreType.value
  if (!datastoreTypes.includes(type as DatastoreType)) {
    throw new NetctlError('usage', `unknown datastore type "${type}" (from ${settings.datastoreType.source})`, `use one of: ${datastoreTypes.join(', ')}`)
  }
  const values = Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, s.value])) as unknown as ConfigValues
  values.fileDatastoreDir = values.lab ? labDirectory(values.stateDir, values.lab) : values.stateDir
  if (settings.kubeconfig) values.kubeconfigSource = settings.kubeconfig.source
  return {values, settings, file}
}

/** Labs live in <state dir>/labs/<name>; lab.json says which datastore each one uses. */
export const labDirectory = (stateDir: string, lab: string) => join(stateDir, ...labPath(lab))
export const currentContextFile = (stateDir: string) => join(stateDir, ...currentContextPath)
/** The same places as names below the state dir, for safe-fs (which checks every level). */
export const currentContextPath = ['current-context']
export const labPath = (lab: string, ...file: string[]) => ['labs', lab, ...file]

/**
 * What a context names, the rule in one place:
 * - netctl's current context (set by `lab up` and `config use-context`) is `default` (the settings
 *   as flags, environment and config file give them), `lab/NAME` (that lab's datastore) or the name
 *   of a kubeconfig context (the Kubernetes datastore in that context). It applies only when
 *   nothing chose a datastore (--datastore, DATASTORE_TYPE, the config file, --lab).
 * - --context always names a kubeconfig context, as in kubectl: with no datastore chosen it means
 *   the Kubernetes datastore (so does --kubeconfig); with --lab or another datastore it is an error.
 */
function selectContext(settings: Partial<Record<ConfigField, ConfigSetting>>): void {
  const stateDir = settings.stateDir!.value
  const contextFlag = settings.k8sContext?.source.startsWith('flag') ? settings.k8sContext.value : undefined
  const kubeconfigFlag = settings.kubeconfig?.source.startsWith('flag')
  if (contextFlag !== undefined) {
    if (contextFlag.startsWith('lab/')) {
      throw new NetctlError('usage', `--context names a kubeconfig context, and "${contextFlag}" is netctl's context of lab "${contextFlag.slice(4)}"`, `use --lab ${contextFlag.slice(4)} (or netctl config use-context ${contextFlag})`)
    }
    if (settings.lab) throw new NetctlError('usage', `--context (a kubeconfig context) and --lab name two different datastores`, `drop one of them (the lab came from ${settings.lab.source})`)
  }
  if (!settings.lab && settings.datastoreType!.source === 'default') {
    if (contextFlag !== undefined || kubeconfigFlag) {
      settings.datastoreType = {value: 'kubernetes', source: contextFlag !== undefined ? 'flag --context' : 'flag --kubeconfig'}
    } else {
      const context = readContext(stateDir)
      if (context?.startsWith('lab/')) settings.lab = {value: context.slice(4), source: `context ${context}`}
      else if (context && context !== 'default') {
        settings.datastoreType = {value: 'kubernetes', source: `context ${context}`}
        settings.k8sContext ??= {value: context, source: `context ${context}`}
      }
    }
  }
  const type = settings.datastoreType!
  if (contextFlag !== undefined && type.value !== 'kubernetes') {
    throw new NetctlError('usage', `--context names a kubeconfig context, which only the kubernetes datastore uses (the datastore is ${type.value}, from ${type.source})`, 'drop --context, or add --datastore kubernetes')
  }
  const lab = settings.lab?.value
  if (!lab) return
  const record = readStateFile(stateDir, labPath(lab, 'lab.json'))
  if (!record) {
    if (settings.lab!.source.startsWith('context')) {
      delete settings.lab // the current lab is gone: fall back to the embedded datastore
      return
    }
    throw new NetctlError('not-found', `there is no lab "${lab}" in ${stateDir}`, 'list the labs with: netctl lab list')
  }
  let datastore: {type?: string; etcdEndpoints?: string}
  try {
    datastore = (JSON.parse(record) as {datastore?: typeof datastore}).datastore ?? {}
  } catch {
    throw new NetctlError('unavailable', `the record of lab "${lab}" (${join(labDirectory(stateDir, lab), 'lab.json')}) is not valid JSON`, `take the lab down and make it again: netctl lab down ${lab}`)
  }
  settings.datastoreType = {value: datastore.type ?? 'file', source: `lab ${lab}`}
  if (datastore.etcdEndpoints) settings.etcdEndpoints = {value: datastore.etcdEndpoints, source: `lab ${lab}`}
}

function readContext(stateDir: string): string | undefined {
  try {
    return readStateFile(stateDir, currentContextPath)?.trim()
  } catch (error) {
    // A state dir this user cannot enter is reported where it is used, not while reading the
    // settings: `lab up` without root must say that it needs root. Unsafe entries still throw.
    if (error instanceof NetctlError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'EACCES') return undefined
    throw error
  }
}

async function readConfigFile(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new NetctlError('usage', `cannot read the config file ${path}: ${(error as Error).message}`, 'pass an existing file to --config')
  }
  // Bounded like every input: a hostile config file (an alias bomb) is refused, not expanded.
  const {parseOneDocument} = await import('../resources/documents.js')
  const doc = await parseOneDocument(text, `the config file ${path}`)
  const config = doc as {kind?: unknown; spec?: unknown} | null
  if (!config || config.kind !== 'CalicoAPIConfig' || typeof config.spec !== 'object' || config.spec === null) {
    throw new NetctlError(
      'usage',
      `the config file ${path} is not a CalicoAPIConfig`,
      'write apiVersion: projectcalico.org/v3, kind: CalicoAPIConfig and a spec with datastoreType',
    )
  }
  return config.spec as Record<string, unknown>
}
