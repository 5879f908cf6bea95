/**
 * FullNodeClient against the Lotus peer (go-jsonrpc + lotus/api proxies): every method the engine
 * uses, permissions, and a PublishStorageDeals built by our code that go-state-types decodes and
 * whose secp256k1 and BLS client signatures verify in Go.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import {
  FullNodeClient, LotusRpcError, RpcCode, decodePublishStorageDealsReturn, dealIdAt,
  publishResultFromReturnDec, publishStorageDealsMessage, publishStorageDealsParams
} from '../../../src/lotus/index.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { Address } from '../../../src/filecoin/address.ts'
import { verifySignature } from '../../../src/filecoin/signature.ts'
import { walletSign } from '../../../src/lotus/wallet.ts'
import { startLotusPeer, type LotusPeer } from '../../support/lotus-peer.ts'
import { FIL, addr, fundedClient, makePiece, signedDeal, type Client } from './deals.ts'

describe('FullNodeClient against the Lotus peer', () => {
  let peer: LotusPeer
  let full: FullNodeClient
  let secp: Client
  let bls: Client

  before(async () => {
    peer = await startLotusPeer({ blockTimeMs: 150, seed: { minerEscrow: 100n * FIL } })
    full = new FullNodeClient(peer.fullNode)
    secp = await fundedClient(peer, 'secp256k1', 20n * FIL, 1n << 40n)
    bls = await fundedClient(peer, 'bls')
  })
  after(async () => { await peer.stop() })

  it('reads the chain head, version and network version', async () => {
    const a = await full.chainHead()
    assert.equal(a.key.length, 1)
    assert.match(a.key[0]!, /^bafy2bzace/)
    assert.deepEqual(a.miners.map(addr), [addr(peer.minerAddress)])
    const h = await peer.advance(2)
    const b = await full.chainHead()
    assert.ok(b.height >= h && b.height >= a.height + 2)
    assert.notDeepEqual(b.key, a.key)
    assert.equal((await full.version()).apiVersion, 0x020300)
    assert.equal(await full.stateNetworkVersion(), 27)
  })

  it('resolves accounts: ID <-> key address, unknown actors as rpc code 11', async () => {
    assert.equal(await full.stateLookupID(secp.address), secp.id)
    assert.equal(await full.stateAccountKey(secp.id), secp.address)
    assert.equal(await full.stateAccountKey(bls.address), bls.address)
    await assert.rejects(full.stateLookupID('t0999999'), (err: unknown) => {
      assert.ok(err instanceof LotusRpcError)
      assert.equal(err.code, 'ERR_LOTUS_RPC')
      assert.equal(err.rpcCode, RpcCode.ActorNotFound)
      return true
    })
  })

  it('reads miner info, balances, collateral bounds and DataCap', async () => {
    const info = await full.stateMinerInfo(peer.minerAddress)
    assert.equal(addr(info.worker), addr(peer.workerAddress))
    assert.equal(info.newWorker, null)
    assert.equal(info.sectorSize, 32 * 2 ** 30)
    assert.match(info.peerId ?? '', /^12D3Koo/)
    const bal = await full.stateMarketBalance(secp.address)
    assert.deepEqual(bal, { escrow: 20n * FIL, locked: 0n })
    assert.equal(await full.walletBalance(secp.address), 100n * FIL)
    assert.equal(await full.walletBalance(generateKey('secp256k1').address.toString('t')), 0n)
    const bounds = await full.stateDealProviderCollateralBounds(2 ** 30, false)
    assert.equal(bounds.min, 1_000_000_000n)
    assert.ok(bounds.max > bounds.min)
    assert.equal(await full.stateVerifiedClientStatus(secp.address), 1n << 40n)
    assert.equal(await full.stateVerifiedClientStatus(bls.address), null)
  })

  it('refuses a push with a read-only token (code 1) and a bad token (HTTP 401)', async () => {
    const ro = new FullNodeClient({ url: peer.fullNode.url, token: peer.readToken })
    await assert.rejects(ro.mpoolPushMessage({ to: 't05', from: peer.workerAddress, method: 0 }), (err: unknown) => {
      assert.ok(err instanceof LotusRpcError)
      assert.equal(err.code, 'ERR_LOTUS_RPC')
      assert.equal(err.rpcCode, RpcCode.MethodError)
      assert.match(err.message, /missing permission to invoke 'MpoolPushMessage' \(need 'sign'\)/)
      return true
    })
    const bad = new FullNodeClient({ url: peer.fullNode.url, token: 'not-a-jwt' })
    await assert.rejects(bad.chainHead(), { name: 'LotusRpcError', code: 'ERR_LOTUS_AUTH' })
  })

  it('adds escrow with MarketAddBalance and waits for it', async () => {
    const before = await full.stateMarketBalance(peer.minerAddress)
    const cid = await full.marketAddBalance(peer.workerAddress, peer.minerAddress, 3n * FIL)
    const lookup = await full.stateWaitMsg(cid, 1)
    assert.equal(lookup.receipt.exitCode, 0)
    assert.equal(lookup.message, cid)
    const after = await full.stateMarketBalance(peer.minerAddress)
    assert.equal(after.escrow - before.escrow, 3n * FIL)
  })

  it('publishes deals from secp256k1 and BLS clients; Go decodes the params and verifies both signatures', async () => {
    const head = await full.chainHead()
    const piece = makePiece(3000, 4096)
    const start = head.height + 2000
    const d1 = signedDeal({ client: secp, provider: peer.minerAddress, pieceCid: piece.pieceCid, pieceSize: 4096, start, providerCollateral: 5n })
    const d2 = signedDeal({ client: bls, provider: peer.minerAddress, pieceCid: piece.pieceCid, pieceSize: 4096, start: start + 1 })
    // A third deal whose signature was tampered with (one bit of r): the actor drops it, keeps the rest.
    const forged = signedDeal({ client: secp, provider: peer.minerAddress, pieceCid: piece.pieceCid, pieceSize: 4096, start: start + 2 })
    const forgedCbor = Uint8Array.from(forged.cbor)
    forgedCbor[forgedCbor.length - 40]! ^= 1
    const params = publishStorageDealsParams([d1.cbor, forgedCbor, d2.cbor])
    assert.deepEqual([...params.subarray(0, 3)], [0x81, 0x83, 0x82])
    const msgUuid = randomUUID()
    const sm = await full.mpoolPushMessage(publishStorageDealsMessage(peer.workerAddress, params), { maxFee: FIL / 20n, msgUuid })
    assert.equal(sm.message.method, 4)
    assert.equal(sm.signature.type, 1)
    assert.ok(sm.message.gasLimit > 0)
    assert.ok(sm.message.gasFeeCap * BigInt(sm.message.gasLimit) <= FIL / 20n)

    const lookup = await full.stateWaitMsg(sm.cid, 3)
    assert.equal(lookup.receipt.exitCode, 0)
    const head2 = await full.chainHead()
    assert.ok(head2.height >= lookup.height + 3, 'confidence epochs were waited for')
    const fromDec = publishResultFromReturnDec(lookup.returnDec)
    assert.deepEqual(fromDec.validDeals, [0, 2])
    assert.equal(dealIdAt(fromDec, 1), undefined)
    assert.ok(lookup.receipt.return !== null)
    assert.deepEqual(decodePublishStorageDealsReturn(lookup.receipt.return), fromDec)

    const search = await full.stateSearchMsg(sm.cid)
    assert.ok(search !== null)
    assert.equal(search.returnDec, null)
    assert.equal(search.height, lookup.height)

    const id1 = dealIdAt(fromDec, 0)!
    const deal = await full.stateMarketStorageDeal(id1)
    assert.equal(deal.proposal.pieceCid, piece.pieceCid)
    assert.equal(deal.proposal.client, secp.id, 'the chain stores the client as an ID address')
    assert.equal(deal.proposal.startEpoch, start)
    assert.equal(deal.proposal.providerCollateral, 5n)
    assert.deepEqual(deal.state, { sectorNumber: 0, sectorStartEpoch: -1, lastUpdatedEpoch: -1, slashEpoch: -1 })
    const bal = await full.stateMarketBalance(secp.address)
    assert.equal(bal.locked, 1000n * 518_400n)

    const intro = await peer.introspect()
    assert.equal(intro.publishes[d1.proposalCid], 1)
    assert.equal(intro.publishes[d2.proposalCid], 1)
    assert.equal(intro.publishes[forged.proposalCid], undefined)
    assert.match(intro.publishLog.find((e) => e.proposalCid === forged.proposalCid)?.reason ?? '', /signature/)
  })

  it('pushes once per MsgUuid and lets the actor reject an already published proposal', async () => {
    const head = await full.chainHead()
    const piece = makePiece(1000, 2048)
    const d = signedDeal({ client: secp, provider: peer.minerAddress, pieceCid: piece.pieceCid, pieceSize: 2048, start: head.height + 3000 })
    const msg = publishStorageDealsMessage(peer.workerAddress, publishStorageDealsParams([d.cbor]))
    const msgUuid = randomUUID()
    const a = await full.mpoolPushMessage(msg, { msgUuid })
    const b = await full.mpoolPushMessage(msg, { msgUuid })
    assert.equal(b.cid, a.cid)
    const sent = (await peer.introspect()).messages.filter((m) => m.msgUuid === msgUuid)
    assert.equal(sent.length, 1)
    assert.equal((await full.stateWaitMsg(a.cid, 0)).receipt.exitCode, 0)

    // The same proposal under a new UUID is a second message; the market actor refuses the duplicate.
    const c = await full.mpoolPushMessage(msg, { msgUuid: randomUUID() })
    assert.notEqual(c.cid, a.cid)
    const l = await full.stateWaitMsg(c.cid, 0)
    assert.equal(l.receipt.exitCode, 16, 'USR_ILLEGAL_ARGUMENT: all deal proposals invalid')
    assert.equal((await peer.introspect()).publishes[d.proposalCid], 1)
  })

  it('finds nothing for a message that is not on chain and fails a wait on an unknown CID', async () => {
    const unknown = 'bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4'
    assert.equal(await full.stateSearchMsg(unknown), null)
    await assert.rejects(full.stateWaitMsg(unknown, 0, -1, true, { timeoutMs: 5000 }), { code: 'ERR_LOTUS_RPC' })
    await assert.rejects(full.stateWaitMsg(unknown, 901), { code: 'ERR_LOTUS_RPC' })
  })

  it('signs with the worker key through WalletSign (boost signs its ask this way)', async () => {
    const msg = new TextEncoder().encode('storage ask cbor')
    const sig = await walletSign(full, peer.workerAddress, msg)
    assert.equal(sig.type, 1)
    assert.ok(verifySignature(sig, Address.fromString(peer.workerKey), msg))
    assert.ok(!verifySignature(sig, Address.fromString(peer.workerKey), new TextEncoder().encode('other')))
    await assert.rejects(walletSign(full, secp.address, msg), { code: 'ERR_LOTUS_RPC' }, 'the node holds no client keys')
  })

  it('gets the pushed message back with ChainGetMessage', async () => {
    const sm = await full.mpoolPushMessage({ to: secp.address, from: peer.workerAddress, method: 0, value: 7n })
    const m = await full.chainGetMessage(sm.cid)
    assert.equal(m.value, 7n)
    assert.equal(m.nonce, sm.message.nonce)
    await full.stateWaitMsg(sm.cid, 0)
    assert.equal(await full.walletBalance(secp.address), 100n * FIL + 7n)
  })
})
