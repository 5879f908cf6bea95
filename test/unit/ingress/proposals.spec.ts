/**
 * A proposal for a miner not served here: boost's checks before the provider's (the head, the
 * client's signature) are made through any served provider's Lotus, and answer first when the
 * proposal fails them; a failed read there is no reason to give.
 */
import { describe, it } from 'node:test'
import { pino, type Logger } from 'pino'
import assert from 'node:assert/strict'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { buildDealParams } from '../../../src/client/proposal.ts'
import { ProposalService } from '../../../src/ingress/proposals.ts'
import type { ChainReader } from '../../../src/ingress/chain.ts'
import type { ProviderDirectory } from '../../../src/ingress/providers.ts'
import type { DealStore } from '../../../src/ingress/store.ts'
import { providerTerms } from '../../../src/policy/terms.ts'
import { storageProvider } from '../../support/builders.ts'

const HEAD = 100_000
const client = generateKey('secp256k1')

function service (head: () => Promise<number>): ProposalService {
  const chain = { head } as unknown as ChainReader
  const sp = storageProvider('sp1')
  const providers = {
    find: async () => undefined,
    addresses: () => ['f01000'],
    anyEntry: async () => ({ resource: sp, terms: providerTerms(sp), chain })
  } as unknown as ProviderDirectory
  return new ProposalService({ providers, store: {} as DealStore, namespace: 'ns' })
}

/** An offline proposal of `client` for miner f09999, signed by `signedBy` (a foreign key: a bad signature). */
function proposal (signedBy = client): ReturnType<typeof buildDealParams> {
  const o = {
    client: client.address.toString(), provider: 'f09999', pieceCid: pieceCidFromCommP(new Uint8Array(32).fill(3)).toString(), pieceSize: 2048,
    payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', startEpoch: HEAD + 3000
  }
  const p = buildDealParams({ ...o, key: client })
  p.clientDealProposal.clientSignature = buildDealParams({ ...o, key: signedBy }).clientDealProposal.clientSignature
  return p
}

const meta = { protocol: '/fil/storage/mk/1.2.1' as const, peerId: '12D3KooWtest' }

describe('ProposalService: a provider not served here', () => {
  it('answers boost\'s signature text first for a bad signature, the provider\'s text for a good one', async () => {
    const svc = service(async () => HEAD)
    assert.equal((await svc.propose(proposal(generateKey('secp256k1')), meta)).message, 'failed validation: server error: validating signature')
    assert.equal((await svc.propose(proposal(), meta)).message, 'failed validation: incorrect provider for deal; proposal.Provider: f09999; provider.Address: f01000')
  })

  it('answers the provider\'s text when the chain cannot be read through the provider it borrowed', async () => {
    const svc = service(async () => { throw new Error('connect ECONNREFUSED') })
    assert.equal((await svc.propose(proposal(generateKey('secp256k1')), meta)).message, 'failed validation: incorrect provider for deal; proposal.Provider: f09999; provider.Address: f01000')
  })
})

describe('ProposalService: a provider served here', () => {
  /** A chain that counts every read by name; `key` is what StateAccountKey answers. */
  function countingChain (): { chain: ChainReader, reads: string[] } {
    const reads: string[] = []
    const read = <T>(name: string, v: T) => async (): Promise<T> => { reads.push(name); return v }
    const chain = {
      head: read('head', HEAD),
      accountKey: read('accountKey', client.address.toString()),
      collateralBounds: read('collateralBounds', { min: 0n, max: 10n ** 30n }),
      marketBalance: read('marketBalance', { escrow: 10n ** 30n, locked: 0n }),
      datacap: read('datacap', 10n ** 20n),
      lookupId: read('lookupId', 'f01234'),
      authenticateMessage: read('authenticateMessage', { exitCode: 0, error: '', returned: null })
    } as unknown as ChainReader
    return { chain, reads }
  }

  it('reads only the head and the client\'s key before the signature is checked: a proposal signed by no one costs no balance, DataCap or ID reads', async () => {
    const { chain, reads } = countingChain()
    const sp = storageProvider('sp1')
    sp.spec.address = 'f09999'
    const providers = { find: async () => ({ resource: sp, terms: providerTerms(sp), chain }) } as unknown as ProviderDirectory
    const store = { bySignedProposalCid: () => undefined, byUuid: () => undefined, held: () => ({ collateral: 0n, publishes: 0, stagingBytes: 0 }), reserve: () => {}, create: async () => ({ created: true }) } as unknown as DealStore
    const svc = new ProposalService({ providers, store, namespace: 'ns' })
    const bad = proposal(generateKey('secp256k1'))
    bad.clientDealProposal.proposal.verifiedDeal = true
    assert.equal((await svc.propose(bad, meta)).message, 'failed validation: server error: validating signature')
    assert.deepEqual(reads, ['head'])
    // Signed: the rest is read (and the proposal goes on to later checks).
    reads.length = 0
    await svc.propose(proposal(), meta)
    assert.ok(reads.includes('marketBalance') && reads.includes('collateralBounds'), reads.join(' '))
    assert.equal(reads.filter((r) => r === 'head').length, 1, 'the head read for the signature check is not read again')
  })
})

// Regression (round 52, F7): proposals left no log line at the default level, so an operator could
// not find the deal UUID a client quoted (a refused deal leaves no object); boost logs each one.
describe('ProposalService: a log line per decision', () => {
  function logged (): { log: Logger, lines: Array<Record<string, unknown>> } {
    const lines: Array<Record<string, unknown>> = []
    const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>) } })
    return { log, lines }
  }

  it('logs each refusal at info with the deal, client, reason and text; a storm of them is cut to the bucket, the lines left out counted', async () => {
    const { log, lines } = logged()
    const chain = { head: async () => HEAD } as unknown as ChainReader
    const sp = storageProvider('sp1')
    const providers = { find: async () => undefined, addresses: () => ['f01000'], anyEntry: async () => ({ resource: sp, terms: providerTerms(sp), chain }) } as unknown as ProviderDirectory
    const svc = new ProposalService({ providers, store: {} as DealStore, namespace: 'ns', log })
    const p = proposal()
    await svc.propose(p, meta)
    assert.equal(lines.length, 1)
    assert.deepEqual({ ...lines[0], time: undefined, pid: undefined, hostname: undefined }, {
      level: 30, time: undefined, pid: undefined, hostname: undefined, deal: p.dealUuid, provider: 'unknown', client: client.address.toString(), result: 'rejected', reason: 'IncorrectProvider', peer: meta.peerId,
      msg: 'deal rejected: failed validation: incorrect provider for deal; proposal.Provider: f09999; provider.Address: f01000'
    })
    for (let i = 0; i < 300; i++) await svc.propose(proposal(), meta)
    assert.ok(lines.length >= 200 && lines.length < 230, `${lines.length} lines for 301 refusals`)
    // Past the burst, each line logged says how many were left out since the one before.
    await new Promise((resolve) => setTimeout(resolve, 120))
    await svc.propose(proposal(), meta)
    assert.ok(typeof lines.at(-1)!.refusalsNotLogged === 'number', JSON.stringify(lines.at(-1)))
    const omitted = lines.reduce((n, l) => n + (typeof l.refusalsNotLogged === 'number' ? l.refusalsNotLogged : 0), 0)
    assert.equal(lines.length + omitted, 302, 'every refusal is either logged or counted on a later line')
  })

  // Round 54: decisions counted as server errors (the chain unreadable) left no line at all.
  it('logs a server error at warn, through the same bucket', async () => {
    const { log, lines } = logged()
    const chain = { head: async () => { throw new Error('HTTP 502') } } as unknown as ChainReader
    const sp = storageProvider('sp1')
    sp.spec.address = 'f09999'
    const providers = { find: async () => ({ resource: sp, terms: providerTerms(sp), chain }) } as unknown as ProviderDirectory
    const svc = new ProposalService({ providers, store: {} as DealStore, namespace: 'ns', log })
    const p = proposal()
    await svc.propose(p, meta)
    assert.deepEqual(lines.map((l) => [l.level, l.deal, l.result, l.reason, l.msg]), [
      [40, p.dealUuid, undefined, 'ChainHeadUnavailable', 'ChainHead: HTTP 502'],
      [40, p.dealUuid, 'error', 'ChainHeadUnavailable', 'deal failed: failed validation: server error: getting chain head']
    ])
  })

  // Round 56: a client proposing as an address with no actor made "server error" decisions counted
  // as failures here, and its warn detail lines used the operator's bucket up.
  it('counts a client address Lotus finds no actor for as the client\'s refusal, not a failure here, and keeps its detail at debug', async () => {
    const { log, lines } = logged()
    let keyError = 'resolution lookup failed (f01999): resolve address f01999: actor not found'
    const chain = { head: async () => HEAD, accountKey: async () => { throw new Error(keyError) } } as unknown as ChainReader
    const sp = storageProvider('sp1')
    sp.spec.address = 'f09999'
    const providers = { find: async () => ({ resource: sp, terms: providerTerms(sp), chain }) } as unknown as ProviderDirectory
    const svc = new ProposalService({ providers, store: {} as DealStore, namespace: 'ns', log })
    const unknown = buildDealParams({
      key: client, client: 'f01999', provider: 'f09999', pieceCid: pieceCidFromCommP(new Uint8Array(32).fill(3)).toString(), pieceSize: 2048,
      payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', startEpoch: HEAD + 3000
    })
    assert.equal((await svc.propose(unknown, meta)).message, 'failed validation: server error: validating signature', 'boost\'s text, whatever the count')
    assert.deepEqual(lines.map((l) => [l.level, l.result, l.reason]), [[30, 'rejected', 'SignatureLookupFailed']])
    // Round 57: real Lotus's texts for an unknown ID and for an ID of another actor.
    for (const text of ['failed to find actor: f01999', 'failed to get account actor state for f05: actor code is not account: storagemarket']) {
      keyError = text
      await svc.propose({ ...unknown, dealUuid: crypto.randomUUID() }, meta)
    }
    assert.deepEqual(lines.map((l) => [l.level, l.result]), [[30, 'rejected'], [30, 'rejected'], [30, 'rejected']])
    keyError = 'connect ECONNREFUSED 127.0.0.1:1234'
    await svc.propose({ ...unknown, dealUuid: '8c3e7d8a-5d2b-4f4e-9a36-0c0a5a8f1b21' }, meta)
    assert.deepEqual(lines.slice(3).map((l) => [l.level, l.result, l.reason, l.msg]), [
      [40, undefined, 'SignatureLookupFailed', 'StateAccountKey: connect ECONNREFUSED 127.0.0.1:1234'],
      [40, 'error', 'SignatureLookupFailed', 'deal failed: failed validation: server error: validating signature']
    ], 'a read that failed here is a failure, its cause logged for the operator (round 57)')
  })

  it('keeps a client\'s own mistakes out of the operator\'s warn lines: a balance read of an address with no actor', async () => {
    const { log, lines } = logged()
    const chain = {
      head: async () => HEAD,
      accountKey: async () => client.address.toString(),
      collateralBounds: async () => ({ min: 0n, max: 10n ** 30n }),
      marketBalance: async () => { throw new Error('failed to resolve address: actor not found') }
    } as unknown as ChainReader
    const sp = storageProvider('sp1')
    sp.spec.address = 'f09999'
    sp.spec.ask = { price: '0', verifiedPrice: '0' }
    const providers = { find: async () => ({ resource: sp, terms: providerTerms(sp), chain }) } as unknown as ProviderDirectory
    const store = { bySignedProposalCid: () => undefined, byUuid: () => undefined } as unknown as DealStore
    const svc = new ProposalService({ providers, store, namespace: 'ns', log })
    for (let i = 0; i < 10; i++) await svc.propose(proposal(), meta)
    assert.deepEqual([...new Set(lines.map((l) => `${l.level} ${l.result} ${l.reason}`))], ['30 rejected MarketBalanceUnavailable'], 'no warn detail line')
  })

  // Round 55: the failures shared the refusals' bucket, so one client's storm of refusals hid them.
  it('keeps a bucket of its own for server errors: a storm of refusals does not hide them', async () => {
    const { log, lines } = logged()
    // Refused as for another miner while `served` is false; then served, its Lotus down.
    let served = false
    const other = storageProvider('sp0')
    const sp = storageProvider('sp1')
    sp.spec.address = 'f09999'
    const chainOf = (up: boolean): ChainReader => ({ head: async () => { if (!up) throw new Error('HTTP 502'); return HEAD } }) as unknown as ChainReader
    const providers = {
      find: async () => served ? { resource: sp, terms: providerTerms(sp), chain: chainOf(false) } : undefined,
      addresses: () => ['f01000'],
      anyEntry: async () => ({ resource: other, terms: providerTerms(other), chain: chainOf(true) })
    } as unknown as ProviderDirectory
    const svc = new ProposalService({ providers, store: {} as DealStore, namespace: 'ns', log })
    for (let i = 0; i < 250; i++) await svc.propose(proposal(), meta)
    served = true
    for (let i = 0; i < 5; i++) await svc.propose(proposal(), meta)
    assert.equal(lines.filter((l) => l.result === 'error').length, 5, 'every failure logged after 250 refusals')
    assert.ok(lines.filter((l) => l.result === 'rejected').length < 250)
  })
})
