/**
 * Where accepted proposals go: a StorageDeal named by the deal UUID, and for online deals a Secret
 * with the transfer params owned by it.
 *
 * Order: the StorageDeal first; once the watch has delivered it and it is decided (below), the
 * Secret with an ownerReference to the deal's uid.
 *  - The deal's create is the atomic duplicate check across replicas (AlreadyExists = same UUID);
 *    a losing replica has written nothing, so a rejection leaves nothing behind.
 *  - The Secret is born owned, so it can never be an orphan: it goes when the deal goes.
 *  - If the Secret write fails, the deal is deleted again (uid precondition) before answering, so
 *    "accepted" is only ever sent after both writes succeeded.
 *  - A write whose answer is lost (timeout, connection gone, the apiserver's own 5xx) may have
 *    happened: the deal is looked up, and is ours only if it carries this write's attempt
 *    annotation. Still unknown, the client hears a failure and the write is remembered as
 *    abandoned: if the deal shows up in the watch later, it is deleted.
 *  - Windows left: the process ending between the two writes, before an abandoned deal shows up,
 *    or before a refused deal's delete succeeds. Each leaves an online deal without its params
 *    Secret, whose client never heard "accepted" and which can never be transferred: any replica
 *    deletes it once it is two minutes old (orphans.ts). An offline deal has no Secret to be told
 *    by: one left so stays until an operator deletes it (nothing tells it from an accepted deal
 *    waiting days for its data).
 * The other order (Secret first) would leave an orphan Secret on every duplicate and on a crash.
 * Once the watch delivers the new deal, it is decided again in the order every replica sees
 * (afterCommit): against an identical proposal another replica accepted first, and against the
 * provider's funds and staging space as the deals delivered before it hold them.
 */
import type { StorageDeal } from '../api/types.generated.ts'
import { StorageDeals } from '../api/index.ts'
import { Informer } from '../kube/informer.ts'
import { randomBytes } from 'node:crypto'
import { Core, isAlreadyExists, isConflict, isNotFound, KubeApiError, METADATA_ONLY, resourcePath, type KubeObject, type KubeRest } from '../kube/rest.ts'
import { logger } from '../log.ts'
import { DealyardError } from '../errors.ts'
import type { PriorDeal, Violation } from '../policy/admission.ts'
import { HoldingIndex, holdingOf, totalsIn, without, type HeldSnapshot, type HeldTotals, type Holding } from '../policy/holdings.ts'
import { LABELS, paramsSecret, paramsSecretName } from './deal-object.ts'
import { dealLookups, persistStepDuration } from './metrics.ts'
import { TokenBucket } from '../token-bucket.ts'

export type CreateResult = { created: true } | { duplicate: PriorDeal } | { identical: PriorDeal } | { refused: Violation }

/**
 * Decides a just-created deal again once the watch has delivered it, from what the deals the watch
 * delivered before it hold (`heldBefore`): every replica sees creates in the same order, so every
 * replica agrees which deals fit. A violation deletes the deal again.
 */
export type Recheck = (heldBefore: (providers: readonly string[]) => HeldTotals) => Violation | undefined

/** How long a create waits for the watch to deliver its own deal before it stops waiting. */
const WATCH_WAIT_MS = 2000
/**
 * How long a create waits for the watch while the informer relists (after a 410 Gone: every
 * replica at once when the apiserver restarts): ~20 s at 60,000 deals, measured. Proposals that
 * came meanwhile were all refused after WATCH_WAIT_MS; boost's client reads its answer for 60 s.
 */
const RELIST_WAIT_MS = 40_000
/**
 * Each request persisting a proposal: a slower one is looked up rather than waited for. A
 * proposal's requests (the deal's create and its lookup, the watch wait, then the Secret's create,
 * its lookup and the deal's delete) end within the ingress's drain on SIGTERM (30 s): see drain().
 */
const PERSIST_TIMEOUT_MS = 4000
/**
 * After drain(), the time left for what follows the watch wait (the Secret's create, its lookup and
 * the deal's delete, each PERSIST_TIMEOUT_MS) before the host stops.
 */
const UNDO_MS = 3 * PERSIST_TIMEOUT_MS + 1000
/** Names the create attempt that wrote a deal (see create). */
export const ATTEMPT_ANNOTATION = 'dealyard.io/create-attempt'

/**
 * A create attempt's name: 16 random hex digits and the writer's clock in ms (`<hex>.<ms>`). The
 * time tells a deal this attempt created (its creationTimestamp is that moment) from a copy of it
 * made later (a restore from a backup or a migration keeps annotations; orphans.ts).
 */
export function newAttempt (now = Date.now()): string { return `${randomBytes(8).toString('hex')}.${now}` }

/** When the attempt named by an annotation was made, or undefined for a name without a time. */
export function attemptTime (attempt: string | undefined): number | undefined {
  const m = /^[0-9a-f]{16}\.(\d{1,15})$/.exec(attempt ?? '')
  return m === null ? undefined : Number(m[1])
}
/** Abandoned writes remembered, and for how long: the apiserver answers or the watch relists well within it. */
const MAX_ABANDONED = 10_000
const ABANDONED_TTL_MS = 3_600_000
const REAP_RETRY_MS = 10_000

/** A failure after which the write may or may not have happened. */
const uncertain = (err: unknown): boolean => !(err instanceof KubeApiError) || err.status >= 500 || err.status === 429

export interface DealStore {
  /** From the cache: a deal with this signed proposal CID. */
  bySignedProposalCid (cid: string): PriorDeal | undefined
  /** From the cache: a deal with this UUID. */
  byUuid (uuid: string): PriorDeal | undefined
  /**
   * The deal, from the cache or (just created by another replica, not yet seen by the watch) from
   * the apiserver, at a bounded rate: past it, a deal missing from the cache is reported missing.
   */
  get (uuid: string): Promise<StorageDeal | undefined>
  create (deal: StorageDeal, params: Uint8Array | undefined, o?: CreateOptions): Promise<CreateResult>
  /** What the deals of these providers hold of funds and staging space (holdings.ts), reservations included. */
  held (providers: Iterable<string>): HeldTotals
  /**
   * Counts what a proposal being admitted will hold under `key` until it is released (undefined)
   * or its deal's create succeeds (CreateOptions.reservation): from then on the deal counts.
   */
  reserve (key: string, h: Holding | undefined): void
}

export interface CreateOptions {
  recheck?: Recheck
  /** The reserve() key this deal's holding was counted under until now. */
  reservation?: string
}

type Obj = StorageDeal & KubeObject

/**
 * One of this replica's creates, until the watch delivers it: what deals delivered before it hold,
 * and who waits. `listed`: delivered by a full list (after a 410), which does not tell in which
 * order it and the other deals new to the cache were written: it is decided as if every one of them
 * came first (both of two conflicting deals may then go; never both stay).
 */
interface PendingCreate { before?: HeldSnapshot, seen?: () => void, listed?: boolean }

const log = logger('ingress:store')

/**
 * What the ingress keeps of each StorageDeal: the fields its decisions and status answers read
 * (and the metadata the cache and the create-attempt checks need). The ingress caches every deal
 * of its namespace; the client's signature, the data root, the peer ID, managed fields and the
 * controller's conditions are a quarter or more of each (1,710 → 1,280 bytes of heap measured for a
 * deal with no status yet, more once the controller writes conditions).
 */
/**
 * The deal's signed proposal CID, from its spec: immutable there (CEL), where the label of the same
 * value is an operator's to edit or remove, and the identical-proposal check must not be (a replica
 * started after the label was removed accepted the same proposal as a second deal).
 */
function spcOf (d: { spec?: { signedProposalCid?: string } }): string | undefined {
  return d.spec?.signedProposalCid
}

export function cachedDeal (d: Obj): Obj {
  const md = d.metadata ?? {}
  const { provider, dealUuid, proposal, signedProposalCid, isOffline, transfer, dataSource } = d.spec
  const st = d.status
  return {
    apiVersion: d.apiVersion,
    kind: d.kind,
    metadata: {
      name: md.name,
      namespace: md.namespace,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
      creationTimestamp: md.creationTimestamp,
      ...(md.labels !== undefined ? { labels: md.labels } : {}),
      ...(md.annotations?.[ATTEMPT_ANNOTATION] !== undefined ? { annotations: { [ATTEMPT_ANNOTATION]: md.annotations[ATTEMPT_ANNOTATION] } } : {})
    },
    spec: { provider, dealUuid, proposal, signedProposalCid, isOffline, transfer, ...(dataSource !== undefined ? { dataSource } : {}) },
    ...(st === undefined
      ? {}
      : {
          status: {
            ...(st.checkpoint !== undefined ? { checkpoint: st.checkpoint } : {}),
            ...(st.error !== undefined ? { error: st.error } : {}),
            ...(st.retry !== undefined ? { retry: st.retry } : {}),
            ...(st.publishCid !== undefined ? { publishCid: st.publishCid } : {}),
            ...(st.chainDealId !== undefined ? { chainDealId: st.chainDealId } : {}),
            ...(st.sector?.state !== undefined ? { sector: { state: st.sector.state } } : {}),
            ...(st.transfer !== undefined ? { transfer: { jobName: st.transfer.jobName, bytesReceived: st.transfer.bytesReceived } } : {})
          }
        })
  } as Obj
}

/**
 * When the deal was proposed, for boost's "identical"/"same uuid" texts: the create attempt's time
 * (milliseconds; boost prints its CreatedAt with sub-second digits), else the creationTimestamp
 * (whole seconds).
 */
const prior = (d: StorageDeal): PriorDeal => ({
  dealUuid: d.metadata.name ?? '',
  createdAt: new Date(attemptTime(d.metadata.annotations?.[ATTEMPT_ANNOTATION]) ?? d.metadata.creationTimestamp ?? Date.now())
})

export class KubeDealStore implements DealStore {
  readonly informer: Informer<Obj>
  private readonly rest: KubeRest
  private readonly namespace: string
  /** Cache misses looked up on the apiserver: 20 a second, 50 at once. */
  private readonly lookups = new TokenBucket({ perSecond: 20, burst: 50 })
  /** signed proposal CID → deal; fed by the informer and by our own creates (before the watch sees them). */
  private readonly bySpc = new Map<string, PriorDeal>()
  /**
   * signed proposal CID → the deal the watch delivered first with it. Every replica's watch
   * delivers creates in the same (commit) order, so all of them agree which of two identical
   * proposals accepted at once by different replicas came first.
   */
  private readonly firstSeen = new Map<string, { uid: string, deal: PriorDeal }>()
  /** signed proposal CID → the names of every delivered deal with it (two only in a race's window). */
  private readonly spcDeals = new Map<string, string | Set<string>>()
  private readonly holdings = new HoldingIndex()
  /**
   * uuid → the writes whose answers were lost, each one's client told the deal failed (see
   * abandon): a retry of the UUID may be lost too, and the first write may land after it.
   */
  private readonly abandoned = new Map<string, { attempts: Set<string>, until: number }>()
  /** This replica's creates a full list delivered, decided once the list has been applied. */
  private listedMine: Array<{ m: PendingCreate, deal: Obj }> = []
  /**
   * What the watch has delivered, and nothing else: the order every replica agrees on. (holdings
   * also counts this replica's creates from the moment they return, for its next decisions.)
   */
  private readonly committed = new HoldingIndex()
  /**
   * This replica's creates in progress, by attempt annotation: when the watch delivers one, what
   * the deals delivered before it hold, and a wake-up for the create waiting on it.
   */
  private readonly mine = new Map<string, PendingCreate>()
  /** Creates waiting for the watch: each one's deadline check, run again when the drain starts. */
  private readonly waiting = new Set<() => void>()
  /** Set by drain(): no create waits for the watch past it (the process stops soon after). */
  private drainBy: number | undefined

  constructor (rest: KubeRest, namespace: string) {
    this.rest = rest
    this.namespace = namespace
    this.informer = new Informer<Obj>(rest, { resource: StorageDeals, namespace, resyncMs: 0, transform: cachedDeal })
    const index = (d: Obj): void => {
      const cid = spcOf(d)
      if (cid !== undefined) this.bySpc.set(cid, prior(d))
      this.holdings.set(d.metadata?.name ?? '', holdingOf(d))
    }
    this.informer.on('add', (d, listed) => {
      index(d)
      const cid = spcOf(d)
      const uid = d.metadata?.uid ?? ''
      const name = d.metadata?.name ?? ''
      if (cid !== undefined) {
        if (!this.firstSeen.has(cid)) this.firstSeen.set(cid, { uid, deal: prior(d) })
        // One name, as nearly every proposal has one deal: a Set each held 15.0 MiB at 60,000
        // deals against 1.8 MiB as plain names (measured, node 24).
        const names = this.spcDeals.get(cid)
        if (names === undefined || names === name) this.spcDeals.set(cid, name)
        else if (typeof names === 'string') this.spcDeals.set(cid, new Set([names, name]))
        else names.add(name)
      }
      const attempt = d.metadata?.annotations?.[ATTEMPT_ANNOTATION]
      const m = attempt === undefined ? undefined : this.mine.get(attempt)
      if (m !== undefined && m.before === undefined) {
        if (listed) {
          m.listed = true
          this.listedMine.push({ m, deal: d })
        } else {
          m.before = this.committed.snapshot()
          m.seen?.()
        }
      }
      this.committed.set(name, holdingOf(d))
      if (this.abandoned.size > 0) this.reap(d)
    })
    this.informer.on('relisted', () => {
      const decided = this.listedMine
      this.listedMine = []
      // Every deal the list holds counts as before each of ours, its own holding taken out.
      const all = this.committed.snapshot()
      for (const { m, deal } of decided) {
        if (m.before !== undefined) continue
        m.before = without(all, holdingOf(deal))
        m.seen?.()
      }
    })
    this.informer.on('update', (_old, d) => {
      index(d)
      this.committed.set(d.metadata?.name ?? '', holdingOf(d))
      if (this.abandoned.size > 0) this.reap(d)
    })
    this.informer.on('delete', (d) => {
      const name = d.metadata?.name ?? ''
      this.holdings.set(name, undefined)
      this.committed.set(name, undefined)
      const cid = spcOf(d)
      if (cid === undefined) return
      const names = this.spcDeals.get(cid)
      if (names === name) this.spcDeals.delete(cid)
      else if (typeof names === 'object') {
        names.delete(name)
        if (names.size === 0) this.spcDeals.delete(cid)
      }
      // Another deal with the proposal may still be there (an identical loser not deleted yet, or
      // two a list delivered): it takes the deleted one's place rather than leave a hole that
      // lets the next identical proposal through.
      const other = this.otherWithSpc(cid, name)
      if (this.firstSeen.get(cid)?.uid === d.metadata?.uid) {
        if (other === undefined) this.firstSeen.delete(cid)
        else this.firstSeen.set(cid, { uid: other.metadata?.uid ?? '', deal: prior(other) })
      }
      if (this.bySpc.get(cid)?.dealUuid === name) {
        if (other === undefined) this.bySpc.delete(cid)
        else this.bySpc.set(cid, prior(other))
      }
    })
  }

  async start (): Promise<void> { await this.informer.start() }

  /** A delivered deal with this signed proposal CID other than `name`, the first seen if it is one. */
  private otherWithSpc (cid: string, name: string): Obj | undefined {
    const first = this.firstSeen.get(cid)
    if (first !== undefined && first.deal.dealUuid !== name) {
      const d = this.informer.getObject(this.namespace, first.deal.dealUuid)
      if (d !== undefined && d.metadata?.uid === first.uid) return d
    }
    const names = this.spcDeals.get(cid)
    for (const n of typeof names === 'string' ? [names] : names ?? []) {
      if (n === name) continue
      const d = this.informer.getObject(this.namespace, n)
      if (d !== undefined && spcOf(d) === cid) return d
    }
    return undefined
  }

  /**
   * The process stops within `withinMs`: creates still waiting for the watch (up to 40 s during a
   * relist) stop waiting in time to undo their deal, rather than leave it undecided when the
   * process ends (its client hears "server error: save to db", as for any watch that falls behind).
   */
  drain (withinMs: number): void {
    this.drainBy = Date.now() + Math.max(0, withinMs - UNDO_MS)
    for (const check of [...this.waiting]) check()
  }
  async stop (): Promise<void> { await this.informer.stop() }

  bySignedProposalCid (cid: string): PriorDeal | undefined { return this.bySpc.get(cid) }

  held (providers: Iterable<string>): HeldTotals { return this.holdings.totals(providers) }

  reserve (key: string, h: Holding | undefined): void { this.holdings.set(key, h) }

  byUuid (uuid: string): PriorDeal | undefined {
    const d = this.informer.getObject(this.namespace, uuid)
    return d === undefined ? undefined : prior(d)
  }

  async get (uuid: string): Promise<StorageDeal | undefined> {
    const cached = this.informer.getObject(this.namespace, uuid)
    if (cached !== undefined) return cached
    // Anyone can ask the status of a made-up UUID (the signature is checked against the deal's
    // client, so only once the deal is found): unbounded, each would be a GET on the apiserver the
    // whole cluster shares. The watch delivers another replica's deal within milliseconds, so only
    // a client asking at once, and only during such a flood, hears "not found" and asks again.
    if (!this.lookups.take()) {
      dealLookups.inc({ result: 'throttled' })
      return undefined
    }
    dealLookups.inc({ result: 'apiserver' })
    return await this.fetch(uuid)
  }

  private async fetch (uuid: string, timeoutMs?: number): Promise<StorageDeal | undefined> {
    try {
      return await this.rest.request<Obj>('GET', resourcePath(StorageDeals, this.namespace, uuid), timeoutMs === undefined ? {} : { timeoutMs })
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  async create (deal: StorageDeal, params: Uint8Array | undefined, o: CreateOptions = {}): Promise<CreateResult> {
    // Stopping: a create begun now might not finish its writes (and an undo) before the process
    // ends, leaving a deal nobody decided and whose client heard nothing: none is begun. Its writes
    // take at most two PERSIST_TIMEOUT_MS (the deal's create, its lookup) before the wait.
    if (this.drainBy !== undefined && Date.now() > this.drainBy - 2 * PERSIST_TIMEOUT_MS) {
      throw new DealyardError('ERR_PERSIST', `deal ${deal.metadata.name ?? ''}: not written: the ingress is stopping`, { retry: 'auto' })
    }
    // Names this write: after a create whose answer was lost, the deal found (now or later by the
    // watch) is ours only if it carries this, and not a deal another attempt made of the same
    // proposal; and the watch tells this replica's creates by it.
    const attempt = newAttempt()
    const m: PendingCreate = {}
    this.mine.set(attempt, m)
    try {
      return await this.createAttempt(deal, params, attempt, m, o)
    } finally {
      this.mine.delete(attempt)
    }
  }

  private async createAttempt (deal: StorageDeal, params: Uint8Array | undefined, attempt: string, m: PendingCreate, o: CreateOptions): Promise<CreateResult> {
    const recheck = o.recheck
    const uuid = deal.metadata.name ?? ''
    const mine = { ...deal, metadata: { ...deal.metadata, annotations: { ...deal.metadata.annotations, [ATTEMPT_ANNOTATION]: attempt } } } as Obj
    let created: Obj
    const createStarted = performance.now()
    try {
      created = await this.rest.request<Obj>('POST', resourcePath(StorageDeals, this.namespace), { body: mine, timeoutMs: PERSIST_TIMEOUT_MS })
      persistStepDuration.observe({ step: 'deal_create' }, (performance.now() - createStarted) / 1000)
    } catch (err) {
      if (isAlreadyExists(err)) {
        // A failed lookup still leaves the answer "duplicate", only without the prior deal's time.
        const existing = this.informer.getObject(this.namespace, uuid) ?? await this.fetch(uuid, PERSIST_TIMEOUT_MS).catch(() => undefined)
        return { duplicate: existing === undefined ? { dealUuid: uuid, createdAt: new Date() } : prior(existing) }
      }
      if (!uncertain(err)) throw err
      // Timed out, connection lost, or the apiserver's own timeout: the deal may exist, or be
      // written still. If it is there, go on; if not, the client hears a failure, and the deal is
      // deleted should this write land after all.
      const found = await this.fetch(uuid, PERSIST_TIMEOUT_MS).catch(() => undefined)
      if (found?.metadata?.annotations?.[ATTEMPT_ANNOTATION] !== attempt) {
        this.abandon(uuid, attempt)
        throw new DealyardError('ERR_PERSIST', `deal ${uuid}: create: ${(err as Error).message} (if it was written after all, it is deleted once the watch shows it)`, { cause: err, retry: 'auto' })
      }
      created = found as Obj
    }
    const spc = spcOf(deal)
    if (spc !== undefined) this.bySpc.set(spc, prior(created))
    // Counted as the deal from now (in place of its reservation), not from when the watch delivers it.
    if (o.reservation !== undefined) this.holdings.set(o.reservation, undefined)
    if (!this.holdings.has(uuid)) this.holdings.set(uuid, holdingOf(deal))
    // Decided before the params are written: a refused deal (or one the watch did not deliver in
    // time, as when the apiserver restarts) never had a Secret, so if its undo cannot delete it
    // before the process ends, it is an online deal without params, which the orphan sweep removes.
    const decided = await this.afterCommit(spc, uuid, created, m, recheck)
    if (!('created' in decided) || params === undefined) return decided
    const secret = paramsSecret({ apiVersion: created.apiVersion, name: uuid, uid: created.metadata.uid ?? '' }, this.namespace, params) as KubeObject
    const createSecret = async (): Promise<void> => {
      const started = performance.now()
      await this.rest.request<KubeObject>('POST', resourcePath(Core.secrets, this.namespace), { body: secret, timeoutMs: PERSIST_TIMEOUT_MS })
      persistStepDuration.observe({ step: 'params_create' }, (performance.now() - started) / 1000)
    }
    try {
      try {
        await createSecret()
      } catch (err) {
        // Removing an earlier deal's Secret takes three more requests: not while stopping, when
        // they would run past the drain (the client hears "save to db" and may retry elsewhere).
        if (!isAlreadyExists(err) || this.drainBy !== undefined || !await this.removeStaleParams(uuid, created.metadata.uid ?? '')) throw err
        await createSecret()
      }
    } catch (err) {
      // The Secret is born owned by this deal's uid: if one owned by it exists, it is this write's.
      // One of the same name owned by another uid (an earlier deal of this UUID whose Secret the
      // garbage collector has not removed yet, or one made by hand) is not: the deal has no params.
      const written = uncertain(err) && await this.rest.request<KubeObject>('GET', resourcePath(Core.secrets, this.namespace, paramsSecretName(uuid)), {
        accept: METADATA_ONLY,
        timeoutMs: PERSIST_TIMEOUT_MS
      }).then((s) => (s.metadata?.ownerReferences ?? []).some((o) => o.uid === created.metadata.uid), () => false)
      if (!written) {
        await this.undo(uuid, created, spc)
        throw new DealyardError('ERR_PERSIST', `deal ${uuid}: create params Secret: ${(err as Error).message}`, { cause: err, retry: 'auto' })
      }
    }
    return decided
  }

  /**
   * Deletes the params Secret of this name when an earlier deal of the UUID left it: one this
   * ingress wrote (its deal label) whose owner is not the deal just created, or that has no owner
   * at all (`kubectl delete --cascade=orphan` strips it, and then nothing ever removes the Secret:
   * every later proposal of the UUID failed with "save to db"). True when it is gone.
   */
  private async removeStaleParams (uuid: string, ownerUid: string): Promise<boolean> {
    const path = resourcePath(Core.secrets, this.namespace, paramsSecretName(uuid))
    const s = await this.rest.request<KubeObject>('GET', path, { accept: METADATA_ONLY, timeoutMs: PERSIST_TIMEOUT_MS }).catch(() => undefined)
    if (s?.metadata?.labels?.[LABELS.deal] !== uuid) return false
    if ((s.metadata.ownerReferences ?? []).some((o) => o.uid === ownerUid)) return false
    log.info({ deal: uuid, ownerUids: (s.metadata.ownerReferences ?? []).map((o) => o.uid) }, 'removing the params Secret an earlier deal of this UUID left behind')
    return await this.rest.request('DELETE', path, {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: s.metadata.uid } },
      timeoutMs: PERSIST_TIMEOUT_MS
    }).then(() => true, (e: unknown) => isNotFound(e))
  }

  /**
   * The client is told its deal failed, but the deal may have been (or stay) written: the watch
   * deletes it when it delivers it (this write's attempt only, by uid).
   */
  private abandon (uuid: string, attempt: string): void {
    this.remember(uuid, attempt)
    const d = this.informer.getObject(this.namespace, uuid)
    if (d !== undefined) this.reap(d)
  }

  private remember (uuid: string, attempt: string): void {
    const until = Date.now() + ABANDONED_TTL_MS
    const a = this.abandoned.get(uuid)
    if (a !== undefined) {
      a.attempts.add(attempt)
      a.until = until
      return
    }
    if (this.abandoned.size >= MAX_ABANDONED) this.abandoned.delete(this.abandoned.keys().next().value!)
    this.abandoned.set(uuid, { attempts: new Set([attempt]), until })
  }

  /** Deletes a deal abandoned by a write whose answer was lost, once the watch shows it. */
  private reap (d: Obj): void {
    const uuid = d.metadata?.name ?? ''
    const a = this.abandoned.get(uuid)
    if (a === undefined) return
    if (Date.now() > a.until) { this.abandoned.delete(uuid); return }
    const attempt = d.metadata?.annotations?.[ATTEMPT_ANNOTATION] ?? ''
    if (!a.attempts.has(attempt)) return
    a.attempts.delete(attempt)
    if (a.attempts.size === 0) this.abandoned.delete(uuid)
    log.warn({ deal: uuid }, 'deleting a deal whose client was told it failed (its create was answered after the ingress gave up on it)')
    this.rest.request('DELETE', resourcePath(StorageDeals, this.namespace, uuid), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: d.metadata?.uid } }
    }).catch((err: unknown) => {
      if (isNotFound(err) || isConflict(err)) return
      // Still unreachable: try again in a while (the watch may deliver nothing new for it).
      this.remember(uuid, attempt)
      log.warn({ deal: uuid, err: (err as Error).message }, 'deleting an abandoned deal failed; will retry')
      setTimeout(() => {
        const again = this.informer.getObject(this.namespace, uuid)
        if (again !== undefined) this.reap(again)
      }, REAP_RETRY_MS).unref()
    })
  }

  /**
   * Decided again in the order every replica's watch delivers creates (the commit order), once the
   * watch has delivered this deal:
   *  - Two replicas can each accept the same signed proposal under different UUIDs at the same
   *    moment (each checked its cache before the other's deal was in it): if another deal with
   *    this signed proposal came first, ours goes and the client hears "identical", as boost
   *    answers.
   *  - Two replicas can each admit proposals the provider's funds or staging space cover only one
   *    of: `recheck` decides ours against what the deals delivered before it hold.
   * The watch delivers our deal within milliseconds of its create. If it has not within
   * WATCH_WAIT_MS (the watch down or reconnecting after an outage), the deal cannot be decided in
   * that order: it goes, and the client hears a server error it may retry.
   */
  private async afterCommit (spc: string | undefined, uuid: string, created: Obj, m: PendingCreate, recheck: Recheck | undefined): Promise<CreateResult> {
    const uid = created.metadata.uid ?? ''
    if (uid === '') return { created: true }
    // Zero when the watch delivered the deal before the create's answer came.
    const waitStarted = performance.now()
    if (m.before === undefined) {
      const seen = await new Promise<boolean>((resolve) => {
        const started = Date.now()
        let graceUntil = started + WATCH_WAIT_MS
        let timer: ReturnType<typeof setTimeout>
        // While a relist runs the watch cannot deliver: wait for it (bounded), and give the watch
        // WATCH_WAIT_MS after it ends to catch up with what was written meanwhile.
        const expire = (): void => {
          clearTimeout(timer)
          const now = Date.now()
          if (this.informer.listing) graceUntil = Math.min(now + WATCH_WAIT_MS, started + RELIST_WAIT_MS)
          else if (this.informer.listedAt > started - WATCH_WAIT_MS) graceUntil = Math.max(graceUntil, Math.min(this.informer.listedAt + WATCH_WAIT_MS, started + RELIST_WAIT_MS))
          if (this.drainBy !== undefined) graceUntil = Math.min(graceUntil, this.drainBy)
          if (now < graceUntil) { timer = setTimeout(expire, Math.min(500, graceUntil - now)); return }
          this.waiting.delete(expire)
          m.seen = undefined
          resolve(false)
        }
        timer = setTimeout(expire, this.drainBy === undefined ? WATCH_WAIT_MS : Math.max(0, Math.min(WATCH_WAIT_MS, this.drainBy - started)))
        this.waiting.add(expire)
        m.seen = () => { clearTimeout(timer); this.waiting.delete(expire); resolve(true) }
      })
      if (!seen) {
        await this.undo(uuid, created, spc)
        return { refused: { stage: 'acceptance', reason: 'DealWatchBehind', message: 'server error: save to db', detail: `deal ${uuid}: the StorageDeal watch did not deliver it in time (${WATCH_WAIT_MS} ms, ${RELIST_WAIT_MS} ms during a relist), so it could not be checked against deals other replicas created; deleted` } }
      }
    }
    persistStepDuration.observe({ step: 'watch' }, (performance.now() - waitStarted) / 1000)
    let first = spc === undefined ? undefined : this.firstSeen.get(spc)
    if (m.listed === true && spc !== undefined && first?.uid === uid) {
      // Delivered by a list: first in resourceVersion order is not first written. Any other deal
      // of the proposal is taken to be the earlier one.
      const other = this.otherWithSpc(spc, uuid)
      if (other !== undefined) first = { uid: other.metadata?.uid ?? '', deal: prior(other) }
    }
    let result: CreateResult | undefined
    if (first !== undefined && first.uid !== uid) result = { identical: first.deal }
    else {
      const before = m.before!
      const v = recheck?.((providers) => totalsIn(before, providers))
      if (v !== undefined) result = { refused: v }
    }
    if (result === undefined) return { created: true }
    await this.undo(uuid, created, spc)
    if (spc !== undefined && first !== undefined && 'identical' in result && !this.bySpc.has(spc)) this.bySpc.set(spc, first.deal)
    return result
  }

  /**
   * Deletes a deal this replica created and will not answer "accepted" for (refused before its
   * params Secret was written, or whose Secret could not be written), by uid (never a deal another
   * replica re-created under the name), bounded so the answer comes within the drain. A deal that
   * cannot be deleted now is abandoned (deleted when the watch next shows it).
   */
  private async undo (uuid: string, created: Obj, spc: string | undefined): Promise<void> {
    // Not a deal any more, whatever the watch later shows (a relist never shows one it missed).
    if (spc !== undefined && this.bySpc.get(spc)?.dealUuid === uuid) this.bySpc.delete(spc)
    const deleted = await this.rest.request('DELETE', resourcePath(StorageDeals, this.namespace, uuid), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: created.metadata.uid } },
      timeoutMs: PERSIST_TIMEOUT_MS
    }).then(() => true, (e: unknown) => isNotFound(e) || isConflict(e))
    if (!deleted) this.abandon(uuid, created.metadata.annotations?.[ATTEMPT_ANNOTATION] ?? '')
    this.holdings.set(uuid, undefined)
  }
}
