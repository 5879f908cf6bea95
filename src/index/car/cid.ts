import { readUvarint } from './varint.ts'

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

/**
 * Parses a binary CID at the start of `buf` the way go-cid's `CidFromReader` does (CIDv0 is the
 * bare 34-byte sha2-256 multihash `12 20 …`). Returns `undefined` if `buf` is too short to hold
 * the whole CID yet; throws on a malformed one.
 */
export function parseCid (buf: Uint8Array): ParsedCid | undefined {
  if (buf.length < 2) return undefined
  if (buf[0] === 0x12 && buf[1] === 0x20) {
    if (buf.length < 34) return undefined
    const multihash = buf.slice(0, 34)
    return { length: 34, version: 0, codec: 0x70, multihash, hashCode: 0x12, digest: multihash.subarray(2) }
  }
  let pos = 0
  const version = readUvarint(buf, pos)
  if (version === undefined) return undefined
  if (version[0] !== 1) throw new Error(`unsupported CID version ${version[0]}`)
  pos += version[1]
  const codec = readUvarint(buf, pos)
  if (codec === undefined) return undefined
  pos += codec[1]
  const mhStart = pos
  const code = readUvarint(buf, pos)
  if (code === undefined) return undefined
  pos += code[1]
  const len = readUvarint(buf, pos)
  if (len === undefined) return undefined
  pos += len[1]
  const digestStart = pos
  pos += len[0]
  if (buf.length < pos) return undefined
  const multihash = buf.slice(mhStart, pos)
  return {
    length: pos,
    version: 1,
    codec: codec[0],
    multihash,
    hashCode: code[0],
    digest: multihash.subarray(digestStart - mhStart)
  }
}
