/**
 * One transfer per deal at a time. Two runs writing one `.part` file interleave their bytes under
 * one sidecar: the piece CID then fails, and a `--deal` run deletes the data on that fatal
 * failure, the other run's included. Each run holds `<uuid>.lock` in the staging directory while it
 * works; a second run finds it held and stops before touching any file or the deal's status.
 *
 * The staging volume may be shared by pods on several nodes (a ReadWriteMany volume), where
 * neither flock(2) nor a process ID says anything across hosts: the holder touches the file every
 * `heartbeatMs`, and a file untouched for `staleMs` is a dead run's, taken over. A process ID is
 * trusted only within the holder's own PID namespace on the same boot (hostNetwork pods share a
 * node's host name, and a restarted container is PID 1 again): there a vanished process frees the
 * lock at once. A run that finds its lock taken over (it was stopped for longer than `staleMs`) is
 * told through `lost` and by `assertHeld`, so that it stops writing.
 *
 * Files are created with O_EXCL (NFS, SMB and FUSE volumes have it; not all have hard links). A
 * takeover removes the dead lock only while holding `<uuid>.lock.takeover` (O_EXCL too), after
 * reading it again: of several runs that judged the same lock dead, one removes it and creates its
 * own, and the others then find that one alive. A takeover file is a crash's only once it is as
 * old as a dead lock.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { closeSync, constants as fsc, fstatSync, openSync, readFileSync, readlinkSync, readSync, utimesSync } from 'node:fs'
import { open, lstat, unlink, writeFile } from 'node:fs/promises'
import { TransferError, TransferErrorCodes, diskError } from './errors.ts'

export interface LockHolder {
  host: string
  pid: number
  since: string
  token: string
  /** Boot and PID namespace of the holder's process: where its `pid` means something. */
  ns?: string
}

export interface LockOptions {
  /** How often the holder touches the file. */
  heartbeatMs: number
  /** A file untouched for this long is a dead run's. */
  staleMs: number
  now?: () => number
  /** Monotonic milliseconds (performance.now), what pauses are measured with. */
  clock?: () => number
  host?: string
  pid?: number
  /** This process's boot and PID namespace (pidNamespace()); undefined: process IDs are not trusted. */
  ns?: string | undefined
  /** Whether a process of this namespace is alive (process.kill(pid, 0)). */
  alive?: (pid: number) => boolean
}

export const defaultLockOptions: LockOptions = { heartbeatMs: 10_000, staleMs: 60_000 }

/** More than any lock this code writes: a larger file is not read whole. */
const MAX_LOCK_BYTES = 4096

export interface DealLock {
  readonly path: string
  /** Aborted when another run took the lock over. */
  readonly lost: AbortSignal
  /**
   * Throws the `lost` reason unless this run still holds the lock. Synchronous, for the write
   * paths: free while heartbeats confirm the lock; after a pause longer than two of them (the
   * process was stopped, and may resume with socket reads before any timer), the file is read
   * and touched first.
   */
  assertHeld: () => void
  /** Whether this run still holds the lock, the file read now (before deleting or reporting). */
  held: () => boolean
  release: () => Promise<void>
}

function aliveHere (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

/** `<boot id>/<pid namespace>` of this process, undefined where /proc does not say. */
export function pidNamespace (): string | undefined {
  try {
    return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}/${readlinkSync('/proc/self/ns/pid')}`
  } catch { return undefined }
}

function parseHolder (text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>
    if (typeof v.host === 'string' && typeof v.pid === 'number' && typeof v.since === 'string' && typeof v.token === 'string' &&
      (v.ns === undefined || typeof v.ns === 'string')) return v as LockHolder
  } catch {}
  return undefined
}

interface Seen { holder: LockHolder | undefined, mtimeMs: number }

function notAFile (path: string): TransferError {
  return new TransferError(TransferErrorCodes.Params, `the lock ${path} is a directory or device, not a lock file: remove it`)
}

/**
 * Non-blocking: a FIFO put in the lock's place (after the lstat, or under a holder) would block an
 * open or read forever, and the synchronous read with it the whole run; this way it reads as empty.
 */
const READ_FLAGS = fsc.O_RDONLY | fsc.O_NONBLOCK

/** The lock as it stands; undefined when there is none. A symbolic link is judged as itself, by age. */
async function readHolder (path: string): Promise<Seen | undefined> {
  let st
  try { st = await lstat(path) } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw diskError(`stat ${path}`, err)
  }
  if (st.isSymbolicLink()) return { holder: undefined, mtimeMs: st.mtimeMs }
  if (!st.isFile()) throw notAFile(path)
  let text = ''
  try {
    const fh = await open(path, READ_FLAGS)
    try {
      const buf = Buffer.alloc(MAX_LOCK_BYTES)
      const { bytesRead } = await fh.read(buf, 0, MAX_LOCK_BYTES, 0)
      text = buf.subarray(0, bytesRead).toString('utf8')
    } finally { await fh.close() }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw diskError(`read ${path}`, err)
  }
  return { holder: parseHolder(text), mtimeMs: st.mtimeMs }
}

/** The holder, synchronously (the write paths, heartbeats); 'gone' when there is no lock, 'unknown' when unreadable. */
function readHolderSync (path: string): LockHolder | undefined | 'gone' | 'unknown' {
  let fd: number
  try { fd = openSync(path, READ_FLAGS) } catch (err) { return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'unknown' }
  try {
    // Not a file (a FIFO, a device put in its place): not this run's lock, whatever it reads as.
    if (!fstatSync(fd).isFile()) return undefined
    const buf = Buffer.alloc(MAX_LOCK_BYTES)
    return parseHolder(buf.subarray(0, readSync(fd, buf, 0, MAX_LOCK_BYTES, 0)).toString('utf8'))
  } catch { return 'unknown' } finally { closeSync(fd) }
}

const describe = (h: LockHolder): string => `process ${h.pid} on ${h.host}, since ${h.since}`

function busy (path: string, h: LockHolder | undefined): TransferError {
  const who = h !== undefined ? describe(h) : 'a run whose lock file is unreadable or being written'
  return new TransferError(TransferErrorCodes.Busy,
    `another transfer of this deal is running (${who}; lock ${path}); this run changed nothing`, { retry: 'auto' })
}

/** What a run that lost its lock stops with: it may have written before it knew. */
function lostTo (path: string, h: LockHolder | undefined | 'gone'): TransferError {
  const why = h === 'gone'
    ? `its lock ${path} was removed by someone else`
    : `another run took its lock over (${h !== undefined ? describe(h) : 'unreadable lock file'}; lock ${path}), this one having been stopped or cut off for longer than the lock lives`
  return new TransferError(TransferErrorCodes.Busy, `this run stopped: ${why}; the deal's files and status are left to the run holding the lock`, { retry: 'auto' })
}

/** Creates `path` with O_EXCL; false when it exists. */
async function createExclusive (path: string, text: string): Promise<boolean> {
  try {
    await writeFile(path, text, { flag: 'wx' })
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw diskError(`create ${path}`, err)
  }
}

/** Whether `seen` is a dead run's lock. */
function isDead (seen: Seen, o: { now: number, staleMs: number, ns: string | undefined, alive: (pid: number) => boolean }): boolean {
  if (o.now - seen.mtimeMs >= o.staleMs) return true
  const h = seen.holder
  // In our own namespace a process ID that no longer runs is a dead run's.
  return h !== undefined && o.ns !== undefined && h.ns === o.ns && !o.alive(h.pid)
}

/**
 * Removes the dead lock `seen`, under the takeover file; false when another run got there first
 * (the lock is then someone else's, or being taken over).
 */
async function removeDead (path: string, seen: Seen, now: () => number, staleMs: number): Promise<boolean> {
  const mutex = `${path}.takeover`
  if (!await createExclusive(mutex, `${process.pid}\n`)) {
    // Left by a run that crashed mid-takeover, once it is as old as a dead lock: a run stopped
    // mid-takeover for less than that may still remove a lock, and must find its own there.
    const st = await lstat(mutex).catch(() => undefined)
    if (st !== undefined && !st.isFile()) throw notAFile(mutex)
    if (st !== undefined && now() - st.mtimeMs >= staleMs) await unlink(mutex).catch(() => {})
    return false
  }
  try {
    const again = await readHolder(path)
    if (again === undefined) return true
    if (again.mtimeMs !== seen.mtimeMs || again.holder?.token !== seen.holder?.token) return false
    try { await unlink(path) } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw diskError(`remove ${path}`, err)
    }
    return true
  } finally {
    await unlink(mutex).catch(() => {})
  }
}

/** Takes `path` for this run, or throws a Busy TransferError naming the run that holds it. */
export async function lockDeal (path: string, options: LockOptions = defaultLockOptions): Promise<DealLock> {
  const now = options.now ?? Date.now
  const ns = 'ns' in options ? options.ns : pidNamespace()
  const me: LockHolder = { host: options.host ?? hostname(), pid: options.pid ?? process.pid, since: new Date(now()).toISOString(), token: randomUUID(), ...(ns !== undefined ? { ns } : {}) }
  const text = JSON.stringify(me) + '\n'
  let taken = false
  let last: Seen | undefined
  // Bounded: a lock that comes and goes between our steps (a run starting and failing at once)
  // is someone's turn, not a reason to spin.
  for (let tries = 0; tries < 3 && !taken; tries++) {
    if (await createExclusive(path, text)) { taken = true; break }
    last = await readHolder(path)
    if (last === undefined) continue
    if (!isDead(last, { now: now(), staleMs: options.staleMs, ns, alive: options.alive ?? aliveHere })) break
    if (!await removeDead(path, last, now, options.staleMs)) break
  }
  if (!taken) throw busy(path, (await readHolder(path).catch(() => last))?.holder ?? last?.holder)

  const lost = new AbortController()
  const clock = options.clock ?? (() => performance.now())
  let confirmedAt = clock()
  const check = (force: boolean): void => {
    if (lost.signal.aborted) throw lost.signal.reason
    if (!force && clock() - confirmedAt < 2 * options.heartbeatMs) return
    const holder = readHolderSync(path)
    // Unreadable for another reason (an NFS hiccup): nothing learnt; the next beat reads again.
    if (holder === 'unknown') return
    if (holder === 'gone' || holder?.token !== me.token) {
      lost.abort(lostTo(path, holder))
      throw lost.signal.reason
    }
    const t = new Date(now())
    try { utimesSync(path, t, t) } catch {}
    confirmedAt = clock()
  }
  const assertHeld = (): void => { check(false) }
  // The same synchronous read as assertHeld's: a lock file is a few hundred bytes, once in 10 s.
  const beat = setInterval(() => { try { check(true) } catch { clearInterval(beat) } }, options.heartbeatMs)
  beat.unref()
  return {
    path,
    lost: lost.signal,
    assertHeld,
    held: () => { try { check(true); return true } catch { return false } },
    release: async () => {
      clearInterval(beat)
      if (lost.signal.aborted) return
      const holder = readHolderSync(path)
      if (typeof holder === 'object' && holder.token === me.token) await unlink(path).catch(() => {})
    }
  }
}

