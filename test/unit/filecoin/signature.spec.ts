import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { sign, SigType, verifySignature } from '../../../src/filecoin/signature.ts'
import { Address } from '../../../src/filecoin/address.ts'

const msg = new TextEncoder().encode('deal proposal bytes')

describe('signatures', () => {
  for (const type of ['secp256k1', 'bls'] as const) {
    it(`${type}: a signature verifies for its signer only, and only over its message`, () => {
      const k = generateKey(type)
      const other = generateKey(type)
      const s = sign(k, msg)
      assert.equal(s.type, type === 'bls' ? SigType.BLS : SigType.Secp256k1)
      assert.equal(s.data.length, type === 'bls' ? 96 : 65)
      assert.equal(verifySignature(s, k.address, msg), true)
      assert.equal(verifySignature(s, other.address, msg), false)
      assert.equal(verifySignature(s, k.address, msg.subarray(1)), false)
      const bad = { ...s, data: Uint8Array.from(s.data) }
      bad.data[10]! ^= 0x40
      assert.equal(verifySignature(bad, k.address, msg), false)
    })
  }

  it('refuses mismatched types, ID signers, delegated and malformed signatures without throwing', () => {
    const k = generateKey('secp256k1')
    const s = sign(k, msg)
    assert.equal(verifySignature({ type: SigType.BLS, data: s.data }, k.address, msg), false)
    assert.equal(verifySignature(s, Address.fromId(1000), msg), false)
    assert.equal(verifySignature({ type: SigType.Delegated, data: s.data }, k.address, msg), false)
    assert.equal(verifySignature({ type: SigType.Secp256k1, data: new Uint8Array(65).fill(0xff) }, k.address, msg), false)
    assert.equal(verifySignature({ type: SigType.Secp256k1, data: s.data.subarray(0, 64) }, k.address, msg), false)
  })
})
