/**
 * netctl as a kubectl plugin: kubectl-netctl (package.json "bin") run by the real kubectl when
 * one is installed (`kubectl netctl …` finds kubectl-netctl on PATH), and directly. kubectl's
 * --kubeconfig, --context and -n/--namespace reach netctl's Kubernetes datastore settings.
 */
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {readFileSync, symlinkSync} from 'node:fs'
import {delimiter, dirname, join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {repoRoot, tempDir, type CliResult} from '../helpers/cli.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

const pluginBin = join(repoRoot, 'bin', 'kubectl-netctl.js')
const kubectl = spawnSync('sh', ['-c', 'command -v kubectl'], {encoding: 'utf8'}).stdout.trim()

const pod = (namespace: string, name: string, ip: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace}, spec: {nodeName: 'node01', containers: [{}]}, status: {phase: 'Running', podIP: ip, podIPs: [{ip}]},
})

function run(command: string, args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
  })
}

describe('kubectl plugin', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let kubeconfig: string
  let env: Record<string, string | undefined>

  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir('netctl-kubectl-plugin-')
    kubeconfig = join(dir.path, 'kubeconfig')
    // Context "double" has namespace team-a; context "elsewhere" has namespace other.
    api.writeKubeconfig(kubeconfig, {namespace: 'team-a', extraContext: 'elsewhere'})
    api.seed('pods', [pod('team-a', 'web-a', '192.168.1.10'), pod('other', 'web-other', '192.168.1.20'), pod('team-b', 'web-b', '192.168.1.30')])
    // PATH: a directory with kubectl-netctl (a link to the packaged bin, as npm installs it) and node.
    symlinkSync(pluginBin, join(dir.path, 'kubectl-netctl'))
    env = {
      PATH: [dir.path, dirname(process.execPath), process.env.PATH].join(delimiter),
      HOME: join(dir.path, 'home'),
      NETCTL_STATE_DIR: join(dir.path, 'state'),
      XDG_CONFIG_HOME: join(dir.path, 'no-config'),
      KUBECONFIG: kubeconfig,
    }
  })
  after(async () => {
    await api?.stop()
    dir?.cleanup()
  })

  it('package.json installs kubectl-netctl', () => {
    const pjson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {bin: Record<string, string>}
    assert.equal(pjson.bin['kubectl-netctl'], './bin/kubectl-netctl.js')
    assert.equal(pjson.bin.netctl, './bin/run.js')
  })

  // The same checks, through kubectl when there is one and straight to the plugin always.
  const ways: Array<[string, () => [string, string[]]]> = [
    ['kubectl netctl', () => [kubectl, ['netctl']]],
    ['kubectl-netctl (run directly)', () => [join(dir.path, 'kubectl-netctl'), []]],
  ]
  for (const [way, invocation] of ways) {
    const viaKubectl = way.startsWith('kubectl netctl')
    describe(way, {skip: viaKubectl && !kubectl ? 'no kubectl on this machine (`command -v kubectl` found none); kubectl-netctl is tested directly below' : false}, () => {
      const netctl = (args: string[], extra: Record<string, string | undefined> = {}) => {
        const [command, prefix] = invocation()
        return run(command, [...prefix, ...args], {...env, ...extra})
      }

      it('get weps: the Kubernetes datastore, in the kubeconfig\'s current context and its namespace', async () => {
        const r = await netctl(['get', 'weps'])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /web-a/)
        assert.doesNotMatch(r.stdout, /web-other|web-b/)
      })

      it('--context picks the context (and its namespace), --kubeconfig the file', async () => {
        const context = await netctl(['get', 'weps', '--context', 'elsewhere'])
        assert.equal(context.code, 0, context.stderr)
        assert.match(context.stdout, /web-other/)
        assert.doesNotMatch(context.stdout, /web-a/)
        const file = await netctl(['get', 'weps', '--kubeconfig', kubeconfig, '--context=elsewhere'], {KUBECONFIG: join(dir.path, 'missing')})
        assert.equal(file.code, 0, file.stderr)
        assert.match(file.stdout, /web-other/)
      })

      it('-n and --namespace, also for commands that have no namespace flag of their own', async () => {
        for (const flag of [['-n', 'team-b'], ['--namespace', 'team-b'], ['--namespace=team-b'], ['-nteam-b']]) {
          const r = await netctl(['get', 'weps', ...flag])
          assert.equal(r.code, 0, `${flag.join(' ')}: ${r.stderr}`)
          assert.match(r.stdout, /web-b/, flag.join(' '))
          assert.doesNotMatch(r.stdout, /web-a/, flag.join(' '))
        }
        // config view has no -n: the namespace is the datastore's default namespace, and says where it came from.
        const view = await netctl(['config', 'view', '-n', 'team-b'])
        assert.equal(view.code, 0, view.stderr)
        assert.match(view.stdout, /k8sNamespace\s+team-b\s+env NETCTL_K8S_NAMESPACE/)
        assert.match(view.stdout, /datastoreType\s+kubernetes\s+env DATASTORE_TYPE/)
      })

      it('flags after -- are left to the command', async () => {
        const r = await netctl(['config', 'view', '--', '-n', 'x'])
        assert.notEqual(r.code, 0)
        assert.doesNotMatch(r.stdout, /k8sNamespace/)
      })
    })
  }
})
