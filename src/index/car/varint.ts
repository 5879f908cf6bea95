/**
 * Unsigned LEB128 varints as multiformats and CAR use them. Values stay below 2^53 (CAR offsets
 * and section lengths), so plain numbers are exact.
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

/**
 * Decodes a varint at `pos` of `buf`. Returns `[value, bytesRead]`, or `undefined` when `buf`
 * ends before the varint does (the caller waits for more bytes). Throws on a varint over 9 bytes,
 * which no CAR section length or multihash code needs, and on one that is not minimally encoded.
 */
export function readUvarint (buf: Uint8Array, pos: number): [number, number] | undefined {
  let value = 0
  let mul = 1
  for (let i = 0; i < 9; i++) {
    const b = buf[pos + i]
    if (b === undefined) return undefined
    value += (b & 0x7f) * mul
    if ((b & 0x80) === 0) {
      // go-varint (go-car, go-cid) refuses a varint with a needless zero byte: so does the index.
      if (b === 0 && i > 0) throw new RangeError('varint not minimally encoded')
      return [value, i + 1]
    }
    mul *= 128
  }
  throw new RangeError('varint longer than 9 bytes')
}
