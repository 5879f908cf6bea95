/** Capped exponential backoff with full jitter, as client-go's wait.Backoff uses for reconnects. */
export class Backoff {
  private attempt = 0
  private readonly initialMs: number
  private readonly maxMs: number

  constructor (initialMs = 500, maxMs = 30_000) {
    this.initialMs = initialMs
    this.maxMs = maxMs
  }

  next (): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt)
    this.attempt++
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2)
  }

  reset (): void { this.attempt = 0 }
}

export function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) { resolve(); return }
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  })
}
