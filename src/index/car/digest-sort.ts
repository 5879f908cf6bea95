import type { RecordGroup } from './record-table.ts'

/** Ranges this short are insertion-sorted: cheaper than a radix pass's count table. */
const SMALL = 24

/**
 * Writes a group's MultihashIndexSorted bucket entries (`digest ‖ uint64 LE offset`) to `out` at
 * `pos`, sorted by digest bytes, equal digests (a block stored twice) by offset; returns the
 * position after them. The entries are first scattered by their digest's first byte, reading the
 * table in order: gathering them in sorted order instead reads the table at random, one cache
 * and TLB miss per entry, which took most of the time for millions of entries. Each of the 256
 * parts is then sorted in place, within cache.
 */
export function writeSortedBucket (out: Uint8Array, pos: number, g: RecordGroup): number {
  const len = g.digestLength
  const width = len + 8
  const counts = new Uint32Array(257)
  const perChunk = g.mask + 1
  const each = (fn: (c: Uint8Array, p: number) => void): void => {
    for (let k = 0; k < g.chunks.length; k++) {
      const c = g.chunks[k]!
      const end = Math.min(perChunk, g.count - k * perChunk) * g.width
      for (let p = 0; p < end; p += g.width) fn(c, p)
    }
  }
  if (len > 0) each((c, p) => { counts[c[p]! + 1]!++ })
  else counts[1] = g.count
  for (let b = 0; b < 256; b++) counts[b + 1]! += counts[b]!
  const next = counts.slice(0, 256)
  each((c, p) => {
    let d = pos + (len > 0 ? next[c[p]!]!++ : next[0]!++) * width
    for (let k = 0; k < width; k++) out[d++] = c[p + k]!
  })
  for (let b = 0; b < 256; b++) sortEntries(out, pos + counts[b]! * width, counts[b + 1]! - counts[b]!, len)
  return pos + g.count * width
}

/**
 * Sorts in place the `n` entries (`digest ‖ uint64 LE offset`, digests `len` bytes) at `start`
 * of `buf`. The key is read as 32-bit words (digest big-endian, zero-padded, then the offset's
 * high and low halves); each range is sorted on one word by a stable LSD radix sort of entry
 * indices, and runs of equal words go on to the next word. Random digests are done after the
 * first word; a block repeated a million times costs one linear pass per word, where a comparator
 * sort would make ~20 full comparisons per entry.
 */
export function sortEntries (buf: Uint8Array, start: number, n: number, len: number): void {
  if (n < 2) return
  new EntrySorter(buf, start, n, len).run()
}

class EntrySorter {
  readonly buf: Uint8Array
  readonly start: number
  readonly n: number
  readonly len: number
  readonly width: number
  /** Words of the digest; the two offset words follow. */
  readonly digestWords: number
  readonly idx: Uint32Array
  readonly keys: Uint32Array
  readonly tmp: Uint32Array
  readonly keysTmp: Uint32Array
  #counts8: Uint32Array | undefined
  #counts16: Uint32Array | undefined

  constructor (buf: Uint8Array, start: number, n: number, len: number) {
    this.buf = buf
    this.start = start
    this.n = n
    this.len = len
    this.width = len + 8
    this.digestWords = Math.ceil(len / 4)
    this.idx = new Uint32Array(n)
    const aux = n > SMALL ? n : 0
    this.keys = new Uint32Array(aux)
    this.tmp = new Uint32Array(aux)
    this.keysTmp = new Uint32Array(aux)
  }

  run (): void {
    for (let i = 0; i < this.n; i++) this.idx[i] = i
    this.sortRange(0, this.n, 0)
    this.permute()
  }

  word (e: number, w: number): number {
    const c = this.buf
    const p = this.start + e * this.width
    const len = this.len
    if (w < this.digestWords) {
      const b = p + 4 * w
      if (4 * w + 4 <= len) return ((c[b]! << 24) | (c[b + 1]! << 16) | (c[b + 2]! << 8) | c[b + 3]!) >>> 0
      let v = 0
      for (let k = 0; k < 4; k++) v = v * 256 + (4 * w + k < len ? c[b + k]! : 0)
      return v
    }
    const o = p + len + (w === this.digestWords ? 4 : 0)
    return (c[o]! | (c[o + 1]! << 8) | (c[o + 2]! << 16) | (c[o + 3]! << 24)) >>> 0
  }

  /** Sorts idx[lo, hi), whose entries agree on every word before `w`. */
  sortRange (lo: number, hi: number, w: number): void {
    if (hi - lo <= SMALL) { this.insertion(lo, hi, w); return }
    const { idx, keys } = this
    for (let i = lo; i < hi; i++) keys[i] = this.word(idx[i]!, w)
    this.radix(lo, hi)
    if (w + 1 === this.digestWords + 2) return
    for (let i = lo; i < hi;) {
      const k = keys[i]
      let j = i + 1
      while (j < hi && keys[j] === k) j++
      if (j - i > 1) this.sortRange(i, j, w + 1)
      i = j
    }
  }

  /** Stable sort of idx[lo, hi) by keys[lo, hi). */
  radix (lo: number, hi: number): void {
    const n = hi - lo
    const bits = n >= 1 << 16 ? 16 : 8
    const mask = (1 << bits) - 1
    const counts = bits === 16 ? (this.#counts16 ??= new Uint32Array((1 << 16) + 1)) : (this.#counts8 ??= new Uint32Array(257))
    let src = this.idx; let dst = this.tmp
    let ks = this.keys; let kd = this.keysTmp
    for (let shift = 0; shift < 32; shift += bits) {
      counts.fill(0)
      for (let i = lo; i < hi; i++) counts[((ks[i]! >>> shift) & mask) + 1]!++
      // A digit all entries share (the offset's high word, mostly) orders nothing.
      if (counts[((ks[lo]! >>> shift) & mask) + 1] === n) continue
      for (let d = 0; d < mask + 1; d++) counts[d + 1]! += counts[d]!
      for (let i = lo; i < hi; i++) {
        const key = ks[i]!
        const j = lo + counts[(key >>> shift) & mask]!++
        dst[j] = src[i]!
        kd[j] = key
      }
      [src, dst] = [dst, src];
      [ks, kd] = [kd, ks]
    }
    if (src !== this.idx) {
      this.idx.set(src.subarray(lo, hi), lo)
      this.keys.set(ks.subarray(lo, hi), lo)
    }
  }

  insertion (lo: number, hi: number, w: number): void {
    const idx = this.idx
    const from = Math.min(4 * w, this.len)
    for (let i = lo + 1; i < hi; i++) {
      const e = idx[i]!
      let j = i
      while (j > lo && this.compare(idx[j - 1]!, e, from) > 0) { idx[j] = idx[j - 1]!; j-- }
      idx[j] = e
    }
  }

  /** Digest bytes from `from` on, then the offset (little-endian: high byte first). */
  compare (a: number, b: number, from: number): number {
    const c = this.buf
    const pa = this.start + a * this.width
    const pb = this.start + b * this.width
    const len = this.len
    for (let k = from; k < len; k++) {
      const d = c[pa + k]! - c[pb + k]!
      if (d !== 0) return d
    }
    for (let k = len + 7; k >= len; k--) {
      const d = c[pa + k]! - c[pb + k]!
      if (d !== 0) return d
    }
    return 0
  }

  /** Moves entry idx[i] to place i, following the permutation's cycles with one entry aside. */
  permute (): void {
    const { buf, idx, width, start } = this
    const aside = new Uint8Array(width)
    for (let i = 0; i < this.n; i++) {
      if (idx[i] === i) continue
      const at = start + i * width
      for (let k = 0; k < width; k++) aside[k] = buf[at + k]!
      let j = i
      for (;;) {
        const from = idx[j]!
        idx[j] = j
        const to = start + j * width
        if (from === i) {
          for (let k = 0; k < width; k++) buf[to + k] = aside[k]!
          break
        }
        const src = start + from * width
        for (let k = 0; k < width; k++) buf[to + k] = buf[src + k]!
        j = from
      }
    }
  }
}
