/**
 * Interop with boost's client side: the Go program in boostclient/ (boost's lp2pimpl DealClient
 * framing re-implemented on boost's cbor-gen'd wire types and go-libp2p, since boost's module cannot
 * be fetched here) dials the TS ingress, proposes an online deal (mk/1.2.1) and an offline one
 * (7-key form on mk/1.2.0, as `boost deal` v1.7–v2.5.2 sends every deal), resends one, queries status signed
 * with the client key, and asks. Asserts its view and the StorageDeals that resulted.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StorageDeals } from '../../src/api/index.ts'
import type { StorageDeal } from '../../src/api/index.ts'
import { Core, type KubeObject } from '../../src/kube/rest.ts'
import { encodeKeyFile } from '../../src/filecoin/keys.ts'
import { cachedBinary } from '../support/build.ts'
import { startEnv, randomPiece, ROOT, SEAL_EPOCHS, type Env } from '../integration/ingress/env.ts'

const run = promisify(execFile)

interface DealView { dealUuid: string, protocol: string, accepted: boolean, message: string, error?: string, signedProposalCid: string, proposalCid: string }
interface StatusView { error: string, dealUuid: string, isOffline: boolean, transferSize: number, status: string, signedProposalCid: string, publishCid: unknown, proposalMatches: boolean, transportError?: string }
interface Seen {
  identifyProtocols: string[]
  signedRecordAddrs?: string[]
  peerstoreAddrs: string[]
  online: DealView, offline: DealView, duplicate: DealView, reconnected: DealView
  status: StatusView, statusOffline: StatusView, statusUnknown: StatusView
  ask: { null: boolean, miner: string, price: string, minPieceSize: number, maxPieceSize: number, seqNo: number, signed: boolean }
  askOther: { null: boolean }
}

describe('interop: boost\'s client framing (Go, go-libp2p, boost wire types) against the TS ingress', () => {
  let env: Env
  let seen: Seen
  let bin: string
  before(async () => {
    bin = await cachedBinary('test/interop/boostclient/build.sh')
    env = await startEnv('interop-boost')
    const dir = await mkdtemp(join(tmpdir(), 'dealyard-interop-'))
    await writeFile(join(dir, 'client.key'), encodeKeyFile(env.client.key))
    const head = (await env.full.chainHead()).height
    const out = await run(bin, [
      '-addr', env.addr, '-key', join(dir, 'client.key'), '-provider', env.peer.minerAddress,
      '-start', String(head + SEAL_EPOCHS + 50), '-piece-online', randomPiece(), '-piece-offline', randomPiece(),
      '-root', ROOT, '-url', 'http://127.0.0.1:9/data.car', '-collateral', '2000'
    ], { maxBuffer: 1 << 24, timeout: 120_000 })
    seen = JSON.parse(out.stdout) as Seen
  })
  after(async () => { await env?.close() })

  it('finds every deal protocol through identify', () => {
    assert.deepEqual(new Set(seen.identifyProtocols), new Set(['/fil/storage/mk/1.2.1', '/fil/storage/mk/1.2.0', '/fil/storage/status/1.2.0', '/fil/storage/ask/1.1.0']))
  })

  it('takes the signed peer record identify sends: go-libp2p checked it and keeps its addresses', () => {
    const addrs = env.ingress.host.addresses().map((a) => a.replace(/\/p2p\/[^/]+$/, ''))
    assert.deepEqual(seen.signedRecordAddrs, addrs)
    // go-libp2p replaces what it knew with the record's addresses (none at all if the record fails)
    assert.deepEqual(seen.peerstoreAddrs, addrs)
  })

  it('gets a deal accepted on a new connection, as `boost deal` sends each one', () => {
    assert.deepEqual({ accepted: seen.reconnected.accepted, message: seen.reconnected.message, error: seen.reconnected.error }, { accepted: true, message: '', error: undefined })
  })

  it('gets its online deal accepted on mk/1.2.1; the StorageDeal and Secret match what Go sent', async () => {
    assert.deepEqual({ accepted: seen.online.accepted, message: seen.online.message, protocol: seen.online.protocol, error: seen.online.error }, { accepted: true, message: '', protocol: '/fil/storage/mk/1.2.1', error: undefined })
    const deal = await env.rest.get<StorageDeal & KubeObject>(StorageDeals, env.namespace, seen.online.dealUuid)
    // CIDs computed by go-cbor-util (refmt) and go-state-types equal the ones the ingress stored.
    assert.equal(deal.spec.signedProposalCid, seen.online.signedProposalCid)
    assert.equal(deal.spec.proposalCid, seen.online.proposalCid)
    assert.equal(deal.spec.proposal.client.slice(1), env.client.address.slice(1))
    assert.equal(deal.spec.proposal.label, ROOT)
    const secret = await env.rest.get<KubeObject & { data: Record<string, string> }>(Core.secrets, env.namespace, `${seen.online.dealUuid}-transfer`)
    assert.deepEqual(JSON.parse(Buffer.from(secret.data['params.json']!, 'base64').toString()), { URL: 'http://127.0.0.1:9/data.car', Headers: { Authorization: 'Basic dTpw' } })
  })

  it('gets its offline deal (7 keys on mk/1.2.0) accepted with both 1.2.1 booleans kept', async () => {
    assert.equal(seen.offline.accepted, true, seen.offline.message)
    assert.equal(seen.offline.protocol, '/fil/storage/mk/1.2.0')
    const deal = await env.rest.get<StorageDeal & KubeObject>(StorageDeals, env.namespace, seen.offline.dealUuid)
    assert.deepEqual([deal.spec.isOffline, deal.spec.removeUnsealedCopy, deal.spec.skipIpniAnnounce, deal.spec.protocol], [true, true, true, '/fil/storage/mk/1.2.0'])
  })

  it('is told a resent proposal is identical', () => {
    assert.equal(seen.duplicate.accepted, false)
    assert.match(seen.duplicate.message, new RegExp(`^deal proposal is identical to deal ${seen.online.dealUuid} \\(proposed at `))
  })

  it('reads status decoded by boost\'s DealStatusResponse: checkpoint, sizes, the same proposal bytes', () => {
    assert.equal(seen.status.transportError, undefined)
    assert.deepEqual({ error: seen.status.error, status: seen.status.status, isOffline: seen.status.isOffline, transferSize: seen.status.transferSize, publishCid: seen.status.publishCid, proposalMatches: seen.status.proposalMatches },
      { error: '', status: 'Accepted', isOffline: false, transferSize: 1900, publishCid: null, proposalMatches: true })
    assert.equal(seen.status.signedProposalCid, seen.online.signedProposalCid)
    assert.equal(seen.statusOffline.isOffline, true)
    assert.equal(seen.statusOffline.proposalMatches, true)
    assert.match(seen.statusUnknown.error, /^no storage deal found with deal UUID [0-9a-f-]{36}$/)
  })

  it('reads the signed ask, and a null ask for another miner', () => {
    assert.deepEqual({ ...seen.ask, miner: seen.ask.miner.slice(1) }, { null: false, miner: env.peer.minerAddress.slice(1), price: '0', minPieceSize: 256, maxPieceSize: 1 << 30, seqNo: 3, signed: true })
    assert.equal(seen.askOther.null, true)
  })

  // Not ECDSA: js-libp2p (@libp2p/crypto 5.1.23, the newest) reads and writes ECDSA public keys in
  // a DER layout of its own, not go-libp2p's PKIX, so the handshake fails (README, Left).
  it('serves clients whose go-libp2p identity is Ed25519 (boost\'s, lotus\'s), secp256k1 or RSA', async () => {
    const out = await run(bin, ['-identities', 'ed25519,secp256k1,rsa', '-addr', env.addr, '-provider', env.peer.minerAddress], { timeout: 120_000 })
    const got = JSON.parse(out.stdout) as Record<string, { peerId: string, connectError?: string, ask?: { null: boolean, miner: string, signed: boolean, transportError?: string } }>
    for (const t of ['ed25519', 'secp256k1', 'rsa']) {
      assert.equal(got[t]?.connectError, undefined, `${t}: ${got[t]?.connectError}`)
      assert.deepEqual([got[t]?.ask?.transportError, got[t]?.ask?.null, got[t]?.ask?.signed], [undefined, false, true], t)
    }
  })
})
