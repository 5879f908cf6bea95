import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DealyardError } from '../../../src/errors.ts'
import * as P from '../../../src/protocol/index.ts'
import { loadVectors, unhex } from './golden.ts'

const vectors = loadVectors().vectors
const bytesOf = (name: string): Uint8Array => unhex(vectors.find((v) => v.name === name)!.hex)
const online = bytesOf('deal-params/online-http-secp')
const proposal = bytesOf('deal-proposal/secp-string-label')
const cat = (...parts: Array<Uint8Array | number[]>): Uint8Array => Uint8Array.from(parts.flatMap((p) => Array.from(p)))
const text = (s: string): number[] => { const b = Buffer.from(s); return [0x60 + b.length, ...b] }

/** Replaces the first occurrence of `find` (hex) in `b` with `repl` (hex). */
function patch (b: Uint8Array, find: string, repl: string): Uint8Array {
  const h = Buffer.from(b).toString('hex')
  const i = h.indexOf(find)
  assert.ok(i >= 0 && i % 2 === 0, `pattern ${find} not found`)
  return unhex(h.slice(0, i) + repl + h.slice(i + find.length))
}

interface Case { input: () => Uint8Array, decode: (b: Uint8Array) => unknown, path: string }

const cases: Record<string, Case> = {
  'a wrong major type names the field': {
    input: () => patch(proposal, '1b0000000800000000', '6461626364'),
    decode: P.decodeDealProposal,
    path: 'DealProposal.PieceSize: expected unsigned integer, got text string'
  },
  'a nested wrong type carries the full path': {
    input: () => patch(online, '1b0000000800000000', '6461626364'),
    decode: P.decodeDealParams,
    path: 'DealParams.ClientDealProposal.Proposal.PieceSize: expected unsigned integer, got text string'
  },
  'truncated input': { input: () => online.subarray(0, online.length - 10), decode: P.decodeDealParams, path: 'DealParams: unexpected end of input' },
  'trailing bytes': { input: () => cat(online, [0x00]), decode: P.decodeDealParams, path: 'DealParams: 1 trailing bytes' },
  'a non-minimal header': { input: () => cat([0xa2], text('Message'), [0x78, 0x00], text('Accepted'), [0xf5]), decode: P.decodeDealResponse, path: 'DealResponse.Message: cbor input was not canonical' },
  'an indefinite-length map': { input: () => cat([0xbf], text('Message'), [0x60], text('Accepted'), [0xf5, 0xff]), decode: P.decodeDealResponse, path: 'DealResponse: invalid header' },
  'a tuple of the wrong length': { input: () => patch(proposal, '8b', '8a'), decode: P.decodeDealProposal, path: 'DealProposal: cbor input had wrong number of fields' },
  'a label that is invalid UTF-8': {
    input: () => patch(proposal, '783b6261667962', '783bff61667962'),
    decode: P.decodeDealProposal,
    path: 'DealProposal.Label: label string not valid utf8'
  },
  'a UUID that is not 16 bytes': { input: () => patch(online, '50' + '9f5c0a3e6b1d4e2f8a7b0c1d2e3f4a5b', '4f' + '9f5c0a3e6b1d4e2f8a7b0c1d2e3f4a'), decode: P.decodeDealParams, path: 'DealParams.DealUUID: expected 16-byte UUID' },
  'a CID without the 0x00 multibase prefix': { input: () => patch(proposal, 'd82a58280001', 'd82a58280101'), decode: P.decodeDealProposal, path: 'DealProposal.PieceCID: cbor serialized CIDs must have binary multibase' },
  'a big int with a bad sign byte': { input: () => patch(proposal, '450003b9aca0', '450203b9aca0'), decode: P.decodeDealProposal, path: 'DealProposal.StoragePricePerEpoch: big int prefix should be either 0 or 1' },
  'an unknown signature type': { input: () => patch(bytesOf('client-deal-proposal/secp-string-label'), '584201', '584209'), decode: P.decodeClientDealProposal, path: 'ClientDealProposal.ClientSignature: invalid signature type' },
  'an empty address': { input: () => patch(proposal, '550104e5', '40550104e5').subarray(0), decode: P.decodeDealProposal, path: 'DealProposal.Client: cbor input should not contain empty addresses' },
  'a 10 MB message': { input: () => new Uint8Array(10_000_000).fill(0x41), decode: P.decodeDealParams, path: 'DealParams: message of 10000000 bytes exceeds' },
  'a map claiming 2^32 entries': { input: () => unhex('bb0000000100000000'), decode: P.decodeDealParams, path: 'DealParams: map too long' },
  'an unknown key whose value is malformed': { input: () => cat([0xa1], text('Bogus'), [0x5a, 0xff, 0xff, 0xff, 0xff]), decode: P.decodeDealResponse, path: 'DealResponse.Bogus: unexpected end of input' },
  'an unknown key nested past the limit': { input: () => cat([0xa1], text('Bogus'), new Array(100).fill(0x81), [0x00]), decode: P.decodeDealResponse, path: 'DealResponse.Bogus: nesting deeper than 64' },
  'empty input': { input: () => new Uint8Array(0), decode: P.decodeAskRequest, path: 'AskRequest: empty input' },
  'a transports entry with an invalid multiaddr': { input: () => cat([0xa1], text('Protocols'), [0x81, 0xa2], text('Name'), text('x'), text('Addresses'), [0x81, 0x42, 0xff, 0xff]), decode: P.decodeTransportsQueryResponse, path: 'QueryResponse.Protocols[0].Addresses[0]: invalid multiaddr' }
}

describe('strict decoders', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`reject ${name} with ERR_CBOR_DECODE naming the field`, () => {
      assert.throws(() => c.decode(c.input()), (err: unknown) => {
        assert.ok(err instanceof DealyardError)
        assert.equal(err.code, 'ERR_CBOR_DECODE')
        assert.ok(err.message.startsWith(c.path), `message ${JSON.stringify(err.message)} does not start with ${JSON.stringify(c.path)}`)
        return true
      })
    })
  }

  it('tell a well-formed message with an int64 beyond ±(2^53-1) (ERR_CBOR_RANGE) from a malformed one', () => {
    const range = (input: Uint8Array, message: string): void => {
      assert.throws(() => P.decodeDealParams(input), (err: unknown) => {
        assert.ok(err instanceof DealyardError)
        assert.equal(err.code, P.ERR_CBOR_RANGE)
        assert.equal(err.message, message)
        return true
      })
    }
    const end = 'DealParams.ClientDealProposal.Proposal.EndEpoch'
    range(patch(online, '1a0057d140', '1b7fffffffffffffff'), `${end}: 9223372036854775807 is out of range (this provider takes integers up to ±9007199254740991)`)
    range(patch(online, '1a0057d140', '3b7fffffffffffffff'), `${end}: -9223372036854775808 is out of range (this provider takes integers up to ±9007199254740991)`)
    // The first one is named; a uint64 piece size of 2^60 too.
    range(patch(patch(online, '1a0057d140', '1b0020000000000000'), '1b0000000800000000', '1b1000000000000000'), 'DealParams.ClientDealProposal.Proposal.PieceSize: 1152921504606846976 is out of range (this provider takes integers up to ±9007199254740991)')
    // Past int64 is malformed for cbor-gen, and so is a message cut after the big value.
    assert.throws(() => P.decodeDealParams(patch(online, '1a0057d140', '1b8000000000000000')), (err: unknown) =>
      err instanceof DealyardError && err.code === 'ERR_CBOR_DECODE' && err.message === `${end}: int64 positive overflow`)
    const cut = patch(online, '1a0057d140', '1b7fffffffffffffff')
    assert.throws(() => P.decodeDealParams(cut.subarray(0, cut.length - 5)), (err: unknown) => err instanceof DealyardError && err.code === 'ERR_CBOR_DECODE')
    // ±(2^53-1) itself is fine.
    const max = P.decodeDealParams(patch(online, '1a0057d140', '1b001fffffffffffff'))
    assert.equal(max.clientDealProposal.proposal.endEpoch, Number.MAX_SAFE_INTEGER)
  })

  it('tell a well-formed message missing a field (ERR_CBOR_MISSING, after a full read) from a malformed one', () => {
    const missing = (input: Uint8Array, decode: (b: Uint8Array) => unknown, message: string): void => {
      assert.throws(() => decode(input), (err: unknown) => {
        assert.ok(err instanceof DealyardError)
        assert.equal(err.code, P.ERR_CBOR_MISSING)
        assert.equal(err.message, message)
        return true
      })
    }
    missing(cat([0xa1], text('Accepted'), [0xf5]), P.decodeDealResponse, 'DealResponse: missing field Message')
    // DealParams without its Transfer: the key and its map renamed to one the decoder skips.
    const noTransfer = patch(online, Buffer.from('Transfer').toString('hex'), Buffer.from('Xransfer').toString('hex'))
    missing(noTransfer, P.decodeDealParams, 'DealParams: missing field Transfer')
    // A nested struct lacking a field is named by its path.
    const noType = patch(online, '64' + Buffer.from('Type').toString('hex'), '64' + Buffer.from('Xype').toString('hex'))
    missing(noType, P.decodeDealParams, 'DealParams.Transfer: missing field Type')
    // Missing and malformed: the malformed part wins (no answer), as with cbor-gen.
    assert.throws(() => P.decodeDealParams(cat(noTransfer, [0x00])), (err: unknown) => err instanceof DealyardError && err.code === 'ERR_CBOR_DECODE')
    assert.throws(() => P.decodeDealParams(noTransfer.subarray(0, noTransfer.length - 3)), (err: unknown) => err instanceof DealyardError && err.code === 'ERR_CBOR_DECODE')
  })

  it('skip unknown keys anywhere in a map, as cbor-gen does', () => {
    const withExtra = cat([0xa3], text('Zzz'), [0x82, 0xd8, 0x2a, 0x45, 0x00, 0x01, 0x55, 0x00, 0x00, 0xa0], text('Message'), text('no'), text('Accepted'), [0xf4])
    assert.deepEqual(P.decodeDealResponse(withExtra), { accepted: false, message: 'no' })
  })

  it('take the last of repeated keys, as cbor-gen does', () => {
    const repeated = cat([0xa3], text('Accepted'), [0xf5], text('Message'), [0x60], text('Accepted'), [0xf4])
    assert.equal(P.decodeDealResponse(repeated).accepted, false)
  })

  it('accept keys in any order', () => {
    const swapped = cat([0xa2], text('Accepted'), [0xf5], text('Message'), text('ok'))
    assert.deepEqual(P.decodeDealResponse(swapped), { accepted: true, message: 'ok' })
  })

  it('encode the 1.2.1 booleans only in the 7-key form', () => {
    const d = P.decodeDealParams(online)
    assert.equal(P.encodeDealParams(d)[0], 0xa7)
    assert.equal(P.encodeDealParamsV120(d)[0], 0xa5)
  })

  it('refuse to encode values cbor-gen would refuse', () => {
    const r = { accepted: false, message: 'x'.repeat(8193) }
    assert.throws(() => P.encodeDealResponse(r), (err: unknown) => err instanceof DealyardError && err.code === 'ERR_CBOR_ENCODE')
    const d = P.decodeDealParams(online)
    assert.throws(() => P.encodeDealParams({ ...d, dealUuid: 'not-a-uuid' }), (err: unknown) => err instanceof DealyardError && err.code === 'ERR_CBOR_ENCODE')
  })

  it('round-trip negative epochs and token amounts in the forms boost writes', () => {
    const p = P.decodeDealProposal(proposal)
    const q = { ...p, startEpoch: -1, storagePricePerEpoch: -1n, providerCollateral: 10n ** 18n }
    const b = P.encodeDealProposal(q)
    const h = Buffer.from(b).toString('hex')
    assert.ok(h.includes('20'))
    assert.ok(h.includes('420101'))
    assert.ok(h.includes('49000de0b6b3a7640000'))
    assert.deepEqual(P.decodeDealProposal(b), q)
  })
})
