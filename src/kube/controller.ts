/**
 * Runs a reconcile function over keys from a work queue with N workers: informer events enqueue
 * keys, success forgets the key's failures (optionally requeueing after a delay), an error requeues
 * it with per-key backoff. Reconciles must be level-triggered and idempotent: they get only a key.
 */
import { Counter, Histogram } from 'prom-client'
import { registry } from '../metrics.ts'
import { logger } from '../log.ts'
import { WorkQueue, type RateLimiter } from './workqueue.ts'
import { objectKey, type Informer } from './informer.ts'
import type { KubeObject } from './rest.ts'

const reconciles = new Counter({ name: 'dealyard_controller_reconcile_operations_total', help: 'Reconciles run.', labelNames: ['controller'], registers: [registry] })
const reconcileErrors = new Counter({ name: 'dealyard_controller_reconcile_errors_total', help: 'Reconciles that failed and were requeued with backoff.', labelNames: ['controller'], registers: [registry] })
const reconcileSeconds = new Histogram({ name: 'dealyard_controller_reconcile_duration_seconds', help: 'Time spent in one reconcile.', labelNames: ['controller'], registers: [registry], buckets: [0.005, 0.02, 0.1, 0.5, 1, 5, 30] })

export type ReconcileResult = void | { requeueAfterMs?: number }

export interface ControllerOptions {
  name: string
  concurrency?: number
  reconcile: (key: string) => Promise<ReconcileResult>
  rateLimiter?: RateLimiter
}

export class Controller {
  readonly name: string
  readonly queue: WorkQueue
  private readonly reconcileFn: ControllerOptions['reconcile']
  private readonly concurrency: number
  private workers: Array<Promise<void>> = []
  private readonly log

  constructor (opts: ControllerOptions) {
    this.name = opts.name
    this.reconcileFn = opts.reconcile
    this.concurrency = opts.concurrency ?? 4
    const qopts: ConstructorParameters<typeof WorkQueue>[0] = { name: opts.name }
    if (opts.rateLimiter != null) qopts.rateLimiter = opts.rateLimiter
    this.queue = new WorkQueue(qopts)
    this.log = logger(`controller:${opts.name}`)
  }

  enqueue (key: string): void { this.queue.add(key) }

  /** Enqueues the keys `map` returns for every add, update and delete of the informer's objects. */
  watch<T extends KubeObject> (informer: Informer<T>, map: (obj: T) => string[] = (o) => [objectKey(o)]): void {
    const push = (obj: T): void => { for (const k of map(obj)) this.queue.add(k) }
    informer.on('add', push)
    informer.on('update', (_old, obj) => { push(obj) })
    informer.on('delete', push)
  }

  start (): void {
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.work())
  }

  /** Stops handing out keys and waits for reconciles in progress to finish. */
  async stop (): Promise<void> {
    this.queue.shutdown()
    await Promise.all(this.workers)
    this.workers = []
  }

  private async work (): Promise<void> {
    for (;;) {
      const key = await this.queue.get()
      if (key == null) return
      const end = reconcileSeconds.startTimer({ controller: this.name })
      reconciles.inc({ controller: this.name })
      try {
        const result = await this.reconcileFn(key)
        this.queue.forget(key)
        if (result != null && result.requeueAfterMs != null) this.queue.addAfter(key, result.requeueAfterMs)
      } catch (err) {
        reconcileErrors.inc({ controller: this.name })
        this.log.warn({ key, err: (err as Error).message, requeues: this.queue.numRequeues(key) }, 'reconcile failed; requeued with backoff')
        this.queue.addRateLimited(key)
      } finally {
        end()
        this.queue.done(key)
      }
    }
  }
}
