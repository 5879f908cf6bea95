import type { CID } from 'multiformats/cid'
import { utf8Prefix } from '../../utf8.ts'
import { DealyardError } from '../../errors.ts'
import type { Address } from '../../filecoin/address.ts'
import type { Signature } from '../../filecoin/signature.ts'
import type { DealLabel } from '../types.ts'
import { uuidToBytes } from '../uuid.ts'
import { MAX_BIGINT_BYTES, MAX_BYTES_LENGTH, MAX_SIGNATURE_BYTES, MAX_STRING_LENGTH } from './reader.ts'

export const ERR_CBOR_ENCODE = 'ERR_CBOR_ENCODE'
const utf8 = new TextEncoder()
const INT64_MAX = (1n << 63n) - 1n

export function encodeError (path: string, message: string): DealyardError {
  return new DealyardError(ERR_CBOR_ENCODE, `${path}: ${message}`)
}

/** Writes CBOR as cbor-gen does: minimal headers, definite lengths, fields in the caller's order. */
export class CborWriter {
  private buf: Uint8Array
  private len = 0

  constructor (initial = 512) {
    this.buf = new Uint8Array(initial)
  }

  private reserve (n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  raw (b: Uint8Array): this {
    this.reserve(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
    return this
  }

  header (major: number, value: number | bigint): this {
    const m = major << 5
    this.reserve(9)
    const b = this.buf
    if (typeof value === 'number' && value < 0x100000000) {
      if (value < 24) { b[this.len++] = m | value } else if (value < 0x100) { b[this.len++] = m | 24; b[this.len++] = value } else if (value < 0x10000) {
        b[this.len++] = m | 25; b[this.len++] = value >> 8; b[this.len++] = value & 0xff
      } else {
        b[this.len++] = m | 26; b[this.len++] = value >>> 24; b[this.len++] = (value >>> 16) & 0xff; b[this.len++] = (value >>> 8) & 0xff; b[this.len++] = value & 0xff
      }
      return this
    }
    const v = BigInt(value)
    if (v < 0x100000000n) return this.header(major, Number(v))
    b[this.len++] = m | 27
    for (let i = 7; i >= 0; i--) b[this.len++] = Number((v >> BigInt(i * 8)) & 0xffn)
    return this
  }

  uint (path: string, v: number | bigint): this {
    if (typeof v === 'number' ? (!Number.isSafeInteger(v) || v < 0) : (v < 0n || v >= (1n << 64n))) throw encodeError(path, `expected an unsigned 64-bit integer, got ${v}`)
    return this.header(0, v)
  }

  int (path: string, v: number | bigint): this {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw encodeError(path, `expected a safe integer, got ${v}`)
    const b = BigInt(v)
    if (b > INT64_MAX || b < -INT64_MAX - 1n) throw encodeError(path, `int64 overflow: ${v}`)
    return b >= 0n ? this.header(0, v) : this.header(1, typeof v === 'number' ? -1 - v : -1n - b)
  }

  bool (v: boolean): this {
    this.reserve(1)
    this.buf[this.len++] = v ? 0xf5 : 0xf4
    return this
  }

  null (): this {
    this.reserve(1)
    this.buf[this.len++] = 0xf6
    return this
  }

  text (path: string, s: string, max = MAX_STRING_LENGTH): this {
    const b = utf8.encode(s)
    if (b.length > max) throw encodeError(path, `string too long (${b.length} > ${max} bytes)`)
    return this.header(3, b.length).raw(b)
  }

  /** A map key; keys are static ASCII so no limit check. */
  key (s: string): this {
    return this.header(3, s.length).raw(utf8.encode(s))
  }

  bytes (path: string, b: Uint8Array, max = MAX_BYTES_LENGTH): this {
    if (b.length > max) throw encodeError(path, `byte string too long (${b.length} > ${max})`)
    return this.header(2, b.length).raw(b)
  }

  cid (path: string, c: CID | null | undefined): this {
    if (c == null) throw encodeError(path, 'undefined cid')
    const b = c.bytes
    this.header(6, 42).header(2, b.length + 1)
    this.reserve(1)
    this.buf[this.len++] = 0
    return this.raw(b)
  }

  bigint (path: string, v: bigint): this {
    if (typeof v !== 'bigint') throw encodeError(path, `expected bigint attoFIL, got ${typeof v}`)
    if (v === 0n) return this.header(2, 0)
    let mag = v < 0n ? -v : v
    const digits: number[] = []
    while (mag > 0n) { digits.push(Number(mag & 0xffn)); mag >>= 8n }
    if (digits.length + 1 > MAX_BIGINT_BYTES) throw encodeError(path, `big integer byte array too long (${digits.length + 1} bytes)`)
    const out = new Uint8Array(digits.length + 1)
    out[0] = v < 0n ? 1 : 0
    for (let i = 0; i < digits.length; i++) out[i + 1] = digits[digits.length - 1 - i]!
    return this.header(2, out.length).raw(out)
  }

  address (path: string, a: Address): this {
    if (a == null || a.bytes.length === 0) throw encodeError(path, 'cannot marshal undefined address')
    return this.header(2, a.bytes.length).raw(a.bytes)
  }

  signature (path: string, s: Signature): this {
    if (s == null) throw encodeError(path, 'missing signature')
    if (s.type !== 1 && s.type !== 2 && s.type !== 3) throw encodeError(path, `invalid signature type ${String(s.type)}`)
    if (s.data.length + 1 > MAX_SIGNATURE_BYTES) throw encodeError(path, `signature too long (${s.data.length + 1} > ${MAX_SIGNATURE_BYTES})`)
    this.header(2, s.data.length + 1)
    this.reserve(1)
    this.buf[this.len++] = s.type
    return this.raw(s.data)
  }

  uuid (path: string, id: string): this {
    return this.header(2, 16).raw(uuidToBytes(id, path))
  }

  label (path: string, l: DealLabel): this {
    if (l.kind === 'string') return this.text(path, l.value, MAX_BYTES_LENGTH)
    if (l.kind === 'bytes') return this.bytes(path, l.value, MAX_BYTES_LENGTH)
    throw encodeError(path, `unknown label kind ${String((l as { kind: unknown }).kind)}`)
  }

  finish (): Uint8Array {
    return this.buf.slice(0, this.len)
  }
}

/**
 * `s` cut to at most `maxBytes` of UTF-8 on a character boundary, marked with "…" where cut.
 * cbor-gen refuses strings over 8192 bytes (and so does text() here): a deal's error may hold 4096
 * characters (up to 16 KiB), and a rejection may quote a client's URL of any length; an answer that
 * cannot be encoded would be a reset stream instead of the reason.
 */
export function fitText (s: string, maxBytes = MAX_STRING_LENGTH): string {
  if (Buffer.byteLength(s, 'utf8') <= maxBytes) return s
  return utf8Prefix(s, maxBytes - 3) + '…'
}
