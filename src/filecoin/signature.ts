import { createRequire } from 'node:module'
import { blake2b } from './blake2b.ts'
import { loadNative } from './commp/native.ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bls12_381 as bls } from '@noble/curves/bls12-381.js'
import type { Address } from './address.ts'
import type { PrivateKey } from './keys.ts'

/** go-state-types crypto.SigType values (SigTypeUnknown=255 is declared first, so secp256k1 is 1). */
export const SigType = { Secp256k1: 1, BLS: 2, Delegated: 3 } as const
export type SigTypeValue = typeof SigType[keyof typeof SigType]

export interface Signature { type: 1 | 2 | 3, data: Uint8Array }

/** Filecoin's BLS suite: min-pk keys in G1, signatures in G2, the basic (NUL) scheme. */
export const BLS_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_'

/**
 * Verifies a signature the way Lotus's lib/sigs does. secp256k1: the 65-byte R‖S‖V signature is
 * over blake2b-256(message); the recovered public key's blake2b-160 must equal the f1 payload.
 * BLS: the 96-byte G2 signature over the message itself against the f3 address's G1 public key.
 * Delegated (lib/sigs/delegated): the R‖S‖V secp256k1 signature is over keccak-256(message); the
 * recovered key's Ethereum address (the last 20 bytes of keccak-256 of its 64 bytes) must be the
 * f410 address's. `signer` must be the key address (f1/f3/f4): resolving an ID address is the
 * chain's job. Malformed signatures and keys return false, never throw.
 */
export function verifySignature (sig: Signature, signer: Address, message: Uint8Array): boolean {
  try {
    if (sig.type === SigType.Secp256k1) {
      if (signer.protocol !== 1 || sig.data.length !== 65) return false
      const pub = recoverSecp256k1(sig.data, blake2b(message, 32))
      return pub !== undefined && equal(blake2b(pub, 20), signer.payload)
    }
    if (sig.type === SigType.BLS) {
      if (signer.protocol !== 3 || sig.data.length !== 96) return false
      return verifyBls(sig.data, signer.payload, message)
    }
    if (sig.type === SigType.Delegated) {
      if (signer.protocol !== 4 || sig.data.length !== 65) return false
      const pub = recoverSecp256k1(sig.data, keccak_256(message))
      return pub !== undefined && equal(delegatedPayload(pub), signer.payload)
    }
    return false
  } catch {
    return false
  }
}

/** The EAM's namespace (actor ID 10): f410 addresses are Ethereum addresses. */
const EAM_NAMESPACE = 10

/** An f410 address's payload (namespace 10 as a uvarint, then the Ethereum address) for an uncompressed secp256k1 key. */
export function delegatedPayload (uncompressedKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(21)
  out[0] = EAM_NAMESPACE
  out.set(keccak_256(uncompressedKey.subarray(1)).subarray(12), 1)
  return out
}

const BLS_DST_BYTES = new TextEncoder().encode(BLS_DST)
type BlsVerify = (sig: Uint8Array, publicKey: Uint8Array, message: Uint8Array, dst: Uint8Array) => boolean
let blsNative: BlsVerify | null | undefined

/**
 * Which implementation verifies BLS signatures in this process: blst in the native addon
 * (native/src/bls.c, ~1.3 ms a verification) or noble (~30 ms of the event loop, so a BLS-signed
 * proposal or status request held up every other stream).
 */
export function blsBackend (): 'blst' | 'noble' {
  if (blsNative === undefined) blsNative = process.env.DEALYARD_BLS === 'noble' ? null : loadNative().addon?.blsVerify ?? null
  return blsNative === null ? 'noble' : 'blst'
}

/** A 96-byte G2 signature over `message` by the 48-byte G1 key, Filecoin's scheme; never throws. */
export function verifyBls (sig: Uint8Array, publicKey: Uint8Array, message: Uint8Array): boolean {
  if (blsBackend() === 'noble') return verifyBlsNoble(sig, publicKey, message)
  try {
    return blsNative!(sig, publicKey, message, BLS_DST_BYTES)
  } catch {
    return false
  }
}

/** verifyBls in pure JS (noble-curves): the fallback, and the reference in tests. */
export function verifyBlsNoble (sig: Uint8Array, publicKey: Uint8Array, message: Uint8Array): boolean {
  try {
    const sigs = bls.longSignatures
    return sigs.verify(sig, sigs.hash(message, BLS_DST), publicKey)
  } catch {
    return false
  }
}

/** The raw N-API binding of the `secp256k1` package (libsecp256k1), without its elliptic fallback. */
interface Libsecp256k1 {
  ecdsaRecover (sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array
}

/**
 * libsecp256k1 recovers a key in ~0.05 ms where noble-curves takes ~1.5 ms, and the ingress
 * recovers one per proposal. Its prebuilt addon ships in the npm package; where it cannot load,
 * noble does the same job (test/unit/filecoin/signature-recover.spec.ts holds them equal).
 */
const native: Libsecp256k1 | undefined = (() => {
  if (process.env.DEALYARD_SECP256K1 === 'noble') return undefined
  try {
    return createRequire(import.meta.url)('secp256k1/bindings') as Libsecp256k1
  } catch {
    return undefined
  }
})()

/** Which implementation recovers secp256k1 keys in this process. */
export const secp256k1Backend: 'libsecp256k1' | 'noble' = native !== undefined ? 'libsecp256k1' : 'noble'

/**
 * The uncompressed (65-byte) public key that made the Filecoin R‖S‖V signature `sig` over the
 * 32-byte `digest`, or undefined when there is none (V > 3, R or S zero or not below the order,
 * R + order off the field for V 2/3, no curve point, the point at infinity). Like Lotus (and
 * libsecp256k1's recovery) it accepts high-S signatures.
 */
export function recoverSecp256k1 (sig: Uint8Array, digest: Uint8Array): Uint8Array | undefined {
  if (native === undefined) return recoverSecp256k1Noble(sig, digest)
  if (sig.length !== 65 || digest.length !== 32) return undefined
  const v = sig[64]!
  if (v > 3) return undefined
  try {
    return native.ecdsaRecover(sig.subarray(0, 64), v, digest, false)
  } catch {
    return undefined
  }
}

/** recoverSecp256k1 in pure JS (noble-curves): the fallback, and the reference in tests. */
export function recoverSecp256k1Noble (sig: Uint8Array, digest: Uint8Array): Uint8Array | undefined {
  if (sig.length !== 65 || digest.length !== 32) return undefined
  const v = sig[64]!
  if (v > 3) return undefined
  try {
    const recovered = new Uint8Array(65)
    recovered[0] = v
    recovered.set(sig.subarray(0, 64), 1)
    const pub = secp256k1.recoverPublicKey(recovered, digest, { prehash: false })
    return secp256k1.Point.fromBytes(pub).toBytes(false)
  } catch {
    return undefined
  }
}

/** Signs as a Lotus wallet does (deterministic RFC 6979 nonces for secp256k1). */
export function sign (key: PrivateKey, message: Uint8Array): Signature {
  if (key.type === 'secp256k1') {
    const rec = secp256k1.sign(blake2b(message, 32), key.privateKey, { prehash: false, format: 'recovered', lowS: true })
    const data = new Uint8Array(65)
    data.set(rec.subarray(1), 0)
    data[64] = rec[0]!
    return { type: SigType.Secp256k1, data }
  }
  const sigs = bls.longSignatures
  const point = sigs.sign(sigs.hash(message, BLS_DST), blsSecretBE(key.privateKey))
  return { type: SigType.BLS, data: point.toBytes(true) }
}

/** Lotus stores BLS secret keys little-endian (filecoin-ffi); noble wants big-endian. */
export function blsSecretBE (le: Uint8Array): Uint8Array {
  return Uint8Array.from(le).reverse()
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
