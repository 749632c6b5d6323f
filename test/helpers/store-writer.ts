/**
 * A child process for the file datastore's concurrency and crash tests.
 *   race <dir|etcd-endpoint> <label> <count>: bump a label on IPPool "race" count times
 *     (read, change, compare-and-swap); an http:// endpoint means the etcd datastore.
 *   churn <dir>: rewrite a large store forever, until killed.
 *   count <dir> <unused> <count>: add 1 to a plain counter file count times under the lock alone.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {acquireLock} from '../../src/datastore/lock.js'
import type {Datastore} from '../../src/datastore/datastore.js'
import {EtcdDatastore} from '../../src/datastore/etcd.js'
import {FileDatastore} from '../../src/datastore/file.js'
import {ipPoolKind} from '../../src/resources/ippool.js'
import {retryOnConflict} from '../../src/services/resources.js'

const [mode, dir, label, count] = process.argv.slice(2)
const ds: Datastore = dir!.startsWith('http')
  ? await EtcdDatastore.open({datastoreType: 'etcdv3', stateDir: '', etcdEndpoints: dir})
  : new FileDatastore(dir!)

if (mode === 'race') {
  let conflicts = 0
  for (let i = 1; i <= Number(count); i++) {
    const {tries} = await retryOnConflict(async () => {
      const pool = await ds.get(ipPoolKind, 'race')
      pool.metadata.labels = {...pool.metadata.labels, [label!]: String(i)}
      return ds.update(ipPoolKind, pool)
    }, 1000)
    conflicts += tries - 1
  }
  process.stdout.write(JSON.stringify({conflicts}))
  await ds.close()
} else if (mode === 'count') {
  const counter = join(dir!, 'counter')
  for (let i = 0; i < Number(count); i++) {
    const release = await acquireLock(join(dir!, 'counter.lock'))
    writeFileSync(counter, String(Number(readFileSync(counter, 'utf8')) + 1))
    await release()
  }
} else if (mode === 'churn') {
  for (;;) {
    const pool = await (ds as FileDatastore).get(ipPoolKind, 'big')
    const round = Number(pool.metadata.annotations?.round ?? 0) + 1
    pool.metadata.annotations = {round: String(round), padding: 'x'.repeat(2_000_000)}
    await ds.update(ipPoolKind, pool)
    process.stdout.write(`${round}\n`)
  }
}
