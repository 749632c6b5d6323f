/**
 * A lab's directory under the state dir: lab.json (what was asked), owned.jsonl (every
 * namespace and process the lab made, written and fsynced *before* making it), and the
 * lab's own datastore. `lab down` trusts only owned.jsonl, so it works after a SIGKILL at
 * any point and without the topology file.
 */
import {join} from 'node:path'

import {currentContextPath, labDirectory, labPath} from '../datastore/config.js'
import {appendStateFile, checkStateDirs, listStateDir, readStateFile, removeStateFile, removeStateTree, writeStateFile} from '../datastore/safe-fs.js'
import {NetctlError} from '../errors.js'
import type {Topology} from './topology/topology.js'

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

// Every file here is reached through safe-fs: a planted link, another user's directory or a
// world-writable one is refused, never followed (see src/datastore/safe-fs.ts).

/** The labs' names; a symbolic link in labs/ is listed too, so that using it reports it. */
export function listLabs(stateDir: string): string[] {
  return listStateDir(stateDir, 'labs').filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name).sort()
}

/** The lab's record, or undefined when it has none (or a torn one); an unsafe one throws. */
export function readLabRecord(stateDir: string, lab: string): LabRecord | undefined {
  const text = readStateFile(stateDir, labPath(lab, 'lab.json'))
  try {
    return text === undefined ? undefined : (JSON.parse(text) as LabRecord)
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

/** Atomic (temp, fsync, rename): lab.json is the old record or the new one. */
export function writeLabRecord(stateDir: string, record: LabRecord): void {
  writeStateFile(stateDir, labPath(record.name, 'lab.json'), JSON.stringify(record, null, 2) + '\n')
}

/** Record objects before they are created. */
export function recordOwned(stateDir: string, lab: string, objects: OwnedObject[]): void {
  if (objects.length === 0) return
  // An fsynced append: the record must be on disk before the object exists.
  appendStateFile(stateDir, labPath(lab, 'owned.jsonl'), objects.map((o) => JSON.stringify(o) + '\n').join(''))
}

export function readOwned(stateDir: string, lab: string): OwnedObject[] {
  const text = readStateFile(stateDir, labPath(lab, 'owned.jsonl')) ?? ''
  // A line cut short by a crash mid-append is skipped: what it named was not created yet.
  // So is one of any other shape: a pid of 0 or -1 would signal whole process groups.
  return text.split('\n').flatMap((line) => {
    try {
      const o: unknown = line.trim() ? JSON.parse(line) : undefined
      return isOwnedObject(o) ? [o] : []
    } catch {
      return []
    }
  })
}

function isOwnedObject(o: unknown): o is OwnedObject {
  if (typeof o !== 'object' || o === null) return false
  const r = o as Record<string, unknown>
  if ('pid' in r) return isProcessId(r.pid) && typeof r.start === 'string' && /^\d+$/.test(r.start) && typeof r.what === 'string'
  return typeof r.netns === 'string' && (r.ino === undefined || typeof r.ino === 'string')
}

/** A single process other than init: never 0 or negative, which name process groups (kill(2)). */
export const isProcessId = (pid: unknown): pid is number => Number.isSafeInteger(pid) && (pid as number) > 1

/** Rewrite owned.jsonl without the objects that are gone. */
export function forgetOwned(stateDir: string, lab: string, gone: (o: OwnedObject) => boolean): void {
  const keep = readOwned(stateDir, lab).filter((o) => !gone(o))
  writeStateFile(stateDir, labPath(lab, 'owned.jsonl'), keep.map((o) => JSON.stringify(o) + '\n').join(''))
}

/** Deletes labs/<lab> only when it is a real directory of ours (never what a link points to). */
export function removeLabDir(stateDir: string, lab: string): void {
  removeStateTree(stateDir, labPath(lab))
}

// --- the current context, like kind's kubeconfig context ---------------------------------

const contextFile = currentContextPath

/** "lab/<name>", or undefined for the plain embedded datastore. */
export function readCurrentContext(stateDir: string): string | undefined {
  return readStateFile(stateDir, contextFile)?.trim() || undefined
}

export function writeCurrentContext(stateDir: string, context: string | undefined): void {
  if (context === undefined) removeStateFile(stateDir, contextFile)
  else writeStateFile(stateDir, contextFile, context + '\n')
}

export const labContext = (lab: string) => `lab/${lab}`
export const labOfContext = (context: string | undefined) => (context?.startsWith('lab/') ? context.slice(4) : undefined)
/** Whether labs/<lab> is there (a lab killed early may have nothing else); an unsafe one throws. */
export const labDirExists = (stateDir: string, lab: string) => checkStateDirs(stateDir, ...labPath(lab))
export const labExists = (stateDir: string, lab: string) => readStateFile(stateDir, labPath(lab, 'lab.json')) !== undefined
