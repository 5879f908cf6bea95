import { backoffDelay as sharedBackoffDelay } from '../backoff.ts'
import type { DownloadTuning } from './download.ts'

export { sleep } from '../backoff.ts'

/** The download tuning's backoff: capped exponential, jitter in [50%, 100%] of the step. */
export function backoffDelay (failures: number, t: Pick<DownloadTuning, 'backoffMinMs' | 'backoffMaxMs' | 'backoffFactor'>, random: () => number): number {
  return sharedBackoffDelay({ baseMs: t.backoffMinMs, maxMs: t.backoffMaxMs, factor: t.backoffFactor, jitter: 'equal' }, failures, random)
}
