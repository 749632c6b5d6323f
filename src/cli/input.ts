/** Read resources from -f: a file, every .yaml/.yml/.json file of a directory, or - for stdin. */
import {open, readdir, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {NetctlError} from '../errors.js'
import {InputBudget, inputLimits, parseDocuments, parseOneDocument, type SourcedResource} from '../resources/documents.js'

const mib = (bytes: number) => `${bytes / 2 ** 20} MiB`
const tooLarge = (what: string) =>
  new NetctlError('usage', `${what} larger than ${mib(inputLimits.maxBytes)}`, 'split it into smaller files and give them one at a time')

/** Reads at most `limit` bytes; one byte more and `onTooLarge` decides the error. Never reads an endless input to its end. */
async function readBounded(chunks: AsyncIterable<Buffer | string>, limit: number, onTooLarge: () => NetctlError): Promise<Buffer> {
  const parts: Buffer[] = []
  let size = 0
  for await (const chunk of chunks) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    size += buffer.length
    if (size > limit) throw onTooLarge()
    parts.push(buffer)
  }
  return Buffer.concat(parts)
}

async function readStdin(): Promise<string> {
  try {
    return (await readBounded(process.stdin, inputLimits.maxBytes, () => tooLarge('stdin is'))).toString('utf8')
  } finally {
    // Stop reading a producer that is still writing: netctl will not use the rest.
    process.stdin.destroy()
  }
}

async function readFileBounded(file: string, limit: number, onTooLarge: () => NetctlError): Promise<Buffer> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (error) {
    throw cannotRead(file, error)
  }
  try {
    // One byte more than allowed tells "exactly the limit" from "more". No start: a pipe
    // (-f <(...)) cannot seek.
    return await readBounded(handle.createReadStream({end: limit, autoClose: false}), limit, onTooLarge)
  } catch (error) {
    if (error instanceof NetctlError) throw error
    throw cannotRead(file, error)
  } finally {
    await handle.close()
  }
}

const cannotRead = (path: string, error: unknown) =>
  new NetctlError('usage', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`, 'pass an existing file, a directory, or - for stdin')

/**
 * Reads and parses everything before the caller opens a datastore: a bad or hostile input is
 * refused without ever taking the datastore's lock. One budget (bytes read, bytes expanded,
 * resources, aliases) spans the whole input, a directory's files together.
 */
export async function readResources(path: string, options: {recursive?: boolean; skipEmpty?: boolean} = {}): Promise<SourcedResource[]> {
  const budget = new InputBudget()
  // calicoctl --skip-empty: a file (or directory) with no resources is not an error.
  const parse = async (text: string, source: string) => {
    try {
      return await parseDocuments(text, source, budget)
    } catch (error) {
      if (!(error instanceof NetctlError) || error.message !== `${source} holds no resources`) throw error
      if (options.skipEmpty) return []
      throw new NetctlError('usage', error.message, 'give a file with at least one Calico resource, or pass --skip-empty to allow empty ones')
    }
  }
  if (path === '-') return parse(await readStdin(), 'stdin')
  let files: string[]
  let isDirectory: boolean
  try {
    isDirectory = (await stat(path)).isDirectory()
    files = isDirectory ? await resourceFiles(path, options.recursive === true) : [path]
  } catch (error) {
    throw cannotRead(path, error)
  }
  if (files.length === 0) {
    if (options.skipEmpty) return []
    throw new NetctlError('usage', `${path} holds no .yaml, .yml or .json files`, 'pass a file, or a directory with resource files (or --skip-empty to allow an empty one)')
  }
  let bytesRead = 0
  const all: SourcedResource[] = []
  for (const file of files) {
    const onTooLarge = () => tooLarge(isDirectory ? `${path}: its .yaml, .yml and .json files together are` : `${file} is`)
    const text = await readFileBounded(file, inputLimits.maxBytes - bytesRead, onTooLarge)
    bytesRead += text.length
    // One push per resource: spreading a large array into push() overflows the stack.
    for (const document of await parse(text.toString('utf8'), file)) all.push(document)
  }
  return all
}

/** A directory's .yaml, .yml and .json files, sorted; with recursive, its subdirectories' too (symlinked directories are not followed). */
async function resourceFiles(directory: string, recursive: boolean): Promise<string[]> {
  const files: string[] = []
  for (const entry of (await readdir(directory, {withFileTypes: true})).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) {
      if (recursive) for (const file of await resourceFiles(path, true)) files.push(file)
    } else if (/\.(ya?ml|json)$/.test(entry.name)) files.push(path)
  }
  return files
}

/** A text file such as a -o go-template-file template, read within the same bounds. */
export async function readTextFile(path: string): Promise<string> {
  return (await readFileBounded(path, inputLimits.maxBytes, () => tooLarge(`${path} is`))).toString('utf8')
}

/** One YAML or JSON document from a file (a lab topology), read and parsed within the same bounds. */
export async function readDocument(path: string): Promise<unknown> {
  const text = (await readFileBounded(path, inputLimits.maxBytes, () => tooLarge(`${path} is`))).toString('utf8')
  return parseOneDocument(text, path)
}
