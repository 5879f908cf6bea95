/**
 * An informer: a local cache of one resource kept current by list + watch, the way client-go's
 * reflector does it. Watches resume from the last resourceVersion (bookmarks keep it fresh on quiet
 * resources), a 410 Gone (or another error event) leads to a full relist that emits `delete` for
 * objects that vanished while we were away, dropped connections reconnect with backoff, and a periodic resync re-delivers every
 * object so level-triggered controllers converge even if an event was missed.
 */
import { EventEmitter } from 'node:events'
import { Counter } from 'prom-client'
import { registry } from '../metrics.ts'
import { logger } from '../log.ts'
import { Backoff, sleep } from './backoff.ts'
import { isGone, KubeApiError, resourcePath, type KubeObject, type KubeRest, type ObjectList, type ResourceCoords } from './rest.ts'

const log = logger('kube:informer')
/** An informer is woken by its client's recovery (KubeRest.onRecovered) at most this often. */
const RECOVERY_WAKE_MS = 2000

/** A watch ending sooner than this without an event waits out a backoff before the next. */
const SHORT_WATCH_MS = 1000

/** A full list that runs longer than this says how far it got, this often. */
const LIST_PROGRESS_MS = 5_000

const relists = new Counter({ name: 'dealyard_kube_informer_relists_total', help: 'Full lists done by informers (first sync, 410 Gone, errors).', labelNames: ['resource', 'reason'], registers: [registry] })
const reconnects = new Counter({ name: 'dealyard_kube_informer_watch_reconnects_total', help: 'Watch connections re-established by informers.', labelNames: ['resource'], registers: [registry] })
const watchEvents = new Counter({ name: 'dealyard_kube_informer_events_total', help: 'Watch events received by informers.', labelNames: ['resource', 'type'], registers: [registry] })

export interface InformerOptions<T extends KubeObject = KubeObject> {
  resource: ResourceCoords
  /** Watch one namespace; all namespaces (or a cluster-scoped kind) when unset. */
  namespace?: string
  labelSelector?: string
  fieldSelector?: string
  /** Re-deliver every cached object as an update this often (0 = never). Default 10 min. */
  resyncMs?: number
  /** Server-side watch timeout; the watch is renewed after it. Default random 5–10 min, like client-go. */
  watchTimeoutSeconds?: number
  pageSize?: number
  backoff?: Backoff
  /**
   * Applied to every object before it is cached or handed to handlers (client-go's SetTransform):
   * drop what no handler reads, so the cache holds less for as long as the object lives.
   */
  transform?: (obj: T) => T
}

/**
 * A transform that drops `metadata.managedFields`: server-side apply's bookkeeping, as large as
 * the fields it lists (for a StorageDeal, every spec field), which nothing reading a cache needs
 * (controller-runtime's caches can strip it for the same reason).
 */
export function stripManagedFields<T extends KubeObject> (obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields
  return obj
}

export interface InformerEvents<T> {
  /**
   * `listed`: from a full list, not the watch. A list does not say in which order objects new to
   * the cache were written (they are announced by resourceVersion, which a later change moves),
   * so a consumer deciding by that order must not rely on it for these (see `relisted`).
   */
  add: [obj: T, listed: boolean]
  update: [oldObj: T, newObj: T]
  delete: [obj: T]
  /** A full list has been applied: every add, update and delete it caused has been emitted. */
  relisted: []
  synced: []
  error: [err: Error]
}

export function objectKey (obj: KubeObject): string {
  const ns = obj.metadata?.namespace
  return ns == null || ns === '' ? obj.metadata?.name ?? '' : `${ns}/${obj.metadata?.name ?? ''}`
}

interface WatchEvent { type: string, object: KubeObject & { code?: number, reason?: string, message?: string } }

export class Informer<T extends KubeObject> extends EventEmitter<InformerEvents<T>> {
  private readonly rest: KubeRest
  private readonly opts: InformerOptions<T>
  private readonly cache = new Map<string, T>()
  private readonly name: string
  private resourceVersion: string | undefined
  private running = false
  private abort: AbortController | undefined
  private currentWatch: AbortController | undefined
  private resyncTimer: NodeJS.Timeout | undefined
  private loop: Promise<void> | undefined
  /** Set while the loop waits out a backoff: ends the wait (wake). */
  private wakeUp: (() => void) | undefined
  private unsubscribe: (() => void) | undefined
  private lastRecoveryWake = 0
  private recoveryTimer: ReturnType<typeof setTimeout> | undefined
  /** The client saw the apiserver answer again: the next wait starts the backoff over. */
  private backoffStale = false
  private syncedOnce = false
  /** Ends a start() still waiting for its first list when stop() comes first. */
  private startStopped: (() => void) | undefined
  /** Counters tests and health checks read; the Prometheus metrics carry the same numbers. */
  readonly stats = { relists: 0, goneRelists: 0, reconnects: 0 }

  constructor (rest: KubeRest, opts: InformerOptions<T>) {
    super()
    this.rest = rest
    this.opts = opts
    this.name = `${opts.resource.plural}${opts.resource.group === '' ? '' : '.' + opts.resource.group}`
  }

  get hasSynced (): boolean { return this.syncedOnce }
  get lastResourceVersion (): string | undefined { return this.resourceVersion }

  get (key: string): T | undefined { return this.cache.get(key) }
  getObject (namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace == null || namespace === '' ? name : `${namespace}/${name}`)
  }

  list (): T[] { return [...this.cache.values()] }
  keys (): string[] { return [...this.cache.keys()] }

  /**
   * Starts list + watch and resolves after the first complete list. After `stop()`, a new
   * `start()` resumes from the last resourceVersion with the cache intact, as a reconnect would.
   */
  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.abort = new AbortController()
    // Resolves on the first complete list, or when stop() comes first (hasSynced says which).
    const synced = this.syncedOnce ? Promise.resolve() : new Promise<void>((resolve) => { this.once('synced', resolve); this.startStopped = resolve })
    // The apiserver answering any request of this client again (KubeRest.onRecovered) ends a
    // backoff wait and starts the backoff over: after a restart it answers 429 "storage is
    // (re)initializing" for a large resource while small ones are ready, and that resource's
    // informer must not sleep out the outage's 30 s, even if no other request comes. A wait is
    // ended at most once per RECOVERY_WAKE_MS (a later recovery is deferred to the window's end,
    // not dropped): a resource the apiserver keeps refusing while it answers others would
    // otherwise be retried at the rate of the client's other requests.
    this.unsubscribe = this.rest.onRecovered?.(() => {
      this.backoffStale = true
      if (this.recoveryTimer !== undefined || this.wakeUp === undefined) return
      const wait = this.lastRecoveryWake + RECOVERY_WAKE_MS - Date.now()
      const wakeNow = (): void => {
        this.recoveryTimer = undefined
        // Only a wait it ended uses up the window (a request in flight needs no wake).
        if (this.wakeUp === undefined) return
        this.lastRecoveryWake = Date.now()
        this.wake()
      }
      if (wait <= 0) wakeNow()
      else (this.recoveryTimer = setTimeout(wakeNow, wait)).unref()
    })
    this.loop = this.run(this.abort.signal)
    const resync = this.opts.resyncMs ?? 600_000
    if (resync > 0) {
      this.resyncTimer = setInterval(() => { this.resync() }, resync)
      this.resyncTimer.unref()
    }
    await synced
  }

  async stop (): Promise<void> {
    this.running = false
    this.startStopped?.()
    this.startStopped = undefined
    this.unsubscribe?.()
    clearTimeout(this.recoveryTimer)
    this.recoveryTimer = undefined
    this.abort?.abort()
    this.currentWatch?.abort()
    if (this.resyncTimer != null) clearInterval(this.resyncTimer)
    await this.loop
  }

  /**
   * Ends a wait between failed list/watch attempts now: the caller knows the apiserver answers again
   * (a write just succeeded), so the watch need not sit out the rest of its backoff (up to 30 s).
   */
  wake (): void { this.wakeUp?.() }

  /** Re-delivers every cached object as an update (client-go's resync). */
  resync (): void {
    for (const obj of this.cache.values()) this.emit('update', obj, obj)
  }

  private async run (signal: AbortSignal): Promise<void> {
    const backoff = this.opts.backoff ?? new Backoff(500, 30_000)
    let relistReason: 'error' | undefined
    while (!signal.aborted) {
      try {
        if (this.resourceVersion == null) await this.relist(relistReason ?? (this.syncedOnce ? 'gone' : 'initial'), signal)
        relistReason = undefined
        const outcome = await this.watchOnce(signal)
        if (outcome === 'gone') {
          log.info({ resource: this.name, resourceVersion: this.resourceVersion }, 'watch expired (410 Gone): relisting')
          this.resourceVersion = undefined
          this.stats.goneRelists++
          continue
        }
        if (outcome === 'closed') { backoff.reset(); continue }
        if (outcome === 'error') {
          // As client-go's reflector: a watch ended by an error event is not resumed from its
          // resourceVersion but listed again (after a backoff), since that version may be what the
          // apiserver refuses (a restored etcd's "too large resource version").
          this.resourceVersion = undefined
          relistReason = 'error'
        }
        // 'short' (ended at once, nothing delivered) and 'error': the backoff below, not a tight loop.
      } catch (err) {
        if (signal.aborted) break
        const e = err as Error
        if (isGone(e)) { this.resourceVersion = undefined; this.stats.goneRelists++; continue }
        if (isTooLargeResourceVersion(e)) { this.resourceVersion = undefined; relistReason = 'error' }
        log.warn({ resource: this.name, err: e.message }, 'list/watch failed; retrying with backoff')
        if (this.listenerCount('error') > 0) this.emit('error', e)
      }
      if (this.backoffStale) { this.backoffStale = false; backoff.reset() }
      const woken = new AbortController()
      this.wakeUp = () => { woken.abort() }
      await sleep(backoff.next(), AbortSignal.any([signal, woken.signal]))
      this.wakeUp = undefined
    }
  }

  /** True while a full list runs (the first sync, or after a 410 Gone): the cache lags the apiserver meanwhile. */
  listing = false
  /** When the last full list ended (ms since the epoch; 0 before any): the watch resumes from there. */
  listedAt = 0

  private async relist (reason: 'initial' | 'gone' | 'error', signal: AbortSignal): Promise<void> {
    // What is new since the cache had it; objects the cache holds at the same resourceVersion
    // are only noted as seen, and changed ones replace the cached copy page by page. Keeping every
    // listed object while the cache still held its own copy doubled memory at each relist (60,000
    // deals: 465-503 MiB of a 512Mi pod; 100,000: killed); keeping only the changed ones until the
    // end still did when most had changed (100,000 deals all changed during a watch outage: killed
    // about 60,000 into the list).
    const apiVersion = this.opts.resource.group === '' ? this.opts.resource.version : `${this.opts.resource.group}/${this.opts.resource.version}`
    // By key: a list begun again unpaged (an expired continue token) sees the first pages' objects again.
    const items = new Map<string, T>()
    let updated = 0
    const seen = new Set<string>()
    let listed = 0
    let cont: string | undefined
    let rv: string | undefined
    let paged = true
    const t0 = Date.now()
    this.listing = true
    let told = t0
    try {
      for (;;) {
        // Stopped meanwhile: no more pages, no events after stop() (a 60,000-deal list is ~120 pages).
        if (signal.aborted) throw signal.reason
        let page: ObjectList<T>
        try {
          page = await this.rest.list<T>(this.opts.resource, this.opts.namespace, {
            labelSelector: this.opts.labelSelector,
            fieldSelector: this.opts.fieldSelector,
            ...(paged ? { limit: this.opts.pageSize ?? 500, continue: cont } : {})
          })
        } catch (err) {
          // The continue token expired (etcd compacted past the list's revision while it was paged
          // through): as client-go's pager, the rest in one unpaged list, not the same paged list
          // again (which a list slower than compaction would repeat forever).
          if (cont === undefined || !isGone(err)) throw err
          log.info({ resource: this.name, listed }, 'the list\'s continue token expired: listing the rest unpaged')
          paged = false
          cont = undefined
          continue
        }
        // Each page slimmed as it comes: whole pages kept until the last one arrived took ~11 KB
        // a StorageDeal at the peak (60,000 deals: 760 MB of heap), where the cache needs ~1.6 KB.
        for (const raw of page.items) {
          const key = objectKey(raw)
          seen.add(key)
          listed++
          let cached = this.cache.get(key)
          if (cached?.metadata?.resourceVersion === raw.metadata?.resourceVersion && raw.metadata?.resourceVersion !== undefined) continue
          const item = this.opts.transform?.(raw) ?? raw
          // List items come without apiVersion/kind; watch events carry them. Keep the cache uniform.
          item.apiVersion ??= apiVersion
          if (cached !== undefined && cached.metadata?.uid !== item.metadata?.uid) {
            // Deleted and created again under the same name while we were away: two objects, so a
            // delete and an add, not an update (client-go would say update; consumers keyed by uid
            // would keep the gone one).
            this.cache.delete(key)
            this.emit('delete', cached)
            cached = undefined
          }
          if (cached === undefined) { items.set(key, item); continue }
          // An update's order among other objects matters to no consumer (a new object's does: below).
          this.cache.set(key, item)
          updated++
          this.emit('update', cached, item)
        }
        cont = page.metadata.continue === '' ? undefined : page.metadata.continue
        rv = page.metadata.resourceVersion
        if (cont != null && Date.now() - told >= LIST_PROGRESS_MS) {
          told = Date.now()
          log.info({ resource: this.name, listed, seconds: Math.round((told - t0) / 1000), reason }, 'listing')
        }
        if (cont == null) break
      }
    } finally {
      this.listing = false
      this.listedAt = Date.now()
    }
    if (Date.now() - t0 >= LIST_PROGRESS_MS) log.info({ resource: this.name, listed, added: items.size, updated, seconds: Math.round((Date.now() - t0) / 1000), reason }, 'listed')
    this.stats.relists++
    relists.inc({ resource: this.name, reason })
    // In resourceVersion order, not the list's (by name): new objects are announced in the order
    // they were written, as a watch would have delivered them (consumers decide by that order).
    for (const item of [...items.values()].sort(byResourceVersion)) {
      this.cache.set(objectKey(item), item)
      this.emit('add', item, true)
    }
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) { this.cache.delete(key); this.emit('delete', old) }
    }
    this.emit('relisted')
    this.resourceVersion = rv
    if (!this.syncedOnce) { this.syncedOnce = true; this.emit('synced') }
  }

  /**
   * How the watch ended: the server's timeout or a dropped connection ('closed'), at once with
   * nothing delivered ('short'), 410 Gone, or another error event ('error').
   */
  private async watchOnce (signal: AbortSignal): Promise<'closed' | 'short' | 'gone' | 'error'> {
    // An abort listener added to an aborted signal never fires: the watch would outlive stop().
    if (signal.aborted) return 'closed'
    const timeout = this.opts.watchTimeoutSeconds ?? Math.round(300 + Math.random() * 300)
    const path = resourcePath(this.opts.resource, this.opts.namespace)
    const watch = new AbortController()
    const onAbort = (): void => { watch.abort() }
    signal.addEventListener('abort', onAbort, { once: true })
    this.currentWatch = watch
    this.stats.reconnects++
    reconnects.inc({ resource: this.name })
    let ended: 'gone' | 'error' | 'short' | undefined
    let events = 0
    const started = Date.now()
    try {
      await this.rest.watch<WatchEvent>(path, {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: timeout,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector
      }, (event) => {
        watchEvents.inc({ resource: this.name, type: event.type })
        events++
        this.handleEvent(event, () => { ended = 'gone'; watch.abort() }, (how) => { ended ??= how; watch.abort() })
      // The server closes the watch at timeoutSeconds; silence well past that is a dead connection.
      }, { signal: watch.signal, idleMs: (timeout + 30) * 1000 })
    } catch (err) {
      if (isGone(err)) return 'gone'
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
    if (ended !== undefined) return ended
    return events === 0 && Date.now() - started < SHORT_WATCH_MS ? 'short' : 'closed'
  }

  private handleEvent (ev: WatchEvent, onGone: () => void, onEnd: (how: 'short' | 'error') => void): void {
    const obj = ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED'
      ? this.opts.transform?.(ev.object as T) ?? ev.object as T
      : ev.object as T
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const key = objectKey(obj)
        let old = this.cache.get(key)
        this.cache.set(key, obj)
        this.resourceVersion = obj.metadata?.resourceVersion
        if (old != null && old.metadata?.uid !== obj.metadata?.uid) { this.emit('delete', old); old = undefined }
        if (old == null) this.emit('add', obj, false)
        else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', old, obj)
        return
      }
      case 'DELETED': {
        const key = objectKey(obj)
        const old = this.cache.get(key)
        this.cache.delete(key)
        this.resourceVersion = obj.metadata?.resourceVersion
        this.emit('delete', old ?? obj)
        return
      }
      case 'BOOKMARK':
        this.resourceVersion = obj.metadata?.resourceVersion
        return
      case 'ERROR':
        if (ev.object.code === 410 || ev.object.reason === 'Expired' || ev.object.reason === 'Gone') { onGone(); return }
        log.warn({ resource: this.name, status: ev.object }, 'watch error event')
        // Too many requests: the same watch again after a backoff (client-go's choice); any other
        // error: a new list.
        onEnd(ev.object.code === 429 ? 'short' : 'error')
    }
  }
}

/**
 * The apiserver cannot serve a resourceVersion newer than its own (etcd restored from a backup):
 * client-go lists again rather than ask for it forever.
 */
function isTooLargeResourceVersion (e: unknown): boolean {
  if (!(e instanceof KubeApiError)) return false
  const causes = (e.details as { causes?: Array<{ reason?: string }> } | undefined)?.causes ?? []
  return causes.some((c) => c.reason === 'ResourceVersionTooLarge') || e.message.includes('Too large resource version')
}

/** etcd's revisions are integers; anything else keeps the list's order. */
function byResourceVersion (a: KubeObject, b: KubeObject): number {
  const x = a.metadata?.resourceVersion ?? ''
  const y = b.metadata?.resourceVersion ?? ''
  if (!/^\d+$/.test(x) || !/^\d+$/.test(y)) return 0
  return x.length !== y.length ? x.length - y.length : x < y ? -1 : x > y ? 1 : 0
}
