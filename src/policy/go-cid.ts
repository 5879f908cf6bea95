/**
 * go-cid v0.6.1's Decode and the pieces under it (go-multihash v0.2.3, go-varint v0.1.0), each
 * with its error texts, for a peer ID go-multiaddr reads: a base58 multihash or a CID.
 */
import { base58btc } from 'multiformats/bases/base58'
import { multibaseDecode } from './go-multibase.ts'

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8')

/** go-varint v0.1.0 FromUvarint: [value, bytes read], or its error text. */
function uvarint (b: Uint8Array): [bigint, number] | string {
  let x = 0n
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!
    if ((i === 8 && c >= 0x80) || i >= 9) return 'varints larger than uint63 not supported'
    if (c < 0x80) {
      if (c === 0 && i > 0) return 'varint not minimally encoded'
      return [x | BigInt(c) << BigInt(7 * i), i + 1]
    }
    x |= BigInt(c & 0x7f) << BigInt(7 * i)
  }
  return 'varints malformed, could not reach the end'
}

/** go-multihash v0.2.3 readMultihashFromBuf: code, digest length and bytes used, or its error text. */
function readMultihash (b: Uint8Array): { code: bigint, length: number, used: number } | string {
  if (b.length < 2) return 'multihash too short. must be >= 2 bytes'
  const code = uvarint(b)
  if (typeof code === 'string') return code
  const length = uvarint(b.subarray(code[1]))
  if (typeof length === 'string') return length
  if (length[0] > 0x7fffffffn) return 'digest too long, supporting only <= 2^31-1'
  const rest = b.length - code[1] - length[1]
  if (Number(length[0]) > rest) return 'length greater than remaining number of bytes in buffer'
  return { code: code[0], length: Number(length[0]), used: code[1] + length[1] + Number(length[0]) }
}

/** mh.Cast: a multihash that is exactly the buffer. */
export function castMultihash (b: Uint8Array): { code: bigint, length: number } | string {
  const m = readMultihash(b)
  if (typeof m === 'string') return m
  return m.used === b.length ? m : `multihash length inconsistent: expected ${m.length}; got ${m.used}`
}

/** go-cid v0.6.1 CidFromBytes then Cast's length check: the CID's codec and multihash. */
function castCid (data: Uint8Array): { codec: bigint, hash: Uint8Array } | string {
  const invalid = (why: string): string => `invalid cid: ${why}`
  if (data.length > 2 && data[0] === 0x12 && data[1] === 32) {
    if (data.length < 34) return invalid('not enough bytes for cid v0')
    const m = castMultihash(data.subarray(0, 34))
    if (typeof m === 'string') return invalid(m)
    return data.length === 34 ? { codec: 0x70n, hash: data } : 'trailing bytes in data buffer passed to cid Cast'
  }
  const version = uvarint(data)
  if (typeof version === 'string') return invalid(version)
  if (version[0] !== 1n) return invalid(`expected 1 as the cid version number, got: ${version[0]}`)
  const codec = uvarint(data.subarray(version[1]))
  if (typeof codec === 'string') return invalid(codec)
  const start = version[1] + codec[1]
  const m = readMultihash(data.subarray(start))
  if (typeof m === 'string') return invalid(m)
  return start + m.used === data.length ? { codec: codec[0], hash: data.subarray(start) } : 'trailing bytes in data buffer passed to cid Cast'
}

/** go-cid v0.6.1 Decode(s): the codec and multihash, or the error text. */
export function decodeCid (s: string): { codec: bigint, hash: Uint8Array } | string {
  if (byteLength(s) < 2) return 'invalid cid: cid too short'
  if (byteLength(s) === 46 && s.startsWith('Qm')) {
    const b = fromB58String(s)
    if (typeof b === 'string') return `invalid cid: ${b}`
    const m = castMultihash(b)
    if (typeof m === 'string') return `invalid cid: ${m}`
    if (m.code !== 0x12n || m.length !== 32) return `invalid cid: invalid hash for cidv0 ${m.code}-${m.length}`
    return { codec: 0x70n, hash: b }
  }
  const data = multibaseDecode(s)
  if (typeof data === 'string') return `invalid cid: ${data}`
  const c = castCid(data)
  return typeof c === 'string' ? `invalid cid: ${c}` : c
}

/** mh.FromB58String: any base58 failure is ErrInvalidMultihash; then mh.Cast. */
export function fromB58String (s: string): Uint8Array | string {
  let b: Uint8Array
  try { b = base58btc.baseDecode(s) } catch { return "input isn't valid multihash" }
  const m = castMultihash(b)
  return typeof m === 'string' ? m : b
}
