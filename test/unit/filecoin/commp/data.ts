/**
 * Deterministic test payloads shared by the CommP tests and tools/bench-go/gen-vectors.ts (which
 * records upstream stream-commp's answers for them): mulberry32, four little-endian bytes a step.
 */
import { createHash } from 'node:crypto'

export function pseudoRandom (size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let s = seed >>> 0
  let i = 0
  for (; i + 4 <= size; i += 4) {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    view.setUint32(i, (t ^ (t >>> 14)) >>> 0, true)
  }
  for (; i < size; i++) out[i] = (i * 131 + seed) & 0xff
  return out
}

/**
 * storacha/data-segment's test payload (test/util.js deriveBuffer): each 64 bytes are SHA-512 of
 * the 64 bytes before them (of nothing, at the start). Its vectors name the payload by raw CID too,
 * so the test checks this generator before trusting it.
 */
export function sha512Chain (size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let off = 0; off < size; off += 64) {
    const d = createHash('sha512').update(out.subarray(Math.max(0, off - 64), off)).digest()
    out.set(d.subarray(0, Math.min(64, size - off)), off)
  }
  return out
}

/** Feeds data in chunks of the given sizes, cycling through them. */
export function chunked (data: Uint8Array, sizes: number[], each: (chunk: Uint8Array) => void): void {
  let k = 0
  for (let i = 0; i < data.length;) {
    const n = sizes[k++ % sizes.length]!
    each(data.subarray(i, i + n))
    i += n
  }
}
