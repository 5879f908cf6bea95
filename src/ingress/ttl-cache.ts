/**
 * A small cache for chain facts. A fresh value is served as is; a stale one (older than ttl, younger
 * than maxStale) is served at once while one background call refreshes it, until a refresh fails;
 * otherwise callers share one in-flight load. So a slow Lotus is waited on at most once per key per
 * ttl window, and a burst of proposals makes one call, not hundreds. A key that never loaded
 * remembers its failure for errorTtl so a dead Lotus is not hammered, then tries again.
 */
export interface TtlCacheOptions {
  ttlMs: number
  /** How long a value may be served stale while refreshing (default 10 × ttl). */
  maxStaleMs?: number
  /** How long a failure is remembered (default 1 s). */
  errorTtlMs?: number
  /** Entries kept at most; the oldest go first (default 10 000). */
  maxEntries?: number
  now?: () => number
}

interface Entry<V> { value?: V, at: number, error?: unknown, errorAt?: number, inflight?: Promise<V> }

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>()
  private readonly ttl: number
  private readonly maxStale: number
  private readonly errorTtl: number
  private readonly maxEntries: number
  private readonly now: () => number

  constructor (o: TtlCacheOptions) {
    this.ttl = o.ttlMs
    this.maxStale = o.maxStaleMs ?? o.ttlMs * 10
    this.errorTtl = o.errorTtlMs ?? 1000
    this.maxEntries = o.maxEntries ?? 10_000
    this.now = o.now ?? Date.now
  }

  get size (): number { return this.entries.size }

  async get (key: string, load: () => Promise<V>): Promise<V> {
    const now = this.now()
    let e = this.entries.get(key)
    if (e?.value !== undefined) {
      const age = now - e.at
      if (age < this.ttl) return e.value
      // Stale values stand in while a refresh is slow, not once one failed: with Lotus gone, the
      // answer is its error (boost reads the chain for every proposal), not 10 × ttl of old facts.
      const refreshFailed = e.errorAt !== undefined && e.errorAt >= e.at
      if (age < this.maxStale && !refreshFailed) {
        if (e.inflight === undefined) this.start(key, e, load).catch(() => {})
        return e.value
      }
    }
    if (e?.inflight !== undefined) return await e.inflight
    // A failure is remembered only for a key that never loaded: once a value stood in, each caller
    // after a failed refresh asks again (shared with those waiting at the same time), as boost reads
    // the chain for every proposal, so one dropped call fails the callers that shared it, not every
    // caller for errorTtl.
    if (e?.value === undefined && e?.errorAt !== undefined && now - e.errorAt < this.errorTtl) throw e.error
    if (e === undefined) {
      e = { at: 0 }
      this.entries.set(key, e)
      this.evict()
    }
    return await this.start(key, e, load)
  }

  /** Drops one key, or everything. */
  invalidate (key?: string): void {
    if (key === undefined) this.entries.clear(); else this.entries.delete(key)
  }

  private start (_key: string, e: Entry<V>, load: () => Promise<V>): Promise<V> {
    const p = (async () => {
      try {
        const v = await load()
        e.value = v
        e.at = this.now()
        e.error = undefined
        e.errorAt = undefined
        return v
      } catch (err) {
        e.error = err
        e.errorAt = this.now()
        throw err
      } finally {
        e.inflight = undefined
      }
    })()
    e.inflight = p
    return p
  }

  private evict (): void {
    while (this.entries.size > this.maxEntries) {
      const first = this.entries.keys().next()
      if (first.done === true) return
      this.entries.delete(first.value)
    }
  }
}
