/**
 * A lab's directory under the state dir: lab.json (what was asked), owned.jsonl (every
 * namespace and process the lab made, written and fsynced *before* making it), and the
 * lab's own datastore. `lab down` trusts only owned.jsonl, so it works after a SIGKILL at
 * any point and without the topology file.
 */
import {closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {currentContextFile, labDirectory} from '../datastore/config.js'
import {NetctlError} from '../errors.js'
import type {Topology} from './topology.js'

export interface LabDatastore {
  type: 'file' | 'etcdv3'
  etcdEndpoints?: string
}

export interface LabRecord {
  apiVersion: 'netctl/v1'
  kind: 'Lab'
  name: string
  /** A cluster lab's shape; basic labs (veth, bridge, ...) have none. */
  topology?: Topology
  basic?: string
  datastore: LabDatastore
  createdAt: string
}

/** A namespace (with its nsfs inode once created), or a process (by pid and start time). */
export type OwnedObject = {netns: string; ino?: string} | {pid: number; start: string; what: string}

export const labsDir = (stateDir: string) => join(stateDir, 'labs')
export const labDir = labDirectory

export function listLabs(stateDir: string): string[] {
  try {
    return readdirSync(labsDir(stateDir), {withFileTypes: true}).filter((d) => d.isDirectory()).map((d) => d.name).sort()
  } catch {
    return []
  }
}

export function readLabRecord(stateDir: string, lab: string): LabRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(labDir(stateDir, lab), 'lab.json'), 'utf8')) as LabRecord
  } catch {
    return undefined
  }
}

export function requireLab(stateDir: string, lab: string): LabRecord {
  const record = readLabRecord(stateDir, lab)
  if (!record) {
    const known = listLabs(stateDir)
    throw new NetctlError('not-found', `there is no lab "${lab}"`, known.length ? `labs: ${known.join(', ')}` : 'make one with: netctl lab up')
  }
  return record
}

function writeDurably(path: string, text: string, flags: 'w' | 'a'): void {
  const fd = openSync(path, flags, 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export function writeLabRecord(stateDir: string, record: LabRecord): void {
  const dir = labDir(stateDir, record.name)
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const temp = join(dir, `lab.json.${process.pid}.tmp`)
  writeDurably(temp, JSON.stringify(record, null, 2) + '\n', 'w')
  // rename is atomic: lab.json is the old record or the new one.
  renameSync(temp, join(dir, 'lab.json'))
}

/** Record objects before they are created. */
export function recordOwned(stateDir: string, lab: string, objects: OwnedObject[]): void {
  if (objects.length === 0) return
  const dir = labDir(stateDir, lab)
  mkdirSync(dir, {recursive: true, mode: 0o700})
  writeDurably(join(dir, 'owned.jsonl'), objects.map((o) => JSON.stringify(o) + '\n').join(''), 'a')
}

export function readOwned(stateDir: string, lab: string): OwnedObject[] {
  let text = ''
  try {
    text = readFileSync(join(labDir(stateDir, lab), 'owned.jsonl'), 'utf8')
  } catch {
    return []
  }
  // A line cut short by a crash mid-append is skipped: what it named was not created yet.
  return text.split('\n').flatMap((line) => {
    try {
      return line.trim() ? [JSON.parse(line) as OwnedObject] : []
    } catch {
      return []
    }
  })
}

/** Rewrite owned.jsonl without the objects that are gone. */
export function forgetOwned(stateDir: string, lab: string, gone: (o: OwnedObject) => boolean): void {
  const dir = labDir(stateDir, lab)
  const temp = join(dir, `owned.jsonl.${process.pid}.tmp`)
  const keep = readOwned(stateDir, lab).filter((o) => !gone(o))
  writeDurably(temp, keep.map((o) => JSON.stringify(o) + '\n').join(''), 'w')
  renameSync(temp, join(dir, 'owned.jsonl'))
}

export function removeLabDir(stateDir: string, lab: string): void {
  rmSync(labDir(stateDir, lab), {recursive: true, force: true})
}

// --- the current context, like kind's kubeconfig context ---------------------------------

const contextFile = currentContextFile

/** "lab/<name>", or undefined for the plain embedded datastore. */
export function readCurrentContext(stateDir: string): string | undefined {
  try {
    return readFileSync(contextFile(stateDir), 'utf8').trim() || undefined
  } catch {
    return undefined
  }
}

export function writeCurrentContext(stateDir: string, context: string | undefined): void {
  if (context === undefined) {
    rmSync(contextFile(stateDir), {force: true})
    return
  }
  mkdirSync(stateDir, {recursive: true, mode: 0o700})
  writeDurably(contextFile(stateDir), context + '\n', 'w')
}

export const labContext = (lab: string) => `lab/${lab}`
export const labOfContext = (context: string | undefined) => (context?.startsWith('lab/') ? context.slice(4) : undefined)
export const labExists = (stateDir: string, lab: string) => existsSync(join(labDir(stateDir, lab), 'lab.json'))
