import { DealyardError } from '../errors.ts'

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** The canonical 8-4-4-4-12 lowercase form of 16 UUID bytes (RFC 4122 order, as google/uuid). */
export function uuidToString (b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-'
    s += HEX[b[i]!]
  }
  return s
}

export function isUuid (s: string): boolean {
  return UUID_RE.test(s)
}

/** The 16 bytes of a UUID string: what DealUUID carries on the wire and what status requests sign. */
export function uuidToBytes (s: string, path = 'uuid'): Uint8Array {
  if (typeof s !== 'string' || !UUID_RE.test(s)) throw new DealyardError('ERR_CBOR_ENCODE', `${path}: invalid UUID ${JSON.stringify(s)}`)
  return Uint8Array.from(Buffer.from(s.replaceAll('-', ''), 'hex'))
}
