/**
 * Which StorageProvider a proposal is for (by the proposal's Provider address, venus-market's
 * multi-miner model: one libp2p host serves every provider), with its admission terms and its Lotus
 * full node. Terms are rebuilt when the resource changes; Lotus clients are shared per endpoint.
 */
import type { StorageProvider, SecretKeyRef } from '../api/types.generated.ts'
import { LOTUS_TOKEN_LABEL } from '../api/storageprovider.ts'
import { DealyardError } from '../errors.ts'
import { KubeApiError } from '../kube/rest.ts'
import { addressKey, type ProviderTerms } from '../policy/admission.ts'
import { providerTerms, type TermsOptions } from '../policy/terms.ts'
import { logger } from '../log.ts'
import { LotusChain, type ChainReader, type LotusChainOptions } from './chain.ts'
import { TokenBucket } from '../token-bucket.ts'

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
  /** Default TOKEN_REFRESH_MS and FAILED_ENTRY_MS. */
  tokenRefreshMs?: number
  failedEntryMs?: number
}

/**
 * A Lotus token Secret is read again this often (a rotated token takes effect without touching the
 * StorageProvider); meanwhile requests use the token read last.
 */
export const TOKEN_REFRESH_MS = 30_000
/** A StorageProvider whose config cannot be used is tried again after this long, not on every request. */
export const FAILED_ENTRY_MS = 5_000
/** One whose config could not be read for a reason that passes (the apiserver unavailable) is tried again after this long. */
const TRANSIENT_FAILURE_MS = 1_000

interface CachedEntry {
  /** The spec version it was built from (specVersion). */
  key: string
  entry?: ProviderEntry
  error?: Error
  /** When it was built (or last tried). */
  at: number
  refreshing?: boolean
  /** Why the last background read of the token failed (the entry serves with the token read before). */
  refreshError?: string
  /**
   * A failed build's: the entry that served before it, so a later spec that names the same
   * endpoint and token Secret still gets the token read before (a typo made and fixed while the
   * Secret is unreadable must not cost the token).
   */
  served?: ProviderEntry
}

export class ProviderDirectory {
  private readonly o: ProviderDirectoryOptions
  private readonly terms = new Map<string, CachedEntry>()
  /** Lotus clients by endpoint and token, shared by the providers that use the same node. */
  private readonly chains = new Map<string, ChainReader>()
  private readonly warnings = new TokenBucket({ perSecond: 0.1, burst: 2 })
  private readonly building = new Map<string, { key: string, entry: Promise<ProviderEntry> }>()

  constructor (o: ProviderDirectoryOptions) { this.o = o }

  /**
   * The StorageProviders that serve: not those being deleted (a finalizer may keep one for long,
   * and its operator's delete means no more deals).
   */
  private live (): StorageProvider[] { return this.o.list().filter((p) => p.metadata.deletionTimestamp == null) }

  /** The live StorageProviders with this address (f/t letter ignored), the one served first. */
  private withAddress (address: string): StorageProvider[] {
    const key = addressKey(address)
    const matches = this.live().filter((p) => addressKey(p.spec.address) === key)
    // Several are a misconfiguration: the oldest serves, deterministically on every replica.
    if (matches.length > 1) {
      matches.sort((a, b) => String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? '')) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
    }
    return matches
  }

  /** The StorageProvider served for `address`, or undefined. */
  servedFor (address: string): StorageProvider | undefined { return this.withAddress(address)[0] }

  /** The provider whose spec.address is `address` (f/t letter ignored), or undefined. */
  async find (address: string): Promise<ProviderEntry | undefined> {
    const [sp, ...shadowed] = this.withAddress(address)
    if (sp === undefined) return undefined
    if (shadowed.length > 0 && this.warnings.take()) {
      log.warn({ address, served: sp.metadata.name, shadowed: shadowed.map((m) => m.metadata.name) }, 'several StorageProviders have this address; using the oldest')
    }
    return await this.entry(sp)
  }

  addresses (): string[] { return this.live().map((p) => p.spec.address) }

  /**
   * A usable provider, any one (the first by name whose config builds): its Lotus reads the chain
   * for a proposal that names no provider served here, so boost's checks before the provider's
   * (the head, the client's signature) still come first.
   */
  async anyEntry (): Promise<ProviderEntry | undefined> {
    const sps = this.live().sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
    for (const sp of sps) {
      try { return await this.entry(sp) } catch {}
    }
    return undefined
  }

  /** Why reading `sp`'s token again failed, while the token read before stays in use; undefined when it did not. */
  staleTokenError (sp: StorageProvider): string | undefined {
    const c = this.terms.get(sp.metadata.name ?? '')
    return c?.entry !== undefined && c.key === specVersion(sp) ? c.refreshError : undefined
  }

  async entry (sp: StorageProvider): Promise<ProviderEntry> {
    const name = sp.metadata.name ?? ''
    const key = specVersion(sp)
    const now = Date.now()
    const c = this.terms.get(name)
    if (c !== undefined && c.key === key) {
      if (c.entry === undefined) {
        const failedMs = this.o.failedEntryMs ?? FAILED_ENTRY_MS
        // An apiserver that did not answer is asked again sooner than a config the operator must fix.
        if (now - c.at < ((c.error as ProviderConfigError).transient ? Math.min(failedMs, TRANSIENT_FAILURE_MS) : failedMs)) throw c.error!
      } else {
        if (now - c.at >= (this.o.tokenRefreshMs ?? TOKEN_REFRESH_MS) && sp.spec.lotus.fullNode.tokenSecretRef !== undefined && c.refreshing !== true) this.refresh(sp, c)
        return c.entry
      }
    }
    // Requests that come while the entry is being built wait for that one build (one Secret read).
    const pending = this.building.get(name)
    if (pending !== undefined && pending.key === key) return await pending.entry
    const previous = c?.entry ?? c?.served
    const build = this.build(sp, previous).then(({ entry, staleToken }) => {
      this.terms.set(name, { key, entry, at: now, ...(staleToken !== undefined ? { refreshError: staleToken } : {}) })
      this.prune()
      return entry
    }, (err: unknown) => {
      this.terms.set(name, { key, error: err as Error, at: now, ...(previous !== undefined ? { served: previous } : {}) })
      throw err
    }).finally(() => { if (this.building.get(name)?.entry === build) this.building.delete(name) })
    this.building.set(name, { key, entry: build })
    return await build
  }

  /** Reads the token again in the background; the entry in use serves meanwhile, and stays if the read fails. */
  private refresh (sp: StorageProvider, c: CachedEntry): void {
    c.refreshing = true
    const name = sp.metadata.name ?? ''
    this.build(sp).then(({ entry }) => {
      if (this.terms.get(name) === c) this.terms.set(name, { key: c.key, entry, at: Date.now() })
      this.prune()
    }, (err: unknown) => {
      c.at = Date.now()
      c.refreshError = (err as Error).message
      if (this.warnings.take()) log.warn({ provider: name, err: (err as Error).message }, 'reading the Lotus token again failed; using the one read last')
    }).finally(() => { c.refreshing = false })
  }

  /**
   * The entry for `sp`. `previous`: the entry of an earlier spec of it; when the token Secret
   * cannot be read now, for whatever reason, and the URL and the token's Secret ref are the same,
   * its Lotus client (the token read before) serves the new terms, as a failed background refresh
   * would (reported as a stale token): an edit of the ask or the policy must not stop a provider
   * that was serving. Another URL or Secret gets no token it was not read for.
   */
  private async build (sp: StorageProvider, previous?: ProviderEntry): Promise<{ entry: ProviderEntry, staleToken?: string }> {
    const name = sp.metadata.name ?? ''
    try {
      const terms = providerTerms(sp, this.o)
      try {
        return { entry: { resource: sp, terms, chain: await this.chainOf(sp) } }
      } catch (err) {
        if (previous === undefined || sp.spec.lotus.fullNode.tokenSecretRef === undefined || !sameEndpoint(previous.resource, sp)) throw err
        if (this.warnings.take()) log.warn({ provider: name, err: (err as Error).message }, 'reading the Lotus token failed; the new spec is served with the token read before')
        // Worded as the background refresh's failure is (ProviderConfigError's message).
        return { entry: { resource: sp, terms, chain: previous.chain }, staleToken: `StorageProvider ${name}: ${(err as Error).message}` }
      }
    } catch (err) {
      // Named, so the log line that reports the failed proposal, ask or status says which
      // StorageProvider to fix.
      throw new ProviderConfigError(name, `StorageProvider ${name}: ${(err as Error).message}`, { cause: err, transient: passing(err) })
    }
  }

  /**
   * Drops what no provider uses any more: the entries of deleted providers, and Lotus clients
   * (a token was rotated, an endpoint changed, the provider went).
   */
  private prune (): void {
    const names = new Set(this.o.list().map((p) => p.metadata.name ?? ''))
    for (const [name, c] of this.terms) if (!names.has(name) && c.refreshing !== true) this.terms.delete(name)
    const used = new Set([...this.terms.values()].flatMap((c) => [c.entry?.chain, c.served?.chain]))
    for (const [k, chain] of this.chains) if (!used.has(chain)) this.chains.delete(k)
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

/**
 * Which version of a StorageProvider's spec this is: what its terms and its ask are made from. By
 * generation, so status writes (every sync, provider-status.ts) and metadata edits do not rebuild
 * the terms, re-read the token Secret or re-sign the ask.
 */
export function specVersion (sp: StorageProvider): string {
  return sp.metadata.generation !== undefined ? `${sp.metadata.uid ?? ''}/${sp.metadata.generation}` : sp.metadata.resourceVersion ?? JSON.stringify(sp.spec)
}

type SecretRead = { metadata?: { namespace?: string, name?: string, labels?: Record<string, string> }, data?: Record<string, string> }

/**
 * Reads the token `ref` names (a ref without a namespace: `namespace`, the deals'). A read RBAC
 * forbids says which chart setting grants it, as the 403 alone names only the Secret.
 */
export async function readLotusToken (get: (namespace: string, name: string) => Promise<SecretRead>, ref: SecretKeyRef, namespace: string): Promise<string> {
  const ns = ref.namespace ?? namespace
  let secret: SecretRead
  try {
    secret = await get(ns, ref.name)
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) {
      throw new DealyardError('ERR_PROVIDER_CONFIG', `${err.message} (the chart lets the ingress read token Secrets in its release and deals namespaces and in ingress.secretNamespaces, only those named in ingress.tokenSecretNames when that is set: add ${ns} or ${ref.name} there, or move the Secret)`, { cause: err })
    }
    throw err
  }
  return lotusToken(secret, ref)
}

/**
 * The token a StorageProvider's tokenSecretRef names, from the Secret read: only from a Secret
 * marked as a Lotus token (LOTUS_TOKEN_LABEL=true), since the token goes to the URL the
 * StorageProvider gives.
 */
export function lotusToken (secret: SecretRead, ref: SecretKeyRef): string {
  const ns = secret.metadata?.namespace ?? ref.namespace ?? ''
  const name = `${ns}/${secret.metadata?.name ?? ref.name}`
  if (secret.metadata?.labels?.[LOTUS_TOKEN_LABEL] !== 'true') {
    throw new Error(`Secret ${name} is not labelled ${LOTUS_TOKEN_LABEL}=true: a StorageProvider may name only Secrets marked as Lotus tokens (kubectl${ns !== '' ? ` -n ${ns}` : ''} label secret ${secret.metadata?.name ?? ref.name} ${LOTUS_TOKEN_LABEL}=true)`)
  }
  const v = secret.data?.[ref.key]
  if (v === undefined) throw new Error(`Secret ${name} has no key ${ref.key}`)
  return Buffer.from(v, 'base64').toString('utf8')
}

/**
 * A StorageProvider whose config cannot be used (its Lotus token, its terms): the operator must
 * fix it. Names it for metrics and logs.
 */
export class ProviderConfigError extends DealyardError {
  readonly provider: string
  /** The config could not be read for a reason that passes (the apiserver unavailable), not because it is wrong. */
  readonly transient: boolean
  constructor (provider: string, message: string, opts?: ErrorOptions & { transient?: boolean }) {
    super('ERR_PROVIDER_CONFIG', message, { ...opts, retry: opts?.transient === true ? 'auto' : 'manual' })
    this.name = 'ProviderConfigError'
    this.provider = provider
    this.transient = opts?.transient === true
  }
}

/**
 * A read that failed for a reason that passes (the apiserver's 5xx or 429, or no answer at all):
 * what the kube client already classes as retried automatically.
 */
function passing (err: unknown): boolean {
  return err instanceof DealyardError && err.retry === 'auto'
}

/**
 * The same Lotus URL and the same token Secret key: a client built for one serves the other. A ref
 * without a namespace and one naming the ingress's are told apart (this does not know which that
 * is): at worst a failed read of it is not bridged with the token read before.
 */
function sameEndpoint (a: StorageProvider, b: StorageProvider): boolean {
  const x = a.spec.lotus.fullNode
  const y = b.spec.lotus.fullNode
  const r = x.tokenSecretRef
  const q = y.tokenSecretRef
  return x.url === y.url && (r === undefined || q === undefined
    ? r === q
    : r.namespace === q.namespace && r.name === q.name && r.key === q.key)
}
