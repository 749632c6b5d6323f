import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {resolveConfig} from '../../src/datastore/config.js'
import {NetctlError} from '../../src/errors.js'
import {runCli, tempDir} from '../helpers/cli.js'

describe('config resolution', () => {
  let dir: ReturnType<typeof tempDir>
  let file: string
  before(() => {
    dir = tempDir()
    file = join(dir.path, 'calicoctl.cfg')
    writeFileSync(file, [
      'apiVersion: projectcalico.org/v3',
      'kind: CalicoAPIConfig',
      'metadata: {}',
      'spec:',
      '  datastoreType: etcdv3',
      '  etcdEndpoints: http://10.0.0.1:2379',
      '  etcdPassword: hunter2',
      '  kubeconfig: /from/file',
    ].join('\n'))
  })
  after(() => dir.cleanup())

  it('takes flags over env over the file, and says where each came from', async () => {
    const resolved = await resolveConfig({config: file, kubeconfig: '/from/flag'}, {HOME: dir.path, ETCD_ENDPOINTS: 'http://127.0.0.1:2379', CALICO_ETCD_ENDPOINTS: 'http://ignored:1'})
    assert.equal(resolved.values.datastoreType, 'etcdv3')
    assert.deepEqual(resolved.settings.datastoreType, {value: 'etcdv3', source: `file ${file}`})
    assert.deepEqual(resolved.settings.etcdEndpoints, {value: 'http://127.0.0.1:2379', source: 'env ETCD_ENDPOINTS'})
    assert.deepEqual(resolved.settings.kubeconfig, {value: '/from/flag', source: 'flag --kubeconfig'})
    assert.equal(resolved.settings.etcdPassword?.secret, true)
    assert.deepEqual(resolved.settings.stateDir, {value: join(dir.path, '.local/state/netctl'), source: 'default'})
  })

  it('accepts the CALICO_ forms and defaults to the embedded datastore', async () => {
    const resolved = await resolveConfig({}, {HOME: dir.path, CALICO_DATASTORE_TYPE: 'kubernetes', XDG_STATE_HOME: '/state'})
    assert.deepEqual(resolved.settings.datastoreType, {value: 'kubernetes', source: 'env CALICO_DATASTORE_TYPE'})
    assert.equal(resolved.values.stateDir, '/state/netctl')
    assert.equal((await resolveConfig({}, {HOME: dir.path})).values.datastoreType, 'file')
  })

  it('rejects a config file that is not a CalicoAPIConfig', async () => {
    const bad = join(dir.path, 'bad.cfg')
    writeFileSync(bad, 'kind: Something\n')
    await assert.rejects(resolveConfig({config: bad}, {}), (e: unknown) => e instanceof NetctlError && e.kind === 'usage' && /not a CalicoAPIConfig/.test(e.message))
    await assert.rejects(resolveConfig({config: join(dir.path, 'missing.cfg')}, {}), /cannot read the config file/)
  })

  it('config view masks secrets', async () => {
    const r = await runCli(['config', 'view', '--config', file])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /etcdPassword\s+\*{8}\s+file /)
    assert.doesNotMatch(r.stdout, /hunter2/)
    assert.match(r.stdout, /datastoreType\s+etcdv3\s+file /)
  })
})
