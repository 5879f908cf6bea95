/**
 * Online deals the ingress began writing and never finished: the StorageDeal was created, its
 * params Secret never was (the process died between the two writes, or a write's answer was lost
 * and the deal landed after the ingress gave up on it). Their clients never heard "accepted" (that
 * answer comes only after both writes), yet each such deal holds the provider's funds and staging
 * space, and makes every retry of its signed proposal "identical" to it. Nothing can transfer it
 * (the URL is in the missing Secret), so it is deleted.
 *
 * Looked at, each once: deals the ingress wrote and the apiserver created at that moment (their
 * create-attempt annotation carries the writer's time; a deal restored from a backup or migrated
 * keeps the annotation but is created later, and loses its status), that no controller has
 * touched (no status), older than a grace period far longer than a proposal's writes take and
 * younger than ORPHAN_MAX_AGE_MS, whose start epoch is still ahead (past it, the deal can no
 * longer be published). The age bound: a missing Secret says "never written" only soon after the
 * deal was; later, it says as likely that someone deleted it (to revoke a URL's token, say), and
 * the deal's client was told "accepted". Every running replica sweeps every 30 s, so an orphan is
 * found within minutes unless every replica was down for the whole half hour after it; such a
 * deal stays, as does one whose Secret was deleted, for a controller to fail at transfer.
 *
 * A deal is an orphan only if no Secret of the name its spec gives exists at all (a GET of its
 * metadata: the ingress may read Secrets by name, not list them); whoever owns a Secret of that
 * name, the deal is left alone. Every replica sweeps; the delete carries the deal's uid as a
 * precondition, so a sweep never removes a deal re-created under the same name.
 */
import type { StorageDeal } from '../api/types.generated.ts'
import { StorageDeals } from '../api/index.ts'
import type { EventRecorder } from '../kube/events.ts'
import { Core, isConflict, isNotFound, METADATA_ONLY, resourcePath, type KubeObject, type KubeRest } from '../kube/rest.ts'
import { logger } from '../log.ts'
import { orphansDeleted } from './metrics.ts'
import { ATTEMPT_ANNOTATION, attemptTime } from './store.ts'

const log = logger('ingress:orphans')

export interface OrphanSweepOptions {
  /** A deal is looked at once it is this old, by its creationTimestamp and since this replica first saw it. */
  graceMs?: number
  /** A deal older than this (by its creationTimestamp) is never looked at (ORPHAN_MAX_AGE_MS). */
  maxAgeMs?: number
  /** Time between sweeps. */
  intervalMs?: number
  /** Secrets looked up per sweep at most (the rest wait for the next sweep). */
  maxLookups?: number
  /** The chain head of the deal's provider; a deal whose head cannot be read is not looked at this sweep. */
  headOf?: (deal: StorageDeal) => Promise<number>
  now?: () => number
}

/** Writes of one proposal end within the drain (30 s); two minutes leaves room for clock skew. */
export const ORPHAN_GRACE_MS = 120_000
/** Past this age a deal without its params Secret is not taken for one the ingress never finished (see above). */
export const ORPHAN_MAX_AGE_MS = 30 * 60_000
/**
 * A deal created more than this after (or before) the attempt named in its annotation is a copy
 * (restored from a backup, migrated): the clocks of the ingress and the apiserver differ by far less.
 */
const COPY_SKEW_MS = 600_000
/** A deal that could not be checked (its provider's head unreadable, a lookup failing) waits this long. */
const FAILED_BACKOFF_MS = 300_000
const SWEEP_INTERVAL_MS = 30_000
const MAX_LOOKUPS = 200
const LOOKUP_CONCURRENCY = 4
const REQUEST_TIMEOUT_MS = 10_000

/**
 * A deal the ingress wrote, that must have a params Secret, and that no controller has taken on:
 * the only kind looked at.
 */
export function awaitsParamsCheck (d: StorageDeal): boolean {
  if (d.spec?.isOffline === true || d.status !== undefined || (d.metadata?.uid ?? '') === '' || (d.spec?.transfer?.paramsSecretRef?.name ?? '') === '') return false
  // Created by the attempt its annotation names, not copied later: a restored deal (sealed or not)
  // keeps the annotation and loses its status, and its Secret (still owned by the old uid) goes to
  // the garbage collector.
  const made = attemptTime(d.metadata?.annotations?.[ATTEMPT_ANNOTATION])
  const created = new Date(d.metadata?.creationTimestamp ?? NaN).getTime()
  return made !== undefined && Number.isFinite(created) && Math.abs(created - made) <= COPY_SKEW_MS
}

export class OrphanSweeper {
  private readonly rest: KubeRest
  private readonly namespace: string
  private readonly deals: () => Iterable<StorageDeal>
  private readonly events: EventRecorder | undefined
  private readonly graceMs: number
  private readonly maxAgeMs: number
  private readonly intervalMs: number
  private readonly maxLookups: number
  private readonly headOf: ((deal: StorageDeal) => Promise<number>) | undefined
  private readonly now: () => number
  /**
   * uid → what this replica knows of a deal waiting for a check: when it first saw it, whether it
   * was settled (its Secret found, or started: never looked up again), and when a deal that could
   * not be checked is tried again (so such deals do not take every sweep's lookups).
   */
  private readonly tracked = new Map<string, { seen: number, settled?: true, retryAt?: number }>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private running: Promise<unknown> | undefined
  private stopped = false

  constructor (rest: KubeRest, namespace: string, deals: () => Iterable<StorageDeal>, events?: EventRecorder, o: OrphanSweepOptions = {}) {
    this.rest = rest
    this.namespace = namespace
    this.deals = deals
    this.events = events
    this.graceMs = o.graceMs ?? ORPHAN_GRACE_MS
    this.maxAgeMs = o.maxAgeMs ?? ORPHAN_MAX_AGE_MS
    this.intervalMs = o.intervalMs ?? SWEEP_INTERVAL_MS
    this.maxLookups = o.maxLookups ?? MAX_LOOKUPS
    this.headOf = o.headOf
    this.now = o.now ?? Date.now
  }

  start (): void {
    const tick = (): void => {
      this.running = this.sweep()
        .catch((err: unknown) => { log.warn({ err: (err as Error).message }, 'orphaned deal sweep failed') })
        .finally(() => { if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs).unref() })
    }
    this.timer = setTimeout(tick, this.intervalMs).unref()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  /** One pass: the deals to look at now, their Secrets looked up, the orphans deleted. */
  async sweep (): Promise<{ looked: number, deleted: string[] }> {
    const now = this.now()
    const due: StorageDeal[] = []
    const present = new Set<string>()
    for (const d of this.deals()) {
      if (!awaitsParamsCheck(d)) continue
      const uid = d.metadata.uid!
      present.add(uid)
      let t = this.tracked.get(uid)
      if (t === undefined) this.tracked.set(uid, t = { seen: now })
      if (t.settled === true || (t.retryAt ?? 0) > now) continue
      const created = new Date(d.metadata.creationTimestamp ?? NaN).getTime()
      if (!Number.isFinite(created) || now - created > this.maxAgeMs) { t.settled = true; continue }
      if (now - t.seen >= this.graceMs && now - created >= this.graceMs && due.length < this.maxLookups) due.push(d)
    }
    // Deals gone, or taken on by a controller, are not tracked any longer.
    for (const uid of this.tracked.keys()) if (!present.has(uid)) this.tracked.delete(uid)

    const deleted: string[] = []
    const failed: string[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < due.length && !this.stopped) {
        const d = due[next++]!
        try {
          if (this.headOf !== undefined && d.spec.proposal.startEpoch <= await this.headOf(d)) {
            // Past its start epoch it can no longer be published: a controller decides what it is.
            this.settle(d)
          } else if (await this.hasParams(d)) this.settle(d)
          else if (await this.deleteOrphan(d)) deleted.push(d.metadata.name ?? '')
        } catch (err) {
          // Looked at again after a while; other deals take its place in the next sweeps.
          const t = this.tracked.get(d.metadata.uid!)
          if (t !== undefined) t.retryAt = now + FAILED_BACKOFF_MS
          failed.push(`deal ${d.metadata.name ?? ''}: ${(err as Error).message}`)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, due.length) }, worker))
    if (failed.length > 0) log.warn({ failed: failed.length, first: failed[0] }, 'could not check some deals for their params Secret; trying again next sweep')
    return { looked: due.length, deleted }
  }

  private settle (d: StorageDeal): void {
    const t = this.tracked.get(d.metadata.uid!)
    if (t !== undefined) t.settled = true
  }

  /** Whether a Secret of the name the deal's spec gives exists (whoever owns it). Throws when it cannot tell. */
  private async hasParams (d: StorageDeal): Promise<boolean> {
    try {
      await this.rest.request<KubeObject>('GET', resourcePath(Core.secrets, this.namespace, d.spec.transfer.paramsSecretRef!.name), {
        accept: METADATA_ONLY,
        timeoutMs: REQUEST_TIMEOUT_MS
      })
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  private async deleteOrphan (d: StorageDeal): Promise<boolean> {
    const name = d.metadata.name ?? ''
    try {
      await this.rest.request('DELETE', resourcePath(StorageDeals, this.namespace, name), {
        // The version looked at: a deal a controller took on meanwhile (a status written) stays.
        body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: d.metadata.uid, resourceVersion: d.metadata.resourceVersion } },
        timeoutMs: REQUEST_TIMEOUT_MS
      })
    } catch (err) {
      // Gone already, or re-created under the same name: not this orphan any more.
      if (isNotFound(err) || isConflict(err)) return false
      throw err
    }
    orphansDeleted.inc()
    const note = `deal ${name}: deleted: it has no transfer params Secret ${d.spec.transfer.paramsSecretRef!.name}, which the ingress writes right after the deal and before it answers the client: the ingress stopped between the two writes (or gave up on a deal write that landed later), so its client was never told it was accepted, unless the Secret was deleted since`
    log.warn({ deal: name, created: d.metadata.creationTimestamp }, note)
    await this.events?.record(d as StorageDeal & KubeObject, 'Warning', 'OrphanDeleted', 'Delete', note)
    return true
  }
}
