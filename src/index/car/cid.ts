import { exactUvarint, uvarintInto, type Uvarint } from './varint.ts'

/** The parts of a CID the index needs. */
export interface ParsedCid {
  /** Bytes of the CID as it appears in the section. */
  length: number
  version: 0 | 1
  codec: number
  /** The whole multihash (code ‖ length ‖ digest). */
  multihash: Uint8Array
  hashCode: number
  digest: Uint8Array
}

const IDENTITY = 0x00
export function isIdentity (hashCode: number): boolean { return hashCode === IDENTITY }

/** Where a CID's parts lie in the buffer it was scanned in. */
export interface CidSpan {
  length: number
  version: 0 | 1
  codec: number
  hashCode: number
  /** Start of the whole multihash, and of its digest. */
  multihashStart: number
  digestStart: number
  digestLength: number
}

/** A varint's value and size, reused: the indexer scans one CID per block. */
const vint: Uvarint = { value: 0, size: 0 }

/**
 * Scans a binary CID at buf[start, end) as `parseCid` does, filling `out` with positions instead
 * of copying. Returns false if the CID does not end before `end` yet — `out.length` is then the
 * whole CID's length (and `out.hashCode` its code) once a CIDv1's header is in, else 0; throws on
 * a malformed one.
 */
export function scanCid (buf: Uint8Array, start: number, end: number, out: CidSpan): boolean {
  out.length = 0
  if (end - start < 2) return false
  if (buf[start] === 0x12 && buf[start + 1] === 0x20) {
    if (end - start < 34) return false
    out.length = 34; out.version = 0; out.codec = 0x70; out.hashCode = 0x12
    out.multihashStart = start; out.digestStart = start + 2; out.digestLength = 32
    return true
  }
  let pos = start
  if (!uvarintInto(buf, pos, end, vint)) return false
  if (vint.value !== 1) throw new Error(`unsupported CID version ${vint.value}`)
  pos += vint.size
  if (!uvarintInto(buf, pos, end, vint)) return false
  const codec = vint.value
  pos += vint.size
  const mhStart = pos
  if (!uvarintInto(buf, pos, end, vint)) return false
  const hashCode = vint.value
  // The index writes the code as a uint64; past 2^53 − 1 a JS number no longer holds it exactly,
  // and a wrong code would file the block under another hash function. No multihash code is that
  // large; refusing is better than an index that lies.
  if (hashCode > Number.MAX_SAFE_INTEGER) throw new Error(`multihash code 0x${exactUvarint(buf, pos, vint.size).toString(16)} is past 2^53 − 1: not supported`)
  pos += vint.size
  if (!uvarintInto(buf, pos, end, vint)) return false
  const digestLength = vint.value
  pos += vint.size
  out.length = pos + digestLength - start; out.version = 1; out.codec = codec; out.hashCode = hashCode
  if (end - pos < digestLength) return false
  out.multihashStart = mhStart; out.digestStart = pos; out.digestLength = digestLength
  return true
}

export function newCidSpan (): CidSpan {
  return { length: 0, version: 0, codec: 0, hashCode: 0, multihashStart: 0, digestStart: 0, digestLength: 0 }
}

/**
 * Parses a binary CID at the start of `buf` the way go-cid's `CidFromReader` does (CIDv0 is the
 * bare 34-byte sha2-256 multihash `12 20 …`). Returns `undefined` if `buf` is too short to hold
 * the whole CID yet; throws on a malformed one.
 */
export function parseCid (buf: Uint8Array): ParsedCid | undefined {
  const s = newCidSpan()
  if (!scanCid(buf, 0, buf.length, s)) return undefined
  const multihash = buf.slice(s.multihashStart, s.digestStart + s.digestLength)
  return {
    length: s.length,
    version: s.version,
    codec: s.codec,
    multihash,
    hashCode: s.hashCode,
    digest: multihash.subarray(s.digestStart - s.multihashStart)
  }
}
