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
 * Where the CBOR item starting at `start` ends: the offset after it, or -1 if `buf` holds only a
 * prefix of it. Throws ERR_CBOR_DECODE on a header cbor-gen would refuse (non-minimal, indefinite,
 * reserved) or nesting deeper than MAX_NESTING. Walks headers only: cost is the item count.
 */
export function cborItemEnd (buf: Uint8Array, start = 0, path = 'message'): number {
  let pos = start
  const stack: number[] = [1]
  while (stack.length > 0) {
    const top = stack.length - 1
    if (stack[top] === 0) { stack.pop(); continue }
    stack[top]!--
    if (pos >= buf.length) return -1
    const first = buf[pos++]!
    const major = first >> 5
    const low = first & 0x1f
    let v: number
    if (low < 24) {
      v = low
    } else if (low <= 27) {
      const n = 1 << (low - 24)
      if (pos + n > buf.length) return -1
      v = 0
      for (let i = 0; i < n; i++) v = v * 256 + buf[pos + i]!
      pos += n
      const min = low === 24 ? 24 : low === 25 ? 0x100 : low === 26 ? 0x10000 : 0x100000000
      if (v < min) throw decodeError(path, `cbor input was not canonical at offset ${pos - n - 1}`)
    } else {
      throw decodeError(path, `invalid header (${first.toString(16)}) at offset ${pos - 1}: indefinite lengths and reserved values are not allowed`)
    }
    switch (major) {
      case 2: case 3:
        if (v > buf.length - pos) return -1
        pos += v
        break
      case 4: case 5: {
        const items = major === 4 ? v : v * 2
        // Each item takes at least a byte; a count past the data means "need more" (and a real
        // flood is stopped by the size limit, since the counter never allocates).
        if (items > 0) stack.push(items)
        break
      }
      case 6:
        stack.push(1)
        break
      default:
        break
    }
    if (stack.length > MAX_NESTING + 1) throw decodeError(path, `nesting deeper than ${MAX_NESTING}`)
  }
  return pos
}

export interface ReadItemOptions {
  /** Largest item accepted (default DEFAULT_MAX_MESSAGE_BYTES). */
  maxBytes?: number
  /** Aborting ends the read with ERR_STREAM_ABORTED (the ingress passes its read deadline here). */
  signal?: AbortSignal
  /** Names the message in errors, e.g. "DealParams". */
  path?: string
}

/**
 * Reads exactly one CBOR item from a byte stream (a libp2p stream is an AsyncIterable of
 * Uint8Array | Uint8ArrayList) and returns its bytes, leaving the rest unread as boost does.
 * Errors: ERR_CBOR_DECODE (malformed header, over the size limit, stream ended mid-item),
 * ERR_STREAM_ABORTED (signal).
 */
export async function readCborItem (source: AsyncIterable<Uint8Array | Uint8ArrayList>, opts: ReadItemOptions = {}): Promise<Uint8Array> {
  const max = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const path = opts.path ?? 'message'
  const buf = new Uint8ArrayList()
  const it = source[Symbol.asyncIterator]()
  const signal = opts.signal
  let onAbort: (() => void) | undefined
  const aborted = signal == null
    ? undefined
    : new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(new DealyardError('ERR_STREAM_ABORTED', `${path}: read aborted after ${buf.byteLength} bytes`, { cause: signal.reason, retry: 'auto' })) }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  aborted?.catch(() => {})
  try {
    while (true) {
      const next = aborted == null ? await it.next() : await Promise.race([it.next(), aborted])
      if (next.done === true) {
        throw decodeError(path, buf.byteLength === 0 ? 'stream ended before a message' : `stream ended after ${buf.byteLength} bytes, in the middle of a message`)
      }
      buf.append(next.value)
      // Check the limit on what is held, so a flood is cut off without buffering it all.
      const flat = buf.subarray()
      const end = cborItemEnd(flat, 0, path)
      if (end >= 0) {
        if (end > max) throw decodeError(path, `message of ${end} bytes exceeds the ${max}-byte limit`)
        return flat.subarray(0, end)
      }
      if (flat.length > max) throw decodeError(path, `message exceeds the ${max}-byte limit (${flat.length} bytes read, item not complete)`)
    }
  } finally {
    if (onAbort != null) signal?.removeEventListener('abort', onAbort)
  }
}
