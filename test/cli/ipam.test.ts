/** netctl ipam … through the real binary, on the embedded datastore: calicoctl's flags, tables, messages and exit codes. */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {FileDatastore} from '../../src/datastore/file.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {blocksTable, seedCluster, usageTable} from '../ipam/seed.js'

describe('netctl ipam (embedded datastore)', () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  before(async () => {
    state = tempDir()
    await seedCluster(new FileDatastore(state.path))
  })
  after(() => state.cleanup())

  it('ipam show and ipam show --show-blocks print calicoctl\'s tables', async () => {
    const show = await netctl(['ipam', 'show'])
    assert.equal(show.code, 0, show.stderr)
    assert.equal(show.stdout, `${usageTable}\n`)
    const blocks = await netctl(['ipam', 'show', '--show-blocks'])
    assert.equal(blocks.stdout, `${blocksTable}\n`)
    const ip = await netctl(['ipam', 'show', '--ip', '10.244.0.2'])
    assert.match(ip.stdout, /^IP 10\.244\.0\.2 is in use\nHandle ID: k8s-pod-network\.c0ffeepoda2\d+\nActive Owner Attributes:\n  namespace: default\n  node: node-a\n  pod: pod-a2\n/)
    const bad = await netctl(['ipam', 'show', '--ip', 'nope'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^Error: invalid IP address specified: nope\n/)
    const config = await netctl(['ipam', 'show', '--show-configuration'])
    assert.match(config.stdout, /^\+-+\+-+\+\n\| PROPERTY +\| VALUE +\|\n/)
  })

  it('ipam check -o writes the report that ipam release --from-report takes', async () => {
    const report = join(state.path, 'report.json')
    const check = await netctl(['ipam', 'check', '-o', report])
    assert.equal(check.code, 0, check.stderr)
    assert.match(check.stdout, /^Checking IPAM for inconsistencies\.\.\.\n\nLoading all IPAM blocks\.\.\.\nFound 2 IPAM blocks\.\n/)
    assert.match(check.stdout, /\nCheck complete; found 0 problems\.\n$/)
    const written = JSON.parse(readFileSync(report, 'utf8'))
    assert.deepEqual(Object.keys(written), ['version', 'clusterGUID', 'datastoreLocked', 'clusterInformationRevision', 'clusterType', 'allocations'])
    const locked = await netctl(['ipam', 'release', '--from-report', report])
    assert.equal(locked.code, 1)
    assert.match(locked.stderr, /^Error: data store is not locked\. Either lock the data store, or re-run with --force\n/)
    const forced = await netctl(['ipam', 'release', '--from-report', report, '--force'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.equal(forced.stdout, [
      'WARNING: Data store is not locked. Ignoring due to --force option',
      "Report didn't contain any leaked IPs to clean up.",
      "Report didn't contain any handles to clean up.",
      'You may now unlock the data store.',
      '',
    ].join('\n'))
  })

  it('ipam release --ip, once', async () => {
    const released = await netctl(['ipam', 'release', '--ip', '10.244.0.65'])
    assert.equal(released.code, 0, released.stderr)
    assert.equal(released.stdout, 'Successfully released IP address 10.244.0.65\n')
    const again = await netctl(['ipam', 'release', '--ip', '10.244.0.65'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /^Error: IP address 10\.244\.0\.65 is not assigned\n/)
    const neither = await netctl(['ipam', 'release'])
    assert.equal(neither.code, 2)
  })

  it('ipam configure', async () => {
    const set = await netctl(['ipam', 'configure', '--strictaffinity=true', '--max-blocks-per-host', '2'])
    assert.equal(set.code, 0, set.stderr)
    assert.equal(set.stdout, 'Successfully set StrictAffinity to: true\nSuccessfully set MaxBlocksPerHost to: 2\n')
    const got = await netctl(['get', 'ipamconfig', '-o', 'wide'])
    assert.equal(got.stdout, 'NAME      STRICTAFFINITY   AUTOALLOCATEBLOCKS   MAXBLOCKSPERHOST\ndefault   true             true                 2\n')
    const none = await netctl(['ipam', 'configure'])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /at least one configuration option must be specified/)
  })

  it('get shows IPAM blocks and handles; writing them is IPAM\'s alone', async () => {
    const blocks = await netctl(['get', 'ipamblocks'])
    assert.equal(blocks.stdout, 'NAME             CIDR             AFFINITY\n10-244-0-0-26    10.244.0.0/26    host:node-a\n10-244-0-64-26   10.244.0.64/26   host:node-b\n')
    const del = await netctl(['delete', 'ipamblock', '10-244-0-0-26'])
    assert.equal(del.code, 1)
    assert.match(del.stderr, /^Error: IPAMBlock is read-only: delete is not supported on it/)
    const yaml = (await netctl(['get', 'ipamblock', '10-244-0-0-26', '-o', 'yaml'])).stdout
    const apply = await netctl(['apply', '-f', '-'], yaml)
    assert.equal(apply.code, 1)
    assert.match(apply.stderr, /IPAMBlock is read-only: apply or replace is not supported on it/)
    const label = await netctl(['label', 'ipamhandles', (await netctl(['get', 'ipamhandles', '-o', 'custom-columns=NAME'])).stdout.split('\n')[1]!, 'a=b'])
    assert.equal(label.code, 1)
    assert.match(label.stderr, /IPAMHandle is read-only: label is not supported on it/)
  })

  it('ipam split replaces the pool by equal parts', async () => {
    const split = await netctl(['ipam', 'split', '2', '--name', 'default-ipv4-ippool', '--force'])
    assert.equal(split.code, 0, split.stderr)
    assert.equal(split.stdout, [
      'WARNING: Data store is not locked. Ignoring due to --force option',
      'IP Pool default-ipv4-ippool was successfully split into 2 smaller pools.Created split-default-ipv4-ippool-0 with CIDR 10.244.0.0/17.',
      'Created split-default-ipv4-ippool-1 with CIDR 10.244.128.0/17.',
      'Please refer to the documentation for final steps.',
      '',
    ].join('\n'))
    const pools = await netctl(['get', 'ippools'])
    assert.equal(pools.stdout, 'NAME                          CIDR              SELECTOR\nsplit-default-ipv4-ippool-0   10.244.0.0/17     all()\nsplit-default-ipv4-ippool-1   10.244.128.0/17   all()\n')
  })
})
