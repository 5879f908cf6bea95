/**
 * Keeps every served StorageProvider's status: whether it can take proposals (Ready, with the
 * reason when not: paused, an unusable token Secret or policy, a policy that refuses every
 * proposal, a missing or unusable ledger, Lotus unreachable or refusing the token, the miner not
 * on chain), whether its peer ID on chain is this ingress's, its chain head, worker and active deals.
 * Without it a misconfigured provider showed only in the ingress's logs and metrics, while
 * `kubectl get storageproviders` showed empty columns.
 *
 * One replica writes (a Lease in the ingress's namespace), every syncInterval and soon after a
 * StorageProvider's spec changes, through the status subresource; condition changes are Events,
 * in namespace "default": the apiserver takes Events about a cluster-scoped object only there (or
 * in kube-system), as client-go's recorder writes them.
 */
import { Gauge } from 'prom-client'
import { StorageProviders } from '../api/index.ts'
import type { StorageDeal, StorageProvider } from '../api/types.generated.ts'
import type { EventRecorder } from '../kube/events.ts'
import { sleep } from '../kube/backoff.ts'
import { LeaderElector } from '../kube/leaderelection.ts'
import type { KubeObject, KubeRest } from '../kube/rest.ts'
import { isNotFound } from '../kube/rest.ts'
import { updateStatus } from '../kube/status.ts'
import { LotusRpcError } from '../lotus/errors.ts'
import { logger } from '../log.ts'
import { registry } from '../metrics.ts'
import { TokenBucket } from '../token-bucket.ts'
import type { LedgerBook } from './ledgers.ts'
import { conditionEvents, providerStatus, READY, type ProviderObservation } from './provider-health.ts'
import { ProviderConfigError, type ProviderDirectory } from './providers.ts'

const log = logger('ingress:provider-status')

const providerReady = new Gauge({
  name: 'dealyard_provider_ready',
  help: 'StorageProvider Ready condition as last written (1 True, 0 otherwise); reported by the replica that writes provider status.',
  labelNames: ['provider'],
  registers: [registry]
})

export const PROVIDER_STATUS_LEASE = 'dealyard-ingress-provider-status'
export const SYNC_INTERVAL_MS = 30_000
/** A spec change is synced this soon (changes in a burst, as GitOps applies them, are synced once). */
const CHANGE_DELAY_MS = 1_000
/**
 * Events (and log lines) for a failure whose cause alone changed, per provider and condition: a
 * few at once (an operator fixing one cause after another), then one every few minutes. An
 * error text that differs on every sync (a proxy's error page with a request ID) would otherwise
 * be an Event every sync.
 */
const NEW_CAUSE_EVENTS = { burst: 5, perSecond: 1 / 120 }

export interface ProviderStatusOptions {
  rest: KubeRest
  /** Where the Lease is. */
  namespace: string
  peerId: string
  providers: () => StorageProvider[]
  directory: ProviderDirectory
  /** The deals the ingress's store caches (this namespace). */
  deals: () => Iterable<StorageDeal>
  events: EventRecorder
  /** The ledgers each provider names: a missing or unusable one makes it not Ready. */
  ledgers?: Pick<LedgerBook, 'missing' | 'unusable' | 'unparsable'>
  intervalMs?: number
  leaseName?: string
  /** Lease timings (tests shorten them). */
  lease?: { leaseDurationMs?: number, renewDeadlineMs?: number, retryPeriodMs?: number }
}

interface ProviderLoop {
  /** Ends the loop's wait (a spec change). */
  wake?: () => void
  /** The spec changed since this loop's sync read it: sync again soon. */
  dirty: boolean
}

export class ProviderStatusWriter {
  private readonly o: ProviderStatusOptions
  private readonly elector: LeaderElector
  /**
   * One loop per served provider while leading: a provider whose Lotus hangs delays only itself.
   * A map per term of leadership: a loop of an earlier term still inside a slow sync must not keep
   * this term from starting its own.
   */
  private loops = new Map<string, ProviderLoop>()
  private wakeLead: (() => void) | undefined
  private active: { at: number, counts: Map<string, number> } | undefined
  /** By provider name and condition type (NEW_CAUSE_EVENTS). */
  private readonly newCauses = new Map<string, TokenBucket>()

  constructor (o: ProviderStatusOptions) {
    this.o = o
    this.elector = new LeaderElector(o.rest, {
      namespace: o.namespace,
      name: o.leaseName ?? PROVIDER_STATUS_LEASE,
      ...o.lease,
      onStartedLeading: async (signal) => { await this.lead(signal) },
      onStoppedLeading: () => { providerReady.reset() }
    })
  }

  start (): void { void this.elector.run() }

  /** Whether this replica holds the Lease and writes. */
  get leading (): boolean { return this.elector.isLeader }

  async stop (): Promise<void> { await this.elector.stop() }

  /** StorageProvider `name` was added or its spec changed: sync it soon rather than at the next interval. */
  changed (name: string): void {
    const t = setTimeout(() => {
      const loop = this.loops.get(name)
      if (loop === undefined) { this.wakeLead?.(); return }
      loop.dirty = true
      loop.wake?.()
    }, CHANGE_DELAY_MS)
    t.unref()
  }

  /** Starts a loop for every provider served (now and as they appear) until leadership ends. */
  private async lead (signal: AbortSignal): Promise<void> {
    const running = new Set<Promise<void>>()
    const loops = new Map<string, ProviderLoop>()
    this.loops = loops
    while (!signal.aborted) {
      for (const sp of this.o.providers()) {
        const name = sp.metadata.name ?? ''
        if (loops.has(name)) continue
        const loop: ProviderLoop = { dirty: false }
        loops.set(name, loop)
        const p: Promise<void> = this.runLoop(name, loop, signal).finally(() => { loops.delete(name); running.delete(p) })
        running.add(p)
      }
      await wait(signal, this.o.intervalMs ?? SYNC_INTERVAL_MS, (wake) => { this.wakeLead = wake })
      this.wakeLead = undefined
    }
    await Promise.all(running)
  }

  private async runLoop (name: string, loop: ProviderLoop, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const sp = this.o.providers().find((p) => p.metadata.name === name)
      if (sp === undefined) {
        providerReady.remove({ provider: name })
        for (const k of this.newCauses.keys()) if (k.startsWith(`${name}/`)) this.newCauses.delete(k)
        return
      }
      loop.dirty = false
      await this.syncOne(sp, loop, signal)
      // Dirty: soon, not at once (the informer may not have the new spec yet).
      await wait(signal, loop.dirty ? CHANGE_DELAY_MS : this.o.intervalMs ?? SYNC_INTERVAL_MS, (wake) => { loop.wake = wake })
      loop.wake = undefined
    }
  }

  /** One sync of every served provider, all at once (tests; the loops do this while leading). */
  async syncAll (): Promise<void> {
    const always = new AbortController().signal
    await Promise.all(this.o.providers().map(async (sp) => { await this.syncOne(sp, { dirty: false }, always) }))
  }

  private async syncOne (sp: StorageProvider, loop: ProviderLoop, leading: AbortSignal): Promise<void> {
    const name = sp.metadata.name ?? ''
    try {
      await this.sync(sp, this.activeDeals(name), loop, leading)
    } catch (err) {
      if (!isNotFound(err)) log.warn({ provider: name, err: (err as Error).message }, 'writing the provider status failed')
    }
  }

  /** Counted over the cached deals at most once a second, for every provider at once. */
  private activeDeals (provider: string): number {
    const now = Date.now()
    if (this.active === undefined || now - this.active.at >= 1000) this.active = { at: now, counts: activeDealsByProvider(this.o.deals()) }
    return this.active.counts.get(provider) ?? 0
  }

  /**
   * `leading` aborts when this replica stops leading: an observation that ends after that (a slow
   * Lotus call) is not written, nor its Events recorded: the replica leading now writes its own.
   */
  private async sync (sp: StorageProvider, activeDeals: number, loop: ProviderLoop, leading: AbortSignal): Promise<void> {
    const observation = await this.observe(sp, activeDeals)
    if (leading.aborted) return
    const name = sp.metadata.name ?? ''
    let before: StorageProvider['status']
    const { object, written } = await updateStatus<StorageProvider & KubeObject>(this.o.rest, StorageProviders, undefined, name, [(current) => {
      if (leading.aborted) return
      // The spec changed after it was observed (or the provider was deleted and made again under
      // its name): a status stamped with the new generation would describe the old spec. Leave
      // it, and sync again.
      if (current.metadata?.generation !== sp.metadata.generation || current.metadata?.uid !== sp.metadata.uid) { loop.dirty = true; return }
      before = structuredClone(current.status)
      current.status = providerStatus(current, observation)
    }])
    if (leading.aborted) return
    const after = object.status ?? {}
    providerReady.set({ provider: name }, after.conditions?.find((c) => c.type === READY)?.status === 'True' ? 1 : 0)
    if (!written) return
    for (const e of conditionEvents(before, after)) {
      if (e.newCause === true && !this.newCauseBucket(`${name}/${e.condition}`).take()) continue
      log.info({ provider: name, reason: e.reason, note: e.note }, 'provider condition changed')
      await this.o.events.record(object, e.type, e.reason, 'Sync', e.note)
    }
  }

  private newCauseBucket (key: string): TokenBucket {
    let b = this.newCauses.get(key)
    if (b === undefined) this.newCauses.set(key, b = new TokenBucket(NEW_CAUSE_EVENTS))
    return b
  }

  private async observe (sp: StorageProvider, activeDeals: number): Promise<ProviderObservation> {
    // The ingress's namespace is also where a tokenSecretRef without one points (index.ts).
    const o: ProviderObservation = { peerId: this.o.peerId, activeDeals, now: new Date(), secretNamespace: this.o.namespace }
    if (sp.metadata.deletionTimestamp != null) {
      o.deleting = true
      return o
    }
    const served = this.o.directory.servedFor(sp.spec.address)
    if (served !== undefined && served.metadata.name !== sp.metadata.name) {
      o.shadowedBy = served.metadata.name ?? ''
      return o
    }
    let entry
    try {
      entry = await this.o.directory.entry(sp)
    } catch (err) {
      o.configError = (err as Error).message
      if (err instanceof ProviderConfigError && err.transient) o.configRetrying = true
      return o
    }
    const ledgerError = this.o.ledgers?.missing(sp)
    if (ledgerError !== undefined) o.ledgerError = ledgerError
    const stale = this.o.directory.staleTokenError(sp)
    if (stale !== undefined) o.staleTokenError = stale
    // Read now: the admission cache serves a stale head while a refresh is slow.
    const [head, miner, unusable] = await Promise.allSettled([
      entry.chain.head({ fresh: true }),
      entry.chain.minerInfo(sp.spec.address),
      ledgerError === undefined ? this.o.ledgers?.unusable(sp, entry.chain) : undefined
    ])
    o.head = head.status === 'fulfilled' ? { epoch: head.value } : { error: errorText(head.reason) }
    o.miner = miner.status === 'fulfilled' ? miner.value : { error: errorText(miner.reason) }
    const refused = [head, miner].find((r) => r.status === 'rejected' && tokenRefused(r.reason))
    if (refused?.status === 'rejected') o.tokenRefused = errorText(refused.reason)
    // With the head unread, the ledger's reads failed for the endpoint's reason (another API at the
    // URL answers "method not found" to all): only what needs no chain is the ledger's fault then.
    const ledgerProblem = head.status === 'fulfilled' ? (unusable.status === 'fulfilled' ? unusable.value : undefined) : this.o.ledgers?.unparsable(sp)
    if (ledgerProblem !== undefined) o.ledgerUnusable = ledgerProblem
    o.now = new Date()
    return o
  }
}

/** Resolves after `ms`, when woken (the function handed to `setWake`), or when the signal aborts. */
async function wait (signal: AbortSignal, ms: number, setWake: (wake: () => void) => void): Promise<void> {
  const woken = new AbortController()
  setWake(() => { woken.abort() })
  await sleep(ms, AbortSignal.any([signal, woken.signal]))
}

function errorText (err: unknown): string { return err instanceof Error ? err.message : String(err) }

/**
 * Lotus answered, refusing the token: 401 (what Lotus answers a token it cannot verify), or 403
 * from a proxy in front of it; the Lotus client calls both ERR_LOTUS_AUTH, and an error that wraps
 * one keeps its HTTP status.
 */
function tokenRefused (err: unknown): boolean {
  return err instanceof LotusRpcError && (err.code === 'ERR_LOTUS_AUTH' || err.httpStatus === 401 || err.httpStatus === 403)
}

/** Deals not yet Complete, by StorageProvider name. */
export function activeDealsByProvider (deals: Iterable<StorageDeal>): Map<string, number> {
  const n = new Map<string, number>()
  for (const d of deals) {
    if (d.status?.checkpoint === 'Complete') continue
    const p = d.spec?.provider
    if (typeof p === 'string') n.set(p, (n.get(p) ?? 0) + 1)
  }
  return n
}
