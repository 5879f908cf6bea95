/**
 * Unsigned LEB128 varints as multiformats and CAR use them, as plain numbers: exact up to
 * 2^53 − 1. Readers refuse a length or multihash code past that (with `exactUvarint` to say what
 * was written); no real CAR comes near it.
 */

/** Bytes needed to encode `n`. */
export function uvarintSize (n: number): number {
  let size = 1
  while (n >= 0x80) { n = Math.floor(n / 128); size++ }
  return size
}

/** Appends the varint encoding of `n` to `out` at `pos`; returns the position after it. */
export function putUvarint (out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 128) | 0x80
    n = Math.floor(n / 128)
  }
  out[pos++] = n
  return pos
}

export function encodeUvarint (n: number): Uint8Array {
  const out = new Uint8Array(uvarintSize(n))
  putUvarint(out, 0, n)
  return out
}

/** A decoded varint: callers that read one per block reuse one (no allocation). */
export interface Uvarint { value: number, size: number }

/**
 * Decodes the varint at buf[pos, end) into `out`. Returns false when it runs past `end` (the
 * caller waits for more bytes). Throws on a varint over 9 bytes, which no CAR section length or
 * multihash code needs, and on one with a needless zero byte, which go-varint (go-car, go-cid)
 * refuses too.
 */
export function uvarintInto (buf: Uint8Array, pos: number, end: number, out: Uvarint): boolean {
  let value = 0
  let mul = 1
  for (let i = 0; i < 9; i++) {
    if (pos + i >= end) return false
    const b = buf[pos + i]!
    value += (b & 0x7f) * mul
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw new RangeError('varint not minimally encoded')
      out.value = value
      out.size = i + 1
      return true
    }
    mul *= 128
  }
  throw new RangeError('varint longer than 9 bytes')
}

/** `uvarintInto` over the rest of `buf`: `[value, bytesRead]`, or undefined when incomplete. */
export function readUvarint (buf: Uint8Array, pos: number): [number, number] | undefined {
  const v = { value: 0, size: 0 }
  return uvarintInto(buf, pos, buf.length, v) ? [v.value, v.size] : undefined
}

/** The exact value of the varint at buf[pos, pos + size) (for messages about values past 2^53). */
export function exactUvarint (buf: Uint8Array, pos: number, size: number): bigint {
  let v = 0n
  for (let i = size - 1; i >= 0; i--) v = (v << 7n) | BigInt(buf[pos + i]! & 0x7f)
  return v
}
