import { blake2b } from './blake2b.ts'
import { base32 } from 'multiformats/bases/base32'
import { DealyardError } from '../errors.ts'

/**
 * Filecoin addresses as go-address v1.2.0 defines them: a protocol byte and a payload.
 * ID (0): uvarint actor ID; secp256k1 (1) and actor (2): 20-byte blake2b-160 hash; BLS (3): 48-byte
 * public key; delegated (4): uvarint namespace then a subaddress of at most 54 bytes. The string
 * form is network prefix (f/t), protocol digit, then the decimal ID, or base32(payload ‖ checksum)
 * where checksum = blake2b-32(protocol ‖ payload) (delegated: `<namespace>f` before the base32).
 */
export type AddressProtocol = 0 | 1 | 2 | 3 | 4
export const Protocol = { ID: 0, Secp256k1: 1, Actor: 2, BLS: 3, Delegated: 4 } as const

const PAYLOAD_HASH_LENGTH = 20
const BLS_PUBLIC_KEY_BYTES = 48
const MAX_SUBADDRESS_LEN = 54
const CHECKSUM_LENGTH = 4
const MAX_INT64_STRING_LENGTH = 19
const MAX_ADDRESS_STRING_LENGTH = 2 + MAX_INT64_STRING_LENGTH + 1 + 93
const MAX_INT63 = (1n << 63n) - 1n

function invalid (message: string): DealyardError {
  return new DealyardError('ERR_INVALID_ADDRESS', message)
}

/** Minimal uvarint (go-varint rejects non-minimal forms and more than 9 bytes). */
export function readUvarint (b: Uint8Array, offset = 0): [bigint, number] {
  let value = 0n
  for (let i = 0; i < 9; i++) {
    const byte = b[offset + i]
    if (byte === undefined) throw invalid('varint truncated')
    value |= BigInt(byte & 0x7f) << BigInt(7 * i)
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw invalid('varint not minimally encoded')
      return [value, i + 1]
    }
  }
  throw invalid('varint larger than 9 bytes')
}

export function writeUvarint (v: bigint): Uint8Array {
  const out: number[] = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return Uint8Array.from(out)
}

function checksum (bytes: Uint8Array): Uint8Array {
  return blake2b(bytes, CHECKSUM_LENGTH)
}

function base32Decode (s: string): Uint8Array {
  let decoded: Uint8Array
  try { decoded = base32.baseDecode(s) } catch (err) { throw new DealyardError('ERR_INVALID_ADDRESS', `invalid base32 payload: ${(err as Error).message}`, { cause: err }) }
  // go-address re-encodes and compares, so non-canonical trailing bits are rejected.
  if (base32.baseEncode(decoded) !== s) throw invalid('invalid encoding')
  return decoded
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Checks a payload for its protocol; throws ERR_INVALID_ADDRESS as go-address's newAddress does. */
function validatePayload (protocol: number, payload: Uint8Array): void {
  switch (protocol) {
    case 0: {
      const [v, n] = readUvarint(payload)
      if (n !== payload.length) throw invalid(`ID payload has ${payload.length - n} trailing bytes`)
      if (v > MAX_INT63) throw invalid('id addresses must be less than 2^63')
      return
    }
    case 1: case 2:
      if (payload.length !== PAYLOAD_HASH_LENGTH) throw invalid(`payload must be ${PAYLOAD_HASH_LENGTH} bytes, got ${payload.length}`)
      return
    case 3:
      if (payload.length !== BLS_PUBLIC_KEY_BYTES) throw invalid(`BLS payload must be ${BLS_PUBLIC_KEY_BYTES} bytes, got ${payload.length}`)
      return
    case 4: {
      const [ns, n] = readUvarint(payload)
      if (ns > MAX_INT63) throw invalid('namespace id must be less than 2^63')
      if (payload.length - n > MAX_SUBADDRESS_LEN) throw invalid(`subaddress longer than ${MAX_SUBADDRESS_LEN} bytes`)
      return
    }
    default:
      throw invalid(`unknown address protocol ${protocol}`)
  }
}

/** The network letter an address is printed with: mainnet's 'f', the testnets' 't'. */
export type Network = 'f' | 't'

export class Address {
  readonly protocol: AddressProtocol
  /** protocol byte ‖ payload: the form on the wire (CBOR byte string) and in signatures' messages. */
  readonly bytes: Uint8Array
  readonly payload: Uint8Array

  private constructor (bytes: Uint8Array) {
    this.bytes = bytes
    this.protocol = bytes[0] as AddressProtocol
    this.payload = bytes.subarray(1)
  }

  /** For ID addresses: the actor ID. */
  get id (): bigint {
    if (this.protocol !== 0) throw invalid(`${this.toString()} is not an ID address`)
    return readUvarint(this.payload)[0]
  }

  toString (network: Network = 'f'): string {
    if (this.protocol === 0) return `${network}0${readUvarint(this.payload)[0]}`
    let prefix = `${network}${this.protocol}`
    let payload = this.payload
    if (this.protocol === 4) {
      const [ns, n] = readUvarint(payload)
      prefix += `${ns}f`
      payload = payload.subarray(n)
    }
    const body = new Uint8Array(payload.length + CHECKSUM_LENGTH)
    body.set(payload)
    body.set(checksum(this.bytes), payload.length)
    return prefix + base32.baseEncode(body)
  }

  toJSON (): string { return this.toString() }

  /** secp256k1 or BLS: the address is its own account key (StateAccountKey returns it as is). */
  get isKey (): boolean { return this.protocol === 1 || this.protocol === 3 }

  equals (o: Address): boolean { return equalBytes(this.bytes, o.bytes) }

  static fromBytes (b: Uint8Array): Address {
    if (b.length === 0) throw invalid('empty address')
    if (b.length === 1) throw invalid('invalid address length')
    const protocol = b[0]!
    validatePayload(protocol, b.subarray(1))
    return new Address(Uint8Array.from(b))
  }

  static fromString (s: string): Address {
    if (s.length > MAX_ADDRESS_STRING_LENGTH || s.length < 3) throw invalid(`invalid address length: ${JSON.stringify(s.slice(0, 32))}`)
    if (s[0] !== 'f' && s[0] !== 't') throw invalid(`unknown address network in ${JSON.stringify(s)}`)
    const protocol = '01234'.indexOf(s[1]!)
    if (protocol < 0) throw invalid(`unknown address protocol in ${JSON.stringify(s)}`)
    const raw = s.slice(2)
    if (protocol === 0) return Address.fromId(parseInt63(raw, s))
    let payload: Uint8Array
    let sum: Uint8Array
    if (protocol === 4) {
      const at = raw.indexOf('f')
      if (at < 0) throw invalid(`invalid delegated address ${JSON.stringify(s)}`)
      const ns = parseInt63(raw.slice(0, at), s)
      const subSum = base32Decode(raw.slice(at + 1))
      if (subSum.length < CHECKSUM_LENGTH) throw invalid('invalid address length')
      const sub = subSum.subarray(0, subSum.length - CHECKSUM_LENGTH)
      if (sub.length > MAX_SUBADDRESS_LEN) throw invalid('invalid address length')
      sum = subSum.subarray(subSum.length - CHECKSUM_LENGTH)
      payload = concat(writeUvarint(ns), sub)
    } else {
      const all = base32Decode(raw)
      if (all.length < CHECKSUM_LENGTH) throw invalid('invalid address length')
      payload = all.subarray(0, all.length - CHECKSUM_LENGTH)
      sum = all.subarray(all.length - CHECKSUM_LENGTH)
    }
    const bytes = concat(Uint8Array.of(protocol), payload)
    validatePayload(protocol, payload)
    if (!equalBytes(checksum(bytes), sum)) throw new DealyardError('ERR_INVALID_ADDRESS', `invalid address checksum: ${s}`)
    return new Address(bytes)
  }

  static fromId (id: bigint | number): Address {
    const v = BigInt(id)
    if (v < 0n || v > MAX_INT63) throw invalid(`actor id out of range: ${v}`)
    return new Address(concat(Uint8Array.of(0), writeUvarint(v)))
  }

  /** A key address from a public key: secp256k1 (65-byte uncompressed) or BLS (48-byte G1). */
  static fromPublicKey (type: 'secp256k1' | 'bls', publicKey: Uint8Array): Address {
    if (type === 'bls') return Address.fromBytes(concat(Uint8Array.of(3), publicKey))
    if (publicKey.length !== 65) throw invalid(`secp256k1 public key must be 65 bytes uncompressed, got ${publicKey.length}`)
    return new Address(concat(Uint8Array.of(1), blake2b(publicKey, PAYLOAD_HASH_LENGTH)))
  }

  static delegated (namespace: bigint | number, subaddress: Uint8Array): Address {
    return Address.fromBytes(concat(Uint8Array.of(4), writeUvarint(BigInt(namespace)), subaddress))
  }
}

function parseInt63 (raw: string, whole: string): bigint {
  // strconv.ParseUint(raw, 10, 63): decimal digits only, at most 2^63-1.
  if (raw.length === 0 || raw.length > MAX_INT64_STRING_LENGTH || !/^[0-9]+$/.test(raw)) throw invalid(`invalid address payload in ${JSON.stringify(whole)}`)
  const v = BigInt(raw)
  if (v > MAX_INT63) throw invalid(`invalid address payload in ${JSON.stringify(whole)}`)
  return v
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}
