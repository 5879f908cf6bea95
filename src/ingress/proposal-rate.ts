/**
 * How many proposals one client address may make a second. Each proposal costs a signature check
 * (BLS: ~1.3 ms of CPU), chain reads and, when accepted, two writes to the cluster's apiserver;
 * eight connections of 32 streams each let one address keep hundreds in flight and slow every
 * other client's answers. boost takes proposals one at a time and so never had to ask; here they
 * run concurrently, so each address (IPv4, or IPv6 /56, as the connection limit counts them) gets
 * a token bucket. Loopback is exempt. Pure: addresses and a clock in, decisions out.
 */
import { cidrContains, parseCidr, parseIp, type Cidr } from '../policy/transfer-host.ts'
import { TokenBucket } from '../token-bucket.ts'
import { clientKey } from './ip-limit.ts'

export const DEFAULT_PROPOSALS_PER_IP_PER_SECOND = 50

export interface ProposalRateOptions {
  /** Proposals a second per address; 0 = no limit. Bursts of twice as many pass. */
  perSecond: number
  exempt: readonly string[]
  now?: () => number
}

/** Buckets kept before idle ones are dropped (an idle bucket is full: dropping it changes nothing). */
const PRUNE_AT = 10_000

export class ProposalRate {
  private readonly perSecond: number
  private readonly exempt: Cidr[]
  private readonly now: () => number
  private readonly buckets = new Map<string, { bucket: TokenBucket, seen: number }>()

  constructor (o: ProposalRateOptions) {
    if (!(o.perSecond >= 0) || !Number.isFinite(o.perSecond)) throw new Error(`proposals per IP per second must be ≥ 0, got ${o.perSecond}`)
    this.perSecond = o.perSecond
    this.exempt = o.exempt.map(parseCidr)
    this.now = o.now ?? Date.now
  }

  get limit (): number { return this.perSecond }

  /** Whether a proposal from `address` may be served now. */
  admit (address: string): boolean {
    if (this.perSecond === 0) return true
    const key = this.keyOf(address)
    if (key === null) return true
    const t = this.now()
    let b = this.buckets.get(key)
    if (b === undefined) {
      if (this.buckets.size >= PRUNE_AT) this.prune(t)
      b = { bucket: new TokenBucket({ perSecond: this.perSecond, burst: Math.max(1, 2 * this.perSecond), now: this.now }), seen: t }
      this.buckets.set(key, b)
    }
    b.seen = t
    return b.bucket.take()
  }

  get size (): number { return this.buckets.size }

  /** Parsing an address is most of the cost, and a client sends many proposals from one. */
  private readonly keys = new Map<string, string | null>()
  private keyOf (address: string): string | null {
    let k = this.keys.get(address)
    if (k === undefined) {
      const ip = parseIp(address)
      k = ip === undefined || this.exempt.some((c) => cidrContains(c, ip)) ? null : clientKey(ip)
      if (this.keys.size >= PRUNE_AT) this.keys.clear()
      this.keys.set(address, k)
    }
    return k
  }

  private prune (t: number): void {
    // A bucket of twice the rate is full again two seconds after its last proposal.
    for (const [k, b] of this.buckets) if (t - b.seen > 2000) this.buckets.delete(k)
  }
}
