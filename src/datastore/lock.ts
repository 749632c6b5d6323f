/**
 * An exclusive lock across processes on one machine: a directory that holds its owner's
 * pid and a random token. It is created whole (mkdir a private dir, then rename it into
 * place), so a lock never exists without its owner. A lock whose owner process is gone
 * (killed with SIGKILL, say) is broken at once instead of after a timeout; breaking is
 * itself serialized by a second lock, so two waiters can never both break and both win.
 */
import {randomBytes} from 'node:crypto'
import {lstat, mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {NetctlError} from '../errors.js'
import {checkStateEntry, fsError} from './safe-fs.js'

interface Owner {
  pid: number
  token: string
}

const isAlive = (pid: number): boolean => {
  // kill(0 or -n, 0) asks about a process group: such an owner is corrupt, not alive.
  if (pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function readOwner(lockDir: string): Promise<Owner | undefined> {
  try {
    const owner = JSON.parse(await readFile(join(lockDir, 'owner'), 'utf8')) as Owner
    // Its fields name the trash directory and the process asked about: only well-formed ones count.
    return Number.isSafeInteger(owner.pid) && /^[0-9a-f]{16}$/.test(owner.token) ? owner : undefined
  } catch {
    return undefined
  }
}

/**
 * Move the lock out of the way in one step, then delete it. Emptying it in place would let
 * a waiter's rename land on the empty directory (rename replaces an empty target).
 */
async function removeLock(lockDir: string, owner: Owner): Promise<void> {
  const trash = `${lockDir}.${owner.pid}.${owner.token}.released`
  await rename(lockDir, trash)
  await rm(trash, {recursive: true, force: true})
}

// A breaker killed in the microseconds it holds the break lock must not block everyone forever.
const breakLockStaleMs = 10_000

async function breakIfOwnerDead(lockDir: string): Promise<void> {
  const owner = await readOwner(lockDir)
  if (!owner || isAlive(owner.pid)) return
  const breakDir = `${lockDir}.break`
  try {
    await mkdir(breakDir, {mode: 0o700})
  } catch {
    // lstat, and only a real directory of ours is removed: a planted link is refused, not followed.
    checkStateEntry(breakDir, 'directory')
    const age = await lstat(breakDir).then((s) => Date.now() - s.mtimeMs, () => 0)
    if (age > breakLockStaleMs) await rm(breakDir, {recursive: true, force: true})
    return
  }
  try {
    // Re-read under the break lock: somebody may have broken it and locked anew meanwhile.
    const again = await readOwner(lockDir)
    if (again?.token === owner.token) await removeLock(lockDir, owner)
  } finally {
    await rm(breakDir, {recursive: true, force: true})
  }
}

export async function acquireLock(lockDir: string, timeoutMs = 30_000): Promise<() => Promise<void>> {
  const owner: Owner = {pid: process.pid, token: randomBytes(8).toString('hex')}
  const staging = `${lockDir}.${owner.pid}.${owner.token}`
  try {
    await mkdir(staging, {mode: 0o700})
  } catch (error) {
    throw fsError(error, lockDir, 'create the lock')
  }
  const deadline = Date.now() + timeoutMs
  let pause = 1
  try {
    await writeFile(join(staging, 'owner'), JSON.stringify(owner), {flag: 'wx', mode: 0o600})
    for (;;) {
      try {
        await rename(staging, lockDir)
        break
      } catch (error) {
        // What holds the place must be a real lock directory of ours, not a planted link.
        checkStateEntry(lockDir, 'directory')
        const code = (error as NodeJS.ErrnoException).code
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw fsError(error, lockDir, 'take the lock')
      }
      await breakIfOwnerDead(lockDir)
      if (Date.now() > deadline) {
        const holder = await readOwner(lockDir)
        throw new NetctlError(
          'unavailable',
          `${lockDir} is still held by process ${holder?.pid ?? '(unknown)'} after ${timeoutMs / 1000} s`,
          'wait for that process to finish, then retry',
        )
      }
      await sleep(pause)
      pause = Math.min(pause * 2, 25)
    }
  } catch (error) {
    await rm(staging, {recursive: true, force: true})
    throw fsError(error, lockDir, 'take the lock')
  }
  return async () => {
    try {
      if ((await readOwner(lockDir))?.token === owner.token) await removeLock(lockDir, owner)
    } catch (error) {
      throw fsError(error, lockDir, 'release the lock')
    }
  }
}
