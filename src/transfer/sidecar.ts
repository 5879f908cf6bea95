import { open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { diskError } from './errors.ts'
import type { RangeState } from './ranges.ts'

/**
 * The sidecar: the URL and ETag the partial file came from, and `written`, a length the file is
 * known to be complete up to. Writes finish out of order, so after a crash the file may be longer
 * than its good prefix (with a hole below its end); `written` only grows after the writes below it
 * finished and were made durable (fdatasync), so it is the length to resume from, after a power
 * loss too. A sidecar without `written` comes from a single-write version, whose file length is its
 * good prefix. A parallel download (ranges.ts) keeps `size` and `ranges` instead, each range with
 * its own written prefix.
 */
export interface Meta { url: string, etag?: string, written?: number, size?: number, ranges?: RangeState[] }

/** The sidecar, undefined when there is none, 'corrupt' when it cannot be read. */
export async function readMeta (path: string): Promise<Meta | 'corrupt' | undefined> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch { return undefined }
  try {
    const m = JSON.parse(text) as Meta
    if (typeof m.url !== 'string' || (m.written !== undefined && !Number.isSafeInteger(m.written))) return 'corrupt'
    return m
  } catch { return 'corrupt' }
}

/**
 * Temp file + rename: a crash never leaves a half-written sidecar. The temp file's data is synced
 * before the rename and the directory after it: renamed in unsynced, a power loss can leave an
 * empty sidecar, which reads as corrupt and starts the download over from byte 0; an unsynced
 * rename lost brings back the older sidecar, a longer resume. The savers below are paced and the
 * other saves come once a run or a restart, so the two syncs cost little. The caller makes the data
 * the sidecar records durable first (SaverOptions.sync).
 */
export async function saveMeta (path: string, meta: Meta): Promise<void> {
  const tmp = `${path}.tmp`
  try {
    const fh = await open(tmp, 'w')
    try {
      await fh.writeFile(JSON.stringify(meta))
      await fh.datasync()
    } finally { await fh.close() }
    await rename(tmp, path)
  } catch (err) { throw diskError(`write ${path}`, err) }
  await syncDir(dirname(path))
}

async function syncDir (path: string): Promise<void> {
  // Some file systems refuse fsync on a directory; the rename itself is done.
  const fh = await open(path, 'r').catch(() => undefined)
  try { await fh?.sync() } catch {} finally { await fh?.close().catch(() => {}) }
}

export interface SaverOptions {
  /**
   * Makes the part file's data durable (its fdatasync). A save that records more than the last
   * one runs it first, once the writes below what it records finished: a sidecar saved before
   * its data reached the disk survives a power loss that the data does not, and the next run
   * resumes past zeros (or a file shorter than it says). Once it failed, no save follows: a later
   * sync returning 0 proves nothing about the bytes written before the failure (PartSync).
   */
  sync: () => Promise<void>
  /**
   * The part file's first failed sync in this run, whoever ran it (PartSync.failed): the slab
   * writer's writeback too. No save follows it either, not even one that needs no sync.
   */
  failed?: (() => unknown) | undefined
  /** Throws when this run may no longer write the deal's files (lock.ts). */
  guard?: (() => void) | undefined
  /**
   * Least time between two saves while bytes arrive, ms. Each save costs a sync (a journal commit
   * and a disk cache flush at least; the page cache's dirty data too without direct I/O), so it is
   * paced; a crash costs about this much of the download again. A flush does not wait for it.
   */
  everyMs: number
}

/**
 * Saves the sidecar in the background: one save at a time, at most one per `everyMs`, each of the
 * newest state. `snapshot` is taken before the sync, so every write it counts finished before the
 * sync began and the sync covers it; `progress` (bytes it counts as written) tells whether a sync
 * is due at all.
 */
class PacedSaver {
  readonly #path: string
  readonly #o: SaverOptions
  readonly #snapshot: () => { meta: Meta, progress: number } | undefined
  /** Progress the last completed sync covers; the first save of a run syncs whatever it records. */
  #synced = 0
  #dirty = false
  #running: Promise<void> | undefined
  #error: unknown
  /** A sync of the part file failed: nothing more is saved in this run, and every flush throws it. */
  #syncFailed: unknown
  #last = -Infinity
  #hurry = false
  #wake: (() => void) | undefined

  constructor (path: string, o: SaverOptions, snapshot: () => { meta: Meta, progress: number } | undefined) {
    this.#path = path
    this.#o = o
    this.#snapshot = snapshot
  }

  request (): void {
    this.#dirty = true
    this.#running ??= this.#loop()
  }

  /**
   * The sidecar changed hands (a new one saved, or removed): nothing it recorded is synced. A failed
   * sync stays: the open file's pages that failed are marked clean whatever sidecar follows.
   */
  reset (): void { this.#synced = 0 }

  /** The failed sync that ends this saver's saves, its own or another caller's. */
  #failed (): unknown { return this.#syncFailed ?? this.#o.failed?.() }

  async #loop (): Promise<void> {
    while (this.#dirty && this.#failed() === undefined) {
      const wait = this.#last + this.#o.everyMs - performance.now()
      if (wait > 0 && !this.#hurry) {
        await new Promise<void>((resolve) => {
          // Unreferenced: every download flushes its saver, and one left behind must not hold the process.
          const timer = setTimeout(resolve, wait).unref()
          this.#wake = () => { clearTimeout(timer); resolve() }
        })
        this.#wake = undefined
        if (!this.#dirty || this.#failed() !== undefined) break
      }
      this.#dirty = false
      const snap = this.#snapshot()
      if (snap === undefined) break
      this.#last = performance.now()
      try {
        if (snap.progress > this.#synced) {
          await this.#o.sync()
          this.#synced = snap.progress
        }
      } catch (err) {
        // For good: on Linux the failed pages are now clean, and the next sync returns 0 without
        // them having reached the disk (PartSync). Going on here saved, on the next request, a
        // sidecar vouching for them (red-team round 53).
        this.#syncFailed = err
        break
      }
      // Checked last, just before the write: a run that lost its lock during the sync writes nothing.
      try { this.#o.guard?.() } catch (err) { this.#error ??= err; break }
      await saveMeta(this.#path, snap.meta).catch((err: unknown) => { this.#error ??= err })
    }
    this.#running = undefined
  }

  /** Saves what was asked without waiting for its turn, then throws the first failure since the last. */
  async flush (): Promise<void> {
    this.#hurry = true
    this.#wake?.()
    try { await this.#running } finally { this.#hurry = false }
    this.check()
  }

  /**
   * Throws a failed sync of the part file, every time; otherwise (once) the first failure of a save
   * since the last one thrown.
   */
  check (): void {
    const failed = this.#failed()
    if (failed !== undefined) throw failed
    const err = this.#error
    this.#error = undefined
    if (err !== undefined) throw err
  }

  /**
   * Drops what was asked and waits for a save under way: the caller writes the sidecar next. A
   * failed sync is kept (check throws it still).
   */
  async stop (): Promise<void> {
    this.#dirty = false
    this.#hurry = true
    this.#wake?.()
    try { await this.#running } finally { this.#hurry = false }
    this.#error = undefined
  }
}

/**
 * One stream's sidecar (download.ts): records the written prefix, the newest value winning, with
 * the saves paced and each after a sync of the data it records.
 */
export class MetaSaver {
  readonly #saver: PacedSaver
  #meta: Meta | undefined
  #pending: number | undefined

  constructor (path: string, o: SaverOptions) {
    this.#saver = new PacedSaver(path, o, () => {
      const written = this.#pending
      if (this.#meta === undefined || written === undefined) return undefined
      this.#pending = undefined
      this.#meta.written = written
      return { meta: { ...this.#meta }, progress: written }
    })
  }

  /** The sidecar on disk is now `meta` (saved by the caller), or there is none; after `stop`. */
  use (meta: Meta | undefined): void {
    this.#meta = meta
    this.#pending = undefined
    this.#saver.reset()
  }

  save (written: number): void {
    if (this.#meta === undefined) return
    this.#pending = written
    this.#saver.request()
  }

  /** Records `written` (the newest value asked for, without one) now, and throws what a save threw. */
  async flush (written?: number): Promise<void> {
    if (written !== undefined && this.#meta !== undefined && (this.#pending ?? this.#meta.written) !== written) this.save(written)
    await this.#saver.flush()
  }

  /** Throws what a save threw, without waiting: the saves go on in the background. */
  check (): void { this.#saver.check() }

  /** Drops what was asked and waits for a save under way (the caller cuts or removes the sidecar next). */
  async stop (): Promise<void> {
    this.#pending = undefined
    await this.#saver.stop()
  }
}

/**
 * A parallel download's sidecar (ranges.ts): `meta`, whose ranges the download moves on, saved
 * paced like MetaSaver's; progress is the bytes its ranges hold, which only grows.
 */
export class RangesSaver {
  readonly #saver: PacedSaver

  constructor (path: string, meta: Meta, o: SaverOptions) {
    this.#saver = new PacedSaver(path, o, () => {
      const copy = structuredClone(meta)
      return { meta: copy, progress: (copy.ranges ?? []).reduce((n, r) => n + r.written - r.start, 0) }
    })
  }

  save (): void { this.#saver.request() }

  async flush (): Promise<void> { await this.#saver.flush() }
}
