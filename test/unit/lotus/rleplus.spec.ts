import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { bitsFromRuns, decodeRlePlus } from '../../../src/lotus/index.ts'
import { b64, fixtures } from './fixtures.ts'

describe('RLE+ bitfields (vectors from go-bitfield)', () => {
  for (const v of fixtures.rleplus) {
    it(`decodes {${v.set.slice(0, 6).join(',')}${v.set.length > 6 ? ',…' : ''}} from bytes and from Lotus's run JSON`, () => {
      assert.deepEqual(decodeRlePlus(b64(v.rle)), v.set)
      assert.deepEqual(bitsFromRuns(v.json), v.set)
    })
  }

  it('decodes the spec vectors', () => {
    assert.deepEqual(decodeRlePlus(Uint8Array.of(0x74)), [0, 1, 2])
    assert.deepEqual(decodeRlePlus(Uint8Array.of(0x3c)), [0, 2])
    assert.deepEqual(decodeRlePlus(Uint8Array.of(124, 71, 34, 2)), [0, 2, 4, 5, 6, ...Array.from({ length: 17 }, (_, i) => 11 + i)])
  })

  it('rejects an unknown version and malformed runs', () => {
    assert.throws(() => decodeRlePlus(Uint8Array.of(0x01)), { code: 'ERR_LOTUS_DECODE' })
    assert.throws(() => bitsFromRuns([0, -1]), { code: 'ERR_LOTUS_DECODE' })
    assert.throws(() => bitsFromRuns({}), { code: 'ERR_LOTUS_DECODE' })
  })
})
