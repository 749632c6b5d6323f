/** Printers for -o ps|wide|yaml|json|custom-columns=...|go-template=...|jsonpath=...: strings in, strings out. */
import {NetctlError} from '../errors.js'
import type {ColumnContext, KindInfo} from '../resources/kind.js'
import {API_VERSION, type Resource} from '../resources/types.js'

export type TemplateKind = 'go-template' | 'jsonpath'

export type OutputFormat =
  | {type: 'ps' | 'wide' | 'yaml' | 'json'}
  | {type: 'custom-columns'; columns: string[]}
  /** A template given inline (source 'inline') or the path of a file holding it (source 'file'). */
  | {type: TemplateKind; source: 'inline' | 'file'; text: string}

/** Every -o value, for help and shell completion. */
export const outputFormats = ['ps', 'wide', 'yaml', 'json', 'custom-columns=', 'go-template=', 'go-template-file=', 'jsonpath=', 'jsonpath-file='] as const

const allFormats = 'ps, wide, yaml, json, custom-columns=NAME,CIDR, go-template=TEMPLATE, go-template-file=FILE, jsonpath=EXPR or jsonpath-file=FILE'

export function parseOutputFormat(text: string | undefined): OutputFormat {
  const value = text ?? 'ps'
  if (value === 'ps' || value === 'wide' || value === 'yaml' || value === 'json') return {type: value}
  const [key, ...rest] = value.split('=')
  const argument = rest.join('=')
  switch (key) {
    case 'custom-columns': {
      const columns = argument.split(',').map((c) => c.trim().toUpperCase()).filter(Boolean)
      if (columns.length > 0) return {type: 'custom-columns', columns}
      throw new NetctlError('usage', 'need to specify at least one column', 'e.g. -o custom-columns=NAME,CIDR')
    }
    case 'go-template':
    case 'jsonpath':
    case 'go-template-file':
    case 'jsonpath-file': {
      const file = key.endsWith('-file')
      const type = key.replace(/-file$/, '') as TemplateKind
      if (argument === '') {
        const example = type === 'go-template' ? (file ? '-o go-template-file=pools.tmpl' : `-o go-template='{{range .items}}{{.metadata.name}}{{"\\n"}}{{end}}'`) : file ? '-o jsonpath-file=names.jsonpath' : "-o jsonpath='{.items[*].metadata.name}'"
        throw new NetctlError('usage', `need to specify a ${file ? 'template file' : 'template'} after ${key}=`, `e.g. ${example}`)
      }
      return {type, source: file ? 'file' : 'inline', text: argument}
    }
  }
  throw new NetctlError('usage', `unknown output format "${value}"`, `use -o ${allFormats}`)
}

/**
 * Reads a template file if the format names one, and parses the template, so that a bad template is
 * refused before the datastore is opened. Returns the renderer: document in, text out.
 */
export async function templateRenderer(format: Extract<OutputFormat, {source: string}>, readFile: (path: string) => Promise<string>): Promise<(document: unknown) => string> {
  const text = format.source === 'file' ? await readFile(format.text) : format.text
  if (format.type === 'go-template') {
    const {parseTemplate, renderGoTemplate} = await import('./template.js')
    parseTemplate(text)
    return (document) => renderGoTemplate(text, document)
  }
  const {parseJsonPath, renderJsonPath} = await import('./jsonpath.js')
  parseJsonPath(text)
  return (document) => renderJsonPath(text, document)
}

/** The metadata that only makes sense in the cluster it was read from (calicoctl get --export). */
const clusterSpecific = ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const

/**
 * calicoctl get --export: without the cluster-specific metadata, so the output can be created in
 * another cluster. A named object also loses its namespace, as calicoctl's does; a listing keeps
 * them, so that get -A --export | create -f - puts each object back in its own namespace.
 */
export function exportResource(resource: Resource, options: {dropNamespace: boolean}): Resource {
  const metadata: Record<string, unknown> = {...resource.metadata}
  for (const key of clusterSpecific) delete metadata[key]
  if (options.dropNamespace) delete metadata.namespace
  return {...resource, metadata: metadata as Resource['metadata']}
}

/** Keys sorted at every level, as calicoctl's YAML shows them; the same order keeps JSON stable. */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  ) as T
}

export const toJson = (value: unknown): string => JSON.stringify(sortKeys(value), null, 2)

const isArrayIndex = (key: string): boolean => /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 4294967295

/**
 * toJson's text, each line after the first indented by `indent`, written in one pass: no
 * sorted copy of the object first. The same bytes as JSON.stringify(sortKeys(value), null, 2),
 * down to the order JSON.stringify gives the copy's keys (array indices first, ascending).
 * Undefined for what JSON.stringify leaves out (undefined, functions, symbols).
 */
export function sortedJson(value: unknown, indent = ''): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null'
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      if (value === null) return 'null'
      break
    case 'bigint':
      return JSON.stringify(value)
    default:
      return undefined
  }
  const inner = indent + '  '
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    let out = '[\n'
    for (let i = 0; i < value.length; i++) out += (i === 0 ? inner : ',\n' + inner) + (sortedJson(value[i], inner) ?? 'null')
    return out + '\n' + indent + ']'
  }
  let keys = Object.keys(value).sort()
  if (keys.some(isArrayIndex)) keys = [...keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b)), ...keys.filter((k) => !isArrayIndex(k))]
  let out = ''
  for (const key of keys) {
    const text = sortedJson((value as Record<string, unknown>)[key], inner)
    if (text === undefined) continue
    out += (out === '' ? '{\n' : ',\n') + inner + JSON.stringify(key) + ': ' + text
  }
  return out === '' ? '{}' : out + '\n' + indent + '}'
}

export async function toYaml(value: unknown): Promise<string> {
  const {dump} = await import('js-yaml')
  return dump(value, {sortKeys: true, lineWidth: -1, noRefs: true, noArrayIndent: true, quotingType: '"'}).trimEnd()
}

/**
 * Every key of every object in value, added to keys; false where JSON.stringify with a list of
 * keys would not print what sortKeys then JSON.stringify print: an array index as a key (the copy
 * puts those first), __proto__, or an object that is not plain data (a Date's toJSON, say).
 */
function collectKeys(value: unknown, keys: Set<string>): boolean {
  if (typeof value !== 'object' || value === null) return true
  if (Array.isArray(value)) {
    for (const item of value) if (!collectKeys(item, keys)) return false
    return true
  }
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return false
  for (const key of Object.keys(value)) {
    const first = key.charCodeAt(0)
    if ((first >= 48 && first <= 57 && isArrayIndex(key)) || key === '__proto__') return false
    keys.add(key)
    if (!collectKeys((value as Record<string, unknown>)[key], keys)) return false
  }
  return true
}

const itemsOpen = '{\n  "items": [\n'
const itemsClose = '\n  ]\n}'

/**
 * A page of a <Kind>List's items as toJson prints them inside the whole list (indented four
 * spaces, comma-separated). JSON.stringify given every key of the page, sorted, writes each
 * object's keys in that order: sortKeys' text without sortKeys' copy of 20,000 objects.
 */
function jsonItems(page: unknown[]): string {
  const keys = new Set<string>(['items'])
  // JSON.stringify tries every listed key on every object: with many distinct keys (a label key per pod), one object at a time.
  if (!page.every((item) => collectKeys(item, keys)) || keys.size > 256) return page.map((item) => '    ' + sortedJson(item, '    ')).join(',\n')
  return JSON.stringify({items: page}, [...keys].sort(), 2).slice(itemsOpen.length, -itemsClose.length)
}

/** One named object prints alone; a listing prints as <Kind>List with items. */
export function asDocument(info: KindInfo, resources: Resource[], single: boolean): unknown {
  if (single && resources.length === 1) return resources[0]
  return {apiVersion: API_VERSION, kind: `${info.kind}List`, items: resources}
}

/** Columns padded like Go's tabwriter in calicoctl (min width 5, padding 3). */
export function formatColumns(rows: string[][]): string {
  return formatRows(rows, widenColumns([], rows))
}

/** The widths, grown to fit these rows too. */
function widenColumns(widths: number[], rows: string[][]): number[] {
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i] ?? 0, row[i]!.length)
  }
  return widths
}

const spaces = ' '.repeat(256)

/**
 * Each cell but the last padded to its column; lines trimmed. Loops, a slice of one string of
 * spaces and a join: half the time of padEnd and a string grown line by line, over 20,000 rows.
 */
function formatRows(rows: string[][], widths: number[]): string {
  const lines = new Array<string>(rows.length)
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    let line = ''
    const last = row.length - 1
    for (let i = 0; i < last; i++) {
      const cell = row[i]!
      const width = widths[i]! + 3 > 5 ? widths[i]! + 3 : 5
      line += width - cell.length <= spaces.length ? cell + spaces.slice(0, width - cell.length) : cell.padEnd(width)
    }
    if (last >= 0) line += row[last]!
    lines[r] = line.trimEnd()
  }
  return lines.join('\n')
}

export interface TableOptions {
  format: OutputFormat
  /** calicoctl puts NAMESPACE first for namespaced kinds when -n or -A was given. */
  namespaceColumn: boolean
  context: ColumnContext
}

export function formatTable(info: KindInfo, resources: Resource[], options: TableOptions): string {
  const headings = tableHeadings(info, options)
  const rows = resources.map((r) => headings.map((h) => info.cells[h]!(r, options.context)))
  return formatColumns([[...headings], ...rows])
}

function tableHeadings(info: KindInfo, options: TableOptions): readonly string[] {
  let headings: readonly string[]
  if (options.format.type === 'custom-columns') {
    headings = options.format.columns
    const unknown = headings.filter((h) => !info.cells[h])
    if (unknown.length > 0) {
      throw new NetctlError('usage', `${info.kind} has no column ${unknown.join(', ')}`, `columns of ${info.kind}: ${Object.keys(info.cells).join(', ')}`)
    }
  } else {
    headings = options.format.type === 'wide' ? info.columns.wide : info.columns.ps
    if (info.namespaced && options.namespaceColumn) headings = ['NAMESPACE', ...headings]
  }
  return headings
}

/**
 * A listing printed page by page as the datastore reads them (`write` gets raw text): the
 * first row shows before the last page is read, and memory holds a page, not the listing.
 * YAML and JSON are the bytes toYaml/toJson give for the whole <Kind>List. A table cannot know its widths before its last row, so, as kubectl does with
 * its chunked lists, each page is aligned when it comes: widths grow with each page (never
 * shrink), so a later page may sit wider than the ones above. A listing of one page (1,000
 * etcd keys, 500 pods) prints exactly as formatTable.
 */
export async function writeListingPages(info: KindInfo, pages: AsyncIterable<Resource[]>, format: OutputFormat, table: Omit<TableOptions, 'format'>, write: (text: string) => void): Promise<number> {
  let count = 0
  const kind = `${info.kind}List`
  if (format.type === 'json') {
    let opened = false
    for await (const page of pages) {
      if (page.length === 0) continue
      const items = jsonItems(page)
      write(opened ? `,\n${items}` : `{\n  "apiVersion": ${JSON.stringify(API_VERSION)},\n  "items": [\n${items}`)
      opened = true
      count += page.length
    }
    write(opened ? `\n  ],\n  "kind": ${JSON.stringify(kind)}\n}\n` : `${toJson({apiVersion: API_VERSION, kind, items: []})}\n`)
    return count
  }
  if (format.type === 'yaml') {
    let opened = false
    for await (const page of pages) {
      if (page.length === 0) continue
      const items = (await toYaml(page)).trimEnd()
      write(opened ? `${items}\n` : `${await toYaml({apiVersion: API_VERSION})}\nitems:\n${items}\n`)
      opened = true
      count += page.length
    }
    write(opened ? `${await toYaml({kind})}\n` : `${await toYaml({apiVersion: API_VERSION, kind, items: []})}\n`)
    return count
  }
  const options = {...table, format}
  const headings = tableHeadings(info, options)
  const widths: number[] = []
  const cells = headings.map((h) => info.cells[h]!)
  let header: string[][] = [[...headings]]
  for await (const page of pages) {
    if (page.length === 0) continue
    const rows = header.concat(page.map((r) => cells.map((cell) => cell(r, options.context))))
    write(formatRows(rows, widenColumns(widths, rows)) + '\n')
    header = []
    count += page.length
  }
  if (header.length > 0) write(formatColumns(header) + '\n')
  return count
}
