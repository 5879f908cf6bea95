/**
 * How many times a second one client address may do something: a token bucket per address (IPv4,
 * or IPv6 /56, as the connection limit counts them), exempt ranges unlimited. Pure: addresses and
 * a clock in, decisions out.
 *
 * Proposals: each costs a signature check (BLS: ~1.3 ms of CPU), chain reads and, when accepted,
 * two writes to the cluster's apiserver; eight connections of 32 streams each let one address
 * keep hundreds in flight and slow every other client's answers. boost takes proposals one at a
 * time and so never had to ask; here they run concurrently.
 *
 * New connections: each costs a noise handshake. js-libp2p's own per-host rate
 * (inboundConnectionThreshold) exempts nobody and refuses without a trace; go-libp2p's exempts
 * loopback. Counted here, the refusals are exempt, logged and counted as the other per-address
 * limits are.
 */
import { cidrContains, parseCidr, parseIp, type Cidr } from '../policy/transfer-host.ts'
import { TokenBucket } from '../token-bucket.ts'
import { clientKey } from './ip-limit.ts'

export const DEFAULT_PROPOSALS_PER_IP_PER_SECOND = 50
/** js-libp2p's inboundConnectionThreshold, which this replaces. */
export const DEFAULT_CONNECTIONS_PER_IP_PER_SECOND = 20

export interface AddressRateOptions {
  /** Times a second per address; 0 = no limit. */
  perSecond: number
  /** How many pass at once from a full bucket (default twice perSecond). */
  burst?: number
  exempt: readonly string[]
  now?: () => number
}

/** Buckets kept before idle ones are dropped (an idle bucket is full: dropping it changes nothing). */
const PRUNE_AT = 10_000

export class AddressRate {
  private readonly perSecond: number
  private readonly burst: number
  private readonly exempt: Cidr[]
  private readonly now: () => number
  private readonly buckets = new Map<string, { bucket: TokenBucket, seen: number }>()

  constructor (o: AddressRateOptions) {
    if (!(o.perSecond >= 0) || !Number.isFinite(o.perSecond)) throw new Error(`a rate per IP must be ≥ 0 a second, got ${o.perSecond}`)
    this.perSecond = o.perSecond
    this.burst = Math.max(1, o.burst ?? 2 * o.perSecond)
    this.exempt = o.exempt.map(parseCidr)
    this.now = o.now ?? Date.now
  }

  get limit (): number { return this.perSecond }

  /** Whether `address` may go ahead now (and takes its token). */
  admit (address: string): boolean {
    if (this.perSecond === 0) return true
    const key = this.keyOf(address)
    if (key === null) return true
    const t = this.now()
    let b = this.buckets.get(key)
    if (b === undefined) {
      if (this.buckets.size >= PRUNE_AT) this.prune(t)
      b = { bucket: new TokenBucket({ perSecond: this.perSecond, burst: this.burst, now: this.now }), seen: t }
      this.buckets.set(key, b)
    }
    b.seen = t
    return b.bucket.take()
  }

  get size (): number { return this.buckets.size }

  /** Parsing an address is most of the cost, and a client comes many times from one. */
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
    // A bucket is full again burst / perSecond seconds after its last use.
    const idleMs = 1000 * this.burst / this.perSecond
    for (const [k, b] of this.buckets) if (t - b.seen > idleMs) this.buckets.delete(k)
  }
}
