import { open } from 'node:fs/promises'
import { Worker, type ResourceLimits } from 'node:worker_threads'
import { DealyardError } from '../errors.ts'
import type { CarIndexResult } from '../index/car/index.ts'

/** Which CommP hasher the sink runs (in its worker thread). */
export interface PieceHasherSpec {
  /** CommP pool threads; default: all cores, at most 8 (src/filecoin/commp). */
  workers?: number | undefined
}

export interface PieceResult {
  /** Piece CID v1 (baga…) as a string. */
  pieceCid: string
  payloadSize: number
  /** The CAR index, or undefined when indexing was not asked for. */
  car: CarIndexResult | undefined
}

/** Buffers shared with the sink's worker: handing one over copies nothing. */
export function sharedBuffer (size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size))
}

type Reply = { id: number, result?: unknown, error?: { code?: string, message: string } }

/**
 * Where the received bytes go on their way to disk: the CommP hasher and the CAR block indexer,
 * both fed in stream order exactly once, in a worker thread (hash-thread.ts). `update` resolves
 * when the buffer has been consumed and may be reused; buffers from `sharedBuffer` are handed over
 * without a copy. `reset` starts over (a server that ignored Range sends the data from byte 0
 * again); `replay` feeds a prefix already on disk after a process restart, since neither the
 * hasher state nor the index survive the process. `close` ends the worker.
 */
export class PieceSink {
  bytes = 0
  readonly #worker: Worker
  readonly #pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  #next = 0
  #dead: Error | undefined
  #closed: Promise<void> | undefined
  /** Settles when the thread has ended, however it ended (close() may come after the thread died). */
  readonly #exited: Promise<void>
  #replayBufs: Buffer[] | undefined

  /** `thread`: the worker script (tests stand in a failing one); `resourceLimits`: the thread's heap. */
  constructor (spec: PieceHasherSpec, opts: { index: boolean, resourceLimits?: ResourceLimits, thread?: URL }) {
    this.#worker = new Worker(opts.thread ?? new URL('./hash-thread.ts', import.meta.url), {
      workerData: { workers: spec.workers, index: opts.index },
      ...(opts.resourceLimits !== undefined ? { resourceLimits: opts.resourceLimits } : {})
    })
    this.#exited = new Promise((resolve) => { this.#worker.once('exit', () => { resolve() }) })
    this.#worker.on('message', (r: Reply) => {
      const p = this.#pending.get(r.id)
      if (p === undefined) return
      this.#pending.delete(r.id)
      if (r.error !== undefined) p.reject(new DealyardError(r.error.code ?? 'ERR_TRANSFER_HASH', r.error.message))
      else p.resolve(r.result)
    })
    const die = (err: Error): void => {
      this.#dead ??= err
      for (const p of this.#pending.values()) p.reject(err)
      this.#pending.clear()
    }
    // The thread failing (out of memory indexing a CAR of many tiny blocks, say) fails every call
    // waiting on it and every later one, with the thread's own reason.
    this.#worker.on('error', (err) => { die(new DealyardError('ERR_TRANSFER_HASH', `piece hasher thread failed: ${err.message}`, { cause: err })) })
    this.#worker.on('exit', (code) => { die(new DealyardError('ERR_TRANSFER_HASH', `piece hasher thread exited (${code})`)) })
  }

  #call (msg: Record<string, unknown>): Promise<unknown> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead)
    const id = this.#next++
    const p = new Promise<unknown>((resolve, reject) => { this.#pending.set(id, { resolve, reject }) })
    this.#worker.postMessage({ ...msg, id })
    return p
  }

  async update (chunk: Uint8Array): Promise<void> {
    this.bytes += chunk.length
    await this.#call({ op: 'update', data: chunk })
  }

  async reset (): Promise<void> {
    this.bytes = 0
    await this.#call({ op: 'reset' })
  }

  /**
   * Feeds bytes [this.bytes, end) of `path`; returns the bytes read. Reads run ahead of the worker
   * by a few buffers, so reading and hashing overlap. One replay at a time.
   */
  async replay (path: string, end: number, chunkSize = 4 << 20): Promise<number> {
    const fh = await open(path, 'r')
    const start = this.bytes
    // Kept for the next replay: parallel ranges replay every few MiB, and shared buffers are
    // external memory the GC is slow to give back.
    if (this.#replayBufs?.[0]?.length !== chunkSize) this.#replayBufs = [sharedBuffer(chunkSize), sharedBuffer(chunkSize), sharedBuffer(chunkSize)]
    const bufs = this.#replayBufs
    const busy: Array<Promise<void> | undefined> = [undefined, undefined, undefined]
    try {
      for (let i = 0, pos = this.bytes; pos < end; i = (i + 1) % bufs.length) {
        await busy[i]
        const { bytesRead } = await fh.read(bufs[i]!, 0, Math.min(chunkSize, end - pos), pos)
        if (bytesRead === 0) throw new Error(`${path}: ended at ${pos} bytes, expected ${end}`)
        pos += bytesRead
        busy[i] = this.update(bufs[i]!.subarray(0, bytesRead))
        busy[i]!.catch(() => {})
      }
      await Promise.all(busy)
    } finally {
      await fh.close()
    }
    return this.bytes - start
  }

  async finish (paddedPieceSize: number | undefined): Promise<PieceResult> {
    return await this.#call({ op: 'finish', padded: paddedPieceSize }) as PieceResult
  }

  /** Ends the worker once it is idle (its thread exits by itself). */
  async close (): Promise<void> {
    if (this.#closed !== undefined) return await this.#closed
    this.#closed = (async () => {
      if (this.#dead === undefined) await this.#call({ op: 'close' }).catch(() => {})
      this.#dead ??= new DealyardError('ERR_TRANSFER_HASH', 'piece sink closed')
      await this.#exited
    })()
    await this.#closed
  }
}

/** The project's CommP hasher (native when built, pure TypeScript otherwise). */
export function commpHasher (workers?: number): PieceHasherSpec {
  return { workers }
}
