/** Run the real netctl binary (bin/run.js on the built dist/) against a private state dir. */
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const netctlBin = join(repoRoot, 'bin', 'run.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export function runCli(args: string[], options: {env?: Record<string, string>; input?: string; stateDir?: string} = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = {...process.env, ...options.env}
  // Tests never read the developer's own settings.
  for (const name of ['DATASTORE_TYPE', 'CALICO_DATASTORE_TYPE', 'ETCD_ENDPOINTS', 'KUBECONFIG', 'NETCTL_CONFIG', 'NETCTL_DEBUG']) {
    if (!options.env?.[name]) delete env[name]
  }
  if (options.stateDir) env.NETCTL_STATE_DIR = options.stateDir
  env.XDG_CONFIG_HOME = join(tmpdir(), 'netctl-test-no-config')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [netctlBin, ...args], {env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
    child.stdin.end(options.input ?? '')
  })
}

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'netctl-test-'): {path: string; cleanup: () => void} {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return {path, cleanup: () => rmSync(path, {recursive: true, force: true})}
}
