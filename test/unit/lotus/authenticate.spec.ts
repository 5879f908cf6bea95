/**
 * boost's f4 signature check (node/modules/storageminer.go verifyContractSignature) as a StateCall:
 * the AuthenticateMessage params, the message and the InvocResult, against what go-state-types and
 * Lotus encode (the Lotus peer's fixtures).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { blake2b } from '@noble/hashes/blake2.js'
import { authenticateMessageCall, authenticateMessageParams, METHOD_AUTHENTICATE_MESSAGE } from '../../../src/lotus/index.ts'
import { decodeInvocResult, encodeMessage } from '../../../src/lotus/codec.ts'
import { b64, fixtures, toB64 } from './fixtures.ts'

/** FRC-0042: the first 4-byte big-endian word of blake2b-512("1|" + name) that is ≥ 2^24. */
function frc42 (name: string): number {
  const d = blake2b(new TextEncoder().encode(`1|${name}`), { dkLen: 64 })
  for (let i = 0; i < 64; i += 4) {
    const n = ((d[i]! << 24) | (d[i + 1]! << 16) | (d[i + 2]! << 8) | d[i + 3]!) >>> 0
    if (n >= 1 << 24) return n
  }
  throw new Error('no method number')
}

describe('AuthenticateMessage (boost\'s f4 signature check)', () => {
  const x = fixtures.authenticateMessage!
  const e = x.expect as { to: string, signature: string, message: string, method: number, params: string }

  it('uses FRC-0042\'s method number, as go-state-types computes it', () => {
    assert.equal(METHOD_AUTHENTICATE_MESSAGE, frc42('AuthenticateMessage'))
    assert.equal(METHOD_AUTHENTICATE_MESSAGE, e.method)
  })

  it('encodes the params as go-state-types does: [Signature, Message] byte strings', () => {
    assert.equal(toB64(authenticateMessageParams(b64(e.signature), b64(e.message))), e.params)
    // Headers past one byte of length, and empty byte strings.
    assert.deepEqual(authenticateMessageParams(new Uint8Array(0), new Uint8Array(0)), Uint8Array.of(0x82, 0x40, 0x40))
    const long = authenticateMessageParams(new Uint8Array(65), new Uint8Array(300))
    assert.deepEqual([...long.subarray(0, 3)], [0x82, 0x58, 65])
    assert.deepEqual([...long.subarray(68, 71)], [0x59, 0x01, 0x2c])
    assert.equal(long.length, 3 + 65 + 3 + 300)
  })

  it('sends the message boost\'s verifier sends: from f05, nonce 1, no value or gas (minus the output-only CID)', () => {
    const { CID: _cid, From, ...lotus } = x.lotus as Record<string, unknown>
    const { From: from, ...ours } = encodeMessage(authenticateMessageCall(e.to, b64(e.signature), b64(e.message)))
    assert.deepEqual(ours, lotus)
    // The fixtures are printed for testnet (t05); Lotus reads either prefix.
    assert.deepEqual([from, From], ['f05', 't05'])
  })

  it('decodes StateCall\'s InvocResult: the exit code and the actor\'s error', () => {
    for (const name of ['invocResultAccepted', 'invocResultRefused']) {
      const f = fixtures[name]!
      const r = decodeInvocResult(f.lotus)
      assert.deepEqual({ ...r, receipt: { ...r.receipt, return: toB64(r.receipt.return) } }, f.expect, name)
    }
  })
})
