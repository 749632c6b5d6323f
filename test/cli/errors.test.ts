/** Bad input of each kind: a clear one-line cause, a suggestion, the right exit code, nothing written. */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'

const pool = (name: string, spec: string) => `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${name}\nspec:\n${spec}\n`
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace without --debug')

describe('netctl errors', () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[], input?: string, env?: Record<string, string>) => runCli(args, {stateDir: join(state.path, 'store'), input, env})
  const poolNames = async () => JSON.parse((await netctl(['get', 'ippools', '-o', 'json'])).stdout).items.map((p: {metadata: {name: string}}) => p.metadata.name)
  before(async () => {
    state = tempDir()
    assert.equal((await netctl(['create', '-f', join(repoRoot, 'test/fixtures/pools.yaml')])).code, 0)
  })
  after(() => state.cleanup())

  it('malformed YAML: exit 2, names the file, writes nothing', async () => {
    const file = join(state.path, 'bad.yaml')
    writeFileSync(file, 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x\nspec: [\n')
    const r = await netctl(['apply', '-f', file])
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`^Error: ${file} is not valid YAML or JSON: `))
    noStack(r.stderr)
  })

  it('unknown kind: in a file and on the command line', async () => {
    const r = await netctl(['apply', '-f', '-'], pool('ok', '  cidr: 10.50.0.0/16') + '---\n' + pool('x', '  cidr: 10.51.0.0/16').replace('kind: IPPool', 'kind: IPPol'))
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^Error: stdin, document 2: unknown kind "IPPol"\n  use one of: IPPool, Node, /)
    const g = await netctl(['get', 'ipoolz'])
    assert.equal(g.code, 2)
    assert.match(g.stderr, /^Error: unknown resource kind "ipoolz"\n  use one of: ippool, node,/)
    assert.deepEqual(await poolNames(), ['default-ipv4-ippool', 'pool-b'])
  })

  it('invalid CIDR in the second document: names document and field, writes not even the first', async () => {
    const r = await netctl(['apply', '-f', '-'], pool('good', '  cidr: 10.60.0.0/16') + '---\n' + pool('bad', '  cidr: 10.61.0.1/16'))
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^Error: stdin, document 2: IPPool "bad": spec\.cidr "10\.61\.0\.1\/16" is not masked: it has host bits set\n  use 10\.61\.0\.0\/16\n$/)
    assert.deepEqual(await poolNames(), ['default-ipv4-ippool', 'pool-b'])
    const garbage = await netctl(['apply', '-f', '-'], pool('bad', '  cidr: banana'))
    assert.match(garbage.stderr, /spec\.cidr "banana" is not a valid CIDR/)
  })

  it('IPIP and VXLAN together in a file', async () => {
    const r = await netctl(['create', '-f', '-'], pool('both', '  cidr: 10.70.0.0/16\n  ipipMode: Always\n  vxlanMode: Always'))
    assert.equal(r.code, 2)
    assert.match(r.stderr, /IPPool "both": spec enables both IPIP \(Always\) and VXLAN \(Always\)/)
  })

  it('overlapping pools in one file are caught before writing', async () => {
    const r = await netctl(['apply', '-f', '-'], pool('o1', '  cidr: 10.80.0.0/16') + '---\n' + pool('o2', '  cidr: 10.80.128.0/17'))
    assert.equal(r.code, 2)
    assert.match(r.stderr, /document 2: IPPool "o2": spec\.cidr 10\.80\.128\.0\/17 overlaps IPPool "o1"/)
    assert.deepEqual(await poolNames(), ['default-ipv4-ippool', 'pool-b'])
  })

  it('unknown pool and unknown object: exit 1 with where to look', async () => {
    const r = await netctl(['ippool', 'set', 'no-such-pool', '--ipip', 'Never'])
    assert.equal(r.code, 1)
    assert.equal(r.stderr, 'Error: IPPool "no-such-pool" not found\n  list what exists with: netctl get ippools\n')
    const e = await netctl(['encap', 'set', 'vxlan', '--pool', 'nope'])
    assert.equal(e.code, 1)
    const c = await netctl(['create', '-f', join(repoRoot, 'test/fixtures/pools.yaml')])
    assert.equal(c.code, 1)
    assert.match(c.stderr, /document 1: IPPool "default-ipv4-ippool" already exists/)
  })

  it('replace with a stale resourceVersion is a conflict', async () => {
    const stale = (await netctl(['get', 'ippool', 'pool-b', '-o', 'yaml'])).stdout
    assert.equal((await netctl(['ippool', 'set', 'pool-b', '--nat-outgoing'])).code, 0)
    const r = await netctl(['replace', '-f', '-'], stale.replace('blockSize: 24', 'blockSize: 24\n  disabled: true'))
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^Error: stdin: IPPool "pool-b" was changed since resourceVersion \d+ \(stored \d+\)\n  get it again/)
    const current = JSON.parse((await netctl(['get', 'ippool', 'pool-b', '-o', 'json'])).stdout)
    assert.equal(current.spec.disabled, undefined)
    assert.equal(current.spec.natOutgoing, true)
  })

  it('missing input without a terminal says what to pass', async () => {
    const noChange = await netctl(['ippool', 'set', 'pool-b'])
    assert.equal(noChange.code, 2)
    assert.match(noChange.stderr, /^Error: a change \(--ipip, --vxlan, --nat-outgoing or --disabled\) is required when not on a terminal\n  for example: netctl ippool set pool-b --ipip Never\n/)
    const noName = await netctl(['ippool', 'set', '--ipip', 'Never'])
    assert.equal(noName.code, 2)
    assert.match(noName.stderr, /the pool name is required/)
    const noFile = await netctl(['apply'])
    assert.equal(noFile.code, 2)
    assert.match(noFile.stderr, /-f FILE is required/)
  })

  it('bad flag values are usage errors', async () => {
    const r = await netctl(['ippool', 'set', 'pool-b', '--ipip', 'Sometimes'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /Expected --ipip=Sometimes to be one of: Always, CrossSubnet, Never/)
    noStack(r.stderr)
    const o = await netctl(['get', 'ippools', '-o', 'xml'])
    assert.equal(o.code, 2)
    assert.match(o.stderr, /unknown output format "xml"/)
    const col = await netctl(['get', 'ippools', '-o', 'custom-columns=NAME,COLOUR'])
    assert.match(col.stderr, /IPPool has no column COLOUR\n  columns of IPPool: NAME, CIDR,/)
  })

  it('a corrupt store is reported, not reset; --debug adds the stack', async () => {
    const dir = join(state.path, 'corrupt')
    const run = (args: string[]) => runCli(args, {stateDir: dir})
    assert.equal((await run(['apply', '-f', join(repoRoot, 'test/fixtures/pools.yaml')])).code, 0)
    writeFileSync(join(dir, 'datastore.json'), 'garbage')
    const r = await run(['get', 'ippools'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /datastore\.json is unreadable: .*\n  netctl has not changed it/)
    noStack(r.stderr)
    const d = await run(['get', 'ippools', '--debug'])
    assert.match(d.stderr, /\n\s+at /)
  })

  it('a bad datastore choice says what is wrong', async () => {
    const r = await netctl(['get', 'ippools', '--datastore', 'kubernetes', '--kubeconfig', join(state.path, 'no-such-kubeconfig')])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^Error: cannot load the kubeconfig .*no-such-kubeconfig/)
    const bad = await netctl(['get', 'ippools'], undefined, {DATASTORE_TYPE: 'mongodb'})
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /unknown datastore type "mongodb" \(from env DATASTORE_TYPE\)/)
  })

  it('--json errors are JSON', async () => {
    const r = await netctl(['get', 'ippool', 'missing', '--json'])
    assert.equal(r.code, 1)
    assert.deepEqual(JSON.parse(r.stdout).error, {kind: 'not-found', message: 'IPPool "missing" not found', suggestion: 'list what exists with: netctl get ippools'})
  })
})
