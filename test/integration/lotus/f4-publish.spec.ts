/**
 * The Lotus peer's market for f410 clients, as builtin-actors' market checks them at publish: it
 * asks the client actor (AuthenticateMessage, read-only) and needs CBOR true back. An EthAccount
 * answers exit 0 with nothing, so its deals are dropped; a contract that accepts gets its deal.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { FullNodeClient, publishResultFromReturnDec, publishStorageDealsMessage, publishStorageDealsParams } from '../../../src/lotus/index.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { encodeClientDealProposal, encodeDealProposal } from '../../../src/protocol/index.ts'
import { startLotusPeer, type LotusPeer } from '../../support/lotus-peer.ts'
import { delegatedKey, signDelegated } from '../../support/delegated.ts'
import { FIL, makePiece, signedDeal } from './deals.ts'

describe('Lotus peer: publishing deals of f410 clients', () => {
  let peer: LotusPeer
  let full: FullNodeClient
  before(async () => {
    peer = await startLotusPeer({ blockTimeMs: 150, seed: { minerEscrow: 100n * FIL } })
    full = new FullNodeClient(peer.fullNode)
  })
  after(async () => { await peer.stop() })

  it('publishes a contract client\'s deal and drops an EthAccount\'s (no CBOR true from AuthenticateMessage)', async () => {
    const eth = delegatedKey()
    const contract = delegatedKey()
    await peer.seed({ accounts: [
      { address: eth.address.toString('t'), actor: 'ethaccount', escrow: 10n * FIL },
      { address: contract.address.toString('t'), actor: 'contract-accepts', escrow: 10n * FIL }
    ] })
    const head = await full.chainHead()
    const piece = makePiece(1000, 2048)
    const deal = (k: typeof eth, start: number): ReturnType<typeof signedDeal> => {
      // Built with a throwaway key, then signed as the f410 wallet signs.
      const d = signedDeal({ client: { key: generateKey('secp256k1'), address: k.address.toString('t'), id: '' }, provider: peer.minerAddress, pieceCid: piece.pieceCid, pieceSize: 2048, start })
      d.signed.clientSignature = signDelegated(k, encodeDealProposal(d.signed.proposal))
      return { ...d, cbor: encodeClientDealProposal(d.signed) }
    }
    const dc = deal(contract, head.height + 2000)
    const de = deal(eth, head.height + 2001)
    const sm = await full.mpoolPushMessage(publishStorageDealsMessage(peer.workerAddress, publishStorageDealsParams([dc.cbor, de.cbor])), { maxFee: FIL / 20n, msgUuid: randomUUID() })
    const lookup = await full.stateWaitMsg(sm.cid, 1)
    assert.equal(lookup.receipt.exitCode, 0)
    assert.deepEqual(publishResultFromReturnDec(lookup.returnDec).validDeals, [0])
    const intro = await peer.introspect()
    assert.equal(intro.publishes[dc.proposalCid], 1)
    assert.equal(intro.publishLog.find((e) => e.proposalCid === de.proposalCid)?.reason, 'proposal authentication failed')
  })
})
