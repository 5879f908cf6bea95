/**
 * Piece commitment (CommP) of a payload, streaming: Fr32 padding, the SHA-256 binary tree with
 * 254-bit truncation, zero padding up to a piece size, and the v1 / FRC-0069 v2 piece CIDs.
 * The hot loop runs in the native addon (native/, SHA-NI with a portable C fallback, worker threads
 * for large pieces) when it is built, else in pure TypeScript; one log line says which.
 */
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { DealyardError, wrap } from '../../errors.ts'
import { logger } from '../../log.ts'
import { pieceCidV1, pieceCidV2 } from './cid.ts'
import type { TreeEngine } from './engine.ts'
import { loadNative, NativeTree } from './native.ts'
import { hashNode } from './sha256.ts'
import { checkPaddedPieceSize, naturalPaddedSize, treeHeight, unpaddedSize } from './sizes.ts'
import { TsTree } from './tree.ts'
import { zeroSubtree } from './zero.ts'

export { naturalPaddedSize, unpaddedSize, isPaddedPieceSize } from './sizes.ts'
export { pieceCidV1, pieceCidV2 } from './cid.ts'

export interface CommPResult {
  /** CIDv1 base32 (baga6ea4sea…), fil-commitment-unsealed / sha2-256-trunc254-padded */
  pieceCid: string
  /** FRC-0069 form (bafkzcib…), multihash fr32-sha256-trunc254-padbintree */
  pieceCidV2: string
  /** 32-byte root */
  digest: Uint8Array
  /** bytes fed to update() */
  payloadSize: number
  /** padded size the root was computed for (power of two ≥ 128) */
  paddedPieceSize: number
}

export interface CommPOptions {
  /** 0/1: hash on this thread inside update(); n > 1: n native threads. Default: all cores, ≤ 8. */
  workers?: number
}

const log = logger('commp')
let announced = false

/** Which hasher runs in this process: the native addon or the pure-TypeScript fallback. */
export function commpImplementation (): 'native' | 'typescript' {
  const { addon, path, reason } = loadNative()
  if (!announced) {
    announced = true
    if (addon !== undefined) log.debug({ implementation: 'native', sha256: addon.implementation, addon: path }, `commp: native hasher (${addon.implementation})`)
    else log.warn({ implementation: 'typescript', reason }, `commp: pure-TypeScript hasher (slow): ${reason ?? ''}`)
  }
  return addon !== undefined ? 'native' : 'typescript'
}

/** Past 8 threads one producer feeding them is the limit, and each thread holds 4 MiB jobs. */
function defaultWorkers (): number {
  return Math.min(availableParallelism(), 8)
}

function engine (workers: number): TreeEngine {
  const addon = commpImplementation() === 'native' ? loadNative().addon : undefined
  return addon !== undefined ? new NativeTree(addon, workers) : new TsTree()
}

/** commpOfFile's way into a hasher: native threaded engines read the file in their pool threads. */
let feedFile: (h: CommPHasher, fd: number, position: number, length: number) => boolean

export class CommPHasher {
  readonly #engine: TreeEngine
  #bytes = 0

  static {
    feedFile = (h, fd, position, length) => {
      if (!(h.#engine instanceof NativeTree) || !h.#engine.threaded) return false
      h.#engine.updateFile(fd, position, length)
      h.#bytes += length
      return true
    }
  }

  constructor (opts: CommPOptions = {}) {
    const workers = opts.workers ?? defaultWorkers()
    if (!Number.isInteger(workers) || workers < 0 || workers > 256) {
      throw new DealyardError('ERR_COMMP_OPTIONS', `commp: workers must be an integer 0..256, got ${workers}`)
    }
    this.#engine = engine(workers)
  }

  /** Payload bytes hashed so far (fed to update()). */
  get bytesHashed (): number {
    return this.#bytes
  }

  /**
   * Any chunk size; the chunk may be reused by the caller as soon as this returns. With workers it
   * only copies into a job buffer, and blocks only while every worker is busy (backpressure).
   */
  update (chunk: Uint8Array): void {
    this.#engine.update(chunk)
    this.#bytes += chunk.length
  }

  /**
   * The commitment of everything so far, zero-padded to paddedPieceSize (default: the smallest
   * piece holding the Fr32-padded payload). Does not finalize: update() may continue afterwards.
   * With workers it waits (blocking) for the jobs in flight. Throws DealyardError ERR_COMMP_SIZE
   * when the size is not a piece size or the payload does not fit.
   */
  digest (paddedPieceSize?: number): CommPResult {
    const natural = naturalPaddedSize(this.#bytes)
    const padded = paddedPieceSize ?? natural
    checkPaddedPieceSize(padded)
    if (padded < natural) {
      throw new DealyardError('ERR_COMMP_SIZE',
        `commp: payload of ${this.#bytes} bytes does not fit a ${padded}-byte piece (holds ${unpaddedSize(padded)})`)
    }
    const root = this.#engine.digest(treeHeight(padded))
    return result(root, this.#bytes, padded)
  }
}

function result (root: Uint8Array, payloadSize: number, paddedPieceSize: number): CommPResult {
  return {
    pieceCid: pieceCidV1(root).toString(),
    pieceCidV2: pieceCidV2(root, payloadSize, paddedPieceSize).toString(),
    digest: root,
    payloadSize,
    paddedPieceSize
  }
}

/** Reads of 4 MiB: large enough for few native calls, a worker job's worth of payload. */
const READ_SIZE = 4 << 20
/** Threaded hashing of a file goes by slices of this many bytes, yielding to the event loop between. */
const FILE_SLICE = 64 * (127 << 15)

/**
 * CommP of a file (of its size when opened). Threaded native hashers let their pool threads read
 * the file (no copy through JavaScript); otherwise reads run ahead by one buffer (libuv thread
 * pool) while the previous buffer is hashed, so a single-threaded hasher overlaps I/O and hashing.
 */
export async function commpOfFile (path: string, opts: CommPOptions & { paddedPieceSize?: number } = {}): Promise<CommPResult> {
  let fh
  try {
    // Non-blocking: opening a FIFO would otherwise wait for a writer (on a regular file the flag
    // changes nothing).
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw readError(path, err)
  }
  const st = await fh.stat().catch(async (err: unknown) => { await fh.close(); throw readError(path, err) })
  // A FIFO, a device or a socket has no size to check against the piece and may never end
  // (/dev/zero); streams go through the hasher's update() instead (the CLI's `-`).
  if (!st.isFile()) {
    await fh.close()
    throw new DealyardError('ERR_COMMP_READ', `commp ${path}: not a regular file (${fileKind(st)})`)
  }
  const hasher = new CommPHasher(opts)
  try {
    let pos = 0
    for (; pos < st.size; pos += FILE_SLICE) {
      if (!feedFile(hasher, fh.fd, pos, Math.min(FILE_SLICE, st.size - pos))) break
      await new Promise<void>((resolve) => { setImmediate(resolve) })
    }
    if (pos === 0) {
      const bufs = [Buffer.allocUnsafe(READ_SIZE), Buffer.allocUnsafe(READ_SIZE)] as const
      let which = 0
      let pending = fh.read(bufs[0], 0, READ_SIZE, 0)
      for (;;) {
        const { bytesRead, buffer } = await pending
        if (bytesRead === 0) break
        pos += bytesRead
        which ^= 1
        pending = fh.read(bufs[which as 0 | 1], 0, READ_SIZE, pos)
        hasher.update(buffer.subarray(0, bytesRead))
      }
    }
    // digest waits for pool threads still reading fh: it must run before close
    return hasher.digest(opts.paddedPieceSize)
  } catch (err) {
    // pool threads may still be reading fh: wait for them before the finally closes it
    try { hasher.digest() } catch {}
    throw err instanceof DealyardError ? wrap(`commp ${path}`, err) : readError(path, err)
  } finally {
    await fh.close()
  }
}

/** What a non-regular file is, for an error message. */
export function fileKind (st: { isDirectory: () => boolean, isFIFO: () => boolean, isCharacterDevice: () => boolean, isBlockDevice: () => boolean, isSocket: () => boolean }): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a file'
}

/** I/O failures keep the system code (ENOENT, EIO) in `cause` and carry ERR_COMMP_READ. */
function readError (path: string, err: unknown): DealyardError {
  const code = (err as { code?: string }).code
  return new DealyardError('ERR_COMMP_READ', `commp ${path}: ${code ?? (err instanceof Error ? err.message : String(err))}`, { cause: err })
}

/** The commitment of an all-zero piece of paddedPieceSize bytes (Lotus's zerocomm table). */
export function zeroPieceCommitment (paddedPieceSize: number): Uint8Array {
  checkPaddedPieceSize(paddedPieceSize)
  return zeroSubtree(treeHeight(paddedPieceSize)).slice()
}

/**
 * Grows a commitment of a fromSize piece to a larger toSize piece by hashing with zero subtrees,
 * as go-commp-utils/boost PadCommP do for a CAR shorter than the deal's piece.
 */
export function padPieceCommitment (root: Uint8Array, fromSize: number, toSize: number): Uint8Array {
  checkPaddedPieceSize(fromSize)
  checkPaddedPieceSize(toSize)
  if (toSize < fromSize) throw new DealyardError('ERR_COMMP_SIZE', `commp: cannot pad a ${fromSize}-byte piece down to ${toSize}`)
  let cur: Uint8Array = root.slice(0, 32)
  for (let l = treeHeight(fromSize); l < treeHeight(toSize); l++) cur = hashNode(cur, zeroSubtree(l))
  return cur
}
