import { CID } from 'multiformats/cid'
import { varint } from 'multiformats'
import { DealyardError } from '../../errors.ts'
import { Address } from '../../filecoin/address.ts'
import type { Signature } from '../../filecoin/signature.ts'
import type { DealLabel } from '../types.ts'
import { uuidToString } from '../uuid.ts'

/**
 * A strict reader with cbor-gen's semantics (whyrusleeping/cbor-gen v0.3.2-0.20250409092040, the
 * version boost pins): definite lengths only, minimal-length headers (anything else is "not
 * canonical"), tag-42 CIDs with the 0x00 multibase prefix, the field limits of the generated code.
 * Every error is a DealyardError with code ERR_CBOR_DECODE whose message starts with the field path
 * in Go field names, e.g. `DealParams.ClientDealProposal.Proposal.PieceSize: expected unsigned
 * integer, got text string`.
 */

export const ERR_CBOR_DECODE = 'ERR_CBOR_DECODE'
/** A complete, well-formed message holding an integer beyond ±(2^53-1) (CborReader.outOfRange). */
export const ERR_CBOR_RANGE = 'ERR_CBOR_RANGE'
/** A complete, well-formed message whose map lacks a field (CborReader.missing). */
export const ERR_CBOR_MISSING = 'ERR_CBOR_MISSING'
/** cbor-gen's MaxLength: text strings, map sizes, array sizes. */
export const MAX_STRING_LENGTH = 8192
export const MAX_MAP_ENTRIES = 8192
/** cbor-gen's ByteArrayMaxLen (2 MiB): byte strings and DealLabel. */
export const MAX_BYTES_LENGTH = 2 << 20
/** go-state-types BigIntMaxSerializedLen. */
export const MAX_BIGINT_BYTES = 128
/** go-state-types SignatureMaxLength (type byte included). */
export const MAX_SIGNATURE_BYTES = 200
/** cbor-gen ReadCid's limit on the tag-42 byte string. */
export const MAX_CID_BYTES = 512
/** Nesting allowed inside skipped (unknown) values. cbor-gen has none; a bound keeps work linear. */
export const MAX_NESTING = 64

const MAJOR_NAMES = ['unsigned integer', 'negative integer', 'byte string', 'text string', 'array', 'map', 'tag', 'simple value'] as const
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const INT64_MAX = (1n << 63n) - 1n
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const utf8Lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

export function decodeError (path: string, message: string, cause?: unknown): DealyardError {
  return new DealyardError(ERR_CBOR_DECODE, `${path}: ${message}`, cause === undefined ? {} : { cause })
}

export class CborReader {
  readonly buf: Uint8Array
  pos: number
  /** Major type and argument of the last header read; `big` holds 8-byte arguments exactly. */
  major = 0
  value = 0
  big = 0n

  constructor (buf: Uint8Array) {
    this.buf = buf
    this.pos = 0
  }

  fail (path: string, message: string, cause?: unknown): never {
    throw decodeError(path, message, cause)
  }

  private need (n: number, path: string): void {
    if (n > this.buf.length - this.pos) this.fail(path, `unexpected end of input (need ${n} more bytes at offset ${this.pos}, have ${this.buf.length - this.pos})`)
  }

  /** Describes the item at the cursor without consuming it, for "got …" messages. */
  describe (): string {
    const b = this.buf[this.pos]
    if (b === undefined) return 'end of input'
    const major = b >> 5
    if (major === 7) {
      const low = b & 0x1f
      if (low === 20 || low === 21) return 'boolean'
      if (low === 22) return 'null'
      if (low === 23) return 'undefined'
      if (low >= 25 && low <= 27) return 'float'
    }
    return MAJOR_NAMES[major]!
  }

  /** Reads one header into major/value (value is exact up to 2^53-1; big is always exact). */
  header (path: string): number {
    this.need(1, path)
    const first = this.buf[this.pos++]!
    const major = first >> 5
    const low = first & 0x1f
    const b = this.buf
    let v: number
    if (low < 24) {
      v = low
    } else if (low === 24) {
      this.need(1, path)
      v = b[this.pos++]!
      if (v < 24) this.fail(path, 'cbor input was not canonical (lval 24 with value < 24)')
    } else if (low === 25) {
      this.need(2, path)
      v = (b[this.pos]! << 8) | b[this.pos + 1]!
      this.pos += 2
      if (v <= 0xff) this.fail(path, 'cbor input was not canonical (lval 25 with value <= MaxUint8)')
    } else if (low === 26) {
      this.need(4, path)
      v = ((b[this.pos]! << 24) >>> 0) + (b[this.pos + 1]! << 16) + (b[this.pos + 2]! << 8) + b[this.pos + 3]!
      this.pos += 4
      if (v <= 0xffff) this.fail(path, 'cbor input was not canonical (lval 26 with value <= MaxUint16)')
    } else if (low === 27) {
      this.need(8, path)
      const hi = ((b[this.pos]! << 24) >>> 0) + (b[this.pos + 1]! << 16) + (b[this.pos + 2]! << 8) + b[this.pos + 3]!
      const lo = ((b[this.pos + 4]! << 24) >>> 0) + (b[this.pos + 5]! << 16) + (b[this.pos + 6]! << 8) + b[this.pos + 7]!
      this.pos += 8
      if (hi === 0) this.fail(path, 'cbor input was not canonical (lval 27 with value <= MaxUint32)')
      this.major = major
      this.big = (BigInt(hi) << 32n) | BigInt(lo)
      this.value = this.big <= MAX_SAFE ? Number(this.big) : Number.POSITIVE_INFINITY
      return major
    } else {
      this.fail(path, `invalid header (${first.toString(16).padStart(2, '0')}): indefinite lengths and reserved values are not allowed`)
    }
    this.major = major
    this.value = v
    this.big = BigInt(v)
    return major
  }

  private expect (path: string, major: number, what: string): void {
    const got = this.describe()
    const start = this.pos
    const m = this.header(path)
    if (m !== major) {
      this.pos = start
      this.fail(path, `expected ${what}, got ${got}`)
    }
  }

  /** A length argument checked against a limit and against the bytes left. */
  private length (path: string, max: number, what: string): number {
    if (this.value > max) this.fail(path, `${what} too long (${this.value > Number.MAX_SAFE_INTEGER ? this.big : this.value} > ${max})`)
    return this.value
  }

  /**
   * The first integer read that is valid for its Go type (int64/uint64) but beyond ±(2^53-1), which
   * a JS number cannot hold exactly. Such a message is well formed for boost, which would decode it
   * and then refuse the deal on its values (no sealable epoch or piece size is that large); the
   * reader goes on (returning the nearest number) so the caller can tell a complete message with an
   * unrepresentable value, which deserves an answer, from a malformed one, which gets none.
   */
  outOfRange: { path: string, value: bigint } | undefined
  /**
   * The first map-encoded struct that lacked a field. cbor-gen leaves the zero value and boost goes
   * on to refuse the deal on it (a zero UUID, an empty transfer type...), so, like outOfRange, it is
   * noted and reading goes on: a complete message missing a field gets an answer naming it.
   */
  missing: { path: string, field: string } | undefined

  private unrepresentable (path: string, value: bigint): number {
    this.outOfRange ??= { path, value }
    return Number(value)
  }

  uint (path: string): number {
    this.expect(path, 0, 'unsigned integer')
    if (this.value > Number.MAX_SAFE_INTEGER) return this.unrepresentable(path, this.big)
    return this.value
  }

  /** int64 (ChainEpoch): major 0, or major 1 meaning -1-n. */
  int (path: string): number {
    const got = this.describe()
    const m = this.header(path)
    if (m === 0) {
      if (this.big > INT64_MAX) this.fail(path, 'int64 positive overflow')
      if (this.value > Number.MAX_SAFE_INTEGER) return this.unrepresentable(path, this.big)
      return this.value
    }
    if (m === 1) {
      if (this.big > INT64_MAX) this.fail(path, 'int64 negative overflow')
      if (this.value >= Number.MAX_SAFE_INTEGER) return this.unrepresentable(path, -1n - this.big)
      return -1 - this.value
    }
    this.fail(path, `expected integer, got ${got}`)
  }

  bool (path: string): boolean {
    const b = this.buf[this.pos]
    if (b === 0xf4) { this.pos++; return false }
    if (b === 0xf5) { this.pos++; return true }
    this.fail(path, `expected boolean, got ${this.describe()}`)
  }

  /** Consumes a null (f6) if one is next. */
  null (): boolean {
    if (this.buf[this.pos] === 0xf6) { this.pos++; return true }
    return false
  }

  /** Text string, UTF-8 checked (cbor-gen does not check; a JS string cannot hold invalid UTF-8). */
  text (path: string, max = MAX_STRING_LENGTH): string {
    this.expect(path, 3, 'text string')
    const n = this.length(path, max, 'string')
    this.need(n, path)
    const raw = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    try {
      return utf8.decode(raw)
    } catch (err) {
      this.fail(path, 'string is not valid UTF-8', err)
    }
  }

  bytes (path: string, max = MAX_BYTES_LENGTH): Uint8Array {
    this.expect(path, 2, 'byte string')
    const n = this.length(path, max, 'byte string')
    this.need(n, path)
    const out = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  mapHeader (path: string): number {
    this.expect(path, 5, 'map')
    return this.length(path, MAX_MAP_ENTRIES, 'map')
  }

  arrayHeader (path: string, expected: number): void {
    this.expect(path, 4, 'array')
    if (this.value !== expected) this.fail(path, `cbor input had wrong number of fields (expected ${expected}, got ${this.value > Number.MAX_SAFE_INTEGER ? this.big : this.value})`)
  }

  /** A map key: text of at most MaxLength bytes (cbor-gen compares the raw bytes). */
  key (path: string): string {
    this.expect(path, 3, 'text string map key')
    const n = this.length(path, MAX_STRING_LENGTH, 'map key')
    this.need(n, path)
    const s = utf8Lenient.decode(this.buf.subarray(this.pos, this.pos + n))
    this.pos += n
    return s
  }

  cid (path: string): CID {
    const got = this.describe()
    const start = this.pos
    if (this.header(path) !== 6 || this.big !== 42n) {
      this.pos = start
      this.fail(path, `expected CID (tag 42), got ${got}`)
    }
    const raw = this.bytes(path, MAX_CID_BYTES)
    return cidFromTagBytes(raw, path, this)
  }

  /** big.Int: empty = 0, else sign byte (0 positive, 1 negative) and big-endian magnitude. */
  bigint (path: string): bigint {
    const b = this.bytes(path, MAX_BIGINT_BYTES)
    if (b.length === 0) return 0n
    if (b[0] !== 0 && b[0] !== 1) this.fail(path, `big int prefix should be either 0 or 1, got ${b[0]}`)
    let v = 0n
    for (let i = 1; i < b.length; i++) v = (v << 8n) | BigInt(b[i]!)
    return b[0] === 1 ? -v : v
  }

  address (path: string): Address {
    const b = this.bytes(path, 64)
    if (b.length === 0) this.fail(path, 'cbor input should not contain empty addresses')
    try {
      return Address.fromBytes(b)
    } catch (err) {
      this.fail(path, `invalid address: ${(err as Error).message}`, err)
    }
  }

  signature (path: string): Signature {
    const b = this.bytes(path, MAX_SIGNATURE_BYTES)
    if (b.length === 0) this.fail(path, 'signature string empty')
    const t = b[0]!
    if (t !== 1 && t !== 2 && t !== 3) this.fail(path, `invalid signature type in cbor input: ${t}`)
    return { type: t, data: b.subarray(1) }
  }

  uuid (path: string): string {
    const b = this.bytes(path, MAX_BYTES_LENGTH)
    if (b.length !== 16) this.fail(path, `expected 16-byte UUID, got ${b.length} bytes`)
    return uuidToString(b)
  }

  /** market.DealLabel: text (valid UTF-8) or bytes, kind preserved because it is signed. */
  label (path: string): DealLabel {
    const got = this.describe()
    const m = this.buf[this.pos] === undefined ? -1 : this.buf[this.pos]! >> 5
    if (m === 3) {
      this.header(path)
      const n = this.length(path, MAX_BYTES_LENGTH, 'label')
      this.need(n, path)
      const start = this.pos
      this.pos += n
      try {
        return { kind: 'string', value: utf8.decode(this.buf.subarray(start, start + n)) }
      } catch (err) {
        this.fail(path, 'label string not valid utf8', err)
      }
    }
    if (m === 2) return { kind: 'bytes', value: this.bytes(path, MAX_BYTES_LENGTH) }
    this.fail(path, `expected text or byte string label, got ${got}`)
  }

  /**
   * Skips one item of any shape, as cbor-gen's ScanForLinks does for unknown map keys: headers
   * must still be canonical and tag-42 CIDs valid. Nesting is bounded by MAX_NESTING.
   */
  skip (path: string): void {
    const stack: number[] = [1]
    while (stack.length > 0) {
      const top = stack.length - 1
      if (stack[top] === 0) { stack.pop(); continue }
      stack[top]!--
      const m = this.header(path)
      switch (m) {
        case 0: case 1: case 7:
          break
        case 2: case 3:
          this.need(this.value, path)
          this.pos += this.value
          break
        case 6:
          if (this.big === 42n) {
            const raw = this.bytes(path, MAX_CID_BYTES)
            cidFromTagBytes(raw, path, this)
          } else {
            stack.push(1)
          }
          break
        case 4: case 5: {
          const items = m === 4 ? this.value : this.value * 2
          // Every item takes at least one byte: a count beyond the input is truncation, not work.
          this.need(items, path)
          if (items > 0) stack.push(items)
          break
        }
      }
      if (stack.length > MAX_NESTING + 1) this.fail(path, `nesting deeper than ${MAX_NESTING}`)
    }
  }

  /** The whole input must be one item: trailing bytes are an error. */
  end (path: string): void {
    if (this.pos !== this.buf.length) this.fail(path, `${this.buf.length - this.pos} trailing bytes after the message`)
  }
}

function cidFromTagBytes (raw: Uint8Array, path: string, r: CborReader): CID {
  if (raw.length === 0) r.fail(path, 'undefined cid')
  if (raw.length < 2) r.fail(path, 'cbor serialized CIDs must have at least two bytes')
  if (raw[0] !== 0) r.fail(path, 'cbor serialized CIDs must have binary multibase')
  const body = raw.subarray(1)
  const refused = goCidVersionError(body)
  if (refused !== undefined) r.fail(path, `invalid CID: ${refused}`)
  let cid: CID
  try {
    cid = CID.decode(body)
  } catch (err) {
    r.fail(path, `invalid CID: ${(err as Error).message}`, err)
  }
  // A safety net for anything else multiformats reads differently from go-cid (a version varint
  // of 0 with any codec was one, caught above now): the CID must re-encode to exactly the bytes we
  // got, as go-cid's Cast implies.
  if (cid.bytes.length !== body.length || cid.bytes.some((b, i) => b !== body[i])) r.fail(path, 'invalid CID: not in canonical binary form')
  return cid
}

/**
 * go-cid v0.6 CidFromBytes' version dispatch, the one boost applies to every tag-42 CID (cid.Cast):
 * bytes are a CIDv0 only when they start 0x12 0x20 (sha2-256, 32-byte digest); anything else is
 * read as a CIDv1 whose leading varint must be 1. multiformats instead takes any leading 0x12 as a
 * CIDv0 multihash of whatever digest length, which re-encodes to the same bytes, so the re-encode
 * check alone cannot catch `12 21`+33, `12 10`+16, `12 00` or `12 40`+64. Returns go-cid's reason,
 * or undefined when the dispatch passes (the rest of the CID is checked by decoding it).
 */
function goCidVersionError (body: Uint8Array): string | undefined {
  if (body.length > 2 && body[0] === 0x12 && body[1] === 0x20) {
    return body.length < 34 ? 'not enough bytes for cid v0' : undefined
  }
  let version: number
  try {
    [version] = varint.decode(body)
  } catch {
    // A malformed varint: CID.decode refuses it with its own message.
    return undefined
  }
  return version === 1 ? undefined : `expected 1 as the cid version number, got: ${version}`
}

/**
 * Reads a cbor-gen map-encoded struct: keys in any order, unknown keys skipped, a repeated key
 * overwrites (all as cbor-gen does). Unlike cbor-gen, a missing key listed in `required` is an error
 * (cbor-gen would leave the zero value, which for a CID, address or UUID is invalid anyway), raised
 * once the whole message has been read (ERR_CBOR_MISSING), so a malformed message still wins.
 */
export function readStruct (r: CborReader, path: string, fields: Record<string, (fieldPath: string) => void>, required: readonly string[]): void {
  const n = r.mapHeader(path)
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const k = r.key(path)
    const f = Object.hasOwn(fields, k) ? fields[k] : undefined
    if (f === undefined) {
      r.skip(`${path}.${k}`)
      continue
    }
    f(`${path}.${k}`)
    seen.add(k)
  }
  if (r.missing === undefined) for (const k of required) if (!seen.has(k)) { r.missing = { path, field: k }; break }
}
