/**
 * How long a download (or one range of it) has gone without a byte, across its connections: what
 * the stall timeout is measured on.
 *
 * Why: the clock used to start again with every request. A server that sent a burst, then held
 * each next request in silence for a little under the stall timeout and closed it, was never
 * stalled; and windows without a byte are the stall timeout's business, not the minimum rate's,
 * so it kept a transfer slot at a fraction of the minimum (red-team round 20). Silence now runs
 * on across connections the server ends. Only a drop of ours (stalled, too slow), or the data
 * starting over, gives the next connection a whole allowance, as it gets a rate window of its own.
 * The backoff between attempts is ours and is not counted.
 */
export class SilenceClock {
  readonly #now: () => number
  #lastByte: number
  #pausedAt: number | undefined

  constructor (now: () => number) {
    this.#now = now
    this.#lastByte = now()
  }

  /** A byte arrived. */
  heard (): void { this.#lastByte = this.#now() }

  /** Milliseconds since the last byte, not counting the pauses between attempts. */
  silentMs (): number { return (this.#pausedAt ?? this.#now()) - this.#lastByte }

  /** An attempt ended: the time until the next one is not counted. */
  pause (): void { this.#pausedAt ??= this.#now() }

  /** The next attempt starts: from a whole allowance when `fresh`, else where the last one stopped. */
  resume (fresh: boolean): void {
    const t = this.#now()
    if (fresh) this.#lastByte = t
    else if (this.#pausedAt !== undefined) this.#lastByte += t - this.#pausedAt
    this.#pausedAt = undefined
  }
}
