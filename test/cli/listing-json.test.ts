/** -o json of a paged listing is written without sortKeys' copy, and must stay toJson's bytes for any data. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {asDocument, parseOutputFormat, sortedJson, sortKeys, toJson, writeListingPages} from '../../src/cli/output.js'
import {kindInfo} from '../../src/resources/registry.js'
import type {Resource} from '../../src/resources/types.js'

const weps = kindInfo('workloadendpoints')

async function printed(items: Resource[], size: number): Promise<string> {
  async function* pages() {
    for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size)
  }
  let out = ''
  await writeListingPages(weps, pages(), parseOutputFormat('json'), {namespaceColumn: true, context: {}}, (text) => (out += text))
  return out
}

const wep = (name: string, extra: Record<string, unknown>): Resource =>
  ({apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: {name, namespace: 'ns'}, spec: {node: 'n', interfaceName: 'cali1'}, ...extra}) as Resource

// What JSON.stringify treats specially, and what sortKeys' copy changes.
const awkward: Array<[string, Record<string, unknown>]> = [
  ['array-index keys, which the copy puts first in numeric order', {metadata: {name: 'a', namespace: 'ns', labels: {'10': 'x', '9': 'y', b: 'z', '01': 'w', '4294967295': 'big'}}}],
  ['an own __proto__ key, as JSON.parse makes it', JSON.parse('{"metadata": {"name": "p", "__proto__": {"x": 1}}}') as Record<string, unknown>],
  ['undefined, functions and symbols: left out of objects, null in arrays', {spec: {a: undefined, b: () => 1, c: Symbol('s'), list: [undefined, () => 1, 1]}}],
  ['empty objects and arrays, nested', {spec: {o: {}, a: [], deep: [[], [{}], {x: []}]}}],
  ['numbers JSON.stringify rewrites', {spec: {zero: -0, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, small: 1e-7, big: 1e21, f: 0.1 + 0.2}}],
  ['strings that need escapes', {spec: {s: 'tab\t"quote" \\ newline\n \u2028 \u0001 é 🙂'}}],
  ['a Date and a Map, which the copy turns into {}', {spec: {when: new Date(0), map: new Map([['a', 1]])}}],
  ['keys that are Object.prototype names', {spec: {constructor: 'c', toString: 't', hasOwnProperty: 1, valueOf: null}}],
  ['a key named items', {spec: {items: [{items: 1}]}}],
]

describe('-o json of a paged listing', () => {
  for (const [what, extra] of awkward) {
    it(`is toJson's text, byte for byte: ${what}`, async () => {
      const items = [wep('first', {}), wep('second', extra), wep('third', {spec: {other: true}})]
      for (const size of [1, 2, 1000]) assert.equal(await printed(items, size), `${toJson(asDocument(weps, items, false))}\n`, `pages of ${size}`)
      assert.equal(sortedJson(items[1]), JSON.stringify(sortKeys(items[1]), null, 2))
    })
  }

  it('is toJson\'s text with a distinct label key on each of 1,000 objects', async () => {
    const items = Array.from({length: 1000}, (_, i) => wep(`w${i}`, {metadata: {name: `w${i}`, namespace: 'ns', labels: {[`key-${i}`]: 'v'}}}))
    assert.equal(await printed(items, 500), `${toJson(asDocument(weps, items, false))}\n`)
  })
})
