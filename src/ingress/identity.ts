/**
 * The ingress's libp2p identity: a libp2p protobuf-encoded private key in a file (a Secret mounted
 * into every replica, so all replicas are the same peer). `generateIdentityFile` makes one.
 */
import { createPrivateKey, sign } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { DealyardError } from '../errors.ts'

export async function loadIdentity (path: string): Promise<PrivateKey> {
  let bytes: Buffer
  try { bytes = await readFile(path) } catch (err) {
    throw new DealyardError('ERR_IDENTITY', `identity file ${path}: ${(err as Error).message}`, { cause: err })
  }
  try { return privateKeyFromProtobuf(bytes) } catch (err) {
    throw new DealyardError('ERR_IDENTITY', `identity file ${path}: not a libp2p protobuf private key: ${(err as Error).message}`, { cause: err })
  }
}

/** Writes a new Ed25519 identity (mode 0600) and returns its peer ID. */
export async function generateIdentityFile (path: string): Promise<string> {
  const key = await generateKeyPair('Ed25519')
  await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  return peerIdFromPrivateKey(key).toString()
}

/**
 * The identity with its Ed25519 signing key imported into OpenSSL once, not on every signature,
 * and the last message's signature kept.
 *
 * Why: @libp2p/crypto builds a KeyObject from JWK for each signature it makes (88 µs a signature
 * against 33 µs with the key kept, measured here), and the ingress signs on every connection: the
 * noise handshake's payload. That payload signs noise's static key, which is the same for every
 * handshake of the process, and Ed25519 signatures are deterministic (RFC 8032), so the signature
 * kept for the same bytes is the one OpenSSL would make again (43 µs). Other key types, and every
 * other property, are the key's own.
 */
export function withCachedSigner (key: PrivateKey): PrivateKey {
  if (key.type !== 'Ed25519') return key
  const raw = key.raw
  const keyObject = createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(raw.subarray(0, 32)).toString('base64url'), x: Buffer.from(key.publicKey.raw).toString('base64url') }
  })
  const cached: PrivateKey = Object.create(key)
  let lastMessage: Buffer | undefined
  let lastSignature: Buffer | undefined
  cached.sign = (message, options) => {
    options?.signal?.throwIfAborted()
    const bytes = message.subarray()
    if (lastMessage !== undefined && lastMessage.equals(bytes)) return Buffer.from(lastSignature!)
    const signature = sign(null, bytes, keyObject)
    lastMessage = Buffer.from(bytes)
    lastSignature = signature
    return Buffer.from(signature)
  }
  return cached
}
