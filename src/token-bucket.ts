/**
 * A token bucket: `burst` tokens, refilled at `perSecond`. Pure (the clock is injected), so the
 * arithmetic is testable without waiting. `take` refuses when empty (the ingress's limits);
 * `reserve` always takes and says how long to wait (the work queue's retry limit).
 */
export class TokenBucket {
  private readonly perMs: number
  private readonly burst: number
  private readonly now: () => number
  private tokens: number
  private at: number

  constructor (o: { perSecond: number, burst: number, now?: () => number }) {
    if (!(o.perSecond > 0) || !(o.burst >= 1)) throw new Error(`token bucket needs perSecond > 0 and burst ≥ 1, got ${o.perSecond} and ${o.burst}`)
    this.perMs = o.perSecond / 1000
    this.burst = o.burst
    this.now = o.now ?? Date.now
    this.tokens = o.burst
    this.at = this.now()
  }

  /** Takes a token if one is there. */
  take (): boolean {
    this.refill()
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Takes a token now, owing it if there is none: the milliseconds until it would have been there. */
  reserve (): number {
    this.refill()
    this.tokens -= 1
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.perMs)
  }

  private refill (): void {
    const t = this.now()
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, t - this.at) * this.perMs)
    this.at = t
  }
}
