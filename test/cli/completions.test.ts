/**
 * Shell completions, driven as the shells drive them: bash through COMP_LINE/COMP_POINT and the
 * function, zsh (when installed) through words/CURRENT with compadd and _files stubbed to print what
 * they were given. Both ask the real `netctl __complete` (the built binary) against a private state dir.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {createServer, type AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {defaultTopology} from '../../src/lab/topology/topology.js'
import {netctlBin, repoRoot, runCli, tempDir} from '../helpers/cli.js'

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`
const hasZsh = spawnSync('zsh', ['-fc', 'true']).status === 0

describe('shell completions', () => {
  let state: ReturnType<typeof tempDir>
  const env = () => ({...process.env, NETCTL_STATE_DIR: state.path, XDG_CONFIG_HOME: join(state.path, 'no-config')})
  const prelude = () => `netctl() { ${quote(process.execPath)} ${quote(netctlBin)} "$@"; }\n`

  /** COMPREPLY for the line typed so far (the cursor at its end). */
  const bash = (line: string): string[] => {
    const script = `${prelude()}source ${quote(join(repoRoot, 'completions/netctl.bash'))}\nCOMP_LINE=${quote(line)}; COMP_POINT=\${#COMP_LINE}; COMP_WORDBREAKS=$'"\\'><=;|&(:'\n_netctl_autocomplete\nprintf '%s\\n' "\${COMPREPLY[@]}"`
    const result = spawnSync('bash', ['--norc', '-c', script], {encoding: 'utf8', env: env(), cwd: state.path})
    assert.equal(result.stderr, '', line)
    return result.stdout.split('\n').filter(Boolean)
  }

  /** What _netctl handed to compadd (its options, then the words), or "_files". */
  const zsh = (line: string): string => {
    const script = `${prelude()}compadd() { local -a opts; while [[ $1 != -- ]]; do opts+=("$1"); shift; done; shift; print -r -- "\${opts[*]}|$*"; }\n_files() { print -r -- _files; }\nsource ${quote(join(repoRoot, 'completions/_netctl'))}\nwords=(\${(z)\${:-${quote(line)}}}); [[ ${quote(line)} == *' ' ]] && words+=(''); CURRENT=\${#words}; _netctl`
    const result = spawnSync('zsh', ['-fc', script], {encoding: 'utf8', env: env()})
    assert.equal(result.stderr, '', line)
    return result.stdout.trim()
  }

  before(async () => {
    state = tempDir()
    const created = await runCli(['create', '-f', join(repoRoot, 'test', 'fixtures', 'pools.yaml')], {stateDir: state.path})
    assert.equal(created.code, 0, created.stderr)
    // Two labs as lab up records them: a cluster lab (its nodes and pods come from its topology) and a basic one.
    for (const record of [
      {name: 'comp-cluster', topology: defaultTopology({nodes: 2, podsPerNode: 1})},
      {name: 'comp-veth', basic: 'veth'},
    ]) {
      mkdirSync(join(state.path, 'labs', record.name), {recursive: true, mode: 0o700})
      writeFileSync(join(state.path, 'labs', record.name, 'lab.json'), JSON.stringify({apiVersion: 'netctl/v1', kind: 'Lab', datastore: {type: 'file'}, createdAt: new Date().toISOString(), ...record}))
    }
  })
  after(() => state?.cleanup())

  it('the build writes bash and zsh completion scripts', () => {
    assert.ok(existsSync(join(repoRoot, 'completions/netctl.bash')))
    assert.ok(existsSync(join(repoRoot, 'completions/_netctl')))
  })

  it('bash completes commands, topics and flags; hidden commands stay hidden', () => {
    assert.deepEqual(bash('netctl ipp'), ['ippool'])
    assert.deepEqual(bash('netctl lab s'), ['set-backend', 'status'])
    assert.ok(bash('netctl ippool set --').includes('--ipip'))
    assert.ok(bash('netctl get --').includes('--all-namespaces'))
    assert.ok(bash('netctl get --').includes('--export'))
    const top = bash('netctl ')
    assert.ok(top.includes('get') && top.includes('lab'))
    assert.ok(!top.some((c) => c === 'complete' || c === '__complete'), top.join(' '))
  })

  it('--help lists neither the hidden completion command nor its alias', async () => {
    const help = await runCli(['--help'], {stateDir: state.path})
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /^COMMANDS/m)
    assert.doesNotMatch(help.stdout, /^ +(__)?complete /m)
  })

  it('bash completes kinds and their aliases, also after a comma', () => {
    assert.deepEqual(bash('netctl get ipp'), ['ippool', 'ippools', 'ipp', 'ipps'])
    assert.ok(bash('netctl get ').includes('globalnetworkpolicies'))
    assert.ok(!bash('netctl get ').includes('gnp'), 'an empty word offers the plurals only')
    assert.deepEqual(bash('netctl get ippool,gn'), ['ippool,gnp', 'ippool,gnps', 'ippool,gnetsets'])
    assert.deepEqual(bash('netctl patch gnp'), ['gnp', 'gnps'])
  })

  it('bash completes resource names from the datastore, not the ones already given', () => {
    assert.deepEqual(bash('netctl get ippool '), ['default-ipv4-ippool', 'pool-b'])
    assert.deepEqual(bash('netctl delete ippools pool-b '), ['default-ipv4-ippool'])
    assert.deepEqual(bash('netctl patch ipp p'), ['pool-b'])
    assert.deepEqual(bash('netctl patch ipp d'), ['default-ipv4-ippool'])
    assert.deepEqual(bash('netctl ippool set p'), ['pool-b'])
    assert.deepEqual(bash(`netctl get ippool --state-dir ${join(state.path, 'elsewhere')} `), [], 'an empty state dir: no names, no error')
  })

  it('bash completes flag values: -o, --ipip, --protocol, -t, --output=', () => {
    assert.deepEqual(bash('netctl get -o '), ['ps', 'wide', 'yaml', 'json', 'custom-columns=', 'go-template=', 'go-template-file=', 'jsonpath=', 'jsonpath-file='])
    assert.deepEqual(bash('netctl get -o j'), ['json', 'jsonpath=', 'jsonpath-file='])
    assert.deepEqual(bash('netctl get ippools --output=ya'), ['yaml'], 'only the part after = is replaced')
    assert.deepEqual(bash('netctl ippool set pool-b --ipip '), ['Always', 'CrossSubnet', 'Never'])
    assert.deepEqual(bash('netctl lab trace --protocol '), ['icmp', 'tcp', 'udp'])
    assert.deepEqual(bash('netctl lab ping --protocol u'), ['udp'])
    assert.deepEqual(bash('netctl patch ippool pool-b -t '), ['strategic', 'merge', 'json'])
    assert.deepEqual(bash('netctl encap set '), ['ipip', 'vxlan', 'none'])
    assert.deepEqual(bash('netctl get ippools -o custom-columns=NAME,CI'), ['NAME,CIDR'], "the kind's columns, after those chosen")
    assert.ok(!bash('netctl get ippools -o custom-columns=NAME,').includes('NAME,NAME'))
  })

  it('bash completes file names for -f and after lab exec TARGET --', () => {
    writeFileSync(join(state.path, 'pools-file.yaml'), '')
    assert.deepEqual(bash('netctl apply -f pools-'), ['pools-file.yaml'])
    assert.deepEqual(bash('netctl get -o go-template-file=pools-'), ['pools-file.yaml'])
    assert.deepEqual(bash('netctl lab exec node01 -- pools-'), ['pools-file.yaml'])
  })

  it('bash completes lab names, and a lab\'s nodes and pods for lab exec and lab trace', () => {
    assert.deepEqual(bash('netctl lab status '), ['comp-cluster', 'comp-veth'])
    assert.deepEqual(bash('netctl get ippools --lab comp-c'), ['comp-cluster'])
    assert.deepEqual(bash('netctl config use-context '), ['default', 'lab/comp-cluster', 'lab/comp-veth'])
    const targets = bash('netctl lab exec --lab comp-cluster ')
    assert.ok(targets.includes('underlay'), targets.join(' '))
    assert.ok(targets.length >= 5, `2 nodes, 2 pods and the underlay: ${targets.join(' ')}`)
    const [node, pod] = [targets[0]!, targets[2]!]
    assert.deepEqual(bash(`netctl lab trace --lab comp-cluster ${pod} ${node.slice(0, -1)}`), [node])
    assert.deepEqual(bash('netctl lab exec --lab comp-veth '), ['ns1', 'ns2'])
    assert.deepEqual(bash('netctl lab exec '), [], 'two labs and none named: nothing, and no error')
  })

  it('__complete never fails and prints nothing it cannot tell', async () => {
    for (const words of [['get', 'nosuchkind', ''], ['nosuchcommand', ''], ['get', 'ippool', '--datastore', 'etcdv3', '--etcd-endpoints', 'http://127.0.0.1:1', '']]) {
      const result = await runCli(['__complete', '--', ...words], {stateDir: state.path})
      assert.deepEqual([result.code, result.stdout, result.stderr], [0, '', ''], words.join(' '))
    }
    // An etcd that accepts and never answers: given up on after 2 s, and the process ends.
    const silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const started = Date.now()
      const result = await runCli(['__complete', '--', 'get', 'ippool', '--datastore', 'etcdv3', '--etcd-endpoints', `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, ''], {stateDir: state.path})
      assert.deepEqual([result.code, result.stdout, result.stderr], [0, '', ''])
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`)
    } finally {
      silent.close()
    }
    // --help among the words is completed, not obeyed.
    const help = await runCli(['__complete', '--', 'get', '--help', 'ipp'], {stateDir: state.path})
    assert.equal(help.stdout, 'ippool\nippools\nipp\nipps\n')
  })

  it('zsh completes the same, through compadd (skipped when zsh is not installed)', {skip: hasZsh ? false : 'zsh is not installed'}, () => {
    assert.equal(zsh('netctl get ippool '), '|default-ipv4-ippool pool-b')
    assert.equal(zsh('netctl get -o go'), '-S |go-template= go-template-file=')
    assert.equal(zsh('netctl get --output=ya'), '|--output=yaml')
    assert.equal(zsh('netctl get ipp -o custom-columns=C'), '-S |custom-columns=CIDR')
    assert.equal(zsh('netctl ippool set --vxlan C'), '|CrossSubnet')
    assert.equal(zsh('netctl lab status comp-v'), '|comp-veth')
    assert.equal(zsh('netctl apply -f '), '_files')
  })
})
