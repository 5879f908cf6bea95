import type { DownloadTuning } from './download.ts'

/** Capped exponential backoff with jitter in [50%, 100%] of the step. */
export function backoffDelay (failures: number, t: Pick<DownloadTuning, 'backoffMinMs' | 'backoffMaxMs' | 'backoffFactor'>, random: () => number): number {
  const step = Math.min(t.backoffMaxMs, t.backoffMinMs * t.backoffFactor ** Math.max(0, failures - 1))
  return Math.round(step * (0.5 + random() / 2))
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(signal.reason as Error); return }
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(t); reject(signal.reason as Error) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
