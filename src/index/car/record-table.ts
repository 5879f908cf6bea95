import type { BlockRecord } from './reader.ts'
import { putUvarint, uvarintSize } from './varint.ts'

/**
 * A CAR's block records in compact binary form. One object per block cost ~420 bytes of heap
 * (3M tiny blocks: 4.5 GB RSS); here each block is one fixed-width entry
 * `digest ‖ uint64 LE offset ‖ uint64 LE size` in typed-array chunks, grouped by (hash code,
 * digest length), ~digest+16 bytes a block. The first `digestLength + 8` bytes of an entry are
 * exactly a MultihashIndexSorted entry, so the encoder copies them as they are.
 */

/** Target bytes of one full chunk: big enough to amortise, small enough that no allocation spikes. */
const CHUNK_BYTES = 4 << 20
/** Capacity of a group's first chunk, which doubles until full size: a CAR of many groups
 * (identity CIDs of every length) must not cost a full chunk per group. */
const FIRST_ENTRIES = 4
const TWO32 = 2 ** 32

/** A group as it crosses a thread boundary (structured clone keeps own data fields only). */
export interface RecordGroupData {
  hashCode: number
  digestLength: number
  count: number
  chunks: Array<Uint8Array<ArrayBuffer>>
}

export interface RecordTableData {
  /** Offset of the CARv1 payload in the stream: `sourceOffset = offset + base`. */
  base: number
  length: number
  groups: readonly RecordGroupData[]
}

/** Entries per full chunk as a power of two, so an entry's chunk is a shift away. */
function chunkShift (width: number): number {
  return Math.max(0, Math.floor(Math.log2(CHUNK_BYTES / width)))
}

function putU64 (b: Uint8Array, p: number, n: number): void {
  const lo = n >>> 0
  const hi = Math.floor(n / TWO32)
  b[p] = lo; b[p + 1] = lo >>> 8; b[p + 2] = lo >>> 16; b[p + 3] = lo >>> 24
  b[p + 4] = hi; b[p + 5] = hi >>> 8; b[p + 6] = hi >>> 16; b[p + 7] = hi >>> 24
}

function getU64 (b: Uint8Array, p: number): number {
  const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
  const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0
  return hi * TWO32 + lo
}

/** The entries of one (hash code, digest length). */
export class RecordGroup implements RecordGroupData {
  readonly hashCode: number
  readonly digestLength: number
  /** Bytes of one entry: digest ‖ offset ‖ size. */
  readonly width: number
  /** log2 of the entries of a full chunk. */
  readonly shift: number
  readonly mask: number
  count = 0
  chunks: Array<Uint8Array<ArrayBuffer>> = []

  constructor (hashCode: number, digestLength: number) {
    this.hashCode = hashCode
    this.digestLength = digestLength
    this.width = digestLength + 16
    this.shift = chunkShift(this.width)
    this.mask = (1 << this.shift) - 1
  }

  /** Appends the entry whose digest is src[start, start + digestLength). */
  add (src: Uint8Array, start: number, offset: number, size: number): void {
    const i = this.count
    const k = i >>> this.shift
    const full = (this.mask + 1) * this.width
    let chunk = this.chunks[k]
    if (chunk === undefined) {
      chunk = new Uint8Array(k === 0 ? Math.min(full, FIRST_ENTRIES * this.width) : full)
      this.chunks.push(chunk)
    }
    const p = (i & this.mask) * this.width
    if (p === chunk.length) {
      // Only the first chunk grows, by doubling, up to one full chunk.
      const next = new Uint8Array(Math.min(full, chunk.length * 2))
      next.set(chunk)
      this.chunks[k] = chunk = next
    }
    for (let k = 0; k < this.digestLength; k++) chunk[p + k] = src[start + k]!
    putU64(chunk, p + this.digestLength, offset)
    putU64(chunk, p + this.digestLength + 8, size)
    this.count = i + 1
  }

  /** The chunk holding entry `i`; the entry starts at `pos(i)` in it. */
  chunk (i: number): Uint8Array { return this.chunks[i >>> this.shift]! }
  pos (i: number): number { return (i & this.mask) * this.width }
  offset (i: number): number { return getU64(this.chunk(i), this.pos(i) + this.digestLength) }
  size (i: number): number { return getU64(this.chunk(i), this.pos(i) + this.digestLength + 8) }

  record (i: number, base: number): BlockRecord {
    const c = this.chunk(i)
    const p = this.pos(i)
    const head = uvarintSize(this.hashCode) + uvarintSize(this.digestLength)
    const multihash = new Uint8Array(head + this.digestLength)
    putUvarint(multihash, putUvarint(multihash, 0, this.hashCode), this.digestLength)
    multihash.set(c.subarray(p, p + this.digestLength), head)
    const offset = getU64(c, p + this.digestLength)
    return {
      multihash,
      hashCode: this.hashCode,
      digest: multihash.subarray(head),
      offset,
      sourceOffset: offset + base,
      size: getU64(c, p + this.digestLength + 8)
    }
  }

  /** Revives a group received from another thread, checking its chunks fit its count. */
  static from (d: RecordGroupData): RecordGroup {
    const g = new RecordGroup(d.hashCode, d.digestLength)
    const where = `record table group (code 0x${d.hashCode.toString(16)}, digest length ${d.digestLength})`
    const perChunk = g.mask + 1
    const need = Math.ceil(d.count / perChunk)
    if (!Number.isSafeInteger(d.count) || d.count < 0 || d.chunks.length !== need) {
      throw new Error(`${where}: ${d.chunks.length} chunks for ${d.count} entries, expected ${need}`)
    }
    d.chunks.forEach((c, k) => {
      const entries = k < need - 1 ? perChunk : d.count - k * perChunk
      if (!(c instanceof Uint8Array) || c.length < entries * g.width || c.length > perChunk * g.width) {
        throw new Error(`${where}: chunk ${k} holds ${c.length} bytes, not room for ${entries} entries of ${g.width} bytes`)
      }
    })
    g.count = d.count
    g.chunks = d.chunks
    return g
  }
}

/**
 * What `CarBlockIndexer` found: `add` in stream order; iteration and `list()` give `BlockRecord`s
 * back in stream order (by offset), for tests and small uses. Crossing to another thread:
 * `handOver()` in the sending thread, `RecordTable.from()` in the receiving one.
 */
export class RecordTable implements RecordTableData, Iterable<BlockRecord> {
  base = 0
  length = 0
  readonly #groups: RecordGroup[] = []
  readonly #byCode = new Map<number, Map<number, RecordGroup>>()
  #last: RecordGroup | undefined
  #handedOver = false

  add (hashCode: number, digest: Uint8Array, offset: number, size: number): void {
    this.put(hashCode, digest, 0, digest.length, offset, size)
  }

  /** `add` of the digest at buf[start, start + length), without a view of it per block. */
  put (hashCode: number, buf: Uint8Array, start: number, length: number, offset: number, size: number): void {
    this.#check()
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`record table: bad block at offset ${offset}: size ${size}`)
    }
    if (start < 0 || start + length > buf.length) {
      throw new RangeError(`record table: digest [${start}, ${start + length}) outside a ${buf.length}-byte buffer (block at offset ${offset})`)
    }
    let g = this.#last
    if (g === undefined || g.hashCode !== hashCode || g.digestLength !== length) {
      g = this.#group(hashCode, length)
      this.#last = g
    }
    g.add(buf, start, offset, size)
    this.length++
  }

  /** One per (hash code, digest length), in order of first appearance. */
  get groups (): readonly RecordGroup[] {
    this.#check()
    return this.#groups
  }

  /** Bytes the entries take (allocated chunks). */
  get byteLength (): number {
    return this.#groups.reduce((sum, g) => sum + g.chunks.reduce((s, c) => s + c.length, 0), 0)
  }

  * [Symbol.iterator] (): Iterator<BlockRecord> {
    this.#check()
    const groups = this.#groups
    // Stream order across groups (a CAR may hold a group per block: no linear pick per record).
    const refs: Array<[offset: number, group: number, index: number]> = []
    for (let k = 0; k < groups.length; k++) for (let i = 0; i < groups[k]!.count; i++) refs.push([groups[k]!.offset(i), k, i])
    refs.sort((a, b) => a[0] - b[0])
    for (const [, k, i] of refs) yield groups[k]!.record(i, this.base)
  }

  list (): BlockRecord[] { return [...this] }

  /**
   * The table's data and the buffers to move with it (`postMessage(msg, transfer)`): nothing is
   * copied, and this table is unusable afterwards.
   */
  handOver (): { data: RecordTableData, transfer: ArrayBuffer[] } {
    this.#check()
    this.#handedOver = true
    const groups = this.#groups.map((g) => ({ hashCode: g.hashCode, digestLength: g.digestLength, count: g.count, chunks: g.chunks }))
    return { data: { base: this.base, length: this.length, groups }, transfer: groups.flatMap((g) => g.chunks.map((c) => c.buffer)) }
  }

  /** Revives a table from `handOver()`'s data (a table passes through as it is). */
  static from (data: RecordTableData): RecordTable {
    if (data instanceof RecordTable) return data
    const t = new RecordTable()
    t.base = data.base
    for (const d of data.groups) {
      const g = RecordGroup.from(d)
      t.#register(g)
      t.length += g.count
    }
    if (t.length !== data.length) throw new Error(`record table: groups hold ${t.length} entries, the table says ${data.length}`)
    return t
  }

  /** A table of arbitrary entries (a decoded index, records from elsewhere); size 0 when unknown. */
  static fromEntries (entries: Iterable<{ hashCode: number, digest: Uint8Array, offset: number, size?: number }>): RecordTable {
    const t = new RecordTable()
    for (const e of entries) t.add(e.hashCode, e.digest, e.offset, e.size ?? 0)
    return t
  }

  #check (): void {
    if (this.#handedOver) throw new Error('record table was handed over to another thread')
  }

  #group (hashCode: number, digestLength: number): RecordGroup {
    const g = this.#byCode.get(hashCode)?.get(digestLength)
    if (g !== undefined) return g
    return this.#register(new RecordGroup(hashCode, digestLength))
  }

  #register (g: RecordGroup): RecordGroup {
    let widths = this.#byCode.get(g.hashCode)
    if (widths === undefined) { widths = new Map(); this.#byCode.set(g.hashCode, widths) }
    if (widths.has(g.digestLength)) throw new Error(`record table: two groups for code 0x${g.hashCode.toString(16)}, digest length ${g.digestLength}`)
    widths.set(g.digestLength, g)
    this.#groups.push(g)
    return g
  }
}
