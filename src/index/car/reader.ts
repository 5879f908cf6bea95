import { isIdentity, newCidSpan, scanCid } from './cid.ts'
import { carHeaderVersion } from './header.ts'
import { RecordTable } from './record-table.ts'
import { exactUvarint, readUvarint, uvarintInto, type Uvarint } from './varint.ts'

/** One block section of a CAR, as the CARv2 index records it. */
export interface BlockRecord {
  /** Whole multihash of the block's CID. */
  multihash: Uint8Array
  hashCode: number
  digest: Uint8Array
  /**
   * Offset of the section's length varint from the start of the CARv1 payload: byte 0 of a CARv1
   * file, `DataOffset` of a CARv2 (go-car `LoadIndex`, spec ipni-indexing §7.4).
   */
  offset: number
  /** Offset of the section's length varint from byte 0 of the stream (boost's `SourceOffset`). */
  sourceOffset: number
  /** Length of the block data (section minus CID and varint). */
  size: number
}

export interface CarIndexResult {
  /** 1 or 2; undefined when the stream is not a CAR. */
  version: 1 | 2 | undefined
  /**
   * The blocks, compactly; iterate or `list()` for `BlockRecord`s. Sent to another thread with
   * `handOver()`, it arrives as plain data that `RecordTable.from` revives.
   */
  records: RecordTable
  /** Why indexing stopped early; the records up to that point are still returned. */
  error: Error | undefined
  /** A zero-length section ended the payload early (go-car `ZeroLengthSectionAsEOF`). */
  zeroLengthSectionAsEOF: boolean
}

const V2_HEADER_SIZE = 40
/** go-car `DefaultMaxIndexCidSize` and `DefaultMaxAllowedHeaderSize`. */
const MAX_CID_SIZE = 2 << 10
const MAX_HEADER_SIZE = 32 << 20
/** go-car `DefaultMaxAllowedSectionSize`. */
const MAX_SECTION_SIZE = 8 << 20

type State =
  | 'header-len' | 'header' | 'v2-header' | 'skip-to-data'
  | 'section-len' | 'section-cid' | 'section-data' | 'done'

/**
 * A streaming CAR indexer: feed it the bytes of a CARv1 or CARv2 in chunks of any size, in order,
 * and it finds every block section without buffering block data, so it can sit on the download
 * path. It never throws from `update`: a stream that is not a valid CAR stops indexing and is
 * reported by `result().error`, because a deal's payload need not be a CAR for the deal to be
 * valid (boost likewise only fails the indexing step).
 */
export class CarBlockIndexer {
  /** Bytes seen so far. */
  position = 0
  private state: State = 'header-len'
  private acc = new Uint8Array(64)
  private accLen = 0
  private need = 0
  private version: 1 | 2 | undefined
  private inner = false
  /** Start of the CARv1 payload in the stream (0, or a CARv2's DataOffset). */
  private base = 0
  /** End of the CARv1 payload in the stream (a CARv2's DataOffset + DataSize). */
  private end = Number.POSITIVE_INFINITY
  private sectionStart = 0
  /** Stream offset just after the header section being read (the CARv2 pragma's end). */
  private headerEnd = 0
  private sectionLen = 0
  private readonly records = new RecordTable()
  private error: Error | undefined
  private zeroEOF = false
  private readonly span = newCidSpan()
  private readonly vlen: Uvarint = { value: 0, size: 0 }

  update (chunk: Uint8Array): void {
    let i = 0
    const n = chunk.length
    try {
      while (i < n && this.state !== 'done') {
        switch (this.state) {
          case 'header-len':
          case 'section-len': {
            if (this.state === 'section-len' && this.accLen === 0) {
              this.sectionStart = this.position + i
              // A CARv2's payload ends at DataSize; what follows (padding, index) is not sections.
              if (this.sectionStart - this.base >= this.end - this.base) { this.state = 'done'; break }
              const taken = this.wholeSection(chunk, i)
              if (taken > 0) { i += taken; break }
            }
            this.push(chunk[i++]!)
            const v = readUvarint(this.acc.subarray(0, this.accLen), 0)
            if (v === undefined) break
            // A JS number rounds past 2^53 − 1: say the length as written. No section is that long.
            if (v[0] > Number.MAX_SAFE_INTEGER) throw new Error(`${this.state === 'header-len' ? 'not a CAR: header' : 'section'} length ${exactUvarint(this.acc, 0, v[1])} at offset ${this.position + i - v[1] - this.base} is past 2^53 − 1`)
            this.accLen = 0
            this.onLength(v[0], this.position + i)
            break
          }
          case 'header':
          case 'v2-header':
          case 'section-cid': {
            const take = Math.min(n - i, this.need - this.accLen)
            this.pushAll(chunk.subarray(i, i + take))
            i += take
            if (this.accLen < this.need) break
            this.onFilled()
            break
          }
          case 'skip-to-data':
          case 'section-data': {
            const take = Math.min(n - i, this.need)
            i += take
            this.need -= take
            if (this.need === 0) this.state = this.state === 'skip-to-data' ? 'header-len' : 'section-len'
            break
          }
        }
      }
    } catch (err) {
      this.error = err instanceof Error ? err : new Error(String(err))
      this.state = 'done'
    }
    this.position += n
  }

  /** Ends the stream; a stream that stops inside a section is reported as truncated. */
  result (): CarIndexResult {
    if (this.error === undefined && this.state !== 'done' && !(this.state === 'section-len' && this.accLen === 0)) {
      this.error = new Error(this.version === undefined
        ? 'not a CAR: stream ended inside the header'
        : `truncated CAR: stream ended inside a section at offset ${this.sectionStart - this.base}`)
    }
    return { version: this.version, records: this.records, error: this.error, zeroLengthSectionAsEOF: this.zeroEOF }
  }

  private push (b: number): void {
    if (this.accLen === this.acc.length) this.grow(this.accLen + 1)
    this.acc[this.accLen++] = b
  }

  private pushAll (bytes: Uint8Array): void {
    if (this.accLen + bytes.length > this.acc.length) this.grow(this.accLen + bytes.length)
    this.acc.set(bytes, this.accLen)
    this.accLen += bytes.length
  }

  private grow (min: number): void {
    const next = new Uint8Array(Math.max(min, this.acc.length * 2))
    next.set(this.acc.subarray(0, this.accLen))
    this.acc = next
  }

  /**
   * Reads the section starting at chunk[i] in place when its length and CID are both within
   * `chunk` (nearly always): no copy into `acc`, no allocation. Returns the bytes taken, or 0 to
   * go byte by byte, which also reports whatever is wrong with the section.
   */
  private wholeSection (chunk: Uint8Array, i: number): number {
    const n = chunk.length
    const v = this.vlen
    if (!uvarintInto(chunk, i, n, v)) return 0
    const len = v.value
    const k = v.size
    if (len === 0 || len > Number.MAX_SAFE_INTEGER) return 0
    const start = i + k
    const cid = this.span
    if (!scanCid(chunk, start, Math.min(n, start + Math.min(len, MAX_CID_SIZE)), cid)) return 0
    this.sectionLen = len
    this.records.put(cid.hashCode, chunk, cid.digestStart, cid.digestLength, this.sectionStart - this.base, len - cid.length)
    this.need = len - cid.length
    this.state = this.need === 0 ? 'section-len' : 'section-data'
    return k + cid.length
  }

  /** `at`: the stream offset just after the length's varint. */
  private onLength (len: number, at: number): void {
    if (this.state === 'header-len') {
      if (len === 0 || len > MAX_HEADER_SIZE) throw new Error(`not a CAR: header length ${len}`)
      this.state = 'header'
      this.need = len
      this.headerEnd = at + len
      return
    }
    if (len === 0) {
      // Zero padding after the last section: boost reads deal data with ZeroLengthSectionAsEOF.
      this.zeroEOF = true
      this.state = 'done'
      return
    }
    this.sectionLen = len
    this.state = 'section-cid'
    // 34 bytes hold a CIDv0 whole; longer CIDs are read on in steps until they parse.
    this.need = Math.min(len, 34)
  }

  private onFilled (): void {
    const bytes = this.acc.subarray(0, this.accLen)
    if (this.state === 'header') {
      this.accLen = 0
      const version = carHeaderVersion(bytes)
      // Any header saying version 2 is a CARv2 pragma to go-car, not only the canonical 11 bytes.
      if (!this.inner && version === 2) {
        this.version = 2
        this.state = 'v2-header'
        this.need = V2_HEADER_SIZE
        return
      }
      if (version !== 1) throw new Error(`not a CAR: header version ${String(version)}`)
      this.version ??= 1
      this.state = 'section-len'
      return
    }
    if (this.state === 'v2-header') {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      const dataOffset = Number(dv.getBigUint64(16, true))
      const dataSize = Number(dv.getBigUint64(24, true))
      this.accLen = 0
      // The CARv2 header follows the pragma, which is 11 bytes when written canonically.
      const v2HeaderEnd = this.headerEnd + V2_HEADER_SIZE
      if (dataOffset < v2HeaderEnd) throw new Error(`malformed CARv2: data offset too small: ${dataOffset}`)
      // go-car refuses these too ("invalid data payload size"); past 2^53 an offset is not exact.
      if (!Number.isSafeInteger(dataOffset)) throw new Error(`malformed CARv2: data offset ${dv.getBigUint64(16, true)} out of range`)
      if (dataSize === 0 || !Number.isSafeInteger(dataOffset + dataSize)) throw new Error(`malformed CARv2: invalid data payload size ${dv.getBigUint64(24, true)}`)
      this.base = dataOffset
      this.records.base = dataOffset
      this.end = dataOffset + dataSize
      this.inner = true
      this.need = dataOffset - v2HeaderEnd
      this.state = this.need === 0 ? 'header-len' : 'skip-to-data'
      return
    }
    // section-cid
    const cid = this.span
    if (!scanCid(bytes, 0, bytes.length, cid)) {
      // Once a CIDv1's header is in, its whole length is known (cid.length). go-car bounds CIDs at
      // 2 KiB but skips identity CIDs (the data inline) before that check, so those may run to the
      // section's end (go-car's 8 MiB section limit).
      const known = cid.length > 0
      const limit = Math.min(this.sectionLen, known && isIdentity(cid.hashCode) ? MAX_SECTION_SIZE : MAX_CID_SIZE)
      const more = known ? cid.length : Math.min(this.accLen + 8, limit)
      if (more > limit || more <= this.accLen) throw new Error(`malformed section at offset ${this.sectionStart - this.base}: CID does not fit`)
      this.need = more
      return
    }
    const offset = this.sectionStart - this.base
    this.records.put(cid.hashCode, bytes, cid.digestStart, cid.digestLength, offset, this.sectionLen - cid.length)
    // Bytes already taken past the CID belong to the block data.
    const rest = this.sectionLen - this.accLen
    this.accLen = 0
    this.need = rest
    this.state = rest === 0 ? 'section-len' : 'section-data'
  }
}

export { isIdentity }
