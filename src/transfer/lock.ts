/**
 * One transfer per deal at a time. Two runs writing one `.part` file interleave their bytes under
 * one sidecar: the piece CID then fails, and a `--deal` run deletes the data on that fatal
 * failure, the other run's included. Each run holds `<uuid>.lock` in the staging directory while it
 * works; a second run finds it held and stops before touching any file or the deal's status.
 *
 * The staging volume may be shared by pods on several nodes (a ReadWriteMany volume), where
 * neither flock(2) nor a process ID says anything across hosts: the holder touches the file every
 * `heartbeatMs`, and a file untouched for `staleMs` is a dead run's, taken over. On the holder's
 * own host a vanished process ID frees it at once. A run that finds its lock taken over (it was
 * stopped for longer than `staleMs`) is told through `lost`, so that it stops writing.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { readFileSync, utimesSync } from 'node:fs'
import { link, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { TransferError, TransferErrorCodes, diskError } from './errors.ts'

export interface LockHolder { host: string, pid: number, since: string, token: string }

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
  /** Whether a process of this host is alive (process.kill(pid, 0)). */
  alive?: (pid: number) => boolean
}

export const defaultLockOptions: LockOptions = { heartbeatMs: 10_000, staleMs: 60_000 }

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
  release: () => Promise<void>
}

function aliveHere (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

function parseHolder (text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>
    if (typeof v.host === 'string' && typeof v.pid === 'number' && typeof v.since === 'string' && typeof v.token === 'string') return v as LockHolder
  } catch {}
  return undefined
}

async function readHolder (path: string): Promise<{ holder: LockHolder | undefined, mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)])
    return { holder: parseHolder(text), mtimeMs: st.mtimeMs }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw diskError(`read ${path}`, err)
  }
}

function busy (path: string, h: LockHolder | undefined): TransferError {
  const who = h !== undefined ? `process ${h.pid} on ${h.host}, since ${h.since}` : 'a run whose lock file is being written'
  return new TransferError(TransferErrorCodes.Busy,
    `another transfer of this deal is running (${who}; lock ${path}); this run changed nothing`, { retry: 'auto' })
}

/** Creates the lock file with its content in one step (no reader sees it empty). */
async function create (path: string, holder: LockHolder): Promise<boolean> {
  const tmp = `${path}.${holder.token}.tmp`
  try {
    await writeFile(tmp, JSON.stringify(holder) + '\n', { flag: 'wx' })
    await link(tmp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw diskError(`create ${path}`, err)
  } finally {
    await unlink(tmp).catch(() => {})
  }
}

/** Takes `path` for this run, or throws a Busy TransferError naming the run that holds it. */
export async function lockDeal (path: string, options: LockOptions = defaultLockOptions): Promise<DealLock> {
  const now = options.now ?? Date.now
  const host = options.host ?? hostname()
  const alive = options.alive ?? aliveHere
  const me: LockHolder = { host, pid: options.pid ?? process.pid, since: new Date(now()).toISOString(), token: randomUUID() }
  for (let tries = 0; ; tries++) {
    if (await create(path, me)) break
    const seen = await readHolder(path)
    if (seen === undefined) continue
    const dead = now() - seen.mtimeMs >= options.staleMs ||
      (seen.holder !== undefined && seen.holder.host === host && !alive(seen.holder.pid))
    if (!dead || tries > 0) throw busy(path, seen.holder)
    // Moved aside rather than deleted: of two runs taking over the same dead lock, the second may
    // move the first's fresh one, and must then put it back.
    const aside = `${path}.stale-${me.token}`
    try { await rename(path, aside) } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw diskError(`rename ${path}`, err)
    }
    const moved = await readHolder(aside)
    if (moved?.holder?.token !== seen.holder?.token || moved?.mtimeMs !== seen.mtimeMs) {
      await link(aside, path).catch(() => {})
      await unlink(aside).catch(() => {})
      throw busy(path, moved?.holder)
    }
    await unlink(aside).catch(() => {})
  }

  const lost = new AbortController()
  let released = false
  const clock = options.clock ?? (() => performance.now())
  let confirmedAt = clock()
  const assertHeld = (): void => {
    if (lost.signal.aborted) throw lost.signal.reason
    if (clock() - confirmedAt < 2 * options.heartbeatMs) return
    let text: string
    try { text = readFileSync(path, 'utf8') } catch (err) {
      // Unreadable for another reason: nothing learnt; the heartbeat reads again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return
      text = ''
    }
    const holder = parseHolder(text)
    if (holder?.token !== me.token) {
      lost.abort(busy(path, holder))
      throw lost.signal.reason
    }
    const t = new Date(now())
    try { utimesSync(path, t, t) } catch {}
    confirmedAt = clock()
  }
  const beat = setInterval(() => {
    void (async () => {
      // A failed read (an NFS hiccup) says nothing: the next beat reads again. A lock gone or
      // naming another run is lost.
      let seen
      try { seen = await readHolder(path) } catch { return }
      if (released) return
      if (seen?.holder?.token !== me.token) {
        clearInterval(beat)
        lost.abort(busy(path, seen?.holder))
        return
      }
      const t = new Date(now())
      await utimes(path, t, t).then(() => { confirmedAt = clock() }, () => {})
    })()
  }, options.heartbeatMs)
  beat.unref()
  return {
    path,
    lost: lost.signal,
    assertHeld,
    release: async () => {
      released = true
      clearInterval(beat)
      const seen = await readHolder(path).catch(() => undefined)
      if (seen?.holder?.token === me.token) await unlink(path).catch(() => {})
    }
  }
}
