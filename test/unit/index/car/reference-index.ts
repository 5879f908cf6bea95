/**
 * The MultihashIndexSorted encoder as it was before the record table (one object per block,
 * grouped in Maps, sorted with a comparator): the reference the table's encoder must match byte
 * for byte. It was itself checked against go-car's .idx fixtures.
 */
import { encodeUvarint } from '../../../../src/index/car/varint.ts'

export interface RefEntry { hashCode: number, digest: Uint8Array, offset: number }

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

export function referenceEncode (records: Iterable<RefEntry>, opts: { storeIdentityCids?: boolean } = {}): Uint8Array {
  const byCode = new Map<number, Map<number, RefEntry[]>>()
  for (const r of records) {
    if (r.hashCode === 0 && opts.storeIdentityCids !== true) continue
    let widths = byCode.get(r.hashCode)
    if (widths === undefined) { widths = new Map(); byCode.set(r.hashCode, widths) }
    const list = widths.get(r.digest.length)
    if (list === undefined) widths.set(r.digest.length, [r])
    else list.push(r)
  }
  const codec = encodeUvarint(0x0401)
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
