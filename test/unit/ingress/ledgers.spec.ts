/**
 * Whether a FundLedger can tag funds, judged by what online proposals read of it: its addresses
 * (the CRD's pattern takes a bad checksum) and the balances Lotus gives for them, so a provider
 * whose every online proposal would fail "server error: tag funds" is not reported Ready.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { fundLedgerProblem, LedgerBook } from '../../../src/ingress/ledgers.ts'
import type { ChainReader } from '../../../src/ingress/chain.ts'
import type { ProviderEntry } from '../../../src/ingress/providers.ts'
import type { KubeRest } from '../../../src/kube/rest.ts'
import { LotusRpcError } from '../../../src/lotus/errors.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import type { FundLedger } from '../../../src/api/index.ts'
import { storageProvider } from '../../support/builders.ts'

const WALLET = generateKey('secp256k1').address.toString('t')
// One character of the payload changed (the last carries padding bits too).
const BAD_CHECKSUM = WALLET.slice(0, 5) + (WALLET[5] === 'a' ? 'b' : 'a') + WALLET.slice(6)

const ledger = (spec: Partial<FundLedger['spec']> = {}): FundLedger =>
  ({ apiVersion: 'dealyard.io/v1alpha1', kind: 'FundLedger', metadata: { name: 'f' }, spec: { escrowAddress: 't01000', publishWallet: WALLET, ...spec } }) as FundLedger

const notFound = (method: string): LotusRpcError => new LotusRpcError('ERR_LOTUS_RPC', `lotus full: Filecoin.${method}: failed to resolve address: actor not found`, { rpcCode: 1 })

function chainOf (o: { market?: Error, wallet?: Error } = {}): ChainReader & { reads: string[] } {
  const reads: string[] = []
  return {
    reads,
    marketBalance: async (a: string) => { reads.push(`market ${a}`); if (o.market !== undefined) throw o.market; return { escrow: 10n, locked: 0n } },
    walletBalance: async (a: string) => { reads.push(`wallet ${a}`); if (o.wallet !== undefined) throw o.wallet; return 10n }
  } as unknown as ChainReader & { reads: string[] }
}

describe('fundLedgerProblem', () => {
  it('none for a ledger whose addresses parse and whose balances Lotus gives', async () => {
    const chain = chainOf()
    assert.equal(await fundLedgerProblem(ledger(), chain), undefined)
    assert.deepEqual(chain.reads, ['market t01000', `wallet ${WALLET}`])
  })

  it('names the field whose address does not parse, without asking Lotus', async () => {
    const chain = chainOf()
    assert.equal(await fundLedgerProblem(ledger({ publishWallet: BAD_CHECKSUM }), chain),
      `FundLedger f: spec.publishWallet "${BAD_CHECKSUM}" is not a Filecoin address: invalid address checksum: ${BAD_CHECKSUM}`)
    assert.match(await fundLedgerProblem(ledger({ escrowAddress: 't0x1000' }), chain) ?? '', /^FundLedger f: spec\.escrowAddress "t0x1000" is not a Filecoin address: /)
    assert.deepEqual(chain.reads, [])
  })

  it('names the field whose read Lotus answers with an error (an escrow address that is no actor on chain)', async () => {
    assert.equal(await fundLedgerProblem(ledger({ escrowAddress: 't01999' }), chainOf({ market: notFound('StateMarketBalance') })),
      'FundLedger f: reading the market balance of spec.escrowAddress t01999 failed: lotus full: Filecoin.StateMarketBalance: failed to resolve address: actor not found')
    assert.match(await fundLedgerProblem(ledger(), chainOf({ wallet: notFound('WalletBalance') })) ?? '', new RegExp(`^FundLedger f: reading the balance of spec\\.publishWallet ${WALLET} failed: `))
  })

  it('none when Lotus did not answer or refused the token: no fault of the ledger\'s (the chain\'s condition says so)', async () => {
    const down = new LotusRpcError('ERR_LOTUS_UNAVAILABLE', 'lotus full: Filecoin.StateMarketBalance: connect ECONNREFUSED (gave up after 2 attempts)')
    const refused = new LotusRpcError('ERR_LOTUS_AUTH', 'lotus full: Filecoin.WalletBalance: token refused (HTTP 401)', { httpStatus: 401 })
    assert.equal(await fundLedgerProblem(ledger(), chainOf({ market: down, wallet: refused })), undefined)
  })

  // Round 54 blamed the ledger for another API at the URL (that case now fails the head read first:
  // ChainUnreachable); round 55: a proxy that filters methods left Ready=True while funds failed.
  it('names the endpoint when the node serves no such read (method not found)', async () => {
    const noMethod = new LotusRpcError('ERR_LOTUS_RPC', "lotus full: Filecoin.StateMarketBalance: method 'Filecoin.StateMarketBalance' not found", { rpcCode: -32601, method: 'Filecoin.StateMarketBalance' })
    assert.equal(await fundLedgerProblem(ledger(), chainOf({ market: noMethod })),
      "the full node does not serve Filecoin.StateMarketBalance (method not found; is spec.lotus.fullNode.url a Lotus full node's v1 API, with nothing filtering its methods), so the funds of FundLedger f cannot be read (nor a client's escrow: offline proposals fail too)")
    const noWallet = new LotusRpcError('ERR_LOTUS_RPC', "lotus full: Filecoin.WalletBalance: method 'Filecoin.WalletBalance' not found", { rpcCode: -32601, method: 'Filecoin.WalletBalance' })
    assert.match(await fundLedgerProblem(ledger(), chainOf({ wallet: noWallet })) ?? '', /does not serve Filecoin\.WalletBalance .*cannot be read$/)
  })
})

describe('LedgerBook', () => {
  const book = (fl: FundLedger | undefined): LedgerBook => {
    const b = new LedgerBook({} as KubeRest, () => [])
    b.funds.getObject = () => fl as never
    return b
  }

  it('unusable: the FundLedger the provider names, judged; a missing one is missing()\'s to report', async () => {
    const sp = storageProvider('sp1')
    assert.match(await book(ledger({ publishWallet: BAD_CHECKSUM })).unusable(sp, chainOf()) ?? '', /^FundLedger f: spec\.publishWallet /)
    assert.equal(await book(undefined).unusable(sp, chainOf()), undefined)
  })

  it('fundsOf names the field that does not parse, rather than Lotus\'s "invalid encoding"', async () => {
    const chain = chainOf()
    const entry = { resource: storageProvider('sp1'), terms: { name: 'sp1' }, chain } as unknown as ProviderEntry
    const funds = await book(ledger({ publishWallet: BAD_CHECKSUM })).fundsOf(entry)
    assert.deepEqual(funds, { ok: false, error: `FundLedger f: spec.publishWallet "${BAD_CHECKSUM}" is not a Filecoin address: invalid address checksum: ${BAD_CHECKSUM}` })
    assert.deepEqual(chain.reads, [])
  })
})
