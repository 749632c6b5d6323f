/** netctl version against a cluster: its Calico version and type, a warning (never a failure) when it differs from netctl's. */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {calicoVersion} from '../../src/resources/felixconfiguration.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {startKubeApiDouble, type KubeApiDouble} from '../helpers/kube-api-double.js'

describe('version and --allow-version-mismatch', () => {
  let api: KubeApiDouble
  let dir: ReturnType<typeof tempDir>
  let kubeconfig: string
  const onKube = (args: string[]) => runCli(args, {env: {DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig}})
  const seedInfo = (version: string) => {
    api.seed('clusterinformations', [{metadata: {name: 'default'}, spec: {clusterGUID: 'a1b2c3', calicoVersion: version, clusterType: 'k8s,bgp,kubeadm,kdd', datastoreReady: true}}])
  }

  before(async () => {
    api = await startKubeApiDouble()
    dir = tempDir()
    kubeconfig = join(dir.path, 'kubeconfig')
    api.writeKubeconfig(kubeconfig)
  })
  after(async () => {
    await api?.stop()
    dir?.cleanup()
  })

  it('without a ClusterInformation says it cannot tell, and exits 0', async () => {
    const r = await onKube(['version'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Client Version: {4}v0\.1\.0\n/)
    assert.match(r.stdout, /\nUnable to detect installed Calico version\n$/)
  })

  it('prints the cluster\'s version and type, and warns on a mismatch without failing', async () => {
    seedInfo('v3.29.1')
    const r = await onKube(['version'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /\nCluster Version: {3}v3\.29\.1\nCluster Type: {6}k8s,bgp,kubeadm,kdd\n$/)
    assert.match(r.stderr, new RegExp(`Warning: version mismatch: the cluster runs Calico v3\\.29\\.1, netctl speaks ${calicoVersion.replaceAll('.', '\\.')}`))
    const json = await onKube(['version', '--json'])
    assert.equal(json.code, 0)
    assert.deepEqual(JSON.parse(json.stdout).versionMismatch, true)
    const quiet = await onKube(['version', '--allow-version-mismatch'])
    assert.equal(quiet.code, 0)
    assert.equal(quiet.stderr, '')
    const client = await onKube(['version', '--client'])
    assert.doesNotMatch(client.stdout, /Cluster/)
  })

  it('no warning when the versions agree (suffixes aside)', async () => {
    seedInfo(`${calicoVersion}-0.dev`)
    const r = await onKube(['version'])
    assert.equal(r.code, 0)
    assert.equal(r.stderr, '')
    assert.match(r.stdout, /Cluster Version: {3}v3\.\d+\.\d+-0\.dev\n/)
  })

  it('datastore migrate refuses a mismatch as calicoctl does, unless --allow-version-mismatch; other commands accept the flag', async () => {
    seedInfo('v3.29.1')
    const refused = await onKube(['datastore', 'migrate', 'lock'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /Error: version mismatch: netctl speaks Calico v3\.\d+\.\d+, the cluster at .* runs v3\.29\.1\n {2}use --allow-version-mismatch to override/)
    const allowed = await onKube(['datastore', 'migrate', 'lock', '--allow-version-mismatch'])
    assert.equal(allowed.code, 0, allowed.stderr)
    const get = await onKube(['get', 'clusterinformation', '-o', 'json', '--allow-version-mismatch'])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(JSON.parse(get.stdout).items[0].spec.datastoreReady, false)
  })
})
