/**
 * The namespaces a lab owns: the ones it created itself. Each is recorded twice in
 * owned.jsonl, as an intent before `ip netns add` (so a crash right after creating it
 * cannot orphan it) and with its identity (the nsfs inode) once made. A namespace is the
 * lab's only if its inode is the recorded one, or, for an intent a crash left unconfirmed,
 * if it is still empty: a same-named namespace somebody else made is never touched.
 */
import {createNamespaces, deleteNamespaces, isEmptyNamespace, killProcessesIn, listNamespaces, namespaceInode} from '../dataplane/apply.js'
import {NetctlError} from '../errors.js'
import {netnsPrefix} from './topology/names.js'
import {forgetOwned, readOwned, recordOwned} from './state.js'

/** Recorded namespace → its inode, or undefined where only the intent to create it was recorded. */
function recordedNamespaces(stateDir: string, lab: string): Map<string, string | undefined> {
  const recorded = new Map<string, string | undefined>()
  for (const o of readOwned(stateDir, lab)) {
    // Only the lab's own prefix: a tampered record cannot reach another lab's or anyone's namespace.
    if (!('netns' in o) || !o.netns.startsWith(netnsPrefix(lab))) continue
    if (o.ino) recorded.set(o.netns, o.ino)
    else if (!recorded.has(o.netns)) recorded.set(o.netns, undefined)
  }
  return recorded
}

async function isOurs(netns: string, recorded: Map<string, string | undefined>): Promise<boolean> {
  if (!recorded.has(netns)) return false
  const now = namespaceInode(netns)
  if (now === undefined) return false
  const ino = recorded.get(netns)
  return ino ? ino === now : isEmptyNamespace(netns)
}

export const ownsNamespace = (stateDir: string, lab: string, netns: string): Promise<boolean> => isOurs(netns, recordedNamespaces(stateDir, lab))

export const foreignNamespace = (lab: string, netns: string) =>
  new NetctlError('unavailable', `network namespace ${netns} exists but lab "${lab}" did not create it`, 'netctl touches only what it created: remove or rename that namespace, or pick another --name')

/** The lab's namespaces that exist now. */
export async function ownNamespaces(stateDir: string, lab: string): Promise<string[]> {
  const recorded = recordedNamespaces(stateDir, lab)
  const existing = await listNamespaces()
  const ours: string[] = []
  for (const netns of recorded.keys()) if (existing.has(netns) && (await isOurs(netns, recorded))) ours.push(netns)
  return ours
}

/** Create namespaces as the lab's own: the intent recorded first, the identity once made. */
export async function createOwnNamespaces(stateDir: string, lab: string, names: readonly string[]): Promise<void> {
  if (names.length === 0) return
  recordOwned(stateDir, lab, names.map((netns) => ({netns})))
  await createNamespaces(names)
  confirm(stateDir, lab, names)
}

const confirm = (stateDir: string, lab: string, names: readonly string[]) =>
  recordOwned(stateDir, lab, names.flatMap((netns) => {
    const ino = namespaceInode(netns)
    return ino ? [{netns, ino}] : []
  }))

/** End what runs inside the lab's namespaces, delete them, and forget them. */
export async function removeOwnNamespaces(stateDir: string, lab: string, names: readonly string[]): Promise<number> {
  const processes = await killProcessesIn(names)
  await deleteNamespaces(names)
  if (names.length > 0) forgetOwned(stateDir, lab, (o) => 'netns' in o && names.includes(o.netns))
  return processes
}

/**
 * Which wanted namespaces to create and which of the lab's are no longer wanted; the new ones
 * are created as the lab's own. A wanted name that exists and is not the lab's is someone else's.
 */
export async function claimNamespaces(stateDir: string, lab: string, wanted: readonly string[]): Promise<{created: Set<string>; stale: string[]}> {
  const existing = await listNamespaces()
  const recorded = recordedNamespaces(stateDir, lab)
  const adopt: string[] = []
  for (const netns of wanted) {
    if (!existing.has(netns)) continue
    if (!(await isOurs(netns, recorded))) throw foreignNamespace(lab, netns)
    if (recorded.get(netns) === undefined) adopt.push(netns)
  }
  confirm(stateDir, lab, adopt)
  const created = wanted.filter((n) => !existing.has(n))
  await createOwnNamespaces(stateDir, lab, created)
  const stale: string[] = []
  for (const netns of recorded.keys()) if (existing.has(netns) && !wanted.includes(netns) && (await isOurs(netns, recorded))) stale.push(netns)
  return {created: new Set(created), stale}
}
