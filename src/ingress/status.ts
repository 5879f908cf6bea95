/**
 * /fil/storage/status/1.2.0: answers from the informer cache, after checking the request is signed
 * by the deal's client (boost's getDealStatus order: look up, resolve the client's key, verify).
 * boost verifies with lotus's sigs.Verify here, not with the AuthenticateMessage call it makes for a
 * proposal: an f410 client signs with its secp256k1 key (a delegated signature), and a contract
 * client, having no key, cannot ask for its deals' status.
 */
import { parseCidAnyBase } from '../filecoin/cid.ts'
import { Address } from '../filecoin/address.ts'
import { verifySignature } from '../filecoin/signature.ts'
import { logger } from '../log.ts'
import { statusRequestMessage } from '../protocol/proposal.ts'
import { fitText } from '../protocol/cbor/writer.ts'
import type { DealStatusRequest, DealStatusResponse } from '../protocol/types.ts'
import { proposalOf } from './deal-object.ts'
import type { ProviderDirectory } from './providers.ts'
import type { DealStore } from './store.ts'

const log = logger('ingress:status')

export class StatusService {
  private readonly providers: ProviderDirectory
  private readonly store: DealStore

  constructor (providers: ProviderDirectory, store: DealStore) {
    this.providers = providers
    this.store = store
  }

  async status (req: DealStatusRequest): Promise<DealStatusResponse> {
    const fail = (error: string): DealStatusResponse =>
      ({ dealUuid: req.dealUuid, error, dealStatus: null, isOffline: false, transferSize: 0, nBytesReceived: 0 })
    let deal
    try {
      deal = await this.store.get(req.dealUuid)
    } catch (err) {
      log.warn({ deal: req.dealUuid, err: (err as Error).message }, 'reading the deal failed')
      return fail('failed to fetch deal status')
    }
    if (deal === undefined) return fail(`no storage deal found with deal UUID ${req.dealUuid}`)
    const spec = deal.spec
    let key: Address
    try {
      const client = Address.fromString(spec.proposal.client)
      if (client.isKey || client.protocol === 4) {
        // A key or delegated address is its own account key (Lotus's StateAccountKey returns it as
        // is): no chain read, so a deal's status stays readable while its StorageProvider is gone or
        // its Lotus unreachable.
        key = client
      } else {
        // Through the deal's provider's Lotus, or any provider's (one chain) once that provider is
        // no longer served here: its deals' clients still ask.
        // Its own provider's config unusable (a token Secret gone) is no reason not to answer either.
        const entry = await this.providers.find(spec.proposal.provider).catch(() => undefined) ?? await this.providers.anyEntry()
        if (entry === undefined) throw new Error('no StorageProvider is served here to read the chain through')
        key = Address.fromString(await entry.chain.accountKey(spec.proposal.client))
      }
    } catch (err) {
      log.warn({ deal: req.dealUuid, err: (err as Error).message }, 'client account key')
      return fail(`failed to get account key for client addr ${spec.proposal.client}`)
    }
    if (!verifySignature(req.signature, key, statusRequestMessage(req.dealUuid))) return fail('signature verification failed')
    const st = deal.status ?? {}
    // A deal failed for good with no error written (by hand, say) is still a failure to its client.
    const error = st.error !== undefined && st.error !== '' ? st.error : st.checkpoint === 'Complete' && st.retry === 'fatal' ? 'deal failed (no error was recorded)' : ''
    // boost never moves a deal that succeeded to Complete: it stays at IndexedAndAnnounced while
    // the sector seals and after (deal_execution.go), and only failDeal sets Complete. boost's own
    // client prints Complete without an error as "Expired"; dealyard's last checkpoint for a
    // sealed deal is sent as boost sends it.
    const checkpoint = st.checkpoint === 'Complete' && error === '' ? 'IndexedAndAnnounced' : st.checkpoint ?? 'Accepted'
    // boost reports live bytes only while a transfer runs (0 before, after, when it failed or
    // waits to be retried, and for offline deals).
    const transferring = !spec.isOffline && checkpoint === 'Accepted' && error === '' && st.transfer?.jobName !== undefined
    try {
      return {
        dealUuid: req.dealUuid,
        error: '',
        isOffline: spec.isOffline,
        transferSize: spec.transfer.size,
        nBytesReceived: transferring ? st.transfer?.bytesReceived ?? 0 : 0,
        dealStatus: {
          error: fitText(error),
          status: checkpoint,
          sealingStatus: fitText(st.sector?.state ?? ''),
          proposal: proposalOf(spec),
          // In any multibase, as go-cid reads them: the schema takes any alphanumeric text.
          signedProposalCid: parseCidAnyBase(spec.signedProposalCid),
          publishCid: st.publishCid !== undefined ? parseCidAnyBase(st.publishCid) : null,
          chainDealId: st.chainDealId ?? 0
        }
      }
    } catch (err) {
      // A record written by hand or another tool that cannot be sent: the client hears that its
      // deal's status cannot be read (boost's text for a record it cannot load) instead of a reset
      // stream, and the operator hears which deal and why.
      log.warn({ deal: req.dealUuid, err: (err as Error).message }, 'the deal\'s record cannot be answered with')
      return fail('failed to fetch deal status')
    }
  }
}
