/**
 * Lease-based leader election with client-go's algorithm: a candidate takes the Lease when it is
 * free or when its holder has not renewed it for leaseDuration *as observed locally* (the record's
 * timestamps come from another clock and are never compared with ours); the leader renews every
 * retryPeriod and steps down if it could not renew within renewDeadline; writes use the Lease's
 * resourceVersion, so two candidates cannot both win.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { V1MicroTime } from '@kubernetes/client-node'
import { Gauge } from 'prom-client'
import { registry } from '../metrics.ts'
import { logger } from '../log.ts'
import { sleep } from './backoff.ts'
import { Core, isAlreadyExists, isConflict, isNotFound, resourcePath, type KubeObject, type KubeRest } from './rest.ts'

const leaderGauge = new Gauge({ name: 'dealyard_leader_is_leader', help: '1 when this process holds the leader Lease, 0 otherwise.', labelNames: ['lease'], registers: [registry] })

export interface LeaderElectionOptions {
  namespace: string
  name: string
  identity?: string
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  /** Give the Lease up on stop() so a successor need not wait out the lease. */
  releaseOnStop?: boolean
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>
  onStoppedLeading?: () => void
  onNewLeader?: (identity: string) => void
}

interface LeaseSpec {
  holderIdentity?: string | null
  leaseDurationSeconds?: number
  acquireTime?: string | Date | null
  renewTime?: string | Date | null
  leaseTransitions?: number
}
interface Lease extends KubeObject { spec?: LeaseSpec }

/** Milliseconds on a clock that wall-clock steps (NTP, an operator's date) do not move. */
const monotonic = (): number => performance.now()

export class LeaderElector {
  readonly identity: string
  private readonly rest: KubeRest
  private readonly opts: Required<Omit<LeaderElectionOptions, 'onStoppedLeading' | 'onNewLeader' | 'identity'>> & LeaderElectionOptions
  private observed: { record: string, at: number } | undefined
  private leading = false
  private readonly stopCtl = new AbortController()
  private leaderCtl: AbortController | undefined
  /** onStartedLeading's work of the current or last term. */
  private leaderWork: Promise<void> | undefined
  private runLoop: Promise<void> | undefined
  private readonly log = logger('kube:leader')

  constructor (rest: KubeRest, opts: LeaderElectionOptions) {
    this.rest = rest
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`
    this.opts = {
      leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, releaseOnStop: true, ...opts
    }
    if (this.opts.renewDeadlineMs >= this.opts.leaseDurationMs) throw new Error('leader election: renewDeadline must be shorter than leaseDuration')
  }

  get isLeader (): boolean { return this.leading }

  /** Runs until stop(): campaigns, leads, and campaigns again after losing the Lease. */
  run (): Promise<void> {
    this.runLoop ??= this.loop()
    return this.runLoop
  }

  async stop (): Promise<void> {
    this.stopCtl.abort()
    await this.runLoop
  }

  private async loop (): Promise<void> {
    const signal = this.stopCtl.signal
    while (!signal.aborted) {
      // Campaign.
      while (!signal.aborted && !(await this.tryAcquireOrRenew(this.opts.renewDeadlineMs))) await sleep(this.jittered(), signal)
      if (signal.aborted) break
      this.becomeLeader()
      // Renew until a renewal misses the deadline. Each attempt is bounded by the time left before
      // it (client-go runs it under a context that ends there): a stalled apiserver connection
      // held a renewal 30 s, and this replica led on while another had taken the Lease.
      let lastRenew = monotonic()
      while (!signal.aborted) {
        await sleep(this.opts.retryPeriodMs, signal)
        if (signal.aborted) break
        const left = this.opts.renewDeadlineMs - (monotonic() - lastRenew)
        if (left > 0 && await this.tryAcquireOrRenew(left)) { lastRenew = monotonic(); continue }
        if (monotonic() - lastRenew >= this.opts.renewDeadlineMs) break
      }
      this.loseLeadership()
      await this.leaderWorkEnded()
    }
    if (this.opts.releaseOnStop) await this.release()
  }

  /**
   * Waits (up to renewDeadlineMs) for the leader's work to see its signal and end, before the Lease
   * is released or campaigned for again: work still running would otherwise act next to the next
   * leader's (a write with what it observed before).
   */
  private async leaderWorkEnded (): Promise<void> {
    const work = this.leaderWork
    if (work === undefined) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([work, new Promise<void>((resolve) => { timer = setTimeout(resolve, this.opts.renewDeadlineMs) })])
    clearTimeout(timer)
  }

  private jittered (): number { return this.opts.retryPeriodMs * (1 + Math.random() * 1.2) }

  private becomeLeader (): void {
    this.leading = true
    leaderGauge.set({ lease: this.opts.name }, 1)
    this.log.info({ identity: this.identity, lease: this.opts.name }, 'became leader')
    this.leaderCtl = new AbortController()
    this.leaderWork = Promise.resolve(this.opts.onStartedLeading(this.leaderCtl.signal)).catch((err: Error) => {
      this.log.error({ err: err.message }, 'onStartedLeading failed')
    })
  }

  private loseLeadership (): void {
    if (!this.leading) return
    this.leading = false
    leaderGauge.set({ lease: this.opts.name }, 0)
    this.log.warn({ identity: this.identity, lease: this.opts.name }, 'stopped leading')
    this.leaderCtl?.abort()
    this.opts.onStoppedLeading?.()
  }

  /** One attempt, its requests bounded together by `withinMs`. */
  private async tryAcquireOrRenew (withinMs: number): Promise<boolean> {
    const now = new V1MicroTime()
    const leaseSeconds = Math.ceil(this.opts.leaseDurationMs / 1000)
    const by = monotonic() + withinMs
    const bound = (): { timeoutMs: number } => ({ timeoutMs: Math.max(1, Math.round(by - monotonic())) })
    const path = resourcePath(Core.leases, this.opts.namespace, this.opts.name)
    let lease: Lease
    try {
      lease = await this.rest.request<Lease>('GET', path, bound())
    } catch (err) {
      if (!isNotFound(err)) { this.log.warn({ err: (err as Error).message }, 'reading the lease failed'); return false }
      try {
        await this.rest.request<Lease>('POST', resourcePath(Core.leases, this.opts.namespace), {
          ...bound(),
          body: {
            apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
            metadata: { name: this.opts.name, namespace: this.opts.namespace },
            spec: { holderIdentity: this.identity, leaseDurationSeconds: leaseSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 }
          }
        })
        this.observe(this.identity, now.toISOString())
        return true
      } catch (e) {
        if (!isAlreadyExists(e)) this.log.warn({ err: (e as Error).message }, 'creating the lease failed')
        return false
      }
    }
    const spec = lease.spec ?? {}
    const holder = spec.holderIdentity ?? ''
    const recordKey = `${holder}|${String(spec.renewTime)}|${spec.leaseTransitions ?? 0}`
    if (this.observed?.record !== recordKey) {
      this.observed = { record: recordKey, at: monotonic() }
      if (holder !== '' && holder !== this.identity) this.opts.onNewLeader?.(holder)
    }
    const held = holder !== '' && holder !== this.identity
    // Judged by when this replica saw the record change, on a clock that steps do not move (as
    // client-go does): the holder's renewTime is its wall clock, not ours.
    const expired = monotonic() > this.observed.at + (spec.leaseDurationSeconds ?? leaseSeconds) * 1000
    if (held && !expired) return false
    const taking = holder !== this.identity
    const body: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: leaseSeconds,
        renewTime: now,
        acquireTime: taking ? now : spec.acquireTime ?? now,
        // client-go counts every change of holder, a released Lease's taking included.
        leaseTransitions: (spec.leaseTransitions ?? 0) + (taking ? 1 : 0)
      }
    }
    try {
      const updated = await this.rest.request<Lease>('PUT', path, { ...bound(), body })
      this.observed = { record: `${this.identity}|${String(updated.spec?.renewTime)}|${updated.spec?.leaseTransitions ?? 0}`, at: monotonic() }
      return true
    } catch (err) {
      if (!isConflict(err)) this.log.warn({ err: (err as Error).message }, 'updating the lease failed')
      return false
    }
  }

  private observe (holder: string, renew: string): void {
    this.observed = { record: `${holder}|${renew}|0`, at: monotonic() }
  }

  /** Hands the Lease back (holder cleared, 1 s duration), as client-go's ReleaseOnCancel does. */
  private async release (): Promise<void> {
    try {
      const lease = await this.rest.get<Lease>(Core.leases, this.opts.namespace, this.opts.name)
      if (lease.spec?.holderIdentity !== this.identity) return
      const now = new V1MicroTime()
      await this.rest.replace<Lease>(Core.leases, this.opts.namespace, this.opts.name, {
        ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now }
      })
      this.log.info({ lease: this.opts.name }, 'released the lease')
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'releasing the lease failed')
    }
  }
}
