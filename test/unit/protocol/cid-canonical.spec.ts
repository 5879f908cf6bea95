/**
 * Regression (found by the decoder fuzzer): multiformats decodes a tag-42 CID whose version varint
 * is 0 but whose codec is not dag-pb, and re-encodes it differently, so a proposal could decode to a
 * value that does not re-encode to the bytes the client signed. go-cid refuses such bytes; so do we.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeDealProposal, encodeDealProposal } from '../../../src/protocol/index.ts'
import { loadVectors, unhex } from './golden.ts'

test('a piece CID with version byte 0 and a non-dag-pb codec is refused, naming the field', () => {
  const v = loadVectors().vectors.find((x) => x.type === 'DealProposal')!
  const good = unhex(v.hex)
  // 8b d8 2a 58 28 00 01 81e203 … : turn the CIDv1 version byte (after the 0x00 multibase) into 0.
  const at = good.indexOf(0x01, 5)
  assert.equal(good[at - 1], 0x00)
  const bad = good.slice()
  bad[at] = 0x00
  assert.throws(() => decodeDealProposal(bad), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_CBOR_DECODE')
    assert.match(err.message, /^DealProposal\.PieceCID: invalid CID/)
    return true
  })
  assert.deepEqual(encodeDealProposal(decodeDealProposal(good)), good)
})
