/** An IPPool change as previewed (planEncap) and as written (setIpPool): the same pool, field for field. */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {FileDatastore} from '../../src/datastore/file.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import type {IPPool} from '../../src/resources/types.js'
import {planEncap, setIpPool, type PoolChange} from '../../src/services/ippool.js'
import {tempDir} from '../helpers/cli.js'

describe('ippool set: preview and write', () => {
  let dir: ReturnType<typeof tempDir>
  let ds: FileDatastore
  before(async () => {
    dir = tempDir()
    ds = new FileDatastore(dir.path)
    await ds.create(ipPoolKind, {apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name: 'p'}, spec: {cidr: '10.9.0.0/16', ipipMode: 'Always', natOutgoing: true, disabled: false}})
  })
  after(() => dir.cleanup())

  it('a field the change leaves out keeps its value in the preview, as in the write', async () => {
    // What `ippool set p --ipip Never` asks: the flags not given are undefined.
    const change: PoolChange = {ipipMode: 'Never', vxlanMode: undefined, natOutgoing: undefined, disabled: undefined}
    const current = (await ds.get(ipPoolKind, 'p')) as IPPool
    const [preview] = await planEncap(ds, [current], change)
    assert.equal(preview!.after.spec?.ipipMode, 'Never')
    assert.equal(preview!.after.spec?.natOutgoing, true)
    assert.equal(preview!.after.spec?.disabled, false)
    const written = await setIpPool(ds, 'p', change)
    assert.deepEqual(written.after.spec, preview!.after.spec)
  })
})
