/**
 * Delegated (f410) signatures, as lotus/lib/sigs/delegated makes and checks them: what boost's
 * status handler verifies with sigs.Verify. The golden signature and address come from Lotus's own
 * key and sigs packages (the Lotus peer's fixtures).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { Address } from '../../../src/filecoin/address.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { delegatedPayload, sign, SigType, verifySignature } from '../../../src/filecoin/signature.ts'
import { b64, fixtures } from '../lotus/fixtures.ts'
import { delegatedKey, signDelegated } from '../../support/delegated.ts'

describe('delegated (f410) signatures', () => {
  const x = fixtures.delegatedSignature!
  const e = x.expect as { privateKey: string, address: string, message: string, data: string }
  const addr = Address.fromString(e.address)

  it('derives the f410 address of a key as Lotus does (keccak-256 of the public key, last 20 bytes)', () => {
    assert.deepEqual(delegatedPayload(secp256k1.getPublicKey(b64(e.privateKey), false)), addr.payload)
    assert.equal(delegatedKey(b64(e.privateKey)).address.toString('t'), e.address)
  })

  it('verifies a signature Lotus made, for its f410 address, over its message only', () => {
    const sig = { type: SigType.Delegated, data: b64(e.data) } as const
    assert.deepEqual(x.lotus, { Type: 3, Data: e.data })
    assert.equal(verifySignature(sig, addr, b64(e.message)), true)
    assert.equal(verifySignature(sig, addr, b64(e.message).subarray(1)), false)
    assert.equal(verifySignature(sig, delegatedKey().address, b64(e.message)), false)
    const bad = Uint8Array.from(sig.data)
    bad[3]! ^= 1
    assert.equal(verifySignature({ type: SigType.Delegated, data: bad }, addr, b64(e.message)), false)
  })

  it('verifies what the test helper signs, and refuses crossed types and signers', () => {
    const k = delegatedKey()
    const msg = new TextEncoder().encode('uuid bytes')
    const s = signDelegated(k, msg)
    assert.equal(verifySignature(s, k.address, msg), true)
    // A delegated signature is not an f1's, nor a secp256k1 signature an f410's.
    const secp = generateKey('secp256k1')
    assert.equal(verifySignature(s, secp.address, msg), false)
    assert.equal(verifySignature(sign(secp, msg), k.address, msg), false)
    assert.equal(verifySignature({ type: SigType.Secp256k1, data: s.data }, k.address, msg), false)
    assert.equal(verifySignature({ type: SigType.Delegated, data: s.data.subarray(0, 64) }, k.address, msg), false)
    assert.equal(verifySignature({ type: SigType.Delegated, data: new Uint8Array(65).fill(0xff) }, k.address, msg), false)
    // Another namespace than the EAM's is no Ethereum address.
    assert.equal(verifySignature(s, Address.delegated(32, k.address.payload.subarray(1)), msg), false)
  })
})
