import { readFile, rename, writeFile } from 'node:fs/promises'
import { diskError } from './errors.ts'
import type { RangeState } from './ranges.ts'

/**
 * The sidecar: the URL and ETag the partial file came from, and `written`, a length the file is
 * known to be complete up to. Writes finish out of order, so after a crash the file may be longer
 * than its good prefix (with a hole below its end); `written` only grows after the writes below it
 * finished, so it is the length to resume from. A sidecar without `written` comes from a single-
 * write version, whose file length is its good prefix. A parallel download (ranges.ts) keeps
 * `size` and `ranges` instead, each range with its own written prefix.
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

/** Temp file + rename: a crash never leaves a half-written sidecar. */
export async function saveMeta (path: string, meta: Meta): Promise<void> {
  try {
    await writeFile(`${path}.tmp`, JSON.stringify(meta))
    await rename(`${path}.tmp`, path)
  } catch (err) { throw diskError(`write ${path}`, err) }
}

/** Records the written prefix in the sidecar, one save at a time, the newest value winning. */
export class MetaSaver {
  readonly #path: string
  readonly #meta: Meta | undefined
  #pending: number | undefined
  #running: Promise<void> | undefined
  #error: unknown

  readonly #guard: (() => void) | undefined

  /** `guard` throws when this run may no longer write the deal's files (lock.ts). */
  constructor (path: string, meta: Meta | undefined, guard?: () => void) {
    this.#path = path
    this.#meta = meta
    this.#guard = guard
  }

  save (written: number): void {
    if (this.#meta === undefined) return
    this.#pending = written
    this.#running ??= this.#loop()
  }

  async #loop (): Promise<void> {
    while (this.#pending !== undefined && this.#meta !== undefined) {
      this.#meta.written = this.#pending
      this.#pending = undefined
      try { this.#guard?.() } catch (err) { this.#error ??= err; break }
      await saveMeta(this.#path, this.#meta).catch((err: unknown) => { this.#error ??= err })
    }
    this.#running = undefined
  }

  async flush (written: number): Promise<void> {
    await this.#running
    if (this.#meta !== undefined && this.#meta.written !== written) this.save(written)
    await this.#running
    if (this.#error !== undefined) throw this.#error
  }
}
