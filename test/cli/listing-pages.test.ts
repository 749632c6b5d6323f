/** Listings printed page by page: the same bytes as the whole-document printers, and rows before the last page. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {asDocument, formatTable, parseOutputFormat, toJson, toYaml, writeListingPages} from '../../src/cli/output.js'
import {kindInfo} from '../../src/resources/registry.js'
import type {Resource} from '../../src/resources/types.js'

const weps = kindInfo('workloadendpoints')

function wep(i: number, extra: Record<string, unknown> = {}): Resource {
  const namespace = `ns-${i % 3}`
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: {name: `node${i % 4}-k8s-web--${i}-eth0`, namespace, labels: {app: 'web', 'projectcalico.org/namespace': namespace}, annotations: {note: i % 2 ? 'two\nlines: "quoted" #x' : "it's: [not] {yaml}"}},
    spec: {node: `node${i % 4}`, pod: `web-${'x'.repeat(i % 7)}${i}`, endpoint: 'eth0', ipNetworks: [`10.0.${i >> 8}.${i & 255}/32`], profiles: [], interfaceName: `cali${i}`, ...extra},
  }
}

async function* paged(items: Resource[], size: number, log?: string[]): AsyncGenerator<Resource[]> {
  for (let i = 0; i < items.length; i += size) {
    log?.push(`read page ${i / size}`)
    yield items.slice(i, i + size)
  }
  log?.push('read all')
}

async function printed(items: Resource[], size: number, format: string, log?: string[]): Promise<string> {
  let out = ''
  await writeListingPages(weps, paged(items, size, log), parseOutputFormat(format), {namespaceColumn: true, context: {}}, (text) => {
    log?.push('wrote')
    out += text
  })
  return out
}

const items = Array.from({length: 23}, (_, i) => wep(i, i === 5 ? {ports: [{name: 'http', port: 80, protocol: 'TCP'}]} : {}))

describe('listings printed page by page', () => {
  it('prints YAML and JSON byte for byte as the whole <Kind>List, whatever the page size', async () => {
    for (const list of [items, items.slice(0, 1), []]) {
      const document = asDocument(weps, list, false)
      for (const size of [1, 4, 1000]) {
        assert.equal(await printed(list, size, 'yaml'), `${await toYaml(document)}\n`, `yaml, ${list.length} items, pages of ${size}`)
        assert.equal(await printed(list, size, 'json'), `${toJson(document)}\n`, `json, ${list.length} items, pages of ${size}`)
      }
    }
  })

  it('prints a table of one page exactly as before; later pages aligned as they come, widths only growing', async () => {
    const context = {}
    for (const format of ['ps', 'wide', 'custom-columns=NAME,NODE']) {
      for (const list of [items, []]) {
        assert.equal(await printed(list, 1000, format), `${formatTable(weps, list, {format: parseOutputFormat(format), namespaceColumn: true, context})}\n`)
      }
    }
    const lines = (await printed(items, 4, 'ps')).trimEnd().split('\n')
    assert.equal(lines.length, items.length + 1)
    assert.deepEqual(lines.slice(0, 5), formatTable(weps, items.slice(0, 4), {format: parseOutputFormat('ps'), namespaceColumn: true, context}).split('\n'))
    // The WORKLOAD column starts where the widest row so far needs it, never further left.
    const nodeColumn = lines.map((line) => line.indexOf(' node'))
    for (let i = 2; i < nodeColumn.length; i++) assert.ok(nodeColumn[i]! >= nodeColumn[i - 1]!, `line ${i}: ${lines[i]}`)
  })

  it('writes the first rows before the last page is read', async () => {
    for (const format of ['ps', 'yaml', 'json']) {
      const log: string[] = []
      await printed(items, 5, format, log)
      assert.ok(log.indexOf('wrote') < log.indexOf('read page 1'), `${format}: ${log.join(', ')}`)
      assert.ok(log.indexOf('wrote') < log.indexOf('read all'))
    }
  })

  it('refuses an unknown custom column before reading anything', async () => {
    const log: string[] = []
    await assert.rejects(printed(items, 5, 'custom-columns=NAME,BOGUS', log), /WorkloadEndpoint has no column BOGUS/)
    assert.deepEqual(log, [])
  })
})
