/** parseDocuments and parsePatch: hostile YAML (alias bombs, deep nesting, too many documents) is refused quickly. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {NetctlError} from '../../src/errors.js'
import {inputLimits, mergePatch, parseDocuments, parsePatch} from '../../src/resources/documents.js'
import {bombPatch, bombPool} from '../helpers/hostile-yaml.js'

const pool = (name: string, extra = '') => `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${name}\n${extra}spec:\n  cidr: 10.0.0.0/16\n`

/** Runs fn, checks it throws a usage NetctlError matching pattern, within the time and heap growth given. */
async function refusedQuickly(fn: () => Promise<unknown>, pattern: RegExp, maxMs = 2000, maxHeapGrowthMb = 100): Promise<void> {
  const heapBefore = process.memoryUsage().heapUsed
  const started = performance.now()
  let peakHeap = heapBefore
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 5)
  try {
    await assert.rejects(fn(), (error: unknown) => {
      assert.ok(error instanceof NetctlError, `expected a NetctlError, got ${String(error)}`)
      assert.equal(error.kind, 'usage')
      assert.match(error.message, pattern)
      return true
    })
  } finally {
    clearInterval(sampler)
  }
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)
  const elapsed = performance.now() - started
  assert.ok(elapsed < maxMs, `took ${Math.round(elapsed)} ms`)
  assert.ok((peakHeap - heapBefore) / 2 ** 20 < maxHeapGrowthMb, `heap grew by ${Math.round((peakHeap - heapBefore) / 2 ** 20)} MB`)
}

describe('parseDocuments bounds the work a document may cause', () => {
  it('refuses a billion-laughs alias bomb in well under 2 s', async () => {
    const bomb = bombPool()
    assert.ok(bomb.length < 600)
    await refusedQuickly(() => parseDocuments(bomb, 'bomb.yaml'), /^bomb\.yaml.*(alias|expand)/)
  })

  it('refuses the same bomb written as flow mappings and hidden in a second document', async () => {
    const levels = ['a0: &a0 {x: lol, y: lol, z: lol, w: lol, v: lol, u: lol, t: lol, s: lol}']
    for (let level = 1; level < 9; level++) levels.push(`a${level}: &a${level} {${'xyzwvuts'.split('').map((k) => `${k}: *a${level - 1}`).join(', ')}}`)
    const text = `${pool('ok')}---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: b\n  annotations: {${levels.join(', ')}}\nspec: {cidr: 10.1.0.0/16}\n`
    await refusedQuickly(() => parseDocuments(text, 'two.yaml'), /^two\.yaml, line 12: .*expand/)
  })

  it('refuses a long string repeated through aliases (no shared object to notice afterwards)', async () => {
    const text = `${pool('s', `  annotations:\n    a: &s "${'x'.repeat(100_000)}"\n    b: [${Array(400).fill('*s').join(', ')}]\n`)}`
    await refusedQuickly(() => parseDocuments(text, 'strings.yaml'), /expand/)
  })

  it('refuses aliases joined into a mapping key before the key string is built', async () => {
    // js-yaml turns a sequence key into one string: 2000 aliases of 1 MB would be a 2 GB key.
    const text = `a: &a "${'x'.repeat(1_000_000)}"\nb: {? [${Array(2000).fill('*a').join(',')}]: 1}\n`
    await refusedQuickly(() => parseDocuments(text, 'key.yaml'), /expand/)
  })

  it(`refuses more than ${inputLimits.maxAliases} aliases`, async () => {
    const text = pool('many', `  labels: {x: &x a}\n  annotations:\n    list: [${Array(inputLimits.maxAliases + 1).fill('*x').join(',')}]\n`)
    await refusedQuickly(() => parseDocuments(text, 'aliases.yaml'), new RegExp(`more than ${inputLimits.maxAliases} aliases`))
  })

  it('refuses nesting deeper than the limit, in YAML and in JSON, without overflowing the stack', async () => {
    const deepJson = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    await refusedQuickly(() => parseDocuments(deepJson, 'deep.json'), /deep|nest/)
    // Each anchor is shallow, but the aliases stack them 10 x 30 levels deep.
    const parts = [`d0: &d0 ${'['.repeat(30)}1${']'.repeat(30)}`]
    for (let i = 1; i < 10; i++) parts.push(`d${i}: &d${i} ${'['.repeat(30)}*d${i - 1}${']'.repeat(30)}`)
    await refusedQuickly(() => parseDocuments(pool('deep', `  annotations: {${parts.join(', ')}}\n`), 'deep.yaml'), /deep|nest/)
  })

  it(`refuses more than ${inputLimits.maxResources} resources with a clear message (no stack overflow)`, async () => {
    const many = Array.from({length: 200_000}, (_, i) => `{apiVersion: projectcalico.org/v3, kind: IPPool, metadata: {name: p${i}}}`).join('\n---\n')
    await refusedQuickly(() => parseDocuments(many, 'many.yaml'), new RegExp(`many\\.yaml holds more than ${inputLimits.maxResources} resources`), 5000, 600)
    const list = JSON.stringify({kind: 'IPPoolList', items: Array.from({length: inputLimits.maxResources + 1}, (_, i) => ({apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name: `p${i}`}}))})
    await refusedQuickly(() => parseDocuments(list, 'list.json'), /more than \d+ resources/, 5000, 600)
  })

  it('refuses text larger than the size limit', async () => {
    const big = `${pool('big')}# ${'x'.repeat(inputLimits.maxBytes)}\n`
    await refusedQuickly(() => parseDocuments(big, 'big.yaml'), /big\.yaml is larger than 16 MiB/, 5000, 600)
  })

  it('still reads the ordinary uses of anchors, merge keys and many documents', async () => {
    // Anchors live within one document (YAML 1.2 §9.2).
    const docs = await parseDocuments(pool('a', '  labels: &common {team: net, tier: "1"}\n  annotations:\n    <<: *common\n    tier: "2"\n'), 'merge.yaml')
    assert.deepEqual(docs[0]!.resource.metadata.labels, {team: 'net', tier: '1'})
    assert.deepEqual(docs[0]!.resource.metadata.annotations, {team: 'net', tier: '2'})
    const sameLabels = await parseDocuments(pool('c', '  labels: &l {x: "1"}\n  annotations: *l\n'), 'alias.yaml')
    assert.deepEqual(sameLabels[0]!.resource.metadata.annotations, {x: '1'})
    const thousand = Array.from({length: inputLimits.maxResources}, (_, i) => pool(`p${i}`)).join('---\n')
    assert.equal((await parseDocuments(thousand, 'max.yaml')).length, inputLimits.maxResources)
  })
})

describe('parsePatch bounds the work a patch may cause', () => {
  it('refuses an alias bomb', async () => {
    await refusedQuickly(() => parsePatch(bombPatch()), /the patch.*(alias|expand)/)
  })

  it('refuses a patch larger than its limit', async () => {
    await refusedQuickly(() => parsePatch(`{"metadata":{"annotations":{"a":"${'x'.repeat(inputLimits.maxPatchBytes)}"}}}`), /the patch is larger than 1 MiB/)
  })

  it('still reads JSON and YAML patches', async () => {
    assert.deepEqual(await parsePatch('{"spec":{"natOutgoing":true}}'), {spec: {natOutgoing: true}})
    assert.deepEqual(await parsePatch('spec: {disabled: true}'), {spec: {disabled: true}})
    assert.deepEqual(mergePatch({a: 1, b: {c: 2}}, await parsePatch('{"b":{"c":null,"d":3}}')), {a: 1, b: {d: 3}})
  })
})
