/**
 * Which StorageProvider a proposal is for (by the proposal's Provider address, venus-market's
 * multi-miner model: one libp2p host serves every provider), with its admission terms and its Lotus
 * full node. Terms are rebuilt when the resource changes; Lotus clients are shared per endpoint.
 */
import type { StorageProvider, SecretKeyRef } from '../api/types.generated.ts'
import { addressKey, type ProviderTerms } from '../policy/admission.ts'
import { providerTerms, type TermsOptions } from '../policy/terms.ts'
import { logger } from '../log.ts'
import { LotusChain, type ChainReader, type LotusChainOptions } from './chain.ts'

const log = logger('ingress:providers')

export interface ProviderEntry {
  resource: StorageProvider
  terms: ProviderTerms
  chain: ChainReader
}

/** Reads a Secret key (the full node's API token). */
export type SecretReader = (ref: SecretKeyRef) => Promise<string>

export interface ProviderDirectoryOptions extends TermsOptions {
  /** The current StorageProviders (an informer's list). */
  list: () => StorageProvider[]
  readSecret?: SecretReader
  chain?: LotusChainOptions
  /** Tests and the bench inject a chain reader instead of Lotus. */
  chainFor?: (sp: StorageProvider) => ChainReader
}

export class ProviderDirectory {
  private readonly o: ProviderDirectoryOptions
  private readonly terms = new Map<string, { rv: string, entry: ProviderEntry }>()
  private readonly chains = new Map<string, ChainReader>()

  constructor (o: ProviderDirectoryOptions) { this.o = o }

  /** The provider whose spec.address is `address` (f/t letter ignored), or undefined. */
  async find (address: string): Promise<ProviderEntry | undefined> {
    const key = addressKey(address)
    const matches = this.o.list().filter((p) => addressKey(p.spec.address) === key)
    if (matches.length > 1) {
      // A misconfiguration: serve the oldest one, deterministically on every replica, and say so.
      matches.sort((a, b) => String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? '')) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
      log.warn({ address, providers: matches.map((m) => m.metadata.name) }, 'several StorageProviders have this address; using the oldest')
    }
    const sp = matches[0]
    return sp === undefined ? undefined : await this.entry(sp)
  }

  addresses (): string[] { return this.o.list().map((p) => p.spec.address) }

  async entry (sp: StorageProvider): Promise<ProviderEntry> {
    const name = sp.metadata.name ?? ''
    const rv = sp.metadata.resourceVersion ?? JSON.stringify(sp.spec)
    const cached = this.terms.get(name)
    if (cached !== undefined && cached.rv === rv) return cached.entry
    let entry: ProviderEntry
    try {
      entry = { resource: sp, terms: providerTerms(sp, this.o), chain: await this.chainOf(sp) }
    } catch (err) {
      // Named, so the log line that reports the failed proposal, ask or status says which
      // StorageProvider to fix.
      throw new Error(`StorageProvider ${name}: ${(err as Error).message}`, { cause: err })
    }
    this.terms.set(name, { rv, entry })
    return entry
  }

  private async chainOf (sp: StorageProvider): Promise<ChainReader> {
    if (this.o.chainFor !== undefined) return this.o.chainFor(sp)
    const ep = sp.spec.lotus.fullNode
    let token: string | undefined
    if (ep.tokenSecretRef !== undefined) {
      if (this.o.readSecret === undefined) throw new Error(`provider ${sp.metadata.name ?? ''}: a token Secret is set but no Secret reader`)
      token = (await this.o.readSecret(ep.tokenSecretRef)).trim()
    }
    const key = `${ep.url}\n${token ?? ''}`
    let c = this.chains.get(key)
    if (c === undefined) {
      log.info({ provider: sp.metadata.name, url: ep.url }, 'lotus full node client')
      c = new LotusChain({ url: ep.url, ...(token !== undefined ? { token } : {}) }, this.o.chain)
      this.chains.set(key, c)
    }
    return c
  }
}
