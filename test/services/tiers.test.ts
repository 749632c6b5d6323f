/**
 * The tier rules at the service level (src/services/tiers.ts through writeResources and
 * deleteResources) on the file datastore: the details the CLI scenario does not repeat.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {FileDatastore} from '../../src/datastore/file.js'
import {isNetctlError} from '../../src/errors.js'
import type {SourcedResource} from '../../src/resources/documents.js'
import {stagedKubernetesNetworkPolicyKind} from '../../src/resources/policy.js'
import {kindInfo} from '../../src/resources/registry.js'
import {tierKind} from '../../src/resources/tier.js'
import type {Resource} from '../../src/resources/types.js'
import {deleteResources, writeResources} from '../../src/services/resources.js'
import {sortTiersByOrder} from '../../src/services/tiers.js'
import {tempDir} from '../helpers/cli.js'

const resource = (kind: string, name: string, spec: Record<string, unknown>, namespace?: string): Resource => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: {name, ...(namespace ? {namespace} : {})},
  spec,
})
const sourced = (...resources: Resource[]): SourcedResource[] => resources.map((r, i) => ({resource: r, origin: `test.yaml, document ${i + 1}`}))

describe('tier rules (service, file datastore)', () => {
  let dir: ReturnType<typeof tempDir>
  let ds: FileDatastore
  before(() => {
    dir = tempDir()
    ds = new FileDatastore(dir.path)
  })
  after(() => dir.cleanup())

  it('a refusal of a non-empty tier names the first five policies and how many more, staged ones included', async () => {
    const policies = Array.from({length: 6}, (_, i) => resource('GlobalNetworkPolicy', `p${i}`, {tier: 'audit', selector: 'all()'}))
    const staged = resource('StagedNetworkPolicy', 'try', {tier: 'audit', selector: 'all()'}, 'shop')
    await writeResources(ds, sourced(resource('Tier', 'audit', {order: 50}), ...policies, staged), 'create')
    await assert.rejects(deleteResources(ds, [{info: tierKind, name: 'audit'}]), (error: unknown) => {
      assert.ok(isNetctlError(error, 'conflict'), String(error))
      assert.equal(error.message, 'Tier "audit" cannot be deleted: 7 policies are still in it: GlobalNetworkPolicy "p0", GlobalNetworkPolicy "p1", GlobalNetworkPolicy "p2", GlobalNetworkPolicy "p3", GlobalNetworkPolicy "p4" and 2 more')
      return true
    })
    // Only the staged policy left: it still holds the tier (clientv3 checks the staged kinds too).
    await deleteResources(ds, policies.map((p) => ({info: kindInfo('gnp'), name: p.metadata.name})))
    await assert.rejects(deleteResources(ds, [{info: tierKind, name: 'audit'}]), /1 policy is still in it: StagedNetworkPolicy "shop\/try"/)
  })

  it('a StagedKubernetesNetworkPolicy has no tier and holds none (Calico does not count it)', async () => {
    await writeResources(ds, sourced(resource('StagedKubernetesNetworkPolicy', 'k', {podSelector: {}}, 'shop')), 'create')
    await deleteResources(ds, [{info: kindInfo('snp'), name: 'try', namespace: 'shop'}])
    const [deleted] = await deleteResources(ds, [{info: tierKind, name: 'audit'}])
    assert.equal(deleted?.metadata.name, 'audit')
    assert.equal((await ds.list(stagedKubernetesNetworkPolicyKind)).length, 1)
  })

  it('a policy refused for its tier leaves the whole file unwritten', async () => {
    const file = sourced(resource('GlobalNetworkSet', 'ext', {nets: ['192.0.2.0/24']}), resource('GlobalNetworkPolicy', 'lost', {tier: 'gone', selector: 'all()'}))
    await assert.rejects(writeResources(ds, file, 'apply'), (error: unknown) => {
      assert.ok(isNetctlError(error, 'not-found'), String(error))
      assert.match(error.message, /^test\.yaml, document 2: GlobalNetworkPolicy "lost" is in tier "gone", which does not exist$/)
      return true
    })
    await assert.rejects(ds.get(kindInfo('GlobalNetworkSet'), 'ext'), /not found/)
  })

  it('tiers sort as calicoctl lists them: by order, one without order last, ties in the order given', () => {
    const tier = (name: string, order?: number) => resource('Tier', name, order === undefined ? {} : {order})
    const sorted = sortTiersByOrder([tier('b', 10), tier('none'), tier('a', 10), tier('first', 1), tier('big', 1e7)])
    assert.deepEqual(sorted.map((t) => t.metadata.name), ['first', 'b', 'a', 'big', 'none'])
  })
})
