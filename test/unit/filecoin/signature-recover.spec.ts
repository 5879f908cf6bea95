import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { blake2b } from '@noble/hashes/blake2.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { recoverSecp256k1, recoverSecp256k1Noble, secp256k1Backend, sign, verifySignature } from '../../../src/filecoin/signature.ts'

const N = secp256k1.Point.Fn.ORDER
const P = secp256k1.Point.Fp.ORDER
const be32 = (x: bigint): Uint8Array => Uint8Array.from(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'))
const num = (b: Uint8Array): bigint => BigInt('0x' + Buffer.from(b).toString('hex'))
const sig65 = (r: bigint, s: bigint, v: number): Uint8Array => {
  const out = new Uint8Array(65)
  out.set(be32(r), 0)
  out.set(be32(s), 32)
  out[64] = v
  return out
}
const hex = (b: Uint8Array | undefined): string | undefined => b === undefined ? undefined : Buffer.from(b).toString('hex')

/** The fast path must answer exactly as the pure-JS recovery it replaced, key for key, refusal for refusal. */
function same (sig: Uint8Array, digest: Uint8Array): Uint8Array | undefined {
  const fast = recoverSecp256k1(sig, digest)
  assert.equal(hex(fast), hex(recoverSecp256k1Noble(sig, digest)), `sig ${hex(sig)!} digest ${hex(digest)!}`)
  return fast
}

describe('secp256k1 recovery (libsecp256k1 against noble)', () => {
  it('runs on libsecp256k1 here (the prebuilt addon in the secp256k1 package)', () => {
    // Falling back to noble would be correct but ~30x slower per proposal: make it visible.
    assert.equal(secp256k1Backend, 'libsecp256k1')
  })

  it('recovers the signer of real signatures, and a flipped bit recovers someone else or nobody', () => {
    for (let i = 0; i < 200; i++) {
      const k = generateKey('secp256k1')
      const msg = randomBytes(1 + (i % 300))
      const s = sign(k, msg)
      const digest = blake2b(msg, { dkLen: 32 })
      const pub = same(s.data, digest)
      assert.ok(pub !== undefined)
      assert.deepEqual(blake2b(pub, { dkLen: 20 }), k.address.payload)
      assert.equal(verifySignature(s, k.address, msg), true)
      const bad = Uint8Array.from(s.data)
      bad[i % 64]! ^= 1 << (i % 8)
      const other = same(bad, digest)
      assert.notDeepEqual(other, pub)
      assert.equal(verifySignature({ type: s.type, data: bad }, k.address, msg), false)
    }
  })

  it('treats malleated (high-S) signatures as before: S → n−S with V flipped is the same signer', () => {
    for (let i = 0; i < 50; i++) {
      const k = generateKey('secp256k1')
      const msg = randomBytes(64)
      const s = sign(k, msg).data
      const r = num(s.subarray(0, 32))
      const lowS = num(s.subarray(32, 64))
      assert.ok(lowS <= N / 2n, 'sign() makes low-S signatures')
      const high = sig65(r, N - lowS, s[64]! ^ 1)
      const digest = blake2b(msg, { dkLen: 32 })
      assert.deepEqual(same(high, digest), same(s, digest))
      assert.equal(verifySignature({ type: 1, data: high }, k.address, msg), true)
      // High-S with the original V is a different key: refused for this signer, by both.
      same(sig65(r, N - lowS, s[64]!), digest)
      assert.equal(verifySignature({ type: 1, data: sig65(r, N - lowS, s[64]!) }, k.address, msg), false)
    }
  })

  it('agrees on the edges: zero, order, field and all-ones R/S; V 2 and 3; V out of range', () => {
    const digest = blake2b(new TextEncoder().encode('edges'), { dkLen: 32 })
    const edges = [0n, 1n, 2n, N / 2n, N / 2n + 1n, N - 1n, N, N + 1n, P - N - 1n, P - N, P - 1n, P, (1n << 256n) - 1n, num(randomBytes(32)), num(randomBytes(16))]
    let recovered = 0
    for (const r of edges) {
      for (const s of edges) {
        for (const v of [0, 1, 2, 3]) if (same(sig65(r, s, v), digest) !== undefined) recovered++
        for (const v of [4, 27, 28, 255]) assert.equal(same(sig65(r, s, v), digest), undefined)
      }
    }
    assert.ok(recovered > 0, 'some edge signatures do recover a key')
    assert.equal(same(sig65(0n, 1n, 0), digest), undefined)
    assert.equal(same(sig65(1n, 0n, 0), digest), undefined)
    assert.equal(same(sig65(N, 1n, 0), digest), undefined)
    assert.equal(same(sig65(1n, N, 0), digest), undefined)
    // R + n beyond the field: no point to recover from.
    assert.equal(same(sig65(P - N, 1n, 2), digest), undefined)
    // The zero digest and the order itself as a digest are valid inputs (reduced mod n).
    same(sig65(num(randomBytes(31)), num(randomBytes(31)), 1), new Uint8Array(32))
    same(sig65(num(randomBytes(31)), num(randomBytes(31)), 0), be32(N))
    // Wrong lengths are refused, not thrown.
    assert.equal(recoverSecp256k1(new Uint8Array(64), digest), undefined)
    assert.equal(recoverSecp256k1(new Uint8Array(65), digest.subarray(1)), undefined)
  })

  it('agrees on arbitrary bytes, and on V 2/3 with small R (where R + n is on the field)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (rs, v, digest) => {
      const sig = new Uint8Array(65)
      sig.set(rs)
      sig[64] = v
      same(sig, digest)
    }), { numRuns: 300 })
    let found = 0
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: P - N - 1n }), fc.bigInt({ min: 1n, max: N - 1n }), fc.integer({ min: 2, max: 3 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (r, s, v, digest) => {
      if (same(sig65(r, s, v), digest) !== undefined) found++
    }), { numRuns: 200 })
    assert.ok(found > 0, 'some V 2/3 signatures recover a key')
  })
})
