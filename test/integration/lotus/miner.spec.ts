/**
 * MinerClient against the Lotus peer, whose /rpc/v0 decodes reader params with lotus/lib/rpcenc:
 * streamed AddPiece (HEAD-then-POST push), the miner's CommP check, dedupe by deal key, the null
 * reader, ComputeDataCid, and sectors moving to Proving with the deal activated on chain.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import {
  FullNodeClient, LotusRpcError, MinerClient, dealIdAt, publishResultFromReturnDec, publishStorageDealsMessage,
  publishStorageDealsParams, pushBaseUrl, type PieceDealInfo
} from '../../../src/lotus/index.ts'
import { startLotusPeer, type LotusPeer } from '../../support/lotus-peer.ts'
import { FIL, addr, fundedClient, makePiece, signedDeal, type Client, type Piece } from './deals.ts'

function chunks (b: Uint8Array, size: number): Readable {
  const parts: Uint8Array[] = []
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size))
  return Readable.from(parts)
}

describe('MinerClient against the Lotus peer', () => {
  let peer: LotusPeer
  let full: FullNodeClient
  let miner: MinerClient
  let client: Client

  before(async () => {
    peer = await startLotusPeer({ blockTimeMs: 100, startEpochSealingBuffer: 10, seed: { minerEscrow: 10n * FIL } })
    full = new FullNodeClient(peer.fullNode)
    miner = new MinerClient(peer.miner)
    client = await fundedClient(peer, 'secp256k1')
  })
  after(async () => { await peer.stop() })

  /** Publishes one deal for `piece` and returns the AddPiece deal info for it. */
  async function publish (piece: Piece): Promise<PieceDealInfo> {
    const head = await full.chainHead()
    const d = signedDeal({ client, provider: peer.minerAddress, pieceCid: piece.pieceCid, pieceSize: piece.paddedSize, start: head.height + 500 })
    const sm = await full.mpoolPushMessage(publishStorageDealsMessage(peer.workerAddress, publishStorageDealsParams([d.cbor])), { msgUuid: randomUUID() })
    const lookup = await full.stateWaitMsg(sm.cid, 0)
    const dealId = dealIdAt(publishResultFromReturnDec(lookup.returnDec), 0)
    assert.ok(dealId !== undefined)
    return {
      publishCid: lookup.message, dealId, dealProposal: d.lotus,
      dealSchedule: { startEpoch: d.lotus.startEpoch, endEpoch: d.lotus.endEpoch }, keepUnsealed: true
    }
  }

  it('derives the push URL as Lotus does', () => {
    assert.equal(pushBaseUrl('http://127.0.0.1:2345/rpc/v0'), 'http://127.0.0.1:2345/rpc/streams/v0/push')
    assert.equal(pushBaseUrl('ws://h:1/rpc/v0'), 'http://h:1/rpc/streams/v0/push')
  })

  it('reads the actor address', async () => {
    assert.equal(addr(await miner.actorAddress()), addr(peer.minerAddress))
    assert.equal((await miner.version()).apiVersion, 0x010500)
  })

  it('streams a piece shorter than its size, zero-padded, and seals it to Proving with the deal active', async () => {
    const piece = makePiece(300_000, 512 * 1024)
    const info = await publish(piece)
    const off = await miner.sectorAddPieceToAny(piece.unpaddedSize, chunks(piece.payload, 65536), info)
    assert.equal(off.offset % piece.paddedSize, 0)
    let intro = await peer.introspect()
    const added = intro.pieces.find((p) => p.pieceCid === piece.pieceCid)
    assert.ok(added !== undefined)
    assert.equal(added.receivedBytes, piece.unpaddedSize)
    assert.equal(added.sector, off.sector)

    let status = await miner.sectorsStatus(off.sector)
    assert.ok(['WaitDeals', 'Packing', 'GetTicket', 'PreCommit1'].includes(status.state), status.state)
    assert.deepEqual(status.pieces.map((p) => p.pieceCid), [piece.pieceCid])
    assert.deepEqual(status.deals, [info.dealId])
    assert.ok((await miner.sectorsList()).includes(off.sector))
    await peer.advance(20)
    status = await miner.sectorsStatus(off.sector)
    assert.equal(status.state, 'Proving')
    assert.ok(status.activation > 0)
    assert.match(status.commR ?? '', /^bafy/)
    assert.ok(status.log.length >= 10)
    const deal = await full.stateMarketStorageDeal(info.dealId)
    assert.equal(deal.state.sectorNumber, off.sector)
    assert.equal(deal.state.sectorStartEpoch, status.activation)
    intro = await peer.introspect()
    assert.equal(intro.deals[String(info.dealId)]?.sector, off.sector)
  })

  it('returns the same placement when the same deal is added again', async () => {
    const piece = makePiece(1000, 2048)
    const info = await publish(piece)
    const a = await miner.sectorAddPieceToAny(piece.unpaddedSize, [piece.payload], info)
    const b = await miner.sectorAddPieceToAny(piece.unpaddedSize, [piece.payload], info)
    assert.deepEqual(b, a)
    assert.equal((await peer.introspect()).pieces.filter((p) => p.pieceCid === piece.pieceCid).length, 1)
  })

  it('has the miner reject data whose CommP does not match the deal', async () => {
    const piece = makePiece(1000, 2048)
    const info = await publish(piece)
    const other = Uint8Array.from(piece.payload)
    other[500]! ^= 0xff
    await assert.rejects(miner.sectorAddPieceToAny(piece.unpaddedSize, [other], info), (err: unknown) => {
      assert.ok(err instanceof LotusRpcError)
      assert.equal(err.code, 'ERR_LOTUS_RPC')
      assert.match(err.message, /got unexpected piece CID/)
      return true
    })
    assert.ok((await peer.introspect()).rejects.some((r) => r.includes(piece.pieceCid)))
    // The failed add is not remembered: the right bytes go through afterwards.
    const ok = await miner.sectorAddPieceToAny(piece.unpaddedSize, [piece.payload], info)
    assert.ok(ok.sector > 0)
  })

  it('fails an upload of data longer than the piece, and a size that is not a piece size, with ERR_LOTUS_STREAM', async () => {
    const piece = makePiece(1000, 2048)
    const info = await publish(piece)
    await assert.rejects(miner.sectorAddPieceToAny(piece.unpaddedSize, [new Uint8Array(piece.unpaddedSize + 1)], info),
      { name: 'LotusRpcError', code: 'ERR_LOTUS_STREAM' })
    await assert.rejects(miner.sectorAddPieceToAny(2000, [piece.payload], info), { code: 'ERR_LOTUS_STREAM' })
  })

  it('refuses a deal whose start epoch is inside the sealing buffer', async () => {
    const piece = makePiece(1000, 2048)
    const info = await publish(piece)
    const head = await full.chainHead()
    const late = { ...info, dealSchedule: { startEpoch: head.height + 5, endEpoch: head.height + 100_000 } }
    await assert.rejects(miner.sectorAddPieceToAny(piece.unpaddedSize, [piece.payload], late), /has passed deal proposal start epoch/)
  })

  it('computes a piece CID remotely (ComputeDataCid) over a stream and over the null reader', async () => {
    const piece = makePiece(5000, 8192)
    const r = await miner.computeDataCid(piece.unpaddedSize, chunks(piece.payload, 1000))
    assert.deepEqual(r, { size: 8192, pieceCid: piece.pieceCid })
    const zero = await miner.computeDataCid(2032, null)
    assert.equal(zero.pieceCid, makePieceZero(2048))
  })

  it('turns a failed upload into ERR_LOTUS_STREAM', async () => {
    const piece = makePiece(1000, 2048)
    async function * broken (): AsyncGenerator<Uint8Array> {
      yield piece.payload.subarray(0, 100)
      throw new Error('disk went away')
    }
    await assert.rejects(miner.computeDataCid(piece.unpaddedSize, broken()), (err: unknown) => {
      assert.ok(err instanceof LotusRpcError)
      assert.equal(err.code, 'ERR_LOTUS_STREAM')
      assert.match(err.message, /disk went away|upload failed/)
      return true
    })
  })
})

function makePieceZero (padded: number): string {
  return makePiece(0, padded).pieceCid
}
