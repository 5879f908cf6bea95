/**
 * Decoding and encoding Lotus JSON, against fixtures the Lotus peer printed with Lotus's own
 * encoders (api.MinerInfo, types.SignedMessage, api.MsgLookup, piece.PieceDealInfo, ...).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  decodeDealProposal, decodeMarketDeal, decodeMinerInfo, decodeMsgLookup, decodeSectorInfo, decodeSignedMessage,
  decodeTipSet, encodeMessage, encodePieceDealInfo, encodeSendSpec
} from '../../../src/lotus/codec.ts'
import { LotusRpcError, publishResultFromReturnDec, decodePublishStorageDealsReturn } from '../../../src/lotus/index.ts'
import { b64, fixtures, toB64 } from './fixtures.ts'

const f = (name: string): { lotus: unknown, expect: Record<string, unknown> } => {
  const x = fixtures[name]
  assert.ok(x !== undefined, `fixture ${name}`)
  return x
}

describe('Lotus JSON codec (fixtures from Lotus encoders)', () => {
  it('decodes a TipSet', () => {
    const x = f('tipset')
    assert.deepEqual(decodeTipSet(x.lotus), x.expect)
  })

  it('decodes MinerInfo, reading address.Undef ("<empty>") as null', () => {
    const x = f('minerInfo')
    const m = decodeMinerInfo(x.lotus)
    assert.deepEqual({ ...m, multiaddrs: m.multiaddrs.map(toB64) }, x.expect)
  })

  it('decodes a SignedMessage with its chain CID', () => {
    const x = f('signedMessage')
    const e = x.expect as { cid: string, messageCid: string, message: Record<string, unknown>, signature: { type: number, data: string } }
    const sm = decodeSignedMessage(x.lotus)
    assert.equal(sm.cid, e.cid)
    assert.notEqual(sm.cid, e.messageCid, 'a secp256k1 message is known on chain by its signed CID')
    assert.deepEqual({
      ...sm.message,
      value: sm.message.value.toString(),
      gasFeeCap: sm.message.gasFeeCap.toString(),
      gasPremium: sm.message.gasPremium.toString(),
      params: toB64(sm.message.params)
    }, e.message)
    assert.deepEqual({ type: sm.signature.type, data: toB64(sm.signature.data) }, e.signature)
  })

  it('encodes an unsigned message as Lotus does (minus the output-only CID)', () => {
    const x = f('unsignedMessage')
    const e = x.expect as { to: string, from: string, method: number, params: string }
    const { CID: _cid, ...lotus } = x.lotus as Record<string, unknown>
    assert.deepEqual(encodeMessage({ to: e.to, from: e.from, method: e.method, params: b64(e.params) }), lotus)
  })

  it('encodes a MessageSendSpec as Lotus does', () => {
    const x = f('sendSpec')
    assert.deepEqual(encodeSendSpec({ maxFee: 50_000_000_000_000_000n, msgUuid: '6f1c2b1e-6a43-4b8a-9a8e-1f2d3c4b5a69' }), x.lotus)
  })

  it('decodes a MsgLookup and reads the PSD result from ReturnDec and from the receipt bytes alike', () => {
    const x = f('msgLookup')
    const e = x.expect as Record<string, unknown> & { receipt: Record<string, unknown>, ids: number[], validDeals: number[] }
    const l = decodeMsgLookup(x.lotus)
    assert.equal(l.message, e.message)
    assert.deepEqual(l.tipSet, e.tipSet)
    assert.equal(l.height, e.height)
    assert.deepEqual({ ...l.receipt, return: toB64(l.receipt.return) }, e.receipt)
    const expected = { ids: e.ids, validDeals: e.validDeals }
    assert.deepEqual(publishResultFromReturnDec(l.returnDec), expected)
    assert.deepEqual(decodePublishStorageDealsReturn(l.receipt.return!), expected)
  })

  it('decodes a MarketDeal', () => {
    const x = f('marketDeal')
    const d = decodeMarketDeal(x.lotus)
    const p = d.proposal
    assert.deepEqual({
      proposal: { ...p, storagePricePerEpoch: p.storagePricePerEpoch.toString(), providerCollateral: p.providerCollateral.toString(), clientCollateral: p.clientCollateral.toString() },
      state: d.state
    }, x.expect)
  })

  it('encodes legacy and DDO PieceDealInfo byte-for-byte like the Go client', () => {
    const legacy = f('pieceDealInfoLegacy').lotus as Record<string, unknown>
    const proposal = decodeDealProposal(legacy.DealProposal)
    const encoded = encodePieceDealInfo({
      publishCid: (legacy.PublishCid as { '/': string })['/'], dealId: 100, dealProposal: proposal,
      dealSchedule: { startEpoch: 5000, endEpoch: 600000 }, keepUnsealed: true
    })
    assert.equal(JSON.stringify(encoded), JSON.stringify(legacy))
    const ddo = f('pieceDealInfoDDO').lotus as { PieceActivationManifest: { CID: { '/': string } } }
    const encodedDdo = encodePieceDealInfo({
      publishCid: null, dealId: 0, dealProposal: null, dealSchedule: { startEpoch: 5000, endEpoch: 600000 },
      pieceActivationManifest: { cid: ddo.PieceActivationManifest.CID['/'], size: 2048, verifiedAllocationKey: { client: 1002, id: 77 }, notify: [{ address: 't01000', payload: Uint8Array.of(9, 9) }] },
      keepUnsealed: false
    })
    assert.equal(JSON.stringify(encodedDdo), JSON.stringify(ddo))
  })

  it('decodes SectorInfo with legacy and DDO pieces', () => {
    const x = f('sectorInfo')
    assert.deepEqual(decodeSectorInfo(x.lotus), x.expect)
  })

  // The real MarketDeal with one field changed each.
  const mutated = (change: (d: { Proposal: Record<string, unknown> }) => void): unknown => {
    const d = structuredClone(f('marketDeal').lotus) as { Proposal: Record<string, unknown> }
    change(d)
    return d
  }
  const broken: Record<string, [unknown, RegExp]> = {
    'a big int as a number': [mutated((d) => { d.Proposal.ProviderCollateral = 5 }), /^MarketDeal\.Proposal\.ProviderCollateral: expected a decimal big integer/],
    'a CID without "/"': [mutated((d) => { d.Proposal.PieceCID = 'baga6ea4sea' }), /^MarketDeal\.Proposal\.PieceCID: expected an object/],
    'a fractional epoch': [mutated((d) => { d.Proposal.StartEpoch = 1.5 }), /^MarketDeal\.Proposal\.StartEpoch: expected an integer/]
  }
  for (const [name, [v, where]] of Object.entries(broken)) {
    it(`names the path of a malformed field: ${name}`, () => {
      assert.throws(() => decodeMarketDeal(v), (err: unknown) => {
        assert.ok(err instanceof LotusRpcError)
        assert.equal(err.code, 'ERR_LOTUS_DECODE')
        assert.match(err.message, where)
        return true
      })
    })
  }
})
