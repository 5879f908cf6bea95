import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { blsBackend, sign, verifyBls, verifyBlsNoble, verifySignature, SigType } from '../../../src/filecoin/signature.ts'
import { loadNative } from '../../../src/filecoin/commp/native.ts'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

const keys = [generateKey('bls'), generateKey('bls')]
const flip = (b: Uint8Array, bit: number): Uint8Array => {
  const out = Uint8Array.from(b)
  out[(bit >> 3) % out.length]! ^= 1 << (bit & 7)
  return out
}

/** blst must answer exactly as noble, the implementation it replaced: acceptance for acceptance, refusal for refusal. */
function same (sig: Uint8Array, pk: Uint8Array, msg: Uint8Array): boolean {
  const fast = verifyBls(sig, pk, msg)
  assert.equal(fast, verifyBlsNoble(sig, pk, msg), `sig ${Buffer.from(sig).toString('hex')} pk ${Buffer.from(pk).toString('hex')} msg ${Buffer.from(msg).toString('hex')}`)
  return fast
}

describe('BLS verification (blst against noble)', () => {
  it('runs blst where the native addon is built (native/build.sh fetches it through the Go module proxy), noble where it was built without', () => {
    const native = loadNative()
    if (native.addon === undefined) return
    // native/build.sh marks an addon it built without blst (no Go or no module proxy then)
    const without = native.path !== undefined && existsSync(join(dirname(native.path), 'without-blst'))
    assert.equal(blsBackend(), without ? 'noble' : 'blst', without ? 'an addon marked as built without blst has blsVerify' : 'the native addon has no blsVerify, yet native/build.sh did not mark it as built without blst')
  })

  it('accepts Filecoin BLS signatures and refuses them for another message or key, as noble does', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (msg, bit) => {
      const [k, other] = keys as [typeof keys[0], typeof keys[0]]
      const sig = sign(k, msg).data
      assert.equal(same(sig, k.address.payload, msg), true)
      assert.equal(same(sig, other.address.payload, msg), false)
      assert.equal(same(sig, k.address.payload, flip(msg.length > 0 ? msg : Uint8Array.of(0), bit)), false)
      assert.equal(verifySignature({ type: SigType.BLS, data: sig }, k.address, msg), true)
    }), { numRuns: 25 })
  })

  it('refuses damaged signatures and keys as noble does (bad encodings, points off the curve or the subgroup)', () => {
    const msg = new TextEncoder().encode('deal proposal')
    const k = keys[0]!
    const sig = sign(k, msg).data
    fc.assert(fc.property(fc.nat(), fc.boolean(), (bit, onKey) => {
      const s = onKey ? sig : flip(sig, bit)
      const pk = onKey ? flip(k.address.payload, bit) : k.address.payload
      assert.equal(same(s, pk, msg), false)
    }), { numRuns: 40 })
  })

  it('refuses the identity key and wrong lengths without throwing', () => {
    const msg = Uint8Array.of(1, 2, 3)
    const infPk = new Uint8Array(48); infPk[0] = 0xc0
    const infSig = new Uint8Array(96); infSig[0] = 0xc0
    assert.equal(verifyBls(infSig, infPk, msg), false)
    const k = keys[0]!
    const sig = sign(k, msg).data
    assert.equal(verifyBls(sig.subarray(0, 95), k.address.payload, msg), false)
    assert.equal(verifyBls(sig, k.address.payload.subarray(0, 47), msg), false)
    assert.equal(verifyBls(new Uint8Array(96), k.address.payload, msg), false)
  })
})
