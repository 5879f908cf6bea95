import type { BlockRecord } from './reader.ts'
import { isIdentity } from './cid.ts'
import { encodeUvarint, readUvarint } from './varint.ts'

/** Multicodec of the CARv2 MultihashIndexSorted index (go-car's default index). */
export const MULTIHASH_INDEX_SORTED = 0x0401

export interface IndexEntry { hashCode: number, digest: Uint8Array, offset: number }

export interface EncodeOptions {
  /** go-car leaves identity CIDs out of the index unless StoreIdentityCIDs is set. */
  storeIdentityCids?: boolean
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

/**
 * Serializes records as go-car's `index.WriteTo(MultihashIndexSorted)`:
 * `uvarint(0x0401) ‖ int32 codeCount ‖ per code ascending: uint64 code ‖ int32 bucketCount ‖ per
 * digest width ascending: uint32 width ‖ int64 byteLength ‖ (digest ‖ uint64 offset)*` sorted by
 * digest, all little-endian (spec ipni-indexing §7.2–7.3). Equal digests (a block stored twice)
 * are ordered by offset; go-car's unstable sort leaves their order unspecified above 12 records.
 */
export function encodeMultihashIndexSorted (records: Iterable<IndexEntry>, opts: EncodeOptions = {}): Uint8Array {
  const byCode = new Map<number, Map<number, IndexEntry[]>>()
  for (const r of records) {
    if (isIdentity(r.hashCode) && opts.storeIdentityCids !== true) continue
    let widths = byCode.get(r.hashCode)
    if (widths === undefined) { widths = new Map(); byCode.set(r.hashCode, widths) }
    const list = widths.get(r.digest.length)
    if (list === undefined) widths.set(r.digest.length, [r])
    else list.push(r)
  }
  const codec = encodeUvarint(MULTIHASH_INDEX_SORTED)
  let size = codec.length + 4
  for (const widths of byCode.values()) {
    size += 8 + 4
    for (const [len, list] of widths) size += 4 + 8 + (len + 8) * list.length
  }
  const out = new Uint8Array(size)
  const dv = new DataView(out.buffer)
  out.set(codec, 0)
  let pos = codec.length
  dv.setInt32(pos, byCode.size, true); pos += 4
  for (const code of [...byCode.keys()].sort((a, b) => a - b)) {
    const widths = byCode.get(code)!
    dv.setBigUint64(pos, BigInt(code), true); pos += 8
    dv.setInt32(pos, widths.size, true); pos += 4
    for (const len of [...widths.keys()].sort((a, b) => a - b)) {
      const list = widths.get(len)!.slice().sort((a, b) => compareBytes(a.digest, b.digest) || a.offset - b.offset)
      const width = len + 8
      dv.setUint32(pos, width, true); pos += 4
      dv.setBigInt64(pos, BigInt(width * list.length), true); pos += 8
      for (const r of list) {
        out.set(r.digest, pos); pos += len
        dv.setBigUint64(pos, BigInt(r.offset), true); pos += 8
      }
    }
  }
  return out
}

/** Encodes the records a `CarBlockIndexer` found. */
export function indexFromRecords (records: readonly BlockRecord[], opts: EncodeOptions = {}): Uint8Array {
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
