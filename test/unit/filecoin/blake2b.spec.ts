// BLAKE2b at Filecoin's output lengths: Node's OpenSSL through the native addon (the test setup
// builds it) agrees with @noble/hashes byte for byte, at every output length and input size.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { blake2b as noble } from '@noble/hashes/blake2.js'
import { blake2b, blake2bImplementation } from '../../../src/filecoin/blake2b.ts'
import { loadNative } from '../../../src/filecoin/commp/native.ts'

test('the native implementation is the one in use', () => {
  assert.ok(loadNative().addon?.blake2b !== undefined, 'the native addon has blake2b')
  assert.equal(blake2bImplementation(), 'openssl')
})

test('every output length 1–64 over inputs of 0–300 bytes equals @noble/hashes', () => {
  for (let outLen = 1; outLen <= 64; outLen++) {
    for (const size of [0, 1, 20, 65, 127, 128, 129, 300]) {
      const data = randomBytes(size)
      const got = blake2b(data, outLen)
      assert.ok(!Buffer.isBuffer(got) && got instanceof Uint8Array, 'a plain Uint8Array')
      assert.deepEqual(got, noble(data, { dkLen: outLen }), `length ${outLen}, input ${size}`)
    }
  }
})

test('a view into a larger buffer hashes only its own bytes', () => {
  const big = randomBytes(100)
  assert.deepEqual(blake2b(big.subarray(10, 30), 32), noble(big.subarray(10, 30), { dkLen: 32 }))
})

test('out-of-range lengths are errors from the addon', () => {
  const native = loadNative().addon!.blake2b!
  assert.throws(() => native(new Uint8Array(1), 0), /outLen/)
  assert.throws(() => native(new Uint8Array(1), 65), /outLen/)
})
