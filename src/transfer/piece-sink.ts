import { open } from 'node:fs/promises'
import { CommPHasher } from '../filecoin/commp/index.ts'
import { CarBlockIndexer, type CarIndexResult } from '../index/car/index.ts'

/** The CommP hasher contract of `src/filecoin/commp` (update copies what it keeps, synchronously). */
export interface PieceHasher {
  update (chunk: Uint8Array): void
  digest (paddedPieceSize?: number): unknown
}
export type PieceHasherFactory = () => PieceHasher

export interface PieceResult {
  /** Piece CID v1 (baga…) as a string. */
  pieceCid: string
  payloadSize: number
  /** The CAR index, or undefined when indexing was not asked for. */
  car: CarIndexResult | undefined
}

/**
 * Where the received bytes go on their way to disk: the CommP hasher and the CAR block indexer,
 * both fed in stream order exactly once. `reset` starts over (a server that ignored Range sends
 * the data from byte 0 again); `replay` feeds a prefix already on disk after a process restart,
 * since neither the hasher state nor the index survive the process.
 */
export class PieceSink {
  bytes = 0
  private hasher: PieceHasher
  private indexer: CarBlockIndexer | undefined
  private readonly factory: PieceHasherFactory
  private readonly index: boolean

  constructor (factory: PieceHasherFactory, opts: { index: boolean }) {
    this.factory = factory
    this.index = opts.index
    this.hasher = factory()
    this.indexer = opts.index ? new CarBlockIndexer() : undefined
  }

  update (chunk: Uint8Array): void {
    this.indexer?.update(chunk)
    this.hasher.update(chunk)
    this.bytes += chunk.length
  }

  reset (): void {
    this.hasher = this.factory()
    this.indexer = this.index ? new CarBlockIndexer() : undefined
    this.bytes = 0
  }

  /**
   * Feeds bytes [this.bytes, end) of `path`; returns the bytes read. The next read runs while the
   * current buffer is hashed (the hasher and the indexer copy what they keep, so two buffers do).
   */
  async replay (path: string, end: number, chunkSize = 4 << 20): Promise<number> {
    const fh = await open(path, 'r')
    const start = this.bytes
    try {
      const bufs = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)]
      let which = 0
      let pos = this.bytes
      const next = (): Promise<{ bytesRead: number, buffer: Buffer }> | undefined =>
        pos < end ? fh.read(bufs[which]!, 0, Math.min(chunkSize, end - pos), pos) : undefined
      let pending = next()
      while (pending !== undefined) {
        const { bytesRead, buffer } = await pending
        if (bytesRead === 0) throw new Error(`${path}: ended at ${pos} bytes, expected ${end}`)
        pos += bytesRead
        which ^= 1
        pending = next()
        this.update(buffer.subarray(0, bytesRead))
      }
    } finally {
      await fh.close()
    }
    return this.bytes - start
  }

  async finish (paddedPieceSize: number | undefined): Promise<PieceResult> {
    const d = await this.hasher.digest(paddedPieceSize) as { pieceCid: unknown, payloadSize?: number | bigint }
    return {
      pieceCid: String(d.pieceCid),
      payloadSize: Number(d.payloadSize ?? this.bytes),
      car: this.indexer?.result()
    }
  }
}

/** The project's CommP hasher (native when built, pure TypeScript otherwise). */
export function commpHasher (workers?: number): PieceHasherFactory {
  return () => new CommPHasher(workers === undefined ? {} : { workers })
}
