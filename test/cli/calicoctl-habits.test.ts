/**
 * calicoctl's habits, through the real binary on a temp state dir: namespacing flags, delete of
 * several names with a missing one, create with a resourceVersion, ClusterInformation (read-only,
 * made with the first Node), BGPConfiguration's default-only fields, label and validate.
 */
import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {poolYaml} from '../helpers/manifests.js'

const networkSetYaml = (name: string, namespace?: string) =>
  `apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: ${name}${namespace ? `, namespace: ${namespace}` : ''}}\nspec: {nets: [10.9.0.0/24]}\n`
const nodeYaml = (name: string, ip: string) => `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${name}}\nspec: {bgp: {ipv4Address: ${ip}/24}}\n`

describe('calicoctl habits', () => {
  let dir: ReturnType<typeof tempDir>
  let state: string
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state, input})
  const apply = async (yaml: string) => {
    const r = await netctl(['apply', '-f', '-'], yaml)
    assert.equal(r.code, 0, r.stderr)
  }
  const poolNames = async () => JSON.parse((await netctl(['get', 'ippools', '-o', 'json'])).stdout).items.map((p: {metadata: {name: string}}) => p.metadata.name).sort()
  const labelsOf = async (pool: string) => JSON.parse((await netctl(['get', 'ippool', pool, '-o', 'json'])).stdout).metadata.labels ?? {}

  before(() => {
    dir = tempDir()
    state = join(dir.path, 'state')
  })
  after(() => dir.cleanup())

  describe('namespacing', () => {
    it('-n or -A (or -a) on a cluster-wide kind is an error, as calicoctl says it', async () => {
      await apply(poolYaml('ns-pool', '10.40.0.0/16'))
      for (const args of [['get', 'ippools', '-n', 'kube-system'], ['get', 'ippools', '-A'], ['get', 'ippools', '-a'], ['get', 'ippool', 'ns-pool', '--namespace', 'x'], ['delete', 'ippool', 'ns-pool', '-n', 'x']]) {
        const r = await netctl(args)
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
        assert.match(r.stderr, /^Error: IPPool is not namespaced\n  drop -/, args.join(' '))
      }
      assert.deepEqual(await poolNames(), ['ns-pool'])
    })

    it('-a lists across namespaces like -A; -n with -A is refused', async () => {
      await apply(networkSetYaml('set-a', 'team-a') + '---\n' + networkSetYaml('set-b', 'team-b'))
      const upper = await netctl(['get', 'networksets', '-A'])
      const lower = await netctl(['get', 'networksets', '-a'])
      assert.equal(lower.code, 0, lower.stderr)
      assert.equal(lower.stdout, upper.stdout)
      assert.match(lower.stdout, /^NAMESPACE\s+NAME/)
      assert.match(lower.stdout, /team-a\s+set-a/)
      assert.match(lower.stdout, /team-b\s+set-b/)
      const both = await netctl(['get', 'networksets', '-n', 'team-a', '-A'])
      assert.equal(both.code, 2)
      assert.match(both.stderr, /^Error: cannot use both --namespace and --all-namespaces flags at the same time/)
    })

    it('create -n X of an object in namespace Y is refused with nothing written; -n on a cluster-wide object too', async () => {
      const r = await netctl(['create', '-n', 'team-x', '-f', '-'], networkSetYaml('moved', 'team-y'))
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /^Error: stdin: resource namespace does not match client namespace\. team-y != team-x/)
      assert.equal((await netctl(['get', 'networkset', 'moved', '-A'])).code, 1)
      const pool = await netctl(['apply', '-n', 'team-x', '-f', '-'], poolYaml('ns-refused', '10.41.0.0/16'))
      assert.equal(pool.code, 2)
      assert.match(pool.stderr, /^Error: stdin: IPPool is not namespaced/)
      assert.ok(!(await poolNames()).includes('ns-refused'))
      // The namespace the document leaves out comes from -n, as before.
      const fill = await netctl(['create', '-n', 'team-x', '-f', '-'], networkSetYaml('filled'))
      assert.equal(fill.code, 0, fill.stderr)
      assert.equal((await netctl(['get', 'networkset', 'filled', '-n', 'team-x'])).code, 0)
    })

    it('-o yml is -o yaml', async () => {
      const yml = await netctl(['get', 'ippool', 'ns-pool', '-o', 'yml'])
      assert.equal(yml.code, 0, yml.stderr)
      assert.equal(yml.stdout, (await netctl(['get', 'ippool', 'ns-pool', '-o', 'yaml'])).stdout)
      assert.match(yml.stdout, /^apiVersion: projectcalico\.org\/v3\nkind: IPPool\n/)
    })
  })

  describe('create, delete and read-only kinds', () => {
    it('delete a missing b deletes a and b, reports the missing one and exits 1; --skip-not-exists exits 0', async () => {
      await apply(poolYaml('del-a', '10.50.0.0/24') + '---\n' + poolYaml('del-b', '10.50.1.0/24') + '---\n' + poolYaml('del-c', '10.50.2.0/24'))
      const r = await netctl(['delete', 'ippool', 'del-a', 'del-missing', 'del-b'])
      assert.equal(r.code, 1)
      assert.equal(r.stdout, "Successfully deleted 2 'IPPool' resource(s)\n")
      assert.match(r.stderr, /^Error: Failed to delete 'IPPool' resource: resource does not exist: IPPool\(del-missing\)\n  the other 2 were deleted/)
      assert.ok(!(await poolNames()).some((n: string) => n === 'del-a' || n === 'del-b'))
      const none = await netctl(['delete', 'ippool', 'del-nope'])
      assert.equal(none.code, 1)
      assert.equal(none.stdout, '')
      const skip = await netctl(['delete', 'ippool', 'del-c', 'del-nope', '--skip-not-exists'])
      assert.equal(skip.code, 0, skip.stderr)
      assert.equal(skip.stdout, "Successfully deleted 1 'IPPool' resource(s)\n")
      assert.ok(!(await poolNames()).includes('del-c'))
    })

    it('create of an object carrying a resourceVersion is refused, nothing written', async () => {
      const yaml = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: rv-pool, resourceVersion: "7"}\nspec: {cidr: 10.51.0.0/16}\n'
      const r = await netctl(['create', '-f', '-'], poolYaml('rv-other', '10.52.0.0/16') + '---\n' + yaml)
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /^Error: stdin, document 2: IPPool "rv-pool": metadata\.resourceVersion \("7"\) must not be set for a create\n  remove metadata\.resourceVersion/)
      const names = await poolNames()
      assert.ok(!names.includes('rv-pool') && !names.includes('rv-other'))
    })

    it('the first Node written makes ClusterInformation "default" as Calico does; users cannot write it', async () => {
      assert.equal((await netctl(['get', 'clusterinformation', 'default'])).code, 1)
      await apply(nodeYaml('node-1', '10.60.0.1'))
      const info = JSON.parse((await netctl(['get', 'clusterinformation', 'default', '-o', 'json'])).stdout)
      assert.match(info.spec.clusterGUID, /^[0-9a-f]{32}$/)
      assert.equal(info.spec.calicoVersion, 'v3.32.0')
      assert.equal(info.spec.datastoreReady, true)
      const table = await netctl(['get', 'clusterinfo'])
      assert.match(table.stdout, /^NAME\s+CLUSTERGUID\s+CLUSTERTYPE\s+CALICOVERSION\s+DATASTOREREADY\n/)
      assert.match(table.stdout, new RegExp(`\\ndefault\\s+${info.spec.clusterGUID}\\s+v3\\.32\\.0\\s+true\\n`))
      // A second Node leaves it as it is.
      await apply(nodeYaml('node-2', '10.60.0.2'))
      assert.equal(JSON.parse((await netctl(['get', 'clusterinfo', 'default', '-o', 'json'])).stdout).spec.clusterGUID, info.spec.clusterGUID)

      const doc = 'apiVersion: projectcalico.org/v3\nkind: ClusterInformation\nmetadata: {name: default}\nspec: {clusterGUID: abc, datastoreReady: false}\n'
      for (const [verb, operation] of [['create', 'create'], ['apply', 'apply or replace'], ['replace', 'apply or replace']] as const) {
        const r = await netctl([verb, '-f', '-'], doc)
        assert.equal(r.code, 1, `${verb}: ${r.stderr}`)
        assert.match(r.stderr, new RegExp(`^Error: stdin: ClusterInformation is read-only: ${operation} is not supported on it`), verb)
      }
      for (const args of [['delete', 'clusterinfo', 'default'], ['patch', 'clusterinfo', 'default', '-p', '{"spec":{"datastoreReady":false}}'], ['label', 'clusterinfo', 'default', 'a=b']]) {
        const r = await netctl(args)
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`)
        assert.match(r.stderr, /^Error: ClusterInformation is read-only: \w+ is not supported on it/, args[0])
      }
      const after = JSON.parse((await netctl(['get', 'clusterinfo', 'default', '-o', 'json'])).stdout)
      assert.deepEqual(after.spec, info.spec)
    })

    it('BGPConfiguration other than "default" refuses the cluster-wide fields, as libcalico-go', async () => {
      const config = (name: string, spec: string) => `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: ${name}}\nspec: {${spec}}\n`
      for (const [field, value] of [['nodeToNodeMeshEnabled', 'false'], ['asNumber', '64513'], ['serviceClusterIPs', '[{cidr: 10.96.0.0/12}]'], ['nodeMeshMaxRestartTime', '120s']]) {
        const r = await netctl(['apply', '-f', '-'], config('node.node-1', `${field}: ${value}`))
        assert.equal(r.code, 2, `${field}: ${r.stderr}`)
        assert.match(r.stderr, new RegExp(`^Error: stdin: BGPConfiguration "node\\.node-1": spec\\.${field} can only be set on the BGPConfiguration named "default"`), field)
      }
      assert.equal((await netctl(['get', 'bgpconfig', 'node.node-1'])).code, 1)
      const perNode = await netctl(['apply', '-f', '-'], config('node.node-1', 'logSeverityScreen: Debug, listenPort: 1790'))
      assert.equal(perNode.code, 0, perNode.stderr)
      const cluster = await netctl(['apply', '-f', '-'], config('default', 'nodeToNodeMeshEnabled: false, asNumber: 64513'))
      assert.equal(cluster.code, 0, cluster.stderr)
    })
  })

  describe('label', () => {
    it('sets, refuses to overwrite without --overwrite, overwrites, and removes, with calicoctl\'s messages', async () => {
      await apply(poolYaml('lab-pool', '10.70.0.0/16'))
      const set = await netctl(['label', 'ippool', 'lab-pool', 'zone=edge'])
      assert.equal(set.code, 0, set.stderr)
      assert.equal(set.stdout, 'Successfully set label zone on ippool lab-pool\n')
      assert.deepEqual(await labelsOf('lab-pool'), {zone: 'edge'})

      const clash = await netctl(['label', 'ippool', 'lab-pool', 'zone=core'])
      assert.equal(clash.code, 1)
      assert.match(clash.stderr, /^Error: failed to update label of IPPool "lab-pool", key zone is already present \(value "edge"\)\n  please use '--overwrite' to set a new value/)
      assert.deepEqual(await labelsOf('lab-pool'), {zone: 'edge'})

      const same = await netctl(['label', 'ippool', 'lab-pool', 'zone=edge'])
      assert.equal(same.code, 0, same.stderr)
      assert.equal(same.stdout, 'Successfully updated label zone on ippool lab-pool\n')

      const over = await netctl(['label', 'ippool', 'lab-pool', 'zone=core', 'tier=gold', '--overwrite'])
      assert.equal(over.code, 0, over.stderr)
      assert.equal(over.stdout, 'Successfully updated label zone on ippool lab-pool\nSuccessfully set label tier on ippool lab-pool\n')
      assert.deepEqual(await labelsOf('lab-pool'), {zone: 'core', tier: 'gold'})

      const removed = await netctl(['label', 'ippool', 'lab-pool', 'zone', '--remove'])
      assert.equal(removed.code, 0, removed.stderr)
      assert.equal(removed.stdout, 'Successfully removed label zone from ippool lab-pool\n')
      const dash = await netctl(['label', 'ippool', 'lab-pool', 'tier-'])
      assert.equal(dash.code, 0, dash.stderr)
      assert.deepEqual(await labelsOf('lab-pool'), {})

      const gone = await netctl(['label', 'ippool', 'lab-pool', '--remove', 'zone'])
      assert.equal(gone.code, 1)
      assert.match(gone.stderr, /^Error: cannot remove label of IPPool "lab-pool", key zone does not exist/)
    })

    it('changes all labels or none', async () => {
      await apply(poolYaml('all-pool', '10.71.0.0/16'))
      assert.equal((await netctl(['label', 'ippool', 'all-pool', 'keep=1'])).code, 0)
      const r = await netctl(['label', 'ippool', 'all-pool', 'new=1', 'keep=2'])
      assert.equal(r.code, 1)
      assert.equal(r.stdout, '')
      assert.deepEqual(await labelsOf('all-pool'), {keep: '1'})
    })

    it('checks labels as Kubernetes does before reading the datastore (exit 2), and names what is missing', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['zone'], /^Error: invalid label zone\n/],
        [['Bad Key=1'], /^Error: invalid label Bad Key=1: the key "Bad Key" must be letters/],
        [['_x=1'], /^Error: invalid label _x=1: the key "_x" must be letters/],
        [[`zone=${'v'.repeat(64)}`], /the value is 64 characters long; the limit is 63/],
        [['zone=a b'], /^Error: invalid label zone=a b: the value "a b" must be letters/],
        [['zone=edge', '--remove'], /--remove takes keys, not key=value/],
        [['a=1', 'a=2'], /label key a is given twice/],
        [[], /^Error: missing the label to set or remove/],
        [['zone=edge', '-n', 'x'], /^Error: IPPool is not namespaced/],
      ]
      for (const [args, pattern] of cases) {
        const r = await netctl(['label', 'ippool', 'all-pool', ...args])
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
        assert.match(r.stderr, pattern, args.join(' '))
      }
      const missing = await netctl(['label', 'ippool', 'no-such-pool', 'zone=edge'])
      assert.equal(missing.code, 1)
      assert.match(missing.stderr, /no-such-pool/)
    })

    it('labels a namespaced object in the namespace -n names', async () => {
      const r = await netctl(['label', 'networkset', 'set-a', 'app=web', '-n', 'team-a'])
      assert.equal(r.code, 0, r.stderr)
      const set = JSON.parse((await netctl(['get', 'networkset', 'set-a', '-n', 'team-a', '-o', 'json'])).stdout)
      assert.deepEqual(set.metadata.labels, {app: 'web'})
      assert.equal((await netctl(['label', 'networkset', 'set-a', 'app=web'])).code, 1)
    })
  })

  describe('validate', () => {
    // No datastore at all: an etcd endpoint nothing listens on.
    const offline = (args: string[], input?: string) => runCli([...args, '--datastore', 'etcdv3', '--etcd-endpoints', 'http://127.0.0.1:9'], {input, stateDir: join(dir.path, 'never')})

    it('checks every document offline and says so', async () => {
      const r = await offline(['validate', '-f', '-'], poolYaml('v-1', '10.80.0.0/16') + '---\n' + poolYaml('v-2', '10.80.0.0/16'))
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, "Successfully validated 2 'IPPool' resource(s)\n")
      assert.ok(!readdirSync(dir.path).includes('never'), 'validate made no state dir')
    })

    it('names every invalid document and exits 2', async () => {
      const file = join(dir.path, 'mixed.yaml')
      writeFileSync(file, [
        poolYaml('ok-pool', '10.81.0.0/16'),
        poolYaml('bad-cidr', '10.81.0.0/33'),
        'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: node.x}\nspec: {asNumber: 64512}\n',
        networkSetYaml('Bad_Name', 'default'),
        poolYaml('ok-pool', '10.82.0.0/16'),
      ].join('---\n'))
      const r = await offline(['validate', '-f', file])
      assert.equal(r.code, 2, r.stderr)
      assert.equal(r.stdout, '')
      assert.match(r.stderr, new RegExp(`^${file}, document 2: IPPool "bad-cidr": spec\\.cidr`, 'm'))
      assert.match(r.stderr, new RegExp(`^${file}, document 3: BGPConfiguration "node\\.x": spec\\.asNumber can only be set`, 'm'))
      assert.match(r.stderr, new RegExp(`^${file}, document 4: NetworkSet "Bad_Name"`, 'm'))
      assert.match(r.stderr, new RegExp(`^${file}, document 5: IPPool "ok-pool" is also in ${file}, document 1`, 'm'))
      assert.match(r.stderr, /^Error: 4 of 5 documents are invalid \(listed above\)/m)
    })

    it('takes a directory: a file that does not parse does not hide the others\' errors', async () => {
      const manifests = join(dir.path, 'manifests')
      mkdirSync(manifests)
      writeFileSync(join(manifests, 'a.yaml'), 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a\n')
      writeFileSync(join(manifests, 'b.yaml'), poolYaml('b-pool', 'not-a-cidr'))
      writeFileSync(join(manifests, 'c.yaml'), poolYaml('c-pool', '10.83.0.0/16'))
      const r = await offline(['validate', '-f', manifests])
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /a\.yaml.*(YAML|yaml)/)
      assert.match(r.stderr, /b\.yaml: IPPool "b-pool": spec\.cidr/)
      assert.doesNotMatch(r.stderr, /c\.yaml/)
      const good = await offline(['validate', '-f', join(manifests, 'c.yaml')])
      assert.equal(good.code, 0, good.stderr)
    })
  })
})
