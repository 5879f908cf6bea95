import { RetryableError, TransferError, TransferErrorCodes } from './errors.ts'
import { formatBytes } from './progress.ts'

/** The retryable code of a connection dropped for being too slow (next to the stall's STALLED). */
export const TOO_SLOW = 'TOO_SLOW'

/** Whether a connection that ended with `code` was dropped by us: stalled or too slow. */
export function droppedByUs (code: unknown): boolean {
  return code === 'STALLED' || code === TOO_SLOW
}

export interface RateFloorOptions {
  /** Bytes per second the transfer must average over the window; 0 turns the check off. */
  minBytesPerSecond: number
  windowMs: number
  now: () => number
  /** Where the minimum was set, named in the error (`spec.transfer.minBytesPerSecond`, `--min-rate`). */
  setting: string
}

interface Sample { t: number, bytes: number }

/**
 * The low-speed limit of one transfer: the bytes of all its connections together, averaged over
 * the last full window, must reach the minimum, or `check` returns the TOO_SLOW error to drop the
 * connections with. Without it a source trickling a byte every few seconds (never a stall) held a
 * transfer slot for the whole deadline.
 *
 * The first window opens at the first byte after `restart`, not when the request went out. curl's
 * `--speed-time` clock runs from the request (its speed reads 0 while it waits), so a server slow
 * to send its first byte is cut by the speed rule alone; here the wait for the first byte is the
 * stall timeout's business, and the rate is judged only on time when bytes could flow. The
 * download restarts the measurement after each drop it made itself (stall or too slow): the new
 * connection gets a whole window of its own, and a stall's silence is not punished twice. A drop
 * by the server does not restart it, so a server cannot dodge the check by closing each connection
 * before its window ends: its reconnects count as the wall-clock time they take.
 */
export class RateFloor {
  readonly #o: RateFloorOptions
  #total = 0
  /** When the current measurement opened (its first byte); undefined until that byte. */
  #since: number | undefined
  /** Byte counts at the window's opening and at each check, oldest first. */
  #samples: Sample[] = []
  /** The byte count when the measurement opened. */
  #sinceBytes = 0
  /**
   * Too-slow windows, less one for each full window that met the minimum, across connections and
   * restarts (never below 0).
   */
  #slowWindows = 0
  /** Too-slow windows counted, and how many of them windows at the minimum made up for (for the failure's message). */
  #slowTotal = 0
  #madeUp = 0
  /** When a too-slow window was last counted: connections dropped together count once. */
  #slowAt = -Infinity
  /** When a window at the minimum last took one off: a window is checked every second, counted once. */
  #goodAt = -Infinity

  constructor (o: RateFloorOptions) { this.#o = o }

  /** Counts bytes from any connection of the transfer. */
  add (n: number): void {
    if (this.#o.minBytesPerSecond <= 0) return
    if (this.#since === undefined) {
      this.#since = this.#o.now()
      this.#sinceBytes = this.#total
      this.#samples = [{ t: this.#since, bytes: this.#total }]
    }
    this.#total += n
  }

  /**
   * Too-slow windows not yet made up for by windows at the minimum. The download gives up on
   * this, not on its attempts in a row: a server that closes each connection before the window
   * ends shows progress on every attempt, which resets those. A window at the minimum takes one
   * off rather than clearing the count: a source sending one full window at the minimum between
   * every `limit - 1` too-slow ones kept a transfer slot at a fraction of the minimum until the
   * deadline (red-team round 19). A connection dropped for silence counts too, even with nothing
   * since the measurement opened: a window without a byte is below any minimum, and a source
   * sending one window at the minimum and then nothing through `limit - 1` stalls kept its slot at
   * a `limit`th of the minimum (red-team round 20). Now only a source at the minimum at least half
   * the time can keep going.
   */
  get slowWindows (): number { return this.#slowWindows }

  /** The too-slow windows counted, for a failure's message. */
  describe (): string {
    return `${this.#slowTotal} too-slow windows${this.#madeUp > 0 ? ` (${this.#madeUp} made up for by windows at the minimum)` : ''}`
  }

  /** Forgets the measurement (not the too-slow count): the next byte opens a new first window. */
  restart (): void {
    this.#since = undefined
    this.#samples = []
  }

  /**
   * After a connection ended with `code`: a drop of ours (a stall, too slow) gives the next
   * connection a whole window of its own; true once too-slow windows outnumber the ones at the
   * minimum by `limit` (the transfer then fails with tooSlowFailure, unless its attempts without
   * progress ran out first: a source that sends nothing at all is a failed transfer, not a slow one).
   */
  ended (code: unknown, limit: number): boolean {
    if (!droppedByUs(code)) return false
    this.restart()
    return this.#slowWindows >= limit
  }

  /** The TOO_SLOW error when the last full window averaged below the minimum; undefined otherwise. */
  check (): RetryableError | undefined {
    const { minBytesPerSecond: min, windowMs } = this.#o
    if (min <= 0 || this.#since === undefined) return undefined
    const t = this.#o.now()
    this.#samples.push({ t, bytes: this.#total })
    if (t - this.#since < windowMs) return undefined
    // Measure from the newest sample at least a window old: a full window, plus at most one check
    // interval (samples are taken at the checks).
    let i = 0
    while (i + 1 < this.#samples.length && t - this.#samples[i + 1]!.t >= windowMs) i++
    this.#samples.splice(0, i)
    const from = this.#samples[0]!
    const bytes = this.#total - from.bytes
    // A window without a single byte is a stall: the stall timeout drops it and says so.
    if (bytes === 0) return undefined
    const rate = bytes * 1000 / (t - from.t)
    if (rate >= min) {
      if (t - this.#goodAt >= windowMs) {
        if (this.#slowWindows > 0) { this.#slowWindows--; this.#madeUp++ }
        this.#goodAt = t
      }
      return undefined
    }
    return this.#tooSlow(t, rate, t - from.t)
  }

  /**
   * For a connection about to be dropped for silence, which counts as a too-slow window: the
   * TOO_SLOW error when what came since the measurement opened averages below the minimum;
   * undefined for a plain stall (nothing came) or a stall after a good run, which the caller
   * reports as stalled. Without it a source sending a few bytes per connection and then nothing
   * was only ever dropped as stalled: the rate window, opened at the first byte, never filled
   * before the stall timeout (they are the same length), and each connection's bytes counted as
   * progress.
   */
  stalled (): RetryableError | undefined {
    const min = this.#o.minBytesPerSecond
    if (min <= 0) return undefined
    const t = this.#o.now()
    this.#count(t)
    if (this.#since === undefined) return undefined
    const bytes = this.#total - this.#sinceBytes
    const rate = bytes * 1000 / Math.max(1, t - this.#since)
    if (bytes === 0 || rate >= min) return undefined
    return this.#tooSlow(t, rate, t - this.#since)
  }

  /** One too-slow window at `t`; connections dropped together (ranges) count once. */
  #count (t: number): void {
    if (t - this.#slowAt >= this.#o.windowMs) {
      this.#slowWindows++
      this.#slowTotal++
      this.#slowAt = t
    }
  }

  #tooSlow (t: number, rate: number, overMs: number): RetryableError {
    this.#count(t)
    return new RetryableError(TOO_SLOW, `below the minimum rate: ${formatRate(rate)} over the last ${formatSeconds(overMs)}, minimum ${formatRate(this.#o.minBytesPerSecond)} (${this.#o.setting})`)
  }
}

function formatRate (bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond < 1024 ? Math.round(bytesPerSecond) : bytesPerSecond)}/s`
}

function formatSeconds (ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`
}

/** The failure once attempts ran out on a too-slow source: the measured rate, then where it stopped. */
export function tooSlowFailure (cause: Error, detail: string): TransferError {
  return new TransferError(TransferErrorCodes.TooSlow, `${cause.message}; ${detail}`, { retry: 'auto', cause })
}
