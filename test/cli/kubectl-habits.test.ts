/**
 * kubectl's habits in netctl get/delete/create, through the real binary on a temp state dir:
 * several names with some missing, several kinds at once, -l selectors, delete of a
 * WorkloadEndpoint by its pod's name, create --skip-exists and -f DIR -R.
 */
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {dump} from 'js-yaml'

import {runCli, tempDir} from '../helpers/cli.js'
import {poolYaml, wep} from '../helpers/manifests.js'

const labelledPool = (name: string, cidr: string, labels: Record<string, string>) =>
  `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ${name}, labels: ${JSON.stringify(labels)}}\nspec: {cidr: ${cidr}}\n`
const nodeYaml = (name: string, ip: string) => `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${name}}\nspec: {bgp: {ipv4Address: ${ip}/24}}\n`

describe('kubectl habits', () => {
  let dir: ReturnType<typeof tempDir>
  let state: string
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state, input})
  const apply = async (yaml: string) => {
    const r = await netctl(['apply', '-f', '-'], yaml)
    assert.equal(r.code, 0, r.stderr)
  }
  const poolNames = async () => JSON.parse((await netctl(['get', 'ippools', '-o', 'json'])).stdout).items.map((p: {metadata: {name: string}}) => p.metadata.name).sort()

  before(async () => {
    dir = tempDir()
    state = join(dir.path, 'state')
    await apply(
      [labelledPool('prod-a', '10.50.0.0/16', {env: 'prod', tier: 'web'}), labelledPool('prod-b', '10.51.0.0/16', {env: 'prod'}), labelledPool('dev-a', '10.52.0.0/16', {env: 'dev'}), nodeYaml('node-x', '192.168.7.1')].join('---\n'),
    )
  })
  after(() => dir.cleanup())

  describe('get with several names', () => {
    it('shows the ones found and an error line for each missing one, exit 1', async () => {
      const r = await netctl(['get', 'ippools', 'prod-a', 'nope-1', 'dev-a', 'nope-2'])
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stdout, /^NAME\s+CIDR/)
      assert.match(r.stdout, /prod-a\s+10\.50\.0\.0\/16/)
      assert.match(r.stdout, /dev-a\s+10\.52\.0\.0\/16/)
      assert.match(r.stderr, /^Error: .*nope-1.*\n/)
      assert.match(r.stderr, /\nError: .*nope-2.*\n  /)
      assert.equal(r.stderr.match(/^Error: /gm)?.length, 2)
    })

    it('-o json lists the ones found; all missing prints only the errors', async () => {
      const json = await netctl(['get', 'ippools', 'prod-b', 'nope', '-o', 'json'])
      assert.equal(json.code, 1)
      assert.deepEqual(JSON.parse(json.stdout).items.map((p: {metadata: {name: string}}) => p.metadata.name), ['prod-b'])
      const none = await netctl(['get', 'ippools', 'nope-1', 'nope-2'])
      assert.equal(none.code, 1)
      assert.equal(none.stdout, '')
      assert.equal(none.stderr.match(/^Error: /gm)?.length, 2)
    })

    it('all found still exits 0; one missing name alone is the error it was', async () => {
      assert.equal((await netctl(['get', 'ippools', 'prod-a', 'prod-b'])).code, 0)
      const one = await netctl(['get', 'ippool', 'nope'])
      assert.equal(one.code, 1)
      assert.equal(one.stdout, '')
      assert.match(one.stderr, /^Error: .*nope/)
    })
  })

  describe('several kinds', () => {
    it('get ippool,node prints one table per kind', async () => {
      const r = await netctl(['get', 'ippool,node'])
      assert.equal(r.code, 0, r.stderr)
      const [pools, nodes] = r.stdout.split('\n\n')
      assert.match(pools!, /^NAME\s+CIDR/)
      assert.match(pools!, /prod-a/)
      assert.match(nodes!, /^NAME\s*\n/)
      assert.match(nodes!, /node-x/)
    })

    it('-o yaml and -o json give one List of all the objects', async () => {
      const json = JSON.parse((await netctl(['get', 'ippools,nodes', '-o', 'json'])).stdout)
      assert.equal(json.kind, 'List')
      assert.deepEqual(json.items.map((i: {kind: string; metadata: {name: string}}) => `${i.kind}/${i.metadata.name}`).sort(), ['IPPool/dev-a', 'IPPool/prod-a', 'IPPool/prod-b', 'Node/node-x'])
      const yaml = await netctl(['get', 'ippool,node', '-o', 'yaml'])
      assert.equal(yaml.code, 0, yaml.stderr)
      assert.match(yaml.stdout, /^apiVersion: v1\nitems:\n/)
      assert.match(yaml.stdout, /\nkind: List\n/)
    })

    it('names with several kinds are refused', async () => {
      const r = await netctl(['get', 'ippool,node', 'prod-a'])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /^Error: names can only be given with one kind/)
    })
  })

  describe('-l/--selector', () => {
    it('filters by labels with Calico selector syntax', async () => {
      const names = async (...args: string[]) => {
        const r = await netctl(['get', 'ippools', '-o', 'json', ...args])
        assert.equal(r.code, 0, r.stderr)
        return JSON.parse(r.stdout).items.map((p: {metadata: {name: string}}) => p.metadata.name).sort()
      }
      assert.deepEqual(await names('-l', "env == 'prod'"), ['prod-a', 'prod-b'])
      assert.deepEqual(await names('--selector', "env == 'prod' && has(tier)"), ['prod-a'])
      assert.deepEqual(await names('-l', "env in {'dev', 'test'}"), ['dev-a'])
      assert.deepEqual(await names('-l', '!has(env)'), [])
      const table = await netctl(['get', 'ippools', '-l', "env != 'prod'"])
      assert.match(table.stdout, /dev-a/)
      assert.doesNotMatch(table.stdout, /prod-/)
    })

    it('a selector that does not parse is an error naming it', async () => {
      const r = await netctl(['get', 'ippools', '-l', 'env ==='])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /^Error: cannot read the selector "env ===":/)
    })
  })

  describe('delete wep by pod name', () => {
    it('deletes the WorkloadEndpoint that get shows for the pod name', async () => {
      await apply([wep(1), wep(2)].map((w) => dump(w)).join('---\n'))
      assert.equal((await netctl(['get', 'wep', 'pod00001'])).code, 0)
      const r = await netctl(['delete', 'wep', 'pod00001'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /Successfully deleted 1 'WorkloadEndpoint' resource\(s\)/)
      assert.equal((await netctl(['get', 'wep', 'node1-k8s-pod00001-eth0'])).code, 1)
      assert.equal((await netctl(['get', 'wep', 'pod00002'])).code, 0)
      const gone = await netctl(['delete', 'wep', 'pod00001'])
      assert.equal(gone.code, 1)
      assert.match(gone.stderr, /resource does not exist: WorkloadEndpoint\(default\/pod00001\)/)
    })
  })

  describe('create --skip-exists and -R', () => {
    it('--skip-exists creates the new objects and leaves existing ones alone', async () => {
      const plain = await netctl(['create', '-f', '-'], [poolYaml('prod-a', '10.60.0.0/16'), poolYaml('skip-new', '10.61.0.0/16')].join('---\n'))
      assert.equal(plain.code, 1)
      assert.ok(!(await poolNames()).includes('skip-new'))
      const r = await netctl(['create', '--skip-exists', '-f', '-'], [poolYaml('prod-a', '10.60.0.0/16'), poolYaml('skip-new', '10.61.0.0/16')].join('---\n'))
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /Successfully created 1 'IPPool' resource\(s\); 1 existed already \(skipped\)\n/)
      assert.ok((await poolNames()).includes('skip-new'))
      const again = await netctl(['create', '--skip-exists', '-f', '-'], [poolYaml('prod-a', '10.60.0.0/16'), poolYaml('skip-new', '10.61.0.0/16')].join('---\n'))
      assert.equal(again.code, 0, again.stderr)
      assert.equal(again.stdout, 'Nothing to create: 2 resource(s) exist already (skipped)\n')
      const prodA = JSON.parse((await netctl(['get', 'ippool', 'prod-a', '-o', 'json'])).stdout)
      assert.equal(prodA.spec.cidr, '10.50.0.0/16')
    })

    it('-f DIR reads subdirectories only with -R', async () => {
      const tree = join(dir.path, 'tree')
      mkdirSync(join(tree, 'sub', 'deeper'), {recursive: true})
      writeFileSync(join(tree, 'top.yaml'), poolYaml('tree-top', '10.70.0.0/16'))
      writeFileSync(join(tree, 'sub', 'mid.yml'), poolYaml('tree-mid', '10.71.0.0/16'))
      writeFileSync(join(tree, 'sub', 'deeper', 'low.json'), JSON.stringify({apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name: 'tree-low'}, spec: {cidr: '10.72.0.0/16'}}))
      writeFileSync(join(tree, 'sub', 'notes.txt'), 'not a resource')
      const flat = await netctl(['create', '-f', tree])
      assert.equal(flat.code, 0, flat.stderr)
      assert.deepEqual((await poolNames()).filter((n: string) => n.startsWith('tree-')), ['tree-top'])
      const deep = await netctl(['create', '-R', '--skip-exists', '-f', tree])
      assert.equal(deep.code, 0, deep.stderr)
      assert.match(deep.stdout, /Successfully created 2 'IPPool' resource\(s\)/)
      assert.deepEqual((await poolNames()).filter((n: string) => n.startsWith('tree-')), ['tree-low', 'tree-mid', 'tree-top'])
      const empty = join(dir.path, 'only-sub')
      mkdirSync(join(empty, 'inner'), {recursive: true})
      writeFileSync(join(empty, 'inner', 'p.yaml'), poolYaml('tree-inner', '10.73.0.0/16'))
      assert.equal((await netctl(['apply', '-f', empty])).code, 2)
      assert.equal((await netctl(['apply', '--recursive', '-f', empty])).code, 0)
    })
  })
})
