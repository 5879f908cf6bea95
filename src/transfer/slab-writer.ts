import type { FileHandle } from 'node:fs/promises'
import type { BodyTarget } from './http1.ts'
import { sharedBuffer } from './piece-sink.ts'
import { alignDown, alignedSharedBuffer, DIRECT_ALIGN, isDirectRefusal } from './direct-io.ts'

export interface SlabWriterOptions {
  /** Bytes per write buffer; the socket reads straight into it. */
  slabBytes: number
  /** Write buffers in all (memory bound: slabs × slabBytes). */
  slabs: number
  /** Writes in flight at once (each on a libuv thread). */
  writes: number
  /**
   * Called with each full (or final) buffer, in stream order, as its write starts (hash + index);
   * a returned promise holds the buffer until it settles.
   */
  onSlab: (data: Uint8Array, position: number) => Promise<void> | undefined
  /** Throws to refuse bytes (too long): called with the stream length the new bytes would reach. */
  check: (end: number) => void
  /** Every accept, with its byte count (stall detection, the minimum rate). */
  onBytes: (n: number) => void
  /**
   * The file now holds every byte below `end` (writes finish out of order; this follows the
   * contiguous prefix). With several writes in flight the file's length is not that prefix.
   */
  onWritten: (end: number) => void
  /** Flush written data to disk in the background every this many bytes (0: never). */
  syncEveryBytes: number
  /**
   * That flush: the file's fdatasync unless given. The download gives its PartSync's, which
   * remembers a failure: the next fdatasync returns 0 without the failed bytes on disk.
   */
  sync?: (() => Promise<void>) | undefined
  /**
   * An O_DIRECT handle on the same file (direct-io.ts). Buffers are then memory-aligned and each
   * write covers whole aligned blocks: a buffer's unaligned tail moves to the start of the next
   * one. Writes the filesystem refuses fall back to the buffered handle for good.
   */
  direct?: FileHandle | undefined
  /**
   * The download's buffers, lent to one writer at a time (its slabBytes and slabs then stand for
   * the writer's own); without it the writer makes its own pool.
   */
  pool?: SlabPool | undefined
  /**
   * A stream position the body may not pass (a 206's range end): bytes past it are dropped and
   * `accept` throws BodyOverrun once the bytes before it are in.
   */
  endAt?: number | undefined
}

/** The body ran past SlabWriterOptions.endAt: what came before it is kept, the rest dropped. */
export class BodyOverrun extends Error {}

/**
 * The write buffers of one download, lent to its responses one after the other. A writer's own
 * buffers lived as long as its response: a server capping its replies at 1 MiB had 16 MiB of
 * shared memory made for each, freed only when the garbage collector came round to it (2 GB of
 * RSS for a 1 GB file, red-team round 42). Buffers are made on first use; at most `slabs` are
 * kept, and one made past them (a writer short of buffers, see SlabWriter#take) is let go when
 * it comes back.
 */
export class SlabPool {
  readonly slabBytes: number
  readonly slabs: number
  /**
   * Page-aligned buffers, as direct I/O needs (without the native addon they are not, and no
   * direct handle is opened either). A writer given an unaligned pool writes through the page cache.
   */
  readonly aligned: boolean
  readonly #free: Buffer[] = []
  /** Buffers of the pool, free or lent. */
  #owned = 0
  #allocated = 0

  constructor (o: { slabBytes: number, slabs: number, aligned: boolean }) {
    this.slabBytes = o.slabBytes
    this.slabs = o.slabs
    this.aligned = o.aligned
  }

  /** Buffers made so far, over all its writers (those let go included). */
  get allocated (): number { return this.#allocated }

  /** Buffers taken and not given back: none once the writers that had them finished. */
  get lent (): number { return this.#owned - this.#free.length }

  /** Whether a buffer can be had without going past the pool. */
  get available (): boolean { return this.#free.length > 0 || this.#owned < this.slabs }

  /** A free buffer, or a new one (past the pool only when the writer must have one). */
  take (): Buffer {
    const b = this.#free.pop()
    if (b !== undefined) return b
    this.#owned++
    this.#allocated++
    return (this.aligned ? alignedSharedBuffer(this.slabBytes) : undefined) ?? sharedBuffer(this.slabBytes)
  }

  /** A buffer no write and no hasher holds any more. */
  give (b: Buffer): void {
    if (this.#owned > this.slabs) { this.#owned--; return }
    this.#free.push(b)
  }
}

/**
 * The download's body target: a small pool of large buffers that socket reads land in directly.
 * A full buffer is written (a few writes in flight) and hashed and indexed (`onSlab`) meanwhile.
 * When every buffer is full or being written, reading pauses: memory stays at
 * `slabs × slabBytes` however slow the disk.
 *
 * With `direct`, what a buffer hands to the hasher is exactly what it writes, so a connection that
 * drops mid-stream leaves file, hasher and written prefix at the same aligned length (the carried
 * tail is dropped and downloaded again); only a complete body ends with an unaligned write.
 */
export class SlabWriter implements BodyTarget {
  readonly #fh: FileHandle
  readonly #o: SlabWriterOptions
  readonly #pool: SlabPool
  /** Buffers sent (queued, being written or hashed) and not yet back in the pool. */
  #lent = 0
  readonly #queue: Array<{ buf: Buffer, len: number, pos: number, hashed: Promise<void> | undefined }> = []
  /** Buffers handed to onSlab whose promise has not settled. */
  #hashing = 0
  /** Smallest free tail worth a read; below it the buffer is sent. */
  readonly #minFree: number
  #cur: Buffer | undefined
  #len = 0
  /** Stream position of #cur[0]. */
  #pos: number
  #writing = 0
  /** Writes started and not finished, in stream order; `done` once finished. */
  readonly #inflight: Array<{ end: number, done: boolean }> = []
  #resume: (() => void) | undefined
  #paused = false
  #error: unknown
  #idle: Array<() => void> = []
  #sinceSync = 0
  #syncing: Promise<void> | undefined
  #direct: FileHandle | undefined
  /** Direct mode: the bytes after a sent buffer's last aligned block, waiting for the next buffer. */
  readonly #carry: Buffer
  #carryLen = 0

  constructor (fh: FileHandle, position: number, opts: SlabWriterOptions) {
    this.#fh = fh
    this.#o = opts
    this.#pos = position
    this.#pool = opts.pool ?? new SlabPool({ slabBytes: opts.slabBytes, slabs: opts.slabs, aligned: opts.direct !== undefined })
    const slabBytes = this.#pool.slabBytes
    this.#minFree = Math.min(64 << 10, slabBytes >> 2)
    // A buffer of less than two alignment units could carry all of itself: direct I/O is for big slabs.
    this.#direct = slabBytes >= 2 * DIRECT_ALIGN && this.#pool.aligned ? opts.direct : undefined
    this.#carry = Buffer.alloc(this.#direct !== undefined ? DIRECT_ALIGN : 0)
    this.#cur = this.#pool.take()
  }

  attach (resume: () => void): void { this.#resume = resume }

  space (): Uint8Array {
    // Only asked after accept kept a buffer (or before any): a paused read gets no buffer of ours.
    return this.#cur !== undefined ? this.#cur.subarray(this.#len) : Buffer.allocUnsafe(this.#minFree)
  }

  accept (region: Uint8Array, n: number): boolean {
    if (this.#error !== undefined) throw this.#error
    const over = this.#o.endAt !== undefined ? this.#pos + this.#len + n - this.#o.endAt : 0
    if (over > 0) n -= over
    this.#o.check(this.#pos + this.#len + n)
    this.#o.onBytes(n)
    let cur = this.#cur
    if (cur !== undefined && region.buffer === cur.buffer && region.byteOffset === cur.byteOffset + this.#len) {
      this.#len += n
    } else {
      // Bytes from elsewhere (a TLS chunk, the read after a pause): copy them in.
      let at = 0
      while (at < n) {
        cur ??= this.#take()
        const take = Math.min(n - at, cur.length - this.#len)
        cur.set(region.subarray(at, at + take), this.#len)
        this.#len += take
        at += take
        if (this.#len === cur.length) { this.#send(); cur = undefined }
      }
    }
    if (over > 0) throw new BodyOverrun(`the body ran ${over} bytes past its end at ${this.#o.endAt}`)
    if (this.#cur !== undefined && this.#cur.length - this.#len < this.#minFree) this.#send()
    if (this.#cur === undefined && this.#pool.available) this.#cur = this.#take()
    if (this.#cur === undefined) { this.#paused = true; return false }
    return true
  }

  /**
   * Sends what is left and waits for every write; throws the first write error. `complete`: the
   * body ended; otherwise (a dropped connection) direct mode drops its unaligned tail. Every
   * buffer is back in the pool when it returns: the download's next response borrows them.
   */
  async finish (complete = true): Promise<void> {
    if (this.#error === undefined) {
      if (complete && this.#cur === undefined && this.#carryLen > 0) this.#take()
      if (this.#len > 0) this.#send(complete)
      this.#carryLen = 0
    }
    while (this.#writing > 0 || this.#queue.length > 0 || this.#hashing > 0 || this.#lent > 0) await new Promise<void>((resolve) => { this.#idle.push(resolve) })
    await this.#syncing
    if (this.#cur !== undefined) {
      this.#pool.give(this.#cur)
      this.#cur = undefined
      this.#len = 0
    }
    if (this.#error !== undefined) throw this.#error
  }

  /** A buffer for the current slab: a free one, or (only after a pause) one more. */
  #take (): Buffer {
    const b = this.#pool.take()
    this.#cur = b
    b.set(this.#carry.subarray(0, this.#carryLen))
    this.#len = this.#carryLen
    this.#carryLen = 0
    return b
  }

  /** `final`: the last buffer of a complete body, written whole. */
  #send (final = false): void {
    const buf = this.#cur!
    let len = this.#len
    const pos = this.#pos
    if (this.#direct !== undefined && !final) {
      // Whole blocks only; the rest starts the next buffer (hashed with it, not now).
      const end = alignDown(pos + len)
      if (end > pos) {
        this.#carryLen = pos + len - end
        this.#carry.set(buf.subarray(end - pos, len))
        len = end - pos
      }
    }
    this.#cur = undefined
    this.#len = 0
    this.#pos += len
    // The write goes first: its copy into the page cache (a libuv thread) then overlaps the
    // sink's reading (its thread); both only read the buffer, which is reused after both.
    let hashed: Promise<void> | undefined
    try {
      hashed = this.#o.onSlab(buf.subarray(0, len), pos)
    } catch (err) { this.#error ??= err }
    if (hashed !== undefined) {
      this.#hashing++
      hashed = hashed.catch((err: unknown) => { this.#error ??= err }).finally(() => { this.#hashing--; this.#pump() })
    }
    this.#lent++
    this.#queue.push({ buf, len, pos, hashed })
    this.#pump()
  }

  #pump (): void {
    while (this.#writing < this.#o.writes && this.#queue.length > 0 && this.#error === undefined) this.#start(this.#queue.shift()!)
    if (this.#writing === 0 && this.#hashing === 0 && (this.#queue.length === 0 || this.#error !== undefined)) {
      // After an error the queued buffers are never written; no hasher holds them any more.
      for (const q of this.#queue.splice(0)) this.#giveBack(q.buf)
      if (this.#lent === 0) for (const w of this.#idle.splice(0)) w()
    }
  }

  #giveBack (buf: Buffer): void {
    this.#lent--
    this.#pool.give(buf)
  }

  #start (next: { buf: Buffer, len: number, pos: number, hashed: Promise<void> | undefined }): void {
    this.#writing++
    const mark = { end: next.pos + next.len, done: false }
    this.#inflight.push(mark)
    this.#write(next.buf, next.len, next.pos).then(() => {
      mark.done = true
      let end = -1
      while (this.#inflight[0]?.done === true) end = this.#inflight.shift()!.end
      if (end >= 0) this.#o.onWritten(end)
      this.#sinceSync += next.len
      if (this.#direct === undefined && this.#o.syncEveryBytes > 0 && this.#sinceSync >= this.#o.syncEveryBytes && this.#syncing === undefined) {
        // Start writeback now so the final fsync has little left (the kernel would wait ~30 s).
        this.#sinceSync = 0
        this.#syncing = (this.#o.sync ?? (async () => { await this.#fh.datasync() }))().catch((err: unknown) => { this.#error ??= err }).finally(() => { this.#syncing = undefined })
      }
    }, (err: unknown) => { this.#error ??= err }).finally(async () => {
      this.#writing--
      this.#pump()
      await next.hashed
      this.#giveBack(next.buf)
      if (this.#paused) {
        // Also after an error: the next read's accept throws it and ends the connection.
        this.#paused = false
        this.#cur ??= this.#take()
        this.#resume?.()
      }
      this.#pump()
    })
  }

  get error (): unknown { return this.#error }

  /** Whole aligned blocks go direct, anything else (an unaligned start or a final tail) buffered. */
  async #write (buf: Buffer, len: number, pos: number): Promise<void> {
    const direct = this.#direct
    const head = direct !== undefined && pos % DIRECT_ALIGN === 0 ? alignDown(len) : 0
    if (head > 0) {
      try {
        await writeFully(direct!, buf, head, pos)
      } catch (err) {
        if (!isDirectRefusal(err)) throw err
        this.#direct = undefined
        await writeFully(this.#fh, buf, len, pos)
        return
      }
    }
    if (len > head) await writeFully(this.#fh, buf.subarray(head), len - head, pos + head)
  }
}

async function writeFully (fh: FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let off = 0
  while (off < len) {
    const { bytesWritten } = await fh.write(buf, off, len - off, pos + off)
    off += bytesWritten
  }
}
