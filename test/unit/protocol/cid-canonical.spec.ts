/**
 * Regression (found by the decoder fuzzer): multiformats decodes a tag-42 CID whose version varint
 * is 0 but whose codec is not dag-pb, and re-encodes it differently, so a proposal could decode to a
 * value that does not re-encode to the bytes the client signed. go-cid refuses such bytes; so do we.
 */
import { describe, it, test } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { decodeDealParams, decodeDealProposal, decodeDealStatusRequest, encodeDealParams, encodeDealProposal } from '../../../src/protocol/index.ts'
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

/*
 * Regression (round 45, F1): a tag-42 CID starting 0x12 but not in the one CIDv0 form go-cid takes
 * (0x12 0x20 + 32-byte digest, 34 bytes) was accepted, because multiformats reads any leading 0x12 as
 * a CIDv0 multihash of whatever digest length, and such a CID re-encodes to the bytes it came from.
 * go-cid v0.6 CidFromBytes reads it as a CIDv1 whose version varint is 18 and refuses it; boost
 * refuses it in every place it reads a CID with cid.Cast (cbor-gen ReadCid for DealDataRoot and
 * PieceCID, ScanForLinks for an unknown key of DealParams or DealStatusRequest). Its text form
 * (e.g. "2NT") does not even parse back as a CID.
 */
const vectors = loadVectors().vectors
const bytesOf = (name: string): Uint8Array => unhex(vectors.find((v) => v.name === name)!.hex)
const digest = (n: number): number[] => new Array<number>(n).fill(3)

/** A tag-42 item holding the 0x00 multibase prefix and `body`. */
function tag42 (body: number[]): number[] {
  const n = body.length + 1
  return [0xd8, 0x2a, ...(n < 24 ? [0x40 + n] : [0x58, n]), 0x00, ...body]
}

/** Replaces the tag-42 item at `at` (d8 2a, a byte-string header of one or two bytes, its bytes). */
function replaceCid (msg: Uint8Array, at: number, body: number[]): Uint8Array {
  assert.deepEqual([msg[at], msg[at + 1]], [0xd8, 0x2a])
  const h = msg[at + 2]!
  const end = h === 0x58 ? at + 4 + msg[at + 3]! : at + 3 + (h - 0x40)
  return Uint8Array.from([...msg.subarray(0, at), ...tag42(body), ...msg.subarray(end)])
}

const indexOfHex = (msg: Uint8Array, h: string): number => {
  const i = Buffer.from(msg).toString('hex').indexOf(h)
  assert.ok(i >= 0 && i % 2 === 0, `${h} not found`)
  return i / 2
}

interface Place { path: string, with: (body: number[]) => Uint8Array, decode: (b: Uint8Array) => unknown }

const places: Record<string, Place> = {
  'DealParams.DealDataRoot': {
    path: 'DealParams.DealDataRoot',
    with: (body) => {
      const m = bytesOf('deal-params/online-http-secp')
      return replaceCid(m, indexOfHex(m, Buffer.from('DealDataRoot').toString('hex')) + 12, body)
    },
    decode: decodeDealParams
  },
  'DealParams.ClientDealProposal.Proposal.PieceCID': {
    path: 'DealParams.ClientDealProposal.Proposal.PieceCID',
    with: (body) => {
      const m = bytesOf('deal-params/online-http-secp')
      return replaceCid(m, indexOfHex(m, '8bd82a') + 1, body)
    },
    decode: decodeDealParams
  },
  'DealProposal.PieceCID': { path: 'DealProposal.PieceCID', with: (body) => replaceCid(bytesOf('deal-proposal/secp-string-label'), 1, body), decode: decodeDealProposal },
  'an unknown key of DealStatusRequest': {
    path: 'DealStatusRequest.X',
    with: (body) => {
      const m = bytesOf('deal-status-request/secp')
      assert.equal(m[0], 0xa2)
      return Uint8Array.from([0xa3, 0x61, 0x58, ...tag42(body), ...m.subarray(1)])
    },
    decode: decodeDealStatusRequest
  }
}

const malformedV0: Record<string, number[]> = {
  '0x12 0x21 + 33-byte digest': [0x12, 0x21, ...digest(33)],
  '0x12 0x10 + 16-byte digest': [0x12, 0x10, ...digest(16)],
  '0x12 0x00 (empty digest)': [0x12, 0x00],
  '0x12 0x40 + 64-byte digest': [0x12, 0x40, ...digest(64)]
}

describe('a "CIDv0" other than 0x12 0x20 + 32 bytes is refused as go-cid refuses it', () => {
  for (const [placeName, place] of Object.entries(places)) {
    for (const [formName, body] of Object.entries(malformedV0)) {
      it(`${placeName}: ${formName}`, () => {
        assert.throws(() => place.decode(place.with(body)), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ERR_CBOR_DECODE')
          assert.equal(err.message, `${place.path}: invalid CID: expected 1 as the cid version number, got: 18`)
          return true
        })
      })
    }
    it(`${placeName}: a valid CIDv0 still decodes`, () => {
      assert.doesNotThrow(() => place.decode(place.with([0x12, 0x20, ...digest(32)])))
    })
  }

  it('a valid CIDv0 DealDataRoot decodes to its CID and re-encodes to the same bytes', () => {
    const v0 = CID.decode(Uint8Array.from([0x12, 0x20, ...digest(32)]))
    const b = places['DealParams.DealDataRoot']!.with([0x12, 0x20, ...digest(32)])
    const d = decodeDealParams(b)
    assert.equal(d.dealDataRoot.version, 0)
    assert.ok(d.dealDataRoot.equals(v0))
    assert.deepEqual(encodeDealParams(d), b)
  })
})
