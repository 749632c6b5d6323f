/**
 * kubectl's command-line habits, through the real binary: -h and `help <command>`, global flags
 * before the command, "did you mean" for an unknown command, --json equal to -o json.
 */
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'
import {poolYaml} from '../helpers/manifests.js'

describe('help', () => {
  it('-h is --help, for the root and for a command', async () => {
    const root = await runCli(['-h'])
    assert.equal(root.code, 0, root.stderr)
    assert.match(root.stdout, /^USAGE\n/m)
    assert.match(root.stdout, /^COMMANDS\n/m)
    const get = await runCli(['get', '-h'])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(get.stdout, (await runCli(['get', '--help'])).stdout)
    assert.match(get.stdout, /\$ netctl get /)
  })

  it('netctl help <command> and help <topic> <command> show that help; help alone the root help', async () => {
    const get = await runCli(['help', 'get'])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(get.stdout, (await runCli(['get', '--help'])).stdout)
    const ippoolSet = await runCli(['help', 'ippool', 'set'])
    assert.equal(ippoolSet.code, 0, ippoolSet.stderr)
    assert.equal(ippoolSet.stdout, (await runCli(['ippool', 'set', '--help'])).stdout)
    const topic = await runCli(['help', 'lab'])
    assert.equal(topic.code, 0, topic.stderr)
    assert.match(topic.stdout, /^ {2}lab up /m)
    const root = await runCli(['help'])
    assert.equal(root.code, 0, root.stderr)
    assert.equal(root.stdout, (await runCli(['--help'])).stdout)
  })

  it('help for a command that does not exist is an unknown command (exit 2)', async () => {
    const r = await runCli(['help', 'gett'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^Error: unknown command "gett"\n  did you mean "netctl get"\?/)
  })
})

describe('unknown commands', () => {
  it('say "did you mean" in netctl\'s error style, exit 2', async () => {
    const r = await runCli(['gett', 'pools'])
    assert.equal(r.code, 2)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr, 'Error: unknown command "gett pools"\n  did you mean "netctl get pools"? (netctl --help lists the commands)\n')
  })

  it('a mistyped subcommand of a topic is suggested with its topic', async () => {
    const r = await runCli(['ippool', 'sett', 'default-ipv4-ippool', '--ipip', 'Never'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^Error: unknown command "ippool sett default-ipv4-ippool"\n  did you mean "netctl ippool set default-ipv4-ippool"\?/)
  })

  it('nothing close: list the commands instead', async () => {
    const r = await runCli(['frobnicate'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^Error: unknown command "frobnicate"\n  netctl --help lists the commands\n$/)
  })
})

describe('global flags before the command', () => {
  let dir: ReturnType<typeof tempDir>
  before(async () => {
    dir = tempDir()
    const r = await runCli(['apply', '-f', '-'], {stateDir: join(dir.path, 'state'), input: poolYaml('p1', '10.1.0.0/16')})
    assert.equal(r.code, 0, r.stderr)
  })
  after(() => dir.cleanup())

  it('--state-dir, --datastore and -o before the command work as after it', async () => {
    const state = join(dir.path, 'state')
    const afterIt = await runCli(['get', 'ippools', '-o', 'yaml', '--state-dir', state, '--datastore', 'file'])
    assert.equal(afterIt.code, 0, afterIt.stderr)
    assert.match(afterIt.stdout, /name: p1/)
    for (const args of [
      ['--state-dir', state, '--datastore', 'file', 'get', 'ippools', '-o', 'yaml'],
      [`--state-dir=${state}`, '-o', 'yaml', 'get', 'ippools'],
      ['-o', 'yaml', '--state-dir', state, 'get', 'ippools'],
    ]) {
      const r = await runCli(args)
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stdout, afterIt.stdout, args.join(' '))
    }
  })

  it('--lab before the command means that lab (here: one that does not exist)', async () => {
    const state = join(dir.path, 'state')
    const r = await runCli(['--lab', 'demo', 'get', 'weps'], {stateDir: state})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^Error: there is no lab "demo"/)
  })

  it('--kubeconfig and --context before the command reach the Kubernetes datastore', async () => {
    const r = await runCli(['--datastore', 'kubernetes', '--kubeconfig', join(dir.path, 'nope.yaml'), '--context', 'x', 'get', 'ippools'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /nope\.yaml/)
  })

  it('flags after -- stay with the command run by lab exec', async () => {
    const r = await runCli(['--lab', 'demo', 'lab', 'exec', 'pod', '--', 'ip', '--lab', 'x'], {stateDir: join(dir.path, 'state')})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^Error: there is no lab "demo"/)
  })

  it('an unknown flag before the command is said to be one (exit 2)', async () => {
    const r = await runCli(['--frob', 'get', 'ippools'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^Error: unknown flag "--frob" before the command\n/)
    const onlyFlags = await runCli(['--lab', 'demo'])
    assert.equal(onlyFlags.code, 2)
    assert.match(onlyFlags.stderr, /^Error: no command after the flags "--lab demo"\n/)
  })

  it('the flags moved from before the command take a value exactly where the commands\' flags do', async () => {
    const {leadingBooleanFlags, leadingValueFlags} = (await import(join(repoRoot, 'bin', 'argv.js'))) as {leadingBooleanFlags: Set<string>; leadingValueFlags: Set<string>}
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, {name: string; char?: string; type: string}>}>}
    for (const [id, command] of Object.entries(manifest.commands)) {
      for (const flag of Object.values(command.flags)) {
        for (const spelling of [`--${flag.name}`, flag.char ? `-${flag.char}` : '']) {
          if (leadingValueFlags.has(spelling)) assert.equal(flag.type, 'option', `${id} ${spelling}`)
          if (leadingBooleanFlags.has(spelling)) assert.equal(flag.type, 'boolean', `${id} ${spelling}`)
        }
      }
    }
  })
})

describe('--json and -o json', () => {
  let dir: ReturnType<typeof tempDir>
  before(async () => {
    dir = tempDir()
    const policy = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-web}
spec: {selector: app == "web", ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]}
`
    const endpoint = (pod: string, ip: string) => `apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-${pod}-eth0, namespace: default, labels: {app: ${pod}, projectcalico.org/namespace: default}}
spec: {orchestrator: k8s, node: node1, pod: ${pod}, endpoint: eth0, ipNetworks: [${ip}/32], interfaceName: cali${pod}}
`
    const input = [poolYaml('p1', '10.1.0.0/16'), poolYaml('p2', '10.2.0.0/16'), policy, endpoint('web', '10.1.0.1'), endpoint('db', '10.1.0.2')].join('---\n')
    const r = await runCli(['apply', '-f', '-'], {stateDir: dir.path, input})
    assert.equal(r.code, 0, r.stderr)
  })
  after(() => dir.cleanup())

  for (const args of [
    ['get', 'ippools'], ['get', 'ippool', 'p1'], ['get', 'ippools', 'p1', 'p2'], ['get', 'weps', '-A'], ['config', 'view'],
    ['policy', 'selects', 'allow-web'], ['policy', 'explain', 'web'], ['policy', 'eval', '--from', 'db', '--to', 'web', '--protocol', 'TCP', '--port', '80'],
  ]) {
    it(`netctl ${args.join(' ')}: the same bytes`, async () => {
      const json = await runCli([...args, '--json'], {stateDir: dir.path})
      const o = await runCli([...args, '-o', 'json'], {stateDir: dir.path})
      // policy eval exits 1 for a denied flow, with the verdict printed all the same.
      assert.equal(json.code, o.code, json.stderr)
      assert.ok(json.stdout.startsWith('{'), json.stderr)
      assert.equal(json.stdout, o.stdout)
    })
  }
})

describe('npm pack', () => {
  it('ships every file the README and the help text point to', async () => {
    const {spawnSync} = await import('node:child_process')
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {cwd: repoRoot, encoding: 'utf8'})
    assert.equal(r.status, 0, r.stderr)
    const packed = new Set((JSON.parse(r.stdout) as Array<{files: Array<{path: string}>}>)[0]!.files.map((f) => f.path))
    const pointedTo = new Set<string>()
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
    const manifest = readFileSync(join(repoRoot, 'oclif.manifest.json'), 'utf8')
    // Messages (a lab topology error says "see schemas/lab-topology.schema.json") point there too.
    const sources = readdirSync(join(repoRoot, 'src'), {recursive: true}).filter((f) => String(f).endsWith('.ts')).map((f) => readFileSync(join(repoRoot, 'src', String(f)), 'utf8'))
    // Relative paths the texts name: schemas/…, examples/…, docs/… (links and commands alike).
    for (const text of [readme, manifest, ...sources]) {
      for (const m of text.matchAll(/(?<![\w./-])((?:schemas|examples|docs|completions|libexec)\/[\w./-]*\w)/g)) pointedTo.add(m[1]!)
    }
    assert.ok(pointedTo.size > 0, 'the README names files of the package')
    const missing = [...pointedTo].filter((path) => ![...packed].some((p) => p === path || p.startsWith(path.endsWith('/') ? path : `${path}/`)))
    assert.deepEqual(missing, [])
    for (const bin of ['bin/run.js', 'bin/argv.js', 'bin/kubectl-netctl.js']) assert.ok(packed.has(bin), `${bin} is packed`)
    assert.ok(packed.has('oclif.manifest.json'))
  })
})
