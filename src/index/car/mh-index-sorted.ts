import { isIdentity } from './cid.ts'
import { writeSortedBucket } from './digest-sort.ts'
import { RecordTable } from './record-table.ts'
import { encodeUvarint, readUvarint } from './varint.ts'

/** Multicodec of the CARv2 MultihashIndexSorted index (go-car's default index). */
export const MULTIHASH_INDEX_SORTED = 0x0401

export interface IndexEntry { hashCode: number, digest: Uint8Array, offset: number }

export interface EncodeOptions {
  /** go-car leaves identity CIDs out of the index unless StoreIdentityCIDs is set. */
  storeIdentityCids?: boolean
}

/**
 * Serializes records as go-car's `index.WriteTo(MultihashIndexSorted)`:
 * `uvarint(0x0401) ‖ int32 codeCount ‖ per code ascending: uint64 code ‖ int32 bucketCount ‖ per
 * digest width ascending: uint32 width ‖ int64 byteLength ‖ (digest ‖ uint64 offset)*` sorted by
 * digest, all little-endian (spec ipni-indexing §7.2–7.3). Equal digests (a block stored twice)
 * are ordered by offset; go-car's unstable sort leaves their order unspecified above 12 records.
 * A `RecordTable` is encoded straight from its chunks; other entries are put in one first.
 */
export function encodeMultihashIndexSorted (records: RecordTable | Iterable<IndexEntry>, opts: EncodeOptions = {}): Uint8Array {
  const table = records instanceof RecordTable ? records : RecordTable.fromEntries(records)
  const groups = table.groups
    .filter((g) => g.count > 0 && (!isIdentity(g.hashCode) || opts.storeIdentityCids === true))
    .sort((a, b) => a.hashCode - b.hashCode || a.digestLength - b.digestLength)
  const codes = [...new Set(groups.map((g) => g.hashCode))]
  const codec = encodeUvarint(MULTIHASH_INDEX_SORTED)
  const size = groups.reduce((sum, g) => sum + 4 + 8 + (g.digestLength + 8) * g.count, codec.length + 4 + codes.length * (8 + 4))
  const out = new Uint8Array(size)
  const dv = new DataView(out.buffer)
  out.set(codec, 0)
  let pos = codec.length
  dv.setInt32(pos, codes.length, true); pos += 4
  // Groups are sorted by code: each code's buckets are a run of them (a CAR may carry a code per
  // block, so no pass over all groups per code).
  for (let i = 0; i < groups.length;) {
    const code = groups[i]!.hashCode
    let j = i
    while (j < groups.length && groups[j]!.hashCode === code) j++
    dv.setBigUint64(pos, BigInt(code), true); pos += 8
    dv.setInt32(pos, j - i, true); pos += 4
    for (; i < j; i++) {
      const g = groups[i]!
      const width = g.digestLength + 8
      dv.setUint32(pos, width, true); pos += 4
      dv.setBigInt64(pos, BigInt(width * g.count), true); pos += 8
      pos = writeSortedBucket(out, pos, g)
    }
  }
  return out
}

/** Encodes the records a `CarBlockIndexer` found. */
export function indexFromRecords (records: RecordTable | readonly IndexEntry[], opts: EncodeOptions = {}): Uint8Array {
  return encodeMultihashIndexSorted(records, opts)
}

/**
 * Reads a MultihashIndexSorted index back, in its iteration order (code, width, digest ascending:
 * the order boost feeds IPNI entry chunks). Throws on any other codec or a truncated index.
 */
export function decodeMultihashIndexSorted (bytes: Uint8Array): IndexEntry[] {
  const codec = readUvarint(bytes, 0)
  if (codec === undefined || codec[0] !== MULTIHASH_INDEX_SORTED) {
    throw new Error(`not a MultihashIndexSorted index (codec ${codec?.[0]?.toString(16) ?? 'missing'})`)
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = codec[1]
  const need = (n: number): void => { if (pos + n > bytes.length) throw new Error('truncated MultihashIndexSorted index') }
  const out: IndexEntry[] = []
  need(4)
  const codes = dv.getInt32(pos, true); pos += 4
  for (let c = 0; c < codes; c++) {
    need(12)
    const hashCode = Number(dv.getBigUint64(pos, true)); pos += 8
    const buckets = dv.getInt32(pos, true); pos += 4
    for (let b = 0; b < buckets; b++) {
      need(12)
      const width = dv.getUint32(pos, true); pos += 4
      const byteLength = Number(dv.getBigInt64(pos, true)); pos += 8
      if (width <= 8 || byteLength % width !== 0) throw new Error(`bad bucket: width ${width}, length ${byteLength}`)
      need(byteLength)
      for (let end = pos + byteLength; pos < end; pos += width) {
        out.push({
          hashCode,
          digest: bytes.slice(pos, pos + width - 8),
          offset: Number(dv.getBigUint64(pos + width - 8, true))
        })
      }
    }
  }
  return out
}
