import { RetryableError, TransferError, TransferErrorCodes } from './errors.ts'
import { formatBytes } from './progress.ts'

/** The retryable code of a connection dropped for being too slow (next to the stall's STALLED). */
export const TOO_SLOW = 'TOO_SLOW'

/**
 * The shortest window the spacing of forgiven outages is reckoned in: an outage is stretched by the
 * backoffs between its attempts (up to a minute each), so with short windows it spans many of them.
 */
const OUTAGE_SPACING_MIN_WINDOW_MS = 60_000

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
  /** Too-slow windows (net of windows at the minimum) after which the transfer fails: its attempt limit. */
  limit: number
}

/**
 * The low-speed limit of one transfer, judged over consecutive wall-clock windows of `windowMs`
 * on a timer of the transfer's own (not a connection's): the bytes of all its connections
 * together in each window must reach the minimum. A window below it counts as too slow, whether
 * or not a connection was open, and one with bytes in it drops the open connections to reconnect
 * (one without is the stall timeout's to drop). A window at the minimum takes one too-slow window
 * off the count. The download fails with TRANSFER_TOO_SLOW once the count reaches its attempt
 * limit at the end of an attempt that brought bytes; attempts that bring nothing fail as before
 * (TRANSFER_RETRIES_EXHAUSTED): a source that sends nothing is down, not slow.
 *
 * Why a continuous meter: each way of restarting the measurement left a hole. Judged per
 * connection (on its own timer), connections that each lasted under the timer's tick, a burst
 * and a reset, were never judged (red-team round 21: 2 % of the minimum until the 24 h deadline).
 * Restarted at each drop and opened at the next byte, the silent time between bursts was never
 * judged (a burst, then requests held just under the stall timeout, round 20). Counting every
 * stall as too slow, or silence across connections the server closed, failed healthy sources
 * with gaps (round 21: one averaging 11 times the minimum). A source at the minimum half the
 * time can keep going; one below that cannot.
 *
 * The first window opens at the transfer's first byte, not when the request went out: the wait
 * for that byte is the stall timeout's business (curl's `--speed-time` clock runs from the
 * request, so a server slow to send its first byte is cut by the speed rule alone). A drop of
 * ours (`dropped`) is followed by a window in which nothing is dropped for being slow, so a new
 * connection is not cut by the window that condemned the last one; the windows are still counted.
 */
export class RateFloor {
  readonly #o: RateFloorOptions
  #total = 0
  /** When the window being filled opened, and the byte count then; undefined until the transfer's first byte. */
  #windowStart: number | undefined
  #windowBytes = 0
  /** Too-slow windows, less one for each window that met the minimum (never below 0). */
  #slowWindows = 0
  /** Too-slow windows counted, and how many of them windows at the minimum made up for (for the failure's message). */
  #slowTotal = 0
  #madeUp = 0
  /** No drop for being slow before this: the connection after a drop of ours gets a window. */
  #graceUntil = -Infinity
  /** Windows without a byte in a row; whether this run reached the cap; when a run was last capped. */
  #silentRun = 0
  #runCapped = false
  #lastCapAt = -Infinity
  /** The last too-slow window (its rate and span, and when it ended), as the failure names it; whether the last window judged was too slow. */
  #lastSlow: { rate: number, span: number, at: number } | undefined
  #lastJudgedSlow = false

  constructor (o: RateFloorOptions) { this.#o = o }

  /** Counts bytes from any connection of the transfer. */
  add (n: number): void {
    if (this.#o.minBytesPerSecond <= 0) return
    if (this.#windowStart === undefined) {
      this.#windowStart = this.#o.now()
      this.#windowBytes = this.#total
    }
    this.#total += n
  }

  /** Too-slow windows not yet made up for by windows at the minimum. */
  get slowWindows (): number { return this.#slowWindows }

  /** The too-slow windows counted, for a failure's message. */
  describe (): string {
    return `${this.#slowTotal} too-slow windows${this.#madeUp > 0 ? ` (${this.#madeUp} made up for by windows at the minimum)` : ''}`
  }

  /** The last too-slow window's rate, window and minimum, as the failure's message starts (and when it was, if windows came after it). */
  get lastSlow (): string | undefined {
    const w = this.#lastSlow
    if (w === undefined) return undefined
    const ago = this.#lastJudgedSlow ? '' : ` that ended ${formatSeconds(this.#o.now() - w.at)} ago`
    return `below the minimum rate: ${formatRate(w.rate)} over ${ago === '' ? 'the last' : 'a window of'} ${formatSeconds(w.span)}${ago}, minimum ${formatRate(this.#o.minBytesPerSecond)} (${this.#o.setting})`
  }

  /** A connection was dropped by us (stalled, too slow): the next one gets a window before it can be dropped for being slow. */
  dropped (): void { this.#graceUntil = this.#o.now() + this.#o.windowMs }

  /**
   * Call on a timer a fraction of the window apart. Once the window being filled is full, judges
   * it (each window once: one too slow more, or one fewer for a window at the minimum) and opens
   * the next; returns the TOO_SLOW error to drop the open connections with when it brought bytes
   * but too few, undefined otherwise.
   */
  check (): RetryableError | undefined {
    const { minBytesPerSecond: min, windowMs } = this.#o
    if (min <= 0 || this.#windowStart === undefined) return undefined
    const t = this.#o.now()
    const span = t - this.#windowStart
    if (span < windowMs) return undefined
    const bytes = this.#total - this.#windowBytes
    this.#windowStart = t
    this.#windowBytes = this.#total
    const rate = bytes * 1000 / span
    this.#silentRun = bytes === 0 ? this.#silentRun + 1 : 0
    if (bytes > 0) this.#runCapped = false
    this.#lastJudgedSlow = rate < min
    if (rate >= min) {
      if (this.#slowWindows > 0) { this.#slowWindows--; this.#madeUp++ }
      return undefined
    }
    // A run of silent windows (an outage, or requests held in silence) counts at most one less
    // than the limit, once in 4 × limit windows of at least a minute: a source that was down for a
    // while and came back at full speed failed at its first hiccup (round 22). Capping every run
    // let a source alternating long silences with a few windows at the minimum keep its slot at
    // 14–51 % of it (round 23); capped only now and then, it pays for the other silences in full.
    if (bytes === 0 && this.#silentRun >= this.#o.limit && !this.#runCapped && t - this.#lastCapAt >= 4 * this.#o.limit * Math.max(windowMs, OUTAGE_SPACING_MIN_WINDOW_MS)) {
      this.#runCapped = true
      this.#lastCapAt = t
    }
    if (!(bytes === 0 && this.#runCapped)) {
      this.#slowWindows++
      this.#slowTotal++
    }
    this.#lastSlow = { rate, span, at: t }
    if (bytes === 0 || t < this.#graceUntil) return undefined
    return new RetryableError(TOO_SLOW, this.lastSlow!)
  }

  /**
   * After an attempt: true when it brought bytes and the too-slow windows reached `limit` (the
   * transfer then fails with tooSlowFailure). Attempts without bytes are the attempt limit's.
   */
  exhausted (progressed: boolean): boolean {
    return progressed && this.#o.minBytesPerSecond > 0 && this.#slowWindows >= this.#o.limit
  }
}

function formatRate (bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond < 1024 ? Math.round(bytesPerSecond) : bytesPerSecond)}/s`
}

function formatSeconds (ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`
}

/** How often a download's timers look (stall, rate): a quarter of the window, from 10 ms to 1 s. */
export function tickMs (windowMs: number): number { return Math.max(10, Math.min(1000, windowMs / 4)) }

/**
 * Judges `floor` every tick on a timer of the transfer's own, dropping the connections `open`
 * lists when a window with bytes in it was too slow. Returns the timer, for clearInterval.
 */
export function watchRate (floor: RateFloor, windowMs: number, open: () => Iterable<AbortController>): ReturnType<typeof setInterval> {
  return setInterval(() => {
    const slow = floor.check()
    if (slow === undefined) return
    for (const a of open()) a.abort(slow)
  }, tickMs(windowMs))
}

/** The failure once the too-slow windows ran out: the last one's rate, then where it stopped (`what`: `range a-b: ` or ''). */
export function tooSlowFailure (floor: RateFloor, cause: Error, what: string, at: number): TransferError {
  return new TransferError(TransferErrorCodes.TooSlow, `${floor.lastSlow ?? cause.message}; ${what}gave up after ${floor.describe()}, at ${at} bytes`, { retry: 'auto', cause })
}
