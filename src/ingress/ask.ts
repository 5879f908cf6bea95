/**
 * /fil/storage/ask/1.1.0: the provider's signed StorageAsk from its StorageProvider spec, or
 * {"Ask": null} for a miner not served here (boost has no error field). Signed asks are cached per
 * provider generation and re-made when they expire.
 */
import { sign, type Signature } from '../filecoin/signature.ts'
import type { PrivateKey } from '../filecoin/keys.ts'
import { FullNodeClient } from '../lotus/fullnode.ts'
import { signWithWorker } from '../lotus/wallet.ts'
import { logger } from '../log.ts'
import { encodeStorageAsk } from '../protocol/ask.ts'
import type { AskRequest, AskResponse, SignedStorageAsk, StorageAsk } from '../protocol/types.ts'
import { LotusChain } from './chain.ts'
import type { ProviderDirectory, ProviderEntry } from './providers.ts'

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

export class AskService {
  private readonly providers: ProviderDirectory
  private readonly signer: AskSigner | undefined
  private readonly cache = new Map<string, { gen: string, signed: SignedStorageAsk }>()

  constructor (providers: ProviderDirectory, signer?: AskSigner) {
    this.providers = providers
    this.signer = signer
  }

  async ask (req: AskRequest): Promise<AskResponse> {
    const entry = await this.providers.find(req.miner.toString())
    if (entry === undefined) return { ask: null }
    const sp = entry.resource
    const gen = `${sp.metadata.uid ?? ''}/${sp.metadata.generation ?? sp.metadata.resourceVersion ?? ''}`
    const head = await entry.chain.head()
    const cached = this.cache.get(entry.terms.name)
    if (cached !== undefined && cached.gen === gen && cached.signed.ask !== null && cached.signed.ask.expiry > head) return { ask: cached.signed }
    const a = sp.spec.ask ?? {}
    const ask: StorageAsk = {
      price: entry.terms.ask.price,
      verifiedPrice: entry.terms.ask.verifiedPrice,
      minPieceSize: entry.terms.ask.minPieceSize,
      maxPieceSize: entry.terms.ask.maxPieceSize,
      miner: entry.terms.address,
      timestamp: head,
      expiry: head + (a.expiryEpochs ?? 2880),
      seqNo: a.seqNo ?? 0
    }
    let signature: Signature | null = null
    if (this.signer !== undefined) {
      try { signature = await this.signer(entry, encodeStorageAsk(ask)) } catch (err) {
        log.warn({ provider: entry.terms.name, err: (err as Error).message }, 'signing the ask failed; answering it unsigned')
      }
    }
    const signed: SignedStorageAsk = { ask, signature }
    if (signature !== null) this.cache.set(entry.terms.name, { gen, signed })
    return { ask: signed }
  }
}
