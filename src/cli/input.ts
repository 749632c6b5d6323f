/** Read resources from -f: a file, every .yaml/.yml/.json file of a directory, or - for stdin. */
import {readdir, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {NetctlError} from '../errors.js'
import {parseDocuments, type SourcedResource} from '../resources/documents.js'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function readResources(path: string): Promise<SourcedResource[]> {
  if (path === '-') return parseDocuments(await readStdin(), 'stdin')
  let files: string[]
  try {
    const info = await stat(path)
    files = info.isDirectory()
      ? (await readdir(path)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort().map((f) => join(path, f))
      : [path]
  } catch (error) {
    throw new NetctlError('usage', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`, 'pass an existing file, a directory, or - for stdin')
  }
  if (files.length === 0) throw new NetctlError('usage', `${path} holds no .yaml, .yml or .json files`, 'pass a file, or a directory with resource files')
  const all: SourcedResource[] = []
  for (const file of files) all.push(...(await parseDocuments(await readFile(file, 'utf8'), file)))
  return all
}
