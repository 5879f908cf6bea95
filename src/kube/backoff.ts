import { backoffDelay } from '../backoff.ts'

/** Reconnect backoff for watches: equal jitter, as client-go's wait.Backoff with jitter does. */
export class Backoff {
  private attempt = 0
  private readonly initialMs: number
  private readonly maxMs: number

  constructor (initialMs = 500, maxMs = 30_000) {
    this.initialMs = initialMs
    this.maxMs = maxMs
  }

  next (): number {
    this.attempt++
    return backoffDelay({ baseMs: this.initialMs, maxMs: this.maxMs, jitter: 'equal' }, this.attempt)
  }

  reset (): void { this.attempt = 0 }
}

export { sleepUntilAborted as sleep } from '../backoff.ts'
