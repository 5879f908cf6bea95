import { Uint8ArrayList } from 'uint8arraylist'
import { DealyardError } from '../errors.ts'
import { decodeError, MAX_NESTING } from './cbor/reader.ts'
import { DEFAULT_MAX_MESSAGE_BYTES } from './codec.ts'

/*
 * Framing on boost's streams (spec §1.2, lp2pimpl/net.go): no length prefix, no envelope. Each side
 * writes exactly one self-delimiting CBOR item (cborutil.WriteCborRPC = MarshalCBOR) and the reader
 * stops after one item without waiting for EOF; bytes after it are never read. So a reader must find
 * where the item ends from the CBOR headers alone, which is what this module does.
 */

/**
 * Finds where one CBOR item ends in bytes that arrive in pieces, resuming where the last call
 * stopped: each header is read once however many reads the item takes. (Re-scanning from the start
 * on every read made a 5 MiB item of one-byte elements cost 1 s of CPU in 64 KiB reads, 3.5 s in
 * 16 KiB ones.) Throws ERR_CBOR_DECODE on a header cbor-gen would refuse (non-minimal, indefinite,
 * reserved) or nesting deeper than MAX_NESTING. Walks headers only: cost is the item count.
 */
export class CborItemScanner {
  private pos: number
  /** Items still to read at each open level; the bottom one is the top-level item. */
  private readonly stack: number[] = [1]
  private readonly path: string
  private readonly maxEnd: number

  /** `maxEnd`: a string or array whose header already puts the end past it is refused at once. */
  constructor (start = 0, path = 'message', maxEnd = Number.POSITIVE_INFINITY) {
    this.pos = start
    this.path = path
    this.maxEnd = maxEnd
  }

  /**
   * The offset after the item, or -1 if `buf` holds only a prefix of it. `buf` is everything
   * received so far, from the same start: each call passes the previous bytes plus new ones.
   */
  scan (buf: Uint8Array): number {
    const stack = this.stack
    let pos = this.pos
    while (stack.length > 0) {
      const top = stack.length - 1
      if (stack[top] === 0) { stack.pop(); continue }
      // Nothing below changes state until the whole header (and a string's bytes) is there.
      if (pos >= buf.length) break
      const first = buf[pos]!
      const major = first >> 5
      const low = first & 0x1f
      let v: number
      let next = pos + 1
      if (low < 24) {
        v = low
      } else if (low <= 27) {
        const n = 1 << (low - 24)
        if (next + n > buf.length) break
        v = 0
        for (let i = 0; i < n; i++) v = v * 256 + buf[next + i]!
        next += n
        const min = low === 24 ? 24 : low === 25 ? 0x100 : low === 26 ? 0x10000 : 0x100000000
        if (v < min) throw decodeError(this.path, `cbor input was not canonical at offset ${pos}`)
      } else {
        throw decodeError(this.path, `invalid header (${first.toString(16)}) at offset ${pos}: indefinite lengths and reserved values are not allowed`)
      }
      // A string's bytes, or one byte per array item and two per map entry, at the least.
      const least = major === 2 || major === 3 ? next + v : major === 4 ? next + v : major === 5 ? next + 2 * v : next
      if (least > this.maxEnd) throw decodeError(this.path, `message of at least ${least} bytes exceeds the ${this.maxEnd}-byte limit (header at offset ${pos})`)
      if ((major === 2 || major === 3) && v > buf.length - next) break
      stack[top]!--
      pos = major === 2 || major === 3 ? next + v : next
      // Each array or map item takes at least a byte; a count past the data means "need more"
      // (and a real flood is stopped by the caller's size limit: the counter never allocates).
      if (major === 4 && v > 0) stack.push(v)
      else if (major === 5 && v > 0) stack.push(v * 2)
      else if (major === 6) stack.push(1)
      if (stack.length > MAX_NESTING + 1) throw decodeError(this.path, `nesting deeper than ${MAX_NESTING}`)
    }
    this.pos = pos
    return stack.length === 0 ? pos : -1
  }
}

/**
 * Where the CBOR item starting at `start` ends: the offset after it, or -1 if `buf` holds only a
 * prefix of it. Errors as CborItemScanner's.
 */
export function cborItemEnd (buf: Uint8Array, start = 0, path = 'message'): number {
  return new CborItemScanner(start, path).scan(buf)
}

export interface ReadItemOptions {
  /** Largest item accepted (default DEFAULT_MAX_MESSAGE_BYTES). */
  maxBytes?: number
  /** Aborting ends the read with ERR_STREAM_ABORTED (the ingress passes its read deadline here). */
  signal?: AbortSignal
  /** Names the message in errors, e.g. "DealParams". */
  path?: string
  /**
   * Memory shared by every read in flight: the reader takes what its buffer grows by and gives it
   * all back when it returns or fails; when none is left the read fails with ERR_RESOURCE.
   */
  budget?: ByteBudget
}

export interface ByteBudget {
  /** Takes n bytes if there are; false otherwise (nothing taken). */
  take: (n: number) => boolean
  give: (n: number) => void
}

export const ERR_RESOURCE = 'ERR_RESOURCE'

/**
 * Reads exactly one CBOR item from a byte stream (a libp2p stream is an AsyncIterable of
 * Uint8Array | Uint8ArrayList) and returns its bytes, leaving the rest unread as boost does.
 * Errors: ERR_CBOR_DECODE (malformed header, over the size limit, stream ended mid-item),
 * ERR_STREAM_ABORTED (signal), ERR_RESOURCE (the shared budget is spent).
 */
export async function readCborItem (source: AsyncIterable<Uint8Array | Uint8ArrayList>, opts: ReadItemOptions = {}): Promise<Uint8Array> {
  const max = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const path = opts.path ?? 'message'
  // One buffer, doubled as needed: each received byte is copied once (a list flattened on every
  // read copied the whole message again each time).
  let buf = new Uint8Array(0)
  let held = 0
  let taken = 0
  const scanner = new CborItemScanner(0, path, max)
  const it = source[Symbol.asyncIterator]()
  const signal = opts.signal
  let onAbort: (() => void) | undefined
  const aborted = signal == null
    ? undefined
    : new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(new DealyardError('ERR_STREAM_ABORTED', `${path}: read aborted after ${held} bytes`, { cause: signal.reason, retry: 'auto' })) }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  aborted?.catch(() => {})
  try {
    while (true) {
      const next = aborted == null ? await it.next() : await Promise.race([it.next(), aborted])
      if (next.done === true) {
        throw decodeError(path, held === 0 ? 'stream ended before a message' : `stream ended after ${held} bytes, in the middle of a message`)
      }
      const chunk = next.value
      const n = chunk.byteLength
      if (held === 0) {
        // The usual request, whole in its first read: returned as it came (a list is joined once,
        // no copy when it holds one buffer), with no working buffer. The scan's progress holds for
        // the copy below when it is not whole: same bytes at the same offsets.
        const first = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        const end = scanner.scan(first)
        if (end >= 0) {
          if (end > max) throw decodeError(path, `message of ${end} bytes exceeds the ${max}-byte limit`)
          return first.subarray(0, end)
        }
      }
      if (held + n > buf.length) {
        // Never more than one byte past the limit: enough to tell "over the limit" apart.
        const size = Math.min(Math.max(buf.length * 2, held + n, 4096), Math.max(max + 1, held + n))
        if (opts.budget !== undefined) {
          if (!opts.budget.take(size - buf.length)) {
            throw new DealyardError(ERR_RESOURCE, `${path}: no memory left for requests (${held} bytes read, ${size} needed)`, { retry: 'auto' })
          }
          taken += size - buf.length
        }
        const grown = new Uint8Array(size)
        grown.set(buf.subarray(0, held))
        buf = grown
      }
      if (chunk instanceof Uint8Array) buf.set(chunk, held)
      else { let at = held; for (const part of chunk) { buf.set(part, at); at += part.byteLength } }
      held += n
      // Check the limit on what is held, so a flood is cut off without buffering it all.
      const end = scanner.scan(buf.subarray(0, held))
      if (end >= 0) {
        if (end > max) throw decodeError(path, `message of ${end} bytes exceeds the ${max}-byte limit`)
        return buf.subarray(0, end)
      }
      if (held > max) throw decodeError(path, `message exceeds the ${max}-byte limit (${held} bytes read, item not complete)`)
    }
  } finally {
    if (onAbort != null) signal?.removeEventListener('abort', onAbort)
    // Let go of the source: a libp2p stream's iterator keeps a listener that queues every later
    // byte without limit for as long as it lives (after its return, the stream's own read-buffer
    // cap applies). Not awaited: with a read still pending it settles only when the stream ends.
    it.return?.().catch(() => {})
    // The caller decodes the item at once and drops it: its bytes are not held for long.
    if (taken > 0) opts.budget!.give(taken)
  }
}
