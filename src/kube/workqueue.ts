/**
 * A keyed work queue with client-go's semantics: a key is queued at most once however often it is
 * added; a key being processed is not handed to a second worker, and if it was added meanwhile it
 * is queued again when the first worker calls `done`; failures back off per key exponentially,
 * bounded by a global token bucket; `addAfter` schedules a key (the earliest schedule wins).
 */
import { Gauge, Counter } from 'prom-client'
import { registry } from '../metrics.ts'
import { TokenBucket } from '../token-bucket.ts'

const depth = new Gauge({ name: 'dealyard_workqueue_depth', help: 'Keys waiting in the work queue.', labelNames: ['name'], registers: [registry] })
const adds = new Counter({ name: 'dealyard_workqueue_adds_total', help: 'Keys added to the work queue.', labelNames: ['name'], registers: [registry] })
const retries = new Counter({ name: 'dealyard_workqueue_retries_total', help: 'Keys re-added after a failure.', labelNames: ['name'], registers: [registry] })

export interface RateLimiter {
  /** How long to wait before `key` may be retried; counts a failure. */
  when: (key: string) => number
  forget: (key: string) => void
  numRequeues: (key: string) => number
}

/** Per-key exponential delay: base × 2^failures, capped (client-go: 5 ms … 1000 s). */
export class ExponentialLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>()
  private readonly baseMs: number
  private readonly maxMs: number

  constructor (baseMs = 5, maxMs = 1_000_000) {
    this.baseMs = baseMs
    this.maxMs = maxMs
  }

  when (key: string): number {
    const n = this.failures.get(key) ?? 0
    this.failures.set(key, n + 1)
    return Math.min(this.maxMs, this.baseMs * 2 ** n)
  }

  forget (key: string): void { this.failures.delete(key) }
  numRequeues (key: string): number { return this.failures.get(key) ?? 0 }
}

/** A token bucket across all keys (client-go: 10 qps, burst 100): a failure storm cannot spin. */
export class BucketLimiter implements RateLimiter {
  private readonly bucket: TokenBucket

  constructor (qps = 10, burst = 100, now: () => number = Date.now) {
    this.bucket = new TokenBucket({ perSecond: qps, burst, now })
  }

  // A negative balance is a reservation: wait until it would have been refilled.
  when (): number { return this.bucket.reserve() }
  forget (): void {}
  numRequeues (): number { return 0 }
}

/** The slower of several limiters decides (client-go's MaxOfRateLimiter). */
export class MaxOfLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[]
  constructor (...limiters: RateLimiter[]) { this.limiters = limiters }
  when (key: string): number { return Math.max(...this.limiters.map((l) => l.when(key))) }
  forget (key: string): void { for (const l of this.limiters) l.forget(key) }
  numRequeues (key: string): number { return Math.max(...this.limiters.map((l) => l.numRequeues(key))) }
}

export function defaultControllerRateLimiter (): RateLimiter {
  return new MaxOfLimiter(new ExponentialLimiter(5, 1_000_000), new BucketLimiter(10, 100))
}

export interface WorkQueueOptions {
  name: string
  rateLimiter?: RateLimiter
}

/**
 * Shutting down follows client-go's queue (util/workqueue/queue.go): after `shutdown` adds and
 * scheduled adds are ignored, but `get` still hands out the keys already queued and resolves
 * undefined only once none is left (workers idle at that moment get undefined at once); `done`
 * still queues a key that was added while a worker held it, so that change is not lost to a
 * worker still looping. `shutdownWithDrain` also waits until no worker holds a key (client-go's
 * ShutDownWithDrain); a `shutdown` meanwhile ends that wait.
 */
export class WorkQueue {
  readonly name: string
  private readonly queue: string[] = []
  private readonly dirty = new Set<string>()
  private readonly processing = new Set<string>()
  private readonly waiting = new Map<string, { at: number, timer: NodeJS.Timeout }>()
  private readonly waiters: Array<(key: string | undefined) => void> = []
  private readonly drainers: Array<() => void> = []
  private readonly limiter: RateLimiter
  private shuttingDown = false

  constructor (opts: WorkQueueOptions) {
    this.name = opts.name
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter()
  }

  get length (): number { return this.queue.length }
  get isShuttingDown (): boolean { return this.shuttingDown }

  add (key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return
    adds.inc({ name: this.name })
    this.dirty.add(key)
    if (this.processing.has(key)) return
    this.enqueue(key)
  }

  /** A dirty key nobody holds: to a waiting worker, or to the queue's end. */
  private enqueue (key: string): void {
    const waiter = this.waiters.shift()
    if (waiter != null) {
      this.dirty.delete(key)
      this.processing.add(key)
      waiter(key)
      return
    }
    this.queue.push(key)
    depth.set({ name: this.name }, this.queue.length)
  }

  /** Adds the key after `ms`; if it is already scheduled, the earlier time wins. */
  addAfter (key: string, ms: number): void {
    if (this.shuttingDown) return
    if (ms <= 0) { this.add(key); return }
    const at = Date.now() + ms
    const existing = this.waiting.get(key)
    if (existing != null) {
      if (existing.at <= at) return
      clearTimeout(existing.timer)
    }
    const timer = setTimeout(() => { this.waiting.delete(key); this.add(key) }, ms)
    this.waiting.set(key, { at, timer })
  }

  addRateLimited (key: string): void {
    retries.inc({ name: this.name })
    this.addAfter(key, this.limiter.when(key))
  }

  forget (key: string): void { this.limiter.forget(key) }
  numRequeues (key: string): number { return this.limiter.numRequeues(key) }

  /** Waits for the next key; undefined once the queue is shut down and empty. */
  get (): Promise<string | undefined> {
    const key = this.queue.shift()
    if (key != null) {
      depth.set({ name: this.name }, this.queue.length)
      this.dirty.delete(key)
      this.processing.add(key)
      return Promise.resolve(key)
    }
    if (this.shuttingDown) return Promise.resolve(undefined)
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  done (key: string): void {
    // A key nobody holds: nothing to finish (client-go would queue a dirty one a second time).
    if (!this.processing.delete(key)) return
    // Added while a worker held it: hand it out again now that nobody does, shutting down or not
    // (not through add, which ignores keys then).
    if (this.dirty.has(key)) this.enqueue(key)
    if (this.processing.size === 0) for (const d of this.drainers.splice(0)) d()
  }

  shutdown (): void {
    this.stopAdding()
    for (const d of this.drainers.splice(0)) d()
  }

  /** Shuts down, then waits until no worker holds a key (each called `done`). */
  async shutdownWithDrain (): Promise<void> {
    this.stopAdding()
    if (this.processing.size === 0) return
    await new Promise<void>((resolve) => this.drainers.push(resolve))
  }

  private stopAdding (): void {
    this.shuttingDown = true
    for (const { timer } of this.waiting.values()) clearTimeout(timer)
    this.waiting.clear()
    for (const w of this.waiters.splice(0)) w(undefined)
  }

  /** Keys currently held by workers (for shutdown: wait until empty). */
  get inFlight (): number { return this.processing.size }
}
