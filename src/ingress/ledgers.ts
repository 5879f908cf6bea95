/**
 * A provider's FundLedger and StorageLedger as admission needs them: the ledgers' specs from
 * informers (GitOps owns them), the FundLedger's balances from the chain (TTL-cached like every
 * chain fact), and which providers share each ledger, so what their deals hold can be summed.
 * What deals hold is not read from the ledgers' status: it is a function of the deals
 * (policy/holdings.ts), which the ingress has in its cache the moment they are created.
 */
import type { FundLedger, StorageLedger, StorageProvider } from '../api/types.generated.ts'
import { FundLedgers, StorageLedgers } from '../api/index.ts'
import { PUBLISH_BUDGET_PER_DEAL } from '../api/ledgers.ts'
import { Address } from '../filecoin/address.ts'
import { Informer, stripManagedFields } from '../kube/informer.ts'
import type { KubeObject, KubeRest } from '../kube/rest.ts'
import { LotusRpcError } from '../lotus/errors.ts'
import { fact, failedFact, type Fact } from '../policy/admission.ts'
import type { ChainReader } from './chain.ts'
import type { ProviderEntry } from './providers.ts'

/** A FundLedger's position before what deals hold is known. */
export interface FundsBase {
  ledger: string
  escrowAvailable: bigint
  publishBalance: bigint
  reserve: bigint
  publishBudgetPerDeal: bigint
  /** StorageProvider names whose deals draw on this ledger. */
  providers: string[]
}

export interface StagingBase {
  ledger: string
  capacityBytes: number
  reserveBytes: number
  providers: string[]
}

export class LedgerBook {
  readonly funds: Informer<FundLedger & KubeObject>
  readonly staging: Informer<StorageLedger & KubeObject>
  private readonly providers: () => StorageProvider[]

  constructor (rest: KubeRest, providers: () => StorageProvider[]) {
    this.funds = new Informer<FundLedger & KubeObject>(rest, { resource: FundLedgers, transform: stripManagedFields })
    this.staging = new Informer<StorageLedger & KubeObject>(rest, { resource: StorageLedgers, transform: stripManagedFields })
    this.providers = providers
  }

  async start (): Promise<void> { await Promise.all([this.funds.start(), this.staging.start()]) }
  async stop (): Promise<void> { await Promise.all([this.funds.stop(), this.staging.stop()]) }

  /** The provider's FundLedger with its escrow and publish-wallet balances (two cached chain reads). */
  async fundsOf (entry: ProviderEntry): Promise<Fact<FundsBase>> {
    const name = entry.resource.spec.fundLedger
    const fl = this.funds.getObject(undefined, name)
    if (fl === undefined) return failedFact(`provider ${entry.terms.name}: FundLedger ${name} not found`)
    // Lotus would refuse it too, but only as "invalid encoding", naming neither ledger nor field.
    const unparsed = addressError(fl)
    if (unparsed !== undefined) return failedFact(unparsed)
    try {
      const [bal, wallet] = await Promise.all([
        entry.chain.marketBalance(fl.spec.escrowAddress),
        entry.chain.walletBalance(fl.spec.publishWallet)
      ])
      return fact({
        ledger: name,
        escrowAvailable: bal.escrow - bal.locked,
        publishBalance: wallet,
        reserve: BigInt(fl.spec.reserve ?? '0'),
        publishBudgetPerDeal: BigInt(fl.spec.publishBudgetPerDeal ?? PUBLISH_BUDGET_PER_DEAL),
        providers: this.sharing((sp) => sp.spec.fundLedger === name)
      })
    } catch (err) {
      return failedFact(`FundLedger ${name}: reading balances: ${(err as Error).message}`)
    }
  }

  stagingOf (entry: ProviderEntry): Fact<StagingBase> {
    const name = entry.resource.spec.storageLedger
    const sl = this.staging.getObject(undefined, name)
    if (sl === undefined) return failedFact(`provider ${entry.terms.name}: StorageLedger ${name} not found`)
    return fact({
      ledger: name,
      capacityBytes: sl.spec.capacityBytes,
      reserveBytes: sl.spec.reserveBytes ?? 0,
      providers: this.sharing((sp) => sp.spec.storageLedger === name)
    })
  }

  /** Which of the ledgers `sp` names do not exist, or undefined when both do. */
  missing (sp: StorageProvider): string | undefined {
    const gone = [
      ...(this.funds.getObject(undefined, sp.spec.fundLedger) === undefined ? [`FundLedger ${sp.spec.fundLedger}`] : []),
      ...(this.staging.getObject(undefined, sp.spec.storageLedger) === undefined ? [`StorageLedger ${sp.spec.storageLedger}`] : [])
    ]
    return gone.length === 0 ? undefined : `${gone.join(' and ')} not found`
  }

  /**
   * Why the FundLedger `sp` names cannot be used to tag funds, so that every online proposal
   * fails ("server error: tag funds"): what fundsOf reads, read the same way (through `chain`'s
   * cache). Undefined when it can be, when it does not exist (missing() says so), or when Lotus
   * did not answer (the chain's own condition says so).
   */
  async unusable (sp: StorageProvider, chain: ChainReader): Promise<string | undefined> {
    const fl = this.funds.getObject(undefined, sp.spec.fundLedger)
    return fl === undefined ? undefined : await fundLedgerProblem(fl, chain)
  }

  /** Why the FundLedger `sp` names has an address that does not parse: what no chain read changes. */
  unparsable (sp: StorageProvider): string | undefined {
    const fl = this.funds.getObject(undefined, sp.spec.fundLedger)
    return fl === undefined ? undefined : addressError(fl)
  }

  private sharing (uses: (sp: StorageProvider) => boolean): string[] {
    return this.providers().filter(uses).map((sp) => sp.metadata.name ?? '')
  }
}

/**
 * What makes a FundLedger unusable for tagging funds, naming the field: an address that does not
 * parse (the CRD's pattern takes a bad checksum), or one Lotus answers with an error (an escrow
 * address that is no actor on chain). A read Lotus did not answer is no fault of the ledger's.
 */
export async function fundLedgerProblem (fl: FundLedger, chain: ChainReader): Promise<string | undefined> {
  const name = fl.metadata?.name ?? ''
  const unparsed = addressError(fl)
  if (unparsed !== undefined) return unparsed
  const [escrow, wallet] = await Promise.allSettled([chain.marketBalance(fl.spec.escrowAddress), chain.walletBalance(fl.spec.publishWallet)])
  for (const [r, field, read] of [[escrow, 'escrowAddress', 'market balance'], [wallet, 'publishWallet', 'balance']] as const) {
    if (!(r.status === 'rejected' && r.reason instanceof LotusRpcError && r.reason.code === 'ERR_LOTUS_RPC')) continue
    // "Method not found" (-32601): the node at the URL (or a proxy filtering methods) serves no such
    // read, whatever the ledger says: named as the endpoint's fault, the ledger's read failing with it.
    if (r.reason.rpcCode === -32601) {
      // The market balance is every proposal's read too (the client's escrow): offline ones fail as well.
      const also = field === 'escrowAddress' ? ' (nor a client\'s escrow: offline proposals fail too)' : ''
      return `the full node does not serve ${r.reason.method ?? read} (method not found; is spec.lotus.fullNode.url a Lotus full node's v1 API, with nothing filtering its methods), so the funds of FundLedger ${name} cannot be read${also}`
    }
    return `FundLedger ${name}: reading the ${read} of spec.${field} ${fl.spec[field]} failed: ${r.reason.message}`
  }
  return undefined
}

/** Which of the ledger's addresses does not parse, as a message naming the ledger and the field. */
function addressError (fl: FundLedger): string | undefined {
  for (const field of ['escrowAddress', 'publishWallet'] as const) {
    const text = fl.spec[field]
    try {
      Address.fromString(text)
    } catch (err) {
      return `FundLedger ${fl.metadata?.name ?? ''}: spec.${field} ${JSON.stringify(text)} is not a Filecoin address: ${(err as Error).message}`
    }
  }
  return undefined
}
