/**
 * /fil/storage/ask/1.1.0: the provider's signed StorageAsk from its StorageProvider spec, or
 * {"Ask": null} for a miner not served here (boost has no error field). Signed asks are cached per
 * provider generation and re-made when they expire.
 */
import { ASK_DEFAULTS } from '../api/storageprovider.ts'
import type { StorageProvider } from '../api/types.generated.ts'
import { sign, type Signature } from '../filecoin/signature.ts'
import type { PrivateKey } from '../filecoin/keys.ts'
import { FullNodeClient } from '../lotus/fullnode.ts'
import { signWithWorker } from '../lotus/wallet.ts'
import { logger } from '../log.ts'
import { encodeStorageAsk } from '../protocol/ask.ts'
import type { AskRequest, AskResponse, SignedStorageAsk, StorageAsk } from '../protocol/types.ts'
import { TokenBucket } from '../token-bucket.ts'
import { LotusChain } from './chain.ts'
import { specVersion, type ProviderDirectory, type ProviderEntry } from './providers.ts'

const log = logger('ingress:ask')

/** Signs the CBOR of a StorageAsk for a miner. */
export type AskSigner = (entry: ProviderEntry, message: Uint8Array) => Promise<Signature>

/** A local worker key (e.g. a Secret-mounted `lotus wallet export` file). */
export const keySigner = (key: PrivateKey): AskSigner => async (_e, m) => sign(key, m)

/** boost's way: WalletSign with the miner's worker key on the provider's full node. */
export const lotusWorkerSigner: AskSigner = async (e, m) => {
  const full = e.chain instanceof LotusChain ? e.chain.client : undefined
  if (!(full instanceof FullNodeClient)) throw new Error('provider has no Lotus full node client')
  return await signWithWorker(full, e.terms.address.toString(), m)
}

/** How long an ask whose signing failed is served unsigned before signing is tried again. */
export const ASK_SIGN_RETRY_MS = 10_000

interface CachedAsk {
  /** The StorageProvider generation the ask was made from. */
  gen: string
  signed?: SignedStorageAsk
  /** Being made: every request for it meanwhile waits on this one signing. */
  pending?: Promise<SignedStorageAsk>
  /** An unsigned ask (its signing failed) is re-made after this time. */
  retryAt: number
}

export class AskService {
  private readonly providers: ProviderDirectory
  private readonly signer: AskSigner | undefined
  private readonly now: () => number
  private readonly cache = new Map<string, CachedAsk>()
  private readonly warnings = new TokenBucket({ perSecond: 0.1, burst: 1 })

  constructor (providers: ProviderDirectory, signer?: AskSigner, now: () => number = Date.now) {
    this.providers = providers
    this.signer = signer
    this.now = now
  }

  /**
   * The cached ask while it is current; otherwise one signing, shared by every request that comes
   * meanwhile. A failed signing (Lotus down, no worker key) is answered unsigned and not tried
   * again for ASK_SIGN_RETRY_MS: a burst of ask requests is one WalletSign call, and a Lotus that
   * is down gets one call and one log line per provider every ten seconds, not one per request.
   */
  async ask (req: AskRequest): Promise<AskResponse> {
    let entry
    try {
      entry = await this.providers.find(req.miner.toString())
    } catch (err) {
      // A StorageProvider whose config cannot be used: no ask to give, and the operator is told.
      if (this.warnings.take()) log.warn({ miner: req.miner.toString(), err: (err as Error).message }, 'no ask to serve')
      return { ask: null }
    }
    if (entry === undefined) return { ask: null }
    const sp = entry.resource
    const gen = specVersion(sp)
    const name = entry.terms.name
    let head: number
    try { head = await entry.chain.head() } catch (err) {
      // boost answers from its stored ask without touching the chain: so does the ask made last,
      // past its expiry if need be, while the head cannot be read. Only with no ask made yet is
      // there nothing to send (a timestamp needs the head).
      const c = this.cache.get(name)
      const last = c?.gen === gen ? c.signed : undefined
      if (last === undefined && this.warnings.take()) log.warn({ provider: name, err: (err as Error).message }, 'no ask to serve: the chain head cannot be read')
      return { ask: last ?? null }
    }
    // Read after the wait: a request that came meanwhile may have started the signing.
    const c = this.cache.get(name)
    if (c !== undefined && c.gen === gen) {
      if (c.pending !== undefined) return { ask: await c.pending }
      const s = c.signed
      if (s?.ask != null && s.ask.expiry > head && (s.signature !== null || this.now() < c.retryAt)) return { ask: s }
    }
    const made: CachedAsk = { gen, retryAt: 0 }
    made.pending = this.make(entry, head).then((signed) => {
      made.signed = signed
      made.retryAt = this.now() + ASK_SIGN_RETRY_MS
      return signed
    }).finally(() => { made.pending = undefined })
    this.cache.set(name, made)
    return { ask: await made.pending }
  }

  private async make (entry: ProviderEntry, head: number): Promise<SignedStorageAsk> {
    const a = entry.resource.spec.ask ?? {}
    const ask: StorageAsk = {
      price: entry.terms.ask.price,
      verifiedPrice: entry.terms.ask.verifiedPrice,
      minPieceSize: entry.terms.ask.minPieceSize,
      maxPieceSize: entry.terms.ask.maxPieceSize,
      miner: entry.terms.address,
      timestamp: head,
      expiry: head + (a.expiryEpochs ?? ASK_DEFAULTS.expiryEpochs),
      seqNo: askSeqNo(entry.resource)
    }
    let signature: Signature | null = null
    if (this.signer !== undefined) {
      try { signature = await this.signer(entry, encodeStorageAsk(ask)) } catch (err) {
        log.warn({ provider: entry.terms.name, err: (err as Error).message, retryInMs: ASK_SIGN_RETRY_MS }, 'signing the ask failed; answering it unsigned')
      }
    }
    return { ask, signature }
  }
}

/**
 * The ask's SeqNo: the operator's, or the StorageProvider's generation (see the CRD). 0 counts as
 * unset: the CRD used to default it to 0, so StorageProviders stored before carry a 0 nobody chose.
 */
export function askSeqNo (sp: StorageProvider): number {
  const set = sp.spec.ask?.seqNo
  return set !== undefined && set !== 0 ? set : sp.metadata?.generation ?? 0
}
