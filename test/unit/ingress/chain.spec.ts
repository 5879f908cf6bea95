/**
 * gatherChainFacts and LotusChain for delegated (f4) clients: when AuthenticateMessage is called,
 * with what, and what a failed call becomes; and the network letter texts print addresses with.
 */
import { describe, it } from 'node:test'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import assert from 'node:assert/strict'
import { Address } from '../../../src/filecoin/address.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { buildDealParams } from '../../../src/client/proposal.ts'
import { encodeDealProposal } from '../../../src/protocol/index.ts'
import { gatherChainFacts, LotusChain, NETWORK_GRACE_MS, type ChainReader } from '../../../src/ingress/chain.ts'
import { delegatedKey, signDelegated } from '../../support/delegated.ts'

const f4 = delegatedKey()

function proposal (client: string): ReturnType<typeof buildDealParams>['clientDealProposal'] {
  const cdp = buildDealParams({
    key: generateKey('secp256k1'), client, provider: 'f01000', pieceCid: pieceCidFromCommP(new Uint8Array(32).fill(1)).toString(),
    pieceSize: 2048, payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', startEpoch: 5000
  }).clientDealProposal
  cdp.clientSignature = signDelegated(f4, encodeDealProposal(cdp.proposal))
  return cdp
}

/** A chain whose every read answers; `keys` maps ID addresses to account keys. */
function fakeChain (keys: Record<string, string> = {}, auth: ChainReader['authenticateMessage'] = async () => ({ exitCode: 0, error: '', returned: null })): ChainReader & { calls: Array<{ key: string, sig: Uint8Array, msg: Uint8Array }>, keyReads: string[] } {
  const calls: Array<{ key: string, sig: Uint8Array, msg: Uint8Array }> = []
  const keyReads: string[] = []
  return {
    calls,
    keyReads,
    head: async () => 100,
    accountKey: async (a) => { keyReads.push(a); const k = keys[a]; if (k === undefined) throw new Error('actor not found'); return k },
    lookupId: async () => 'f01234',
    collateralBounds: async () => ({ min: 0n, max: 1n }),
    marketBalance: async () => ({ escrow: 1n, locked: 0n }),
    datacap: async () => null,
    walletBalance: async () => 0n,
    minerInfo: async () => ({ worker: 'f01001', peerId: null }),
    authenticateMessage: async (key, sig, msg) => { calls.push({ key, sig, msg }); return await auth(key, sig, msg) }
  }
}

/**
 * A go-jsonrpc-shaped Lotus endpoint answering each call with `answer(call)` (a result or an error
 * member); `url` to dial, `close` when done.
 */
async function lotusEndpoint (answer: (call: { method: string, params: unknown[] }) => { result?: unknown, error?: { code: number, message: string } }): Promise<{ url: string, close: () => void }> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      const call = JSON.parse(body) as { id: number, method: string, params: unknown[] }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, ...answer(call) }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc/v1`, close: () => { server.closeAllConnections(); server.close() } }
}

describe('gatherChainFacts: delegated (f4) clients', () => {
  it('authenticates an f4 client with the signature\'s data and the proposal\'s CBOR, its key read from no chain', async () => {
    const cdp = proposal(f4.address.toString())
    const chain = fakeChain()
    const facts = await gatherChainFacts(chain, cdp)
    assert.deepEqual(facts.clientKey, { ok: true, value: cdp.proposal.client })
    assert.deepEqual(facts.clientAuthentication, { ok: true, value: { exitCode: 0, error: '', returned: null } })
    assert.deepEqual(chain.keyReads, [], 'a delegated address is its own account key')
    assert.equal(chain.calls.length, 1)
    assert.equal(chain.calls[0]!.key, f4.address.toString())
    assert.deepEqual(chain.calls[0]!.sig, cdp.clientSignature.data)
    assert.deepEqual(chain.calls[0]!.msg, encodeDealProposal(cdp.proposal))
  })

  it('authenticates an ID-address client on its f4 account key', async () => {
    const chain = fakeChain({ f01234: f4.address.toString() }, async () => ({ exitCode: 33, error: 'reverted', returned: null }))
    const facts = await gatherChainFacts(chain, proposal('f01234'))
    assert.equal(chain.calls[0]?.key, f4.address.toString())
    assert.deepEqual(facts.clientAuthentication, { ok: true, value: { exitCode: 33, error: 'reverted', returned: null } })
  })

  it('makes no call for secp256k1/BLS keys, nor when the account key is unknown', async () => {
    const secp = generateKey('secp256k1').address.toString()
    const chain = fakeChain({ f01235: secp })
    assert.equal((await gatherChainFacts(chain, proposal(secp))).clientAuthentication, undefined)
    assert.equal((await gatherChainFacts(chain, proposal('f01235'))).clientAuthentication, undefined)
    const unknown = await gatherChainFacts(chain, proposal('f01999'))
    assert.equal(unknown.clientKey.ok, false)
    assert.equal(unknown.clientAuthentication, undefined)
    assert.equal(chain.calls.length, 0)
  })

  it('keeps a failed StateCall as a failed fact', async () => {
    const facts = await gatherChainFacts(fakeChain({}, async () => { throw new Error('lotus full: HTTP 503') }), proposal(f4.address.toString()))
    assert.deepEqual(facts.clientAuthentication, { ok: false, error: 'lotus full: HTTP 503' })
  })
})

describe('the network letter', () => {
  it('comes with the signature facts, is kept by the second phase, and is left out when it cannot be read', async () => {
    const cdp = proposal(f4.address.toString())
    const chain = { ...fakeChain(), addressNetwork: async () => 't' as const }
    const first = await gatherChainFacts(chain, cdp, { signatureOnly: true })
    assert.equal(first.network, 't')
    assert.equal((await gatherChainFacts({ ...chain, addressNetwork: async () => { throw new Error('not read twice') } }, cdp, { have: first })).network, 't')
    const failing = await gatherChainFacts({ ...fakeChain(), addressNetwork: async () => { throw new Error('down') } }, cdp)
    assert.equal('network' in failing, false)
    assert.equal(failing.head.ok, true, 'a failed read of the network name fails nothing else')
  })

  // Round 53: a node that never answered StateNetworkName held the first proposals for two 5 s attempts.
  it('is waited for no longer than the head read and a grace after it', async () => {
    const cdp = proposal(f4.address.toString())
    const t0 = performance.now()
    const facts = await gatherChainFacts({ ...fakeChain(), addressNetwork: async () => await new Promise<never>(() => {}) }, cdp, { signatureOnly: true })
    const ms = performance.now() - t0
    assert.equal('network' in facts, false)
    assert.ok(ms >= NETWORK_GRACE_MS - 50 && ms < 5000, `${ms} ms`)
    const slow = await gatherChainFacts({ ...fakeChain(), addressNetwork: async () => await new Promise<'t'>((resolve) => setTimeout(() => { resolve('t') }, 50)) }, cdp, { signatureOnly: true })
    assert.equal(slow.network, 't', 'a read that ends within the grace is waited for')
  })

  it('LotusChain reads StateNetworkName until it succeeds (a failure kept for a while), then never again: mainnet ("testnetnet" in its state) is f, any other chain t', async () => {
    const answers: Array<{ result?: string, error?: { code: number, message: string } }> = [
      { error: { code: 1, message: 'not ready' } }, { result: 'calibrationnet' }, { result: 'testnetnet' }, { result: 'butterflynet' }
    ]
    const seen: string[] = []
    const lotus = await lotusEndpoint((call) => { seen.push(call.method); return answers.shift()! })
    try {
      const chain = new LotusChain({ url: lotus.url }, { callTimeoutMs: 2000, networkRetryMs: 100 })
      await assert.rejects(async () => await chain.addressNetwork(), /not ready/)
      await assert.rejects(async () => await chain.addressNetwork(), /not ready/, 'a failure is kept for networkRetryMs, not read again per proposal')
      assert.equal(seen.length, 1)
      await new Promise((resolve) => setTimeout(resolve, 150))
      assert.equal(await chain.addressNetwork(), 't')
      assert.equal(chain.addressNetwork(), 't', 'once read, the letter itself: nothing to wait on')
      const mainnet = new LotusChain({ url: lotus.url }, { callTimeoutMs: 2000 })
      assert.equal(await mainnet.addressNetwork(), 'f', 'mainnet is "testnetnet" in its state, as Lotus answers')
      const butterfly = new LotusChain({ url: lotus.url }, { callTimeoutMs: 2000 })
      assert.equal(await butterfly.addressNetwork(), 't')
      assert.deepEqual(seen, ['Filecoin.StateNetworkName', 'Filecoin.StateNetworkName', 'Filecoin.StateNetworkName', 'Filecoin.StateNetworkName'])
    } finally {
      lotus.close()
    }
  })
})

describe('LotusChain.minerExists', () => {
  it('is read with the facts after the signature, for the proposal\'s provider', async () => {
    const cdp = proposal(f4.address.toString())
    const asked: string[] = []
    const chain = { ...fakeChain(), minerExists: async (m: string) => { asked.push(m); return false } }
    assert.equal('minerExists' in await gatherChainFacts(chain, cdp, { signatureOnly: true }), false)
    assert.deepEqual((await gatherChainFacts(chain, cdp)).minerExists, { ok: true, value: false })
    assert.deepEqual(asked, ['f01000'])
  })

  it('is false only when Lotus finds no actor or one that is not a miner, throws on other failures, and keeps a found miner', async () => {
    const seen: string[] = []
    const lotus = await lotusEndpoint((call) => {
      const miner = call.params[0] as string
      seen.push(miner)
      return miner === 'f01000'
        ? { result: { Owner: 'f0100', Worker: 'f0101', NewWorker: '<empty>', ControlAddresses: null, WorkerChangeEpoch: -1, PeerId: null, Multiaddrs: null, WindowPoStProofType: 8, SectorSize: 2048, WindowPoStPartitionSectors: 2, ConsensusFaultElapsed: -1, PendingOwnerAddress: null, Beneficiary: 'f0100', BeneficiaryTerm: { Quota: '0', UsedQuota: '0', Expiration: 0 }, PendingBeneficiaryTerm: null } }
        : miner === 'f01999'
          ? { error: { code: 1, message: 'failed to load miner actor: actor not found' } }
          : miner === 'f0100'
            ? { error: { code: 1, message: 'failed to load miner actor state: actor code is not miner: account' } }
            : { error: { code: 1, message: 'loading tipset: context deadline exceeded' } }
    })
    try {
      const chain = new LotusChain({ url: lotus.url }, { callTimeoutMs: 2000 })
      assert.equal(await chain.minerExists('f01000'), true)
      assert.equal(await chain.minerExists('t01000'), true, 'kept, whatever the letter')
      assert.equal(await chain.minerExists('f01999'), false)
      assert.equal(await chain.minerExists('f0100'), false, 'an actor that is not a miner (a mistyped ID lands on an account)')
      await assert.rejects(chain.minerExists('f01234'), /context deadline exceeded/)
      assert.deepEqual(seen, ['f01000', 'f01999', 'f0100', 'f01234'])
    } finally {
      lotus.close()
    }
  })
})

describe('LotusChain: delegated addresses', () => {
  it('answers an f4 account key without calling Lotus', async () => {
    // Nothing listens here: a call would fail.
    const chain = new LotusChain({ url: 'http://127.0.0.1:9/rpc/v1' }, { callTimeoutMs: 200 })
    assert.equal(await chain.accountKey(f4.address.toString()), f4.address.toString())
    await assert.rejects(chain.accountKey(Address.fromId(1234).toString()))
  })
})
