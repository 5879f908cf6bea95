import { open } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bls12_381 as bls } from '@noble/curves/bls12-381.js'
import { DealyardError } from '../errors.ts'
import { Address } from './address.ts'
import { blsSecretBE } from './signature.ts'

/**
 * A wallet key as Lotus keeps it. `privateKey` is in Lotus's byte order: big-endian for secp256k1,
 * little-endian for BLS (filecoin-ffi's serialization).
 */
export interface PrivateKey { type: 'secp256k1' | 'bls', privateKey: Uint8Array, address: Address }

const BLS_ORDER = bls.fields.Fr.ORDER

/** Derives the key address from a private key. */
export function keyFromPrivate (type: 'secp256k1' | 'bls', privateKey: Uint8Array): PrivateKey {
  if (privateKey.length !== 32) throw new DealyardError('ERR_INVALID_KEY', `${type} private key must be 32 bytes, got ${privateKey.length}`)
  try {
    if (type === 'secp256k1') {
      return { type, privateKey: Uint8Array.from(privateKey), address: Address.fromPublicKey('secp256k1', secp256k1.getPublicKey(privateKey, false)) }
    }
    // noble reduces a scalar mod r; Lotus (filecoin-ffi) refuses one that is not below r, so a key
    // file it would not load does not sign here either.
    const be = blsSecretBE(privateKey)
    const scalar = BigInt('0x' + Buffer.from(be).toString('hex'))
    if (scalar === 0n || scalar >= BLS_ORDER) throw new DealyardError('ERR_INVALID_KEY', 'invalid bls private key: not a scalar in [1, r)')
    const pub = bls.longSignatures.getPublicKey(be).toBytes(true)
    return { type, privateKey: Uint8Array.from(privateKey), address: Address.fromPublicKey('bls', pub) }
  } catch (err) {
    if (err instanceof DealyardError) throw err
    throw new DealyardError('ERR_INVALID_KEY', `invalid ${type} private key: ${(err as Error).message}`, { cause: err })
  }
}

export function generateKey (type: 'secp256k1' | 'bls'): PrivateKey {
  if (type === 'secp256k1') return keyFromPrivate(type, secp256k1.utils.randomSecretKey())
  // A uniformly random scalar in [1, r): 48 random bytes reduced mod r, written little-endian.
  const wide = BigInt('0x' + randomBytes(48).toString('hex'))
  const s = (wide % (BLS_ORDER - 1n)) + 1n
  const le = new Uint8Array(32)
  let v = s
  for (let i = 0; i < 32; i++) { le[i] = Number(v & 0xffn); v >>= 8n }
  return keyFromPrivate('bls', le)
}

/**
 * Parses a key file: `lotus wallet export` output (hex of the KeyInfo JSON) or the KeyInfo JSON
 * itself ({"Type":"secp256k1"|"bls","PrivateKey":"<base64>"}), surrounding whitespace ignored.
 */
export function parseKeyFile (text: string): PrivateKey {
  const t = text.trim()
  let json = t
  if (!t.startsWith('{')) {
    if (!/^([0-9a-fA-F]{2})+$/.test(t)) throw new DealyardError('ERR_INVALID_KEY', 'key file is neither hex nor JSON')
    json = Buffer.from(t, 'hex').toString('utf8')
  }
  let info: unknown
  try { info = JSON.parse(json) } catch (err) { throw new DealyardError('ERR_INVALID_KEY', 'key file: invalid JSON', { cause: err }) }
  const { Type, PrivateKey } = (info ?? {}) as { Type?: unknown, PrivateKey?: unknown }
  if (Type !== 'secp256k1' && Type !== 'bls') throw new DealyardError('ERR_INVALID_KEY', `key file: unsupported key type ${JSON.stringify(Type)}`)
  // Strict, as Go's encoding/json reads a []byte (standard alphabet, padded): Buffer skips what
  // is not base64 and would make a key of what is left.
  if (typeof PrivateKey !== 'string' || PrivateKey.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(PrivateKey)) {
    throw new DealyardError('ERR_INVALID_KEY', 'key file: PrivateKey must be a base64 string (standard alphabet, padded)')
  }
  return keyFromPrivate(Type, Buffer.from(PrivateKey, 'base64'))
}

/** A wallet key file is under 1 KiB; what is far larger (a device, a wrong path) is not read whole. */
const MAX_KEY_FILE_BYTES = 64 * 1024

export async function loadKeyFile (path: string): Promise<PrivateKey> {
  let text: string
  try {
    const f = await open(path, 'r')
    try {
      const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1)
      let n = 0
      for (let r = -1; r !== 0 && n < buf.length;) { r = (await f.read(buf, n, buf.length - n)).bytesRead; n += r }
      if (n > MAX_KEY_FILE_BYTES) throw new Error(`larger than ${MAX_KEY_FILE_BYTES / 1024} KiB: not a wallet key file`)
      text = buf.subarray(0, n).toString('utf8')
    } finally { await f.close() }
  } catch (err) { throw new DealyardError('ERR_INVALID_KEY', `key file ${path}: ${(err as Error).message}`, { cause: err }) }
  try { return parseKeyFile(text) } catch (err) {
    const e = err as DealyardError
    throw new DealyardError(e.code ?? 'ERR_INVALID_KEY', `key file ${path}: ${e.message}`, { cause: err })
  }
}

/** The `lotus wallet export` form: hex of the KeyInfo JSON. */
export function encodeKeyFile (k: PrivateKey): string {
  const json = JSON.stringify({ Type: k.type, PrivateKey: Buffer.from(k.privateKey).toString('base64') })
  return Buffer.from(json, 'utf8').toString('hex')
}
