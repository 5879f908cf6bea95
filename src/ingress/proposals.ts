/**
 * Answering a deal proposal, independent of the transport: find the provider, gather the facts,
 * run the admission chain, persist, answer. The client hears "accepted" only after the StorageDeal
 * (and its params Secret) exist; a rejection writes nothing.
 */
import { logger, type Logger } from '../log.ts'
import type { Network } from '../filecoin/address.ts'
import { addressString, evaluate, fact, type AdmissionInput, type Check, type Fact, type FundsPosition, type PriorDeal, type StagingPosition } from '../policy/admission.ts'
import type { HeldTotals, Holding } from '../policy/holdings.ts'
import { TokenBucket } from '../token-bucket.ts'
import { utf8Prefix } from '../utf8.ts'
import { ADMISSION_CHECKS, CHECKS_BEFORE_PROVIDER, duplicateUuidMessage, fundsAvailable, identicalProposalMessage, stagingAvailable, VALIDATION_PREFIX } from '../policy/checks.ts'
import { signedProposalCid } from '../protocol/proposal.ts'
import type { DealParams, DealResponse } from '../protocol/types.ts'
import { gatherChainFacts } from './chain.ts'
import { dealObject, type DealContext } from './deal-object.ts'
import { fitText } from '../protocol/cbor/writer.ts'
import type { FundsBase, LedgerBook, StagingBase } from './ledgers.ts'
import { proposalDuration, proposalsTotal } from './metrics.ts'
import { ProviderConfigError, type ProviderDirectory } from './providers.ts'
import type { DealStore, Recheck } from './store.ts'
import { noActorOfKind } from '../lotus/errors.ts'

const log = logger('ingress:proposals')

/**
 * Refusals boost words as "server error" that are not ours to fix: the provider out of funds or
 * space (boost's isSevereError is false for them: a state the operator must change, not a fault),
 * and the client's own mistakes (a signature that does not verify, transfer params boost cannot
 * read). Counted as rejections, so `result="error"` means something broke here.
 */
const NOT_OUR_FAULT: ReadonlySet<string> = new Set(['InsufficientFunds', 'InsufficientPublishFunds', 'NoStagingSpace', 'InvalidSignature', 'InvalidTransfer'])
/** The checks before the provider's that fail for want of a chain read, not for the proposal. */
const CHAIN_READ_FAILURES: ReadonlySet<string> = new Set(['ChainHeadUnavailable', 'SignatureLookupFailed', 'AuthenticateMessageFailed'])
/**
 * The reads of the client's own address: one Lotus answers with no such actor, or one that is no
 * account (noActorOfKind), is about the address the client proposed with, boost's "server error"
 * text or not. Counted as a rejection, so a client cannot make `result="error"` (and the
 * operator's log lines) its own.
 */
const CLIENT_READS: ReadonlySet<string> = new Set(['SignatureLookupFailed', 'MarketBalanceUnavailable', 'DatacapUnavailable', 'ClientLookupFailed'])
const resultOf = (v: { reason: string, message: string, detail?: string }): 'rejected' | 'error' =>
  v.message.includes('server error') && !NOT_OUR_FAULT.has(v.reason) &&
  !(CLIENT_READS.has(v.reason) && v.detail !== undefined && noActorOfKind(v.detail, 'account')) ? 'error' : 'rejected'
/** Refusals that are the provider's state to change (funds, space): the operator's to see, like errors here. */
const PROVIDER_STATE: ReadonlySet<string> = new Set(['InsufficientFunds', 'InsufficientPublishFunds', 'NoStagingSpace'])
/** Whether a violation's detail is for the operator's log (warn), not only for debugging a client's proposal. */
const forOperator = (v: { reason: string, message: string, detail?: string }): boolean => resultOf(v) === 'error' || PROVIDER_STATE.has(v.reason)
const TAGGING_CHECKS = [fundsAvailable, stagingAvailable]

export interface ProposalServiceOptions {
  providers: ProviderDirectory
  store: DealStore
  /** Namespace StorageDeals and their Secrets are created in. */
  namespace: string
  /** The providers' FundLedgers and StorageLedgers; without it funds and staging space are not checked. */
  ledgers?: Pick<LedgerBook, 'fundsOf' | 'stagingOf'>
  checks?: readonly Check[]
  /** Default: the ingress's `ingress:proposals` logger (tests read the lines through their own). */
  log?: Logger
}

/** A deal being created for a signed proposal, and (once its creates are done) the deal that stands for it. */
interface Claim { deal: PriorDeal, standing: Promise<PriorDeal | undefined> }

export interface ProposalMeta { protocol: DealContext['protocol'], peerId: string }

/** A refusal's text in its log line is cut here (boost's texts quote the client's URL and params, of any length). */
const MAX_LOGGED_MESSAGE = 1024

export class ProposalService {
  private readonly o: ProposalServiceOptions
  private readonly log: Logger
  /**
   * Signed proposal CID → the deal being created for it. boost accepts one proposal at a time, so
   * the same signed proposal under a second UUID is always refused as identical; here proposals
   * are admitted concurrently, and without this both would pass the store's index (which learns
   * of a deal when its create returns) and become two deals for one on-chain proposal. Across
   * replicas the store settles it after the creates (KubeDealStore.afterCommit).
   */
  private readonly inFlight = new Map<string, Claim>()

  /** What the operator must see (out of funds or space, a Lotus read failing, a broken StorageProvider): logged, at most about one a second. */
  private readonly operatorLogs = new TokenBucket({ perSecond: 1, burst: 5 })
  /**
   * Refusals, and apart from them server errors, logged: each a steady 20 a second, bursts of 200
   * (a client's storm of refusals must not hide the failures an operator has to see).
   */
  private readonly decisionLogs = { rejected: new TokenBucket({ perSecond: 20, burst: 200 }), error: new TokenBucket({ perSecond: 20, burst: 200 }) }
  private readonly omitted = { rejected: 0, error: 0 }

  /** The checks boost makes before reading more than the head and the client's key (up to the signature's), and the rest. */
  private readonly earlyChecks: readonly Check[]
  private readonly lateChecks: readonly Check[]

  constructor (o: ProposalServiceOptions) {
    this.o = o
    this.log = o.log ?? log
    const checks = o.checks ?? ADMISSION_CHECKS
    this.earlyChecks = checks.filter((c) => CHECKS_BEFORE_PROVIDER.includes(c))
    this.lateChecks = checks.filter((c) => !CHECKS_BEFORE_PROVIDER.includes(c))
  }

  /**
   * The answer to a complete, well-formed DealParams that no deal can be made of: an integer beyond
   * ±(2^53-1) (ValueOutOfRange) or a missing field (MissingField); `why` names the field.
   */
  refuseUnreadable (why: string, reason: 'ValueOutOfRange' | 'MissingField'): DealResponse {
    proposalsTotal.inc({ provider: 'unknown', result: 'rejected', reason })
    return { accepted: false, message: `${VALIDATION_PREFIX}${why}` }
  }

  /** The answer to a proposal over its address's rate (AddressRate). */
  refuseRateLimited (perSecond: number): DealResponse {
    proposalsTotal.inc({ provider: 'unknown', result: 'rejected', reason: 'RateLimited' })
    return { accepted: false, message: `too many proposals from your address: at most ${perSecond} a second (bursts of ${2 * perSecond}); try again shortly` }
  }

  /**
   * A violation's detail: at warn, within the operator's bucket, for what the operator must act on
   * (a fault here, the provider out of funds or space); at debug for a client's own mistakes, which
   * any client could otherwise send to use the bucket up.
   */
  private detail (v: { reason: string, message: string, detail?: string }, deal: string, provider: string): void {
    if (forOperator(v)) {
      if (this.operatorLogs.take()) this.log.warn({ deal, provider, reason: v.reason }, v.detail)
    } else if (this.log.isLevelEnabled('debug')) {
      this.log.debug({ deal, provider, reason: v.reason }, v.detail)
    }
  }

  /** Whether a line for this refusal or failure may be written; one that may not is counted. */
  private logged (result: 'rejected' | 'error'): boolean {
    if (this.decisionLogs[result].take()) return true
    this.omitted[result]++
    return false
  }

  /** The lines of this kind left out since the last one written. */
  private takeOmitted (result: 'rejected' | 'error'): number {
    const n = this.omitted[result]
    this.omitted[result] = 0
    return n
  }

  async propose (params: DealParams, meta: ProposalMeta): Promise<DealResponse> {
    const t0 = process.hrtime.bigint()
    const p = params.clientDealProposal.proposal
    let provider = 'unknown'
    const done = (result: 'accepted' | 'rejected' | 'error', reason: string, message: string): DealResponse => {
      proposalsTotal.inc({ provider, result, reason })
      proposalDuration.observe({ result }, Number(process.hrtime.bigint() - t0) / 1e9)
      // A line per decision, as boost logs each proposal: a refused deal leaves no object, and an
      // operator looks up the UUID a client quotes. Refusals and server errors (at warn) are
      // rate-limited, each on its own: a proposal storm, or every proposal during a Lotus outage,
      // must not flood the log; the lines left out are counted on the next of their kind.
      // Accepted deals are bounded by the funds and staging they tag.
      const level = result === 'error' ? 'warn' : 'info'
      if (result === 'accepted' ? this.log.isLevelEnabled('info') : this.log.isLevelEnabled(level) && this.logged(result)) {
        const omitted = result === 'accepted' ? 0 : this.takeOmitted(result)
        this.log[level]({ deal: params.dealUuid, provider, client: addressString(p.client), result, reason, peer: meta.peerId, ...(omitted > 0 ? { [result === 'error' ? 'failuresNotLogged' : 'refusalsNotLogged']: omitted } : {}) },
          result === 'accepted' ? 'deal accepted' : `deal ${result === 'error' ? 'failed' : 'rejected'}: ${utf8Prefix(message, MAX_LOGGED_MESSAGE)}`)
      } else if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ deal: params.dealUuid, provider, client: addressString(p.client), result, reason, peer: meta.peerId }, `deal ${result}: ${message}`)
      }
      // Within cbor-gen's string limit: boost's texts quote the client's URL and params, of any length.
      return { accepted: result === 'accepted', message: fitText(message) }
    }
    try {
      const entry = await this.o.providers.find(addressString(p.provider))
      if (entry === undefined) {
        // boost checks the head and the client's signature before the provider: read through any
        // provider's Lotus (one chain), so a proposal failing those hears what boost would say.
        // A read that fails there (that provider's Lotus down) is no reason to give: the answer
        // is then the provider's, as for a proposal that passes them.
        const any = await this.o.providers.anyEntry()
        let net: Network | undefined
        if (any !== undefined) {
          const chain = await gatherChainFacts(any.chain, params.clientDealProposal, { signatureOnly: true })
          const v = evaluate(CHECKS_BEFORE_PROVIDER, { params, provider: any.terms, chain })
          if (v !== undefined && !CHAIN_READ_FAILURES.has(v.reason)) return done(resultOf(v), v.reason, v.message)
          net = chain.network
        }
        // No StorageProvider has this address: boost's A4 text, naming the miners served here.
        const served = this.o.providers.addresses().map((a) => net === undefined ? a : net + a.slice(1)).join(', ')
        return done('rejected', 'IncorrectProvider', `${VALIDATION_PREFIX}incorrect provider for deal; proposal.Provider: ${p.provider.toString(net)}; provider.Address: ${served || '(none: no StorageProvider is configured here)'}`)
      }
      provider = entry.terms.name
      // The head and the signature first, as boost checks them (A1-A3) before it reads anything
      // else: a proposal no one signed costs no balance, DataCap or ID reads.
      const signed = await gatherChainFacts(entry.chain, params.clientDealProposal, { signatureOnly: true })
      const early = evaluate(this.earlyChecks, { params, provider: entry.terms, chain: signed })
      if (early !== undefined) {
        // The chain read behind it (a 401, a timeout) is the operator's to see, as a later check's is.
        if (early.detail !== undefined) this.detail(early, params.dealUuid, provider)
        return done(resultOf(early), early.reason, early.message)
      }
      const spc = signedProposalCid(params.clientDealProposal).toString()
      const ledgers = params.isOffline ? undefined : this.o.ledgers
      const [chain, fundsBase] = await Promise.all([gatherChainFacts(entry.chain, params.clientDealProposal, { clientId: entry.terms.clientListsNameIds, have: signed }), ledgers?.fundsOf(entry)])
      const stagingBase = ledgers?.stagingOf(entry)
      // Read after the wait for chain facts, then evaluated and claimed in the same turn: an
      // identical proposal that arrived meanwhile is either in the store or in flight here.
      const claimed = this.inFlight.get(spc)
      const identicalTo = this.o.store.bySignedProposalCid(spc) ?? claimed?.deal
      const sameUuidAs = this.o.store.byUuid(params.dealUuid)
      const input: AdmissionInput = {
        params,
        provider: entry.terms,
        chain,
        ...(identicalTo !== undefined ? { identicalTo } : {}),
        ...(sameUuidAs !== undefined ? { sameUuidAs } : {}),
        // What deals hold, those being created here included (store.reserve).
        ...(fundsBase !== undefined ? { funds: fundsPosition(fundsBase, (ps) => this.o.store.held(ps)) } : {}),
        ...(stagingBase !== undefined ? { staging: stagingPosition(stagingBase, (ps) => this.o.store.held(ps)) } : {})
      }
      const v = evaluate(this.lateChecks, input)
      if (v !== undefined) {
        if (v.detail !== undefined) this.detail(v, params.dealUuid, provider)
        if (claimed !== undefined && identicalTo === claimed.deal && v.reason === 'IdenticalProposal') {
          // Name the deal that stands: the one being created may yet lose to another replica's.
          return done('rejected', v.reason, identicalProposalMessage(await claimed.standing ?? claimed.deal))
        }
        return done(resultOf(v), v.reason, v.message)
      }
      const deal = dealObject(params, { namespace: this.o.namespace, provider, protocol: meta.protocol, clientPeerId: meta.peerId, signedProposalCid: spc, ...(chain.network !== undefined ? { network: chain.network } : {}) })
      let settle: (d: PriorDeal | undefined) => void = () => {}
      const holding: Holding | undefined = params.isOffline
        ? undefined
        : { provider, collateral: p.providerCollateral, publish: true, stagingBytes: params.transfer.size }
      const claim: Claim = { deal: { dealUuid: params.dealUuid, createdAt: new Date() }, standing: new Promise((resolve) => { settle = resolve }) }
      this.inFlight.set(spc, claim)
      // Counted from this turn: the next proposal evaluated must see what this one will hold.
      const reservation = `proposal/${spc}`
      this.o.store.reserve(reservation, holding)
      let r
      try {
        // Decided again in commit order, against the deals created before it cluster-wide: another
        // replica may have spent the same funds meanwhile.
        const recheck: Recheck | undefined = fundsBase === undefined && stagingBase === undefined
          ? undefined
          : (heldBefore) => evaluate(TAGGING_CHECKS, {
              ...input,
              ...(fundsBase !== undefined ? { funds: fundsPosition(fundsBase, heldBefore) } : {}),
              ...(stagingBase !== undefined ? { staging: stagingPosition(stagingBase, heldBefore) } : {})
            })
        r = await this.o.store.create(deal, params.isOffline ? undefined : params.transfer.params, { recheck, reservation })
      } catch (err) {
        // Rate-limited like the other operator logs: an apiserver outage fails every proposal alike
        // (counted as reason="PersistFailed").
        if (this.operatorLogs.take()) this.log.error({ deal: params.dealUuid, err: (err as Error).message }, 'persisting the deal failed')
        return done('error', 'PersistFailed', 'server error: save to db')
      } finally {
        // Created: the store indexes it by now. Not created: the proposal is free to come again.
        if (this.inFlight.get(spc) === claim) this.inFlight.delete(spc)
        this.o.store.reserve(reservation, undefined)
        settle(r === undefined || 'duplicate' in r || 'refused' in r ? undefined : 'identical' in r ? r.identical : claim.deal)
      }
      if ('duplicate' in r) return done('rejected', 'DuplicateUuid', duplicateUuidMessage(r.duplicate))
      if ('identical' in r) return done('rejected', 'IdenticalProposal', identicalProposalMessage(r.identical))
      if ('refused' in r) {
        if (r.refused.detail !== undefined) this.detail(r.refused, params.dealUuid, provider)
        return done(resultOf(r.refused), r.refused.reason, r.refused.message)
      }
      return done('accepted', '', '')
    } catch (err) {
      // Rate-limited: a broken StorageProvider fails every proposal for it the same way.
      if (this.operatorLogs.take()) this.log.error({ deal: params.dealUuid, err: (err as Error).message }, 'proposal failed')
      if (err instanceof ProviderConfigError) {
        // Counted against the StorageProvider to fix (a name the operator chose, so no unbounded label).
        provider = err.provider
        return done('error', 'ProviderConfig', 'server error: internal error')
      }
      return done('error', 'InternalError', 'server error: internal error')
    }
  }
}

type Held = (providers: readonly string[]) => HeldTotals

function fundsPosition (base: Fact<FundsBase>, held: Held): Fact<FundsPosition> {
  if (!base.ok) return base
  const { providers, ...rest } = base.value
  const h = held(providers)
  return fact({ ...rest, held: { collateral: h.collateral, publishes: h.publishes } })
}

function stagingPosition (base: Fact<StagingBase>, held: Held): Fact<StagingPosition> {
  if (!base.ok) return base
  const { providers, ...rest } = base.value
  return fact({ ...rest, heldBytes: held(providers).stagingBytes })
}
