/**
 * f410 (delegated) clients for tests: an Ethereum-style secp256k1 key, its f410 address, and the
 * delegated signatures a Lotus wallet makes with it (lotus/lib/sigs/delegated: secp256k1 over
 * keccak-256 of the message, R‖S‖V). dealyard only verifies these; a client signs in tests.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { Address } from '../../src/filecoin/address.ts'
import { delegatedPayload, SigType, type Signature } from '../../src/filecoin/signature.ts'

export interface DelegatedKey { privateKey: Uint8Array, address: Address }

export function delegatedKey (privateKey: Uint8Array = secp256k1.utils.randomSecretKey()): DelegatedKey {
  const payload = delegatedPayload(secp256k1.getPublicKey(privateKey, false))
  const bytes = new Uint8Array(1 + payload.length)
  bytes[0] = 4
  bytes.set(payload, 1)
  return { privateKey, address: Address.fromBytes(bytes) }
}

export function signDelegated (key: DelegatedKey, message: Uint8Array): Signature {
  const rec = secp256k1.sign(keccak_256(message), key.privateKey, { prehash: false, format: 'recovered', lowS: true })
  const data = new Uint8Array(65)
  data.set(rec.subarray(1), 0)
  data[64] = rec[0]!
  return { type: SigType.Delegated, data }
}
