/**
 * Every file access under netctl's state directory goes through here, so that the directory
 * cannot be turned against its user: another user who plants a symbolic link, or owns or can
 * write to a directory on the way, could otherwise make netctl read, overwrite or delete what
 * the link points to (`lab down` deletes a lab's whole directory).
 *
 * The rule: the state dir and every directory and file netctl uses inside it must be a real
 * directory or file (lstat, never stat), owned by the user running netctl, and not writable by
 * group or others. Once each directory on the way has passed, nobody else can swap anything
 * in it; files are still opened with O_NOFOLLOW and checked again on the open descriptor.
 * Writes go to a temp file (O_EXCL|O_NOFOLLOW) that is fsynced and renamed into place.
 *
 * Paths are given as a root (the state dir, or a file datastore's dir) and the names below it,
 * so that each level is checked and a name can never climb out ("..", "/").
 */
import {randomBytes} from 'node:crypto'
import {closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, unlinkSync, writeFileSync, type Dirent, type Stats} from 'node:fs'
import {dirname, join} from 'node:path'

import {NetctlError} from '../errors.js'

const {O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY} = constants

const moveElsewhere = 'or point --state-dir (or NETCTL_STATE_DIR) at another directory'

/** What went wrong, for the errno codes a state dir runs into; the suggestion says what to do. */
const explanations: Record<string, [reason: string, suggestion: string]> = {
  ENOENT: ['it does not exist', `create it, ${moveElsewhere}`],
  ENOTDIR: ['a part of this path is a file, not a directory', `move that file away, ${moveElsewhere}`],
  EISDIR: ['it is a directory, not a file', `move that directory away, ${moveElsewhere}`],
  EACCES: ['permission denied', `run netctl as the user who owns the state directory, fix its permissions, ${moveElsewhere}`],
  EPERM: ['operation not permitted', `run netctl as the user who owns the state directory, fix its permissions, ${moveElsewhere}`],
  EROFS: ['the file system is read-only', `remount it read-write, ${moveElsewhere}`],
  ENOSPC: ['no space left on the device', `free space on that file system, ${moveElsewhere}`],
  EDQUOT: ['your disk quota is used up', `free space within your quota, ${moveElsewhere}`],
  ELOOP: ['it is a symbolic link, and netctl follows none in its state directory', 'if you did not make it, someone else may have planted it: inspect it, remove the link and run again'],
  ENAMETOOLONG: ['the path is too long', moveElsewhere.replace(/^or /, '')],
  EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n) and run again'],
}

/**
 * An fs error at path, while doing action ("read", "write", "create the directory"), as a
 * NetctlError that names the path, says what is wrong and what to do. NetctlErrors pass through.
 */
export function fsError(error: unknown, path: string, action: string): NetctlError {
  if (error instanceof NetctlError) return error
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const known = code ? explanations[code] : undefined
  if (known) return new NetctlError('unavailable', `cannot ${action} ${path}: ${known[0]}`, known[1], {cause: error})
  return new NetctlError('unavailable', `cannot ${action} ${path}: ${(error as Error)?.message ?? String(error)}`, `check that path and its file system, ${moveElsewhere}`, {cause: error})
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT'

const refuse = (path: string, why: string, suggestion: string) => new NetctlError('unavailable', `refusing to use ${path}: ${why}`, suggestion)

const typeOf = (st: Stats) =>
  st.isSymbolicLink() ? 'symbolic link' : st.isDirectory() ? 'directory' : st.isFile() ? 'regular file' : st.isSocket() ? 'socket' : st.isFIFO() ? 'named pipe' : 'device'

/** Throws unless st (from lstat or fstat of path) is a real `want`, ours, and not writable by group or others. */
function checkStats(path: string, st: Stats, want: 'directory' | 'file'): void {
  if (st.isSymbolicLink()) {
    let target = '?'
    try {
      target = readlinkSync(path)
    } catch {}
    throw refuse(path, `it is a symbolic link (to ${target}), and netctl follows none in its state directory`, `if you did not make it, someone else may have planted it: inspect it, then remove the link (rm ${path}) and run again`)
  }
  if (want === 'directory' ? !st.isDirectory() : !st.isFile()) {
    throw refuse(path, `it is a ${typeOf(st)}, not a ${want === 'file' ? 'regular file' : want}`, `move it away, ${moveElsewhere}`)
  }
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid) {
    throw refuse(path, `it belongs to uid ${st.uid}, not to you (uid ${uid}): its owner could make netctl read, write or delete elsewhere through it`, `use a state directory of your own (--state-dir or NETCTL_STATE_DIR), or run netctl as uid ${st.uid}`)
  }
  if ((st.mode & 0o022) !== 0) {
    throw refuse(path, `other users can write to it (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`, `make it yours alone: chmod go-w ${path}`)
  }
}

/** A name inside the state dir: one path component, never "..", "." or empty. */
function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new NetctlError('usage', `"${name}" cannot name anything in the state directory`, 'use a plain name (for a lab: lower-case letters, digits and "-")')
  }
  return name
}

/** lstat-check one entry; false when it does not exist. */
function checkEntry(path: string, want: 'directory' | 'file'): boolean {
  let st: Stats
  try {
    st = lstatSync(path)
  } catch (error) {
    if (isMissing(error)) return false
    throw fsError(error, path, 'read')
  }
  checkStats(path, st, want)
  return true
}

/** mkdir -p, one level at a time: mkdirSync's own recursive mode reports EROFS as ENOENT. */
function makeDirs(path: string): void {
  try {
    mkdirSync(path, {mode: 0o700})
  } catch (error) {
    const parent = dirname(path)
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === path) throw error
    try {
      makeDirs(parent)
    } catch (inner) {
      if ((inner as NodeJS.ErrnoException).code !== 'EEXIST') throw inner // made meanwhile by another process
    }
    mkdirSync(path, {mode: 0o700})
  }
}

/**
 * Check root and each directory root/dirs[0]/dirs[1]/...; returns the last path, or undefined
 * when one of them does not exist. With create, missing ones are made (mode 0700) instead.
 */
function walkDirs(root: string, dirs: readonly string[], create: boolean): string | undefined {
  dirs.forEach(checkName) // all of them first: a bad name is refused even where a level is missing
  let path = root
  for (const [i, name] of ['', ...dirs].entries()) {
    if (i > 0) path = join(path, name)
    if (checkEntry(path, 'directory')) continue
    if (!create) return undefined
    try {
      // The root's own parents are the user's business: made like mkdir -p, private too.
      if (i === 0) makeDirs(path)
      else mkdirSync(path, {mode: 0o700})
    } catch (error) {
      const {code, path: failed} = error as NodeJS.ErrnoException
      if (code !== 'EEXIST') throw fsError(error, failed ?? path, 'create the directory')
    }
    checkEntry(path, 'directory') // also when another process made it first
  }
  return path
}

/** Check root/...dirs (see the module comment); false when one is missing. */
export const checkStateDirs = (root: string, ...dirs: string[]): boolean => walkDirs(root, dirs, false) !== undefined

/** Check root/...dirs, making the missing ones with mode 0700; returns the path. */
export const ensureStateDirs = (root: string, ...dirs: string[]): string => walkDirs(root, dirs, true)!

const split = (relative: readonly string[]) => ({dirs: relative.slice(0, -1), name: checkName(relative.at(-1)!)})

/** The text of root/...relative, or undefined when it (or a directory on the way) does not exist. */
export function readStateFile(root: string, relative: readonly string[]): string | undefined {
  const {dirs, name} = split(relative)
  const dir = walkDirs(root, dirs, false)
  if (dir === undefined) return undefined
  const path = join(dir, name)
  let fd: number
  try {
    // O_NONBLOCK: a planted named pipe must not hang us; fstat below refuses it.
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
  } catch (error) {
    if (isMissing(error)) return undefined
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') checkEntry(path, 'file')
    throw fsError(error, path, 'read')
  }
  try {
    checkStats(path, fstatSync(fd), 'file')
    return readFileSync(fd, 'utf8')
  } catch (error) {
    throw fsError(error, path, 'read')
  } finally {
    closeSync(fd)
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * Replace root/...relative with text in one step: a reader (or a crash) sees the old file or
 * the new one. The directories on the way are made (0700) when missing; the file is 0600.
 */
export function writeStateFile(root: string, relative: readonly string[], text: string): void {
  const {dirs, name} = split(relative)
  const dir = ensureStateDirs(root, ...dirs)
  const path = join(dir, name)
  checkEntry(path, 'file') // a planted link is refused, not silently replaced
  const temp = join(dir, `${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  let created = false
  try {
    const fd = openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
    created = true
    try {
      writeFileSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, path)
    created = false
    syncDir(dir) // the rename itself must survive a crash
  } catch (error) {
    if (created) rmSync(temp, {force: true})
    throw fsError(error, path, 'write')
  }
}

/** Append text to root/...relative (made 0600 when missing) and fsync it before returning. */
export function appendStateFile(root: string, relative: readonly string[], text: string): void {
  const {dirs, name} = split(relative)
  const dir = ensureStateDirs(root, ...dirs)
  const path = join(dir, name)
  let fd: number
  try {
    fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') checkEntry(path, 'file')
    throw fsError(error, path, 'write')
  }
  let fresh: boolean
  try {
    const st = fstatSync(fd)
    checkStats(path, st, 'file')
    fresh = st.size === 0
    writeFileSync(fd, text)
    fsyncSync(fd)
  } catch (error) {
    throw fsError(error, path, 'write')
  } finally {
    closeSync(fd)
  }
  try {
    if (fresh) syncDir(dir) // a newly made file's name must survive a crash too
  } catch (error) {
    throw fsError(error, dir, 'write')
  }
}

/** Remove the file root/...relative when it is there (a link or another user's file is refused). */
export function removeStateFile(root: string, relative: readonly string[]): void {
  const {dirs, name} = split(relative)
  const dir = walkDirs(root, dirs, false)
  if (dir === undefined) return
  const path = join(dir, name)
  if (!checkEntry(path, 'file')) return
  try {
    unlinkSync(path)
  } catch (error) {
    if (!isMissing(error)) throw fsError(error, path, 'remove')
  }
}

/**
 * Delete the directory root/...relative and everything in it, only when it is a real
 * directory that passes the checks (as does each directory on the way). Links inside it are
 * removed, never followed.
 */
export function removeStateTree(root: string, relative: readonly string[]): void {
  const dir = walkDirs(root, relative.slice(0, -1), false)
  if (dir === undefined) return
  const path = join(dir, checkName(relative.at(-1)!))
  if (!checkEntry(path, 'directory')) return
  try {
    rmSync(path, {recursive: true, force: true})
  } catch (error) {
    throw fsError(error, path, 'remove')
  }
}

/** The entries of the directory root/...dirs (checked), or [] when it does not exist. */
export function listStateDir(root: string, ...dirs: string[]): Dirent[] {
  const dir = walkDirs(root, dirs, false)
  if (dir === undefined) return []
  try {
    return readdirSync(dir, {withFileTypes: true})
  } catch (error) {
    throw fsError(error, dir, 'list')
  }
}

/** Throws unless path (if it exists) is a real directory of ours that only we can write; for a lock, say. */
export function checkStateEntry(path: string, want: 'directory' | 'file'): boolean {
  return checkEntry(path, want)
}
