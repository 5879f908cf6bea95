/**
 * js-libp2p-noise, with the messages of one socket read decrypted together and handed on once.
 *
 * Why: go-yamux v5 writes every frame with its own conn.Write ("write coalescing is disabled for
 * now" in its sendLoop) and go-libp2p's noise seals every Write as its own message, so boost's
 * client, which writes a proposal field by field, sends ~65 noise messages per proposal, most of
 * them a 12-byte yamux header and a few bytes of CBOR. @chainsafe/libp2p-noise decodes them one at
 * a time: per message a turn of its length-prefix decoder (Uint8ArrayList sublists), a decrypt
 * into a fresh list, and a `message` event to the muxer, which runs its own frame decoder over
 * each. An allocation profile of the ingress bench put ~250 KB of the ~520 KB allocated per
 * proposal in that path. Here the complete messages of one read are cut out of it with plain
 * subarrays, decrypted in place one by one (the same cipher state, nonce by nonce, as noise
 * does), and their plaintexts reach the muxer as one buffer: the same bytes in the same order.
 * A message cut by a read boundary waits, unassembled, until its last byte arrives.
 *
 * It patches the encrypted stream noise returns (its `decoder` and `decrypt`, which noise's
 * message listener looks up on every read); where a release changes them, the connection keeps
 * noise's own path and test/unit/ingress/noise.spec.ts fails.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto'
import { noise as jsNoise, type ICryptoInterface, type NoiseInit } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ConnectionEncrypter } from '@libp2p/interface'
import { loadNative } from '../filecoin/commp/native.ts'
import { boundWriteBacklog } from './write-bounds.ts'

/** ChaCha20-Poly1305's tag. */
const TAG_BYTES = 16
/** What noise's own decoder allows to wait for a message's end. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024

type Bytes = Uint8Array | { byteLength: number, subarray: () => Uint8Array }

interface EncryptedStream {
  decoder: { buffer?: Bytes, decode: (data: Bytes) => Iterable<unknown> }
  decrypt: (chunk: unknown) => Bytes
  handshake: { decrypt: (ciphertext: Uint8Array, dst?: Uint8Array) => Bytes }
  metrics?: { decryptedPackets?: { increment: () => void }, decryptErrors?: { increment: () => void } }
  onData: (data: Uint8Array) => void
}

/** The complete messages (length prefixes stripped) of one read. */
class Batch {
  readonly messages: Uint8Array[]
  constructor (messages: Uint8Array[]) { this.messages = messages }
}

const contiguous = (b: Bytes): Uint8Array => b instanceof Uint8Array ? b : b.subarray()

function join (parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

/** Cuts 2-byte-length-prefixed messages out of a byte stream; one Batch per read at most. */
export class NoiseBatchDecoder {
  private pending: Uint8Array[] = []
  private pendingBytes = 0

  constructor (leftover?: Uint8Array) {
    if (leftover !== undefined && leftover.byteLength > 0) this.keep(leftover)
  }

  * decode (data: Bytes): Generator<Batch> {
    let buf = contiguous(data)
    if (this.pendingBytes > 0) {
      this.keep(buf)
      const need = this.firstMessageBytes()
      if (need !== undefined && this.pendingBytes < need) return
      buf = join(this.pending, this.pendingBytes)
      this.pending = []
      this.pendingBytes = 0
    }
    const messages: Uint8Array[] = []
    let at = 0
    while (buf.byteLength - at >= 2) {
      const end = at + 2 + ((buf[at]! << 8) | buf[at + 1]!)
      if (end > buf.byteLength) break
      // noise's decoder skips empty messages too (an empty one cannot even hold a tag)
      if (end > at + 2) messages.push(buf.subarray(at + 2, end))
      at = end
    }
    if (at < buf.byteLength) this.keep(buf.subarray(at))
    if (messages.length > 0) yield new Batch(messages)
  }

  private keep (b: Uint8Array): void {
    this.pending.push(b)
    this.pendingBytes += b.byteLength
    if (this.pendingBytes > MAX_BUFFERED_BYTES) {
      throw new RangeError(`Buffer length limit exceeded - ${this.pendingBytes}/${MAX_BUFFERED_BYTES}`)
    }
  }

  /** Length of the first pending message with its prefix, once the prefix is here. */
  private firstMessageBytes (): number | undefined {
    if (this.pendingBytes < 2) return undefined
    const first = this.pending[0]!
    const hi = first[0]!
    const lo = first.byteLength > 1 ? first[1]! : this.pending[1]![0]!
    return 2 + ((hi << 8) | lo)
  }
}

/**
 * Switches an encrypted stream from noise's per-message path to per-read batches. False (and the
 * stream untouched) when it does not have the shape this relies on.
 */
export function batchDecryption (connection: unknown): boolean {
  const c = connection as Partial<EncryptedStream>
  const buffered = c.decoder?.buffer
  if (typeof c.decoder?.decode !== 'function' || typeof c.decrypt !== 'function' || typeof c.onData !== 'function' ||
    typeof c.handshake?.decrypt !== 'function' || buffered === undefined || typeof buffered.byteLength !== 'number') return false
  const stream = c as EncryptedStream
  const perMessage = stream.decrypt
  // Bytes noise's decoder already holds (a read that raced this switch) stay first in line.
  stream.decoder = new NoiseBatchDecoder(buffered.byteLength > 0 ? contiguous(buffered).slice() : undefined)
  stream.decrypt = function (this: EncryptedStream, chunk: unknown): Bytes {
    if (!(chunk instanceof Batch)) return perMessage.call(this, chunk)
    const plain: Uint8Array[] = []
    let total = 0
    for (const m of chunk.messages) {
      let p: Uint8Array
      try {
        if (m.byteLength < TAG_BYTES) throw new Error('Invalid chunk')
        // In place, as noise does: chacha20 never rereads a byte it has written.
        p = contiguous(this.handshake.decrypt(m, m.subarray(0, m.byteLength - TAG_BYTES)))
        this.metrics?.decryptedPackets?.increment()
      } catch (err) {
        this.metrics?.decryptErrors?.increment()
        // What decrypted before the bad message is delivered, as noise's per-message loop would.
        if (total > 0) this.onData(join(plain, total))
        throw err
      }
      plain.push(p)
      total += p.byteLength
    }
    return join(plain, total)
  }
  return true
}

type KeyBytes = Uint8Array | { subarray: () => Uint8Array }

/** X25519 keys noise made through handshakeCrypto, by the very byte arrays it hands back. */
const x25519Keys = new WeakMap<object, KeyObject>()
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const b64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url')

function x25519Private (key: KeyBytes): KeyObject {
  let k = x25519Keys.get(key)
  if (k === undefined) {
    // a key this module did not make (noise's static key from a seed): imported once, as noise does
    k = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, key.subarray()]), format: 'der', type: 'pkcs8' })
    x25519Keys.set(key, k)
  }
  return k
}

function x25519Public (key: KeyBytes): KeyObject {
  let k = x25519Keys.get(key)
  if (k === undefined) {
    k = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(key.subarray()) }, format: 'jwk' })
    x25519Keys.set(key, k)
  }
  return k
}

/**
 * noise's handshake arithmetic (X25519 and HKDF) on Node's OpenSSL without re-importing keys.
 *
 * Why: noise's default makes a key pair, exports it as DER and, for each of the three
 * Diffie-Hellmans of a handshake, imports both keys again from DER. OpenSSL 3's DER decoders cost
 * ~50 µs a key, and importing a private X25519 key also recomputes its public key (a scalar
 * multiplication): 67 µs a key pair and 143 µs a Diffie-Hellman, ~0.5 ms a handshake on this
 * machine. Here a key pair stays the KeyObjects OpenSSL made, found again by the byte arrays noise
 * holds, and the remote keys are imported once from raw bytes: 34 µs and ~60 µs. Each boost
 * client connects afresh for every deal (`boost deal` is a process a deal), so this is per
 * proposal. HKDF is OpenSSL's rather than noise's JavaScript HMAC (same RFC 5869 output).
 */
export const handshakeCrypto: Pick<ICryptoInterface, 'generateX25519KeyPair' | 'generateX25519SharedKey' | 'getHKDF'> = {
  generateX25519KeyPair () {
    const pair = generateKeyPairSync('x25519')
    const publicKey = Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url')
    const privateKey = Buffer.from(pair.privateKey.export({ format: 'jwk' }).d!, 'base64url')
    x25519Keys.set(publicKey, pair.publicKey)
    x25519Keys.set(privateKey, pair.privateKey)
    return { publicKey, privateKey }
  },
  generateX25519SharedKey (privateKey, publicKey) {
    return diffieHellman({ privateKey: x25519Private(privateKey), publicKey: x25519Public(publicKey) })
  },
  getHKDF (ck, ikm) {
    const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, new Uint8Array(0), 96))
    return [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 96)]
  }
}

/**
 * noise's crypto: the handshake's on OpenSSL (handshakeCrypto), and ChaCha20-Poly1305 through
 * Node's OpenSSL in the native addon (native/src/crypto.c) where it is built. noise's default
 * seals and opens messages under 1200 bytes in WebAssembly, copying key, nonce and data into its
 * memory and out again: 1.0–1.7 µs per 20–100-byte message against 0.6–0.7 µs here, in place and
 * without allocating.
 */
export function nativeNoiseCrypto (): ICryptoInterface {
  const addon = loadNative().addon
  const open = addon?.chachaOpen
  const seal = addon?.chachaSeal
  if (open === undefined || seal === undefined) return { ...defaultCrypto, ...handshakeCrypto }
  return {
    ...defaultCrypto,
    ...handshakeCrypto,
    chaCha20Poly1305Encrypt: (plaintext, nonce, ad, k) => {
      const p = contiguous(plaintext)
      const out = Buffer.allocUnsafe(p.byteLength + TAG_BYTES)
      seal(k, nonce, ad, p, out)
      return out
    },
    chaCha20Poly1305Decrypt: (ciphertext, nonce, ad, k, dst) => {
      const sealed = contiguous(ciphertext)
      if (sealed.byteLength < TAG_BYTES) throw new Error('Invalid chacha20poly1305 decryption')
      const out = dst ?? new Uint8Array(sealed.byteLength - TAG_BYTES)
      if (!open(k, nonce, ad, sealed, out)) throw new Error('Invalid chacha20poly1305 decryption')
      return out
    }
  }
}

/** noise(), with every connection it secures switched to per-read batches, on nativeNoiseCrypto(). */
export function noise (init?: NoiseInit): ReturnType<typeof jsNoise> {
  const make = jsNoise({ crypto: nativeNoiseCrypto(), ...init })
  return (components) => {
    const encrypter: ConnectionEncrypter<unknown> = make(components)
    const inbound = encrypter.secureInbound.bind(encrypter)
    const outbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (conn, options) => {
      const secured = await inbound(conn, options)
      batchDecryption(secured.connection)
      // Frames queue here, in plaintext, once the TCP connection under it stops taking data (the
      // ingress writes only small answers; see write-bounds.ts).
      boundWriteBacklog(secured.connection, String((conn as { remoteAddr?: unknown }).remoteAddr ?? 'unknown'))
      return secured
    }
    encrypter.secureOutbound = async (conn, options) => {
      const secured = await outbound(conn, options)
      batchDecryption(secured.connection)
      // Not bounded: the client CLI's proposal (up to 5 MiB) may queue here behind a wide window.
      return secured
    }
    return encrypter as ReturnType<ReturnType<typeof jsNoise>>
  }
}
