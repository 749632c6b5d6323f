/** patch -t merge|strategic|json: RFC 7386, calicoctl's strategic (a merge for Calico's types), RFC 6902. */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {applyJsonPatch, parseJsonPatch} from '../../src/services/json-patch.js'
import {repoRoot, runCli, tempDir} from '../helpers/cli.js'

const about = {object: 'the document', suggestion: 'look at it'}
const apply = async (document: unknown, patch: string) => applyJsonPatch(document, await parseJsonPatch(patch), about)

describe('RFC 6902 JSON patch', () => {
  it('add, remove, replace, move, copy and test, as the RFC\'s examples', async () => {
    assert.deepEqual(await apply({foo: 'bar'}, '[{"op":"add","path":"/baz","value":"qux"}]'), {foo: 'bar', baz: 'qux'})
    assert.deepEqual(await apply({foo: ['bar', 'baz']}, '[{"op":"add","path":"/foo/1","value":"qux"}]'), {foo: ['bar', 'qux', 'baz']})
    assert.deepEqual(await apply({foo: ['bar']}, '[{"op":"add","path":"/foo/-","value":["abc","def"]}]'), {foo: ['bar', ['abc', 'def']]})
    assert.deepEqual(await apply({baz: 'qux', foo: 'bar'}, '[{"op":"remove","path":"/baz"}]'), {foo: 'bar'})
    assert.deepEqual(await apply({foo: ['bar', 'qux', 'baz']}, '[{"op":"remove","path":"/foo/1"}]'), {foo: ['bar', 'baz']})
    assert.deepEqual(await apply({baz: 'qux', foo: 'bar'}, '[{"op":"replace","path":"/baz","value":"boo"}]'), {baz: 'boo', foo: 'bar'})
    assert.deepEqual(await apply({foo: {bar: 'baz', waldo: 'fred'}, qux: {corge: 'grault'}}, '[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]'), {foo: {bar: 'baz'}, qux: {corge: 'grault', thud: 'fred'}})
    assert.deepEqual(await apply({foo: ['all', 'grass', 'cows', 'eat']}, '[{"op":"move","from":"/foo/1","path":"/foo/3"}]'), {foo: ['all', 'cows', 'eat', 'grass']})
    assert.deepEqual(await apply({a: {b: 1}}, '[{"op":"copy","from":"/a","path":"/c"}]'), {a: {b: 1}, c: {b: 1}})
    assert.deepEqual(await apply({baz: 'qux', foo: ['a', 2, 'c']}, '[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]'), {baz: 'qux', foo: ['a', 2, 'c']})
    assert.deepEqual(await apply({a: 1}, '[{"op":"replace","path":"","value":{"b":2}}]'), {b: 2})
    assert.deepEqual(await apply({'/': 9, '~1': 10}, '[{"op":"test","path":"/~01","value":10},{"op":"replace","path":"/~1","value":1}]'), {'/': 1, '~1': 10})
  })

  it('all or nothing: the document given is never changed, and the failing operation is named', async () => {
    const document = {spec: {cidr: '10.0.0.0/16', list: [1]}}
    await assert.rejects(apply(document, '[{"op":"add","path":"/spec/x","value":1},{"op":"remove","path":"/spec/missing"}]'), /JSON patch operation 1 \(remove \/spec\/missing\) failed on the document: \/spec\/missing does not exist; nothing was changed/)
    assert.deepEqual(document, {spec: {cidr: '10.0.0.0/16', list: [1]}})
    await assert.rejects(apply(document, '[{"op":"test","path":"/spec/cidr","value":"x"}]'), (e: Error & {kind?: string}) => e.kind === 'conflict' && /operation 0 \(test \/spec\/cidr\).*test failed: \/spec\/cidr is "10.0.0.0\/16", not "x"/.test(e.message))
    await assert.rejects(apply(document, '[{"op":"add","path":"/spec/list/5","value":1}]'), /index 5 is out of range \(the list has 1 items\)/)
    await assert.rejects(apply(document, '[{"op":"add","path":"/nope/x","value":1}]'), /\/nope does not exist/)
    await assert.rejects(apply(document, '[{"op":"move","from":"/spec","path":"/spec/inner"}]'), /cannot move \/spec into one of its own children/)
  })

  it('refuses malformed operations before anything is read', async () => {
    await assert.rejects(parseJsonPatch('{"op":"add"}'), /must be a list of operations/)
    await assert.rejects(parseJsonPatch('[{"op":"frob","path":"/a"}]'), /operation 0 of the JSON patch has an unknown op "frob"/)
    await assert.rejects(parseJsonPatch('[{"op":"add","path":"/a"}]'), /operation 0 \(add \/a\) of the JSON patch has no "value"/)
    await assert.rejects(parseJsonPatch('[{"op":"move","path":"/a"}]'), /operation 0 \(move\) of the JSON patch has no "from" string/)
    await assert.rejects(parseJsonPatch('[{"op":"remove","path":"a"}]'), /"path" "a" is not a JSON pointer/)
  })
})

describe('netctl patch -t', () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const pool = async () => JSON.parse((await netctl(['get', 'ippool', 'pool-b', '-o', 'json'])).stdout) as {metadata: Record<string, unknown>; spec: Record<string, unknown>}
  before(async () => {
    state = tempDir()
    const created = await netctl(['create', '-f', join(repoRoot, 'test', 'fixtures', 'pools.yaml')])
    assert.equal(created.code, 0, created.stderr)
  })
  after(() => state.cleanup())

  it('-t json applies RFC 6902 operations; a failed test changes nothing (exit 1)', async () => {
    const ok = await netctl(['patch', 'ippool', 'pool-b', '-t', 'json', '-p', '[{"op":"test","path":"/spec/cidr","value":"10.10.0.0/16"},{"op":"add","path":"/metadata/labels","value":{"tier":"x"}},{"op":"add","path":"/spec/disabled","value":true}]'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout, "Successfully patched 1 'IPPool' resource\n")
    assert.deepEqual([(await pool()).metadata.labels, (await pool()).spec.disabled], [{tier: 'x'}, true])
    const failed = await netctl(['patch', 'ippool', 'pool-b', '--type', 'json', '-p', '[{"op":"remove","path":"/metadata/labels"},{"op":"test","path":"/spec/disabled","value":false}]'])
    assert.equal(failed.code, 1)
    assert.match(failed.stderr, /JSON patch operation 1 \(test \/spec\/disabled\) failed on IPPool "pool-b": test failed: \/spec\/disabled is true, not false; nothing was changed/)
    assert.deepEqual((await pool()).metadata.labels, {tier: 'x'})
  })

  it('-t json cannot rename or change kind; a missing path is exit 2', async () => {
    const renamed = await netctl(['patch', 'ippool', 'pool-b', '-t', 'json', '-p', '[{"op":"replace","path":"/metadata/name","value":"other"}]'])
    assert.equal(renamed.code, 2)
    assert.match(renamed.stderr, /a patch cannot rename an object/)
    const missing = await netctl(['patch', 'ippool', 'pool-b', '-t', 'json', '-p', '[{"op":"replace","path":"/spec/nope","value":1}]'])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /operation 0 \(replace \/spec\/nope\) failed.*\/spec\/nope does not exist/)
  })

  it('-t merge and the default strategic are merge patches; lists replace whole; $patch directives are refused', async () => {
    for (const type of ['merge', 'strategic']) {
      const result = await netctl(['patch', 'ippool', 'pool-b', '-t', type, '-p', `{"spec":{"allowedUses":["Workload"]},"metadata":{"labels":{"by":"${type}"}}}`])
      assert.equal(result.code, 0, result.stderr)
      const patched = await pool()
      assert.deepEqual([patched.spec.allowedUses, (patched.metadata.labels as Record<string, string>).by], [['Workload'], type])
    }
    const directive = await netctl(['patch', 'ippool', 'pool-b', '-p', '{"metadata":{"labels":{"$patch":"delete"}}}'])
    assert.equal(directive.code, 2)
    assert.match(directive.stderr, /strategic merge directive \$patch at \/metadata\/labels is not supported/)
    const list = await netctl(['patch', 'ippool', 'pool-b', '-p', '[{"op":"remove","path":"/metadata/labels"}]'])
    assert.equal(list.code, 2)
    assert.match(list.stderr, /a merge patch must be a JSON object; this one is a list\n.*add -t json/)
    const bad = await netctl(['patch', 'ippool', 'pool-b', '-t', 'xml', '-p', '{}'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /one of: strategic, merge, json/)
  })
})
