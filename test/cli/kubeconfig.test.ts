/**
 * Contexts: `config current-context` and `config get-contexts` (kubectl's table, netctl's own
 * contexts and the kubeconfig's), and the rule that --context names a kubeconfig context, always.
 */
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

describe('contexts', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let state: string
  let kubeconfig: string
  const netctl = (args: string[], env: Record<string, string> = {}) => runCli(args, {stateDir: state, env: {HOME: join(dir.path, 'home'), ...env}})

  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir()
    state = join(dir.path, 'state')
    kubeconfig = join(dir.path, 'kubeconfig')
    api.writeKubeconfig(kubeconfig, {namespace: 'team-a', extraContext: 'elsewhere'})
    api.seed('ippools', [{metadata: {name: 'cluster-pool'}, spec: {cidr: '10.7.0.0/16'}}])
    // A lab as `lab up` records it (making a real one needs root).
    mkdirSync(join(state, 'labs', 'demo'), {recursive: true})
    writeFileSync(join(state, 'labs', 'demo', 'lab.json'), JSON.stringify({name: 'demo', datastore: {type: 'file'}}))
  })
  after(async () => {
    await api?.stop()
    dir?.cleanup()
  })

  it('current-context: default, then the lab chosen with use-context', async () => {
    const first = await netctl(['config', 'current-context'])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.stdout, 'default\n')
    assert.equal((await netctl(['config', 'use-context', 'lab/demo'])).code, 0)
    assert.equal((await netctl(['config', 'current-context'])).stdout, 'lab/demo\n')
    assert.equal((await netctl(['config', 'use-context', 'default'])).code, 0)
  })

  it('current-context on the Kubernetes datastore is the kubeconfig context in use, as kubectl says it', async () => {
    const kube = {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig}
    assert.equal((await netctl(['config', 'current-context'], kube)).stdout, 'double\n')
    assert.equal((await netctl(['config', 'current-context', '--context', 'elsewhere'], kube)).stdout, 'elsewhere\n')
  })

  it('get-contexts: kubectl\'s table, netctl\'s contexts then the kubeconfig\'s, * on the one in use', async () => {
    const r = await netctl(['config', 'get-contexts'], {KUBECONFIG: kubeconfig})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(
      r.stdout,
      [
        'CURRENT   NAME        CLUSTER                    AUTHINFO   NAMESPACE',
        '*         default     (netctl: file datastore)',
        '          lab/demo    (netctl: lab demo)',
        '          double      double                     tester     team-a',
        '          elsewhere   double                     tester     other',
        '',
      ].join('\n'),
    )
    const kube = await netctl(['config', 'get-contexts', '--context', 'elsewhere'], {KUBECONFIG: kubeconfig})
    assert.match(kube.stdout, /^ {10}default /m)
    assert.match(kube.stdout, /^\* {9}elsewhere /m)
    const names = await netctl(['config', 'get-contexts', '-o', 'name'], {KUBECONFIG: kubeconfig})
    assert.equal(names.stdout, 'default\nlab/demo\ndouble\nelsewhere\n')
  })

  it('get-contexts with no kubeconfig lists netctl\'s own contexts', async () => {
    const r = await netctl(['config', 'get-contexts', '-o', 'name'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'default\nlab/demo\n')
  })

  describe('--context names a kubeconfig context, never a lab', () => {
    it('--context alone means the Kubernetes datastore, in that context', async () => {
      const r = await netctl(['get', 'ippools', '--context', 'elsewhere'], {KUBECONFIG: kubeconfig})
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /cluster-pool\s+10\.7\.0\.0\/16/)
    })

    it('--context lab/NAME says how to pick a lab', async () => {
      const r = await netctl(['get', 'ippools', '--context', 'lab/demo'], {KUBECONFIG: kubeconfig})
      assert.equal(r.code, 2)
      assert.equal(r.stderr, 'Error: --context names a kubeconfig context, and "lab/demo" is netctl\'s context of lab "demo"\n  use --lab demo (or netctl config use-context lab/demo)\n')
    })

    it('--context with --lab, or with another datastore, is two things: a usage error', async () => {
      const lab = await netctl(['get', 'ippools', '--context', 'elsewhere', '--lab', 'demo'], {KUBECONFIG: kubeconfig})
      assert.equal(lab.code, 2)
      assert.match(lab.stderr, /^Error: --context \(a kubeconfig context\) and --lab name two different datastores\n/)
      const etcd = await netctl(['get', 'ippools', '--context', 'elsewhere'], {KUBECONFIG: kubeconfig, DATASTORE_TYPE: 'etcdv3'})
      assert.equal(etcd.code, 2)
      assert.match(etcd.stderr, /^Error: --context names a kubeconfig context, which only the kubernetes datastore uses \(the datastore is etcdv3, from env DATASTORE_TYPE\)\n/)
    })

    it('use-context of a kubeconfig context makes plain netctl use the cluster in that context', async () => {
      const env = {KUBECONFIG: kubeconfig}
      const use = await netctl(['config', 'use-context', 'elsewhere'], env)
      assert.equal(use.code, 0, use.stderr)
      assert.equal(use.stdout, 'Switched to context "elsewhere".\n')
      try {
        assert.equal((await netctl(['config', 'current-context'], env)).stdout, 'elsewhere\n')
        assert.match((await netctl(['config', 'get-contexts'], env)).stdout, /^\* {9}elsewhere /m)
        const get = await netctl(['get', 'ippools'], env)
        assert.equal(get.code, 0, get.stderr)
        assert.match(get.stdout, /cluster-pool/)
        // --lab still picks a lab for one command.
        assert.equal((await netctl(['get', 'ippools', '--lab', 'demo'], env)).code, 0)
        // A new lab does not inherit the context's Kubernetes datastore (a missing topology file stops it before any work).
        const up = await netctl(['lab', 'up', '-f', join(dir.path, 'no-such-topology.yaml')], env)
        assert.equal(up.code, 2)
        assert.doesNotMatch(up.stderr, /not in a Kubernetes API/)
        assert.match(up.stderr, /no-such-topology\.yaml/)
      } finally {
        assert.equal((await netctl(['config', 'use-context', 'default'])).code, 0)
      }
      const unknown = await netctl(['config', 'use-context', 'nowhere'], env)
      assert.equal(unknown.code, 1)
      assert.equal(unknown.stderr, 'Error: there is no context "nowhere"\n  contexts: default, lab/demo, double, elsewhere\n')
    })
  })
})
