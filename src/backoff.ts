/**
 * Retry timing shared by every component that reconnects or retries (Kubernetes watches, Lotus
 * calls, downloads): capped exponential steps with jitter, so many clients that failed together do
 * not retry in lockstep.
 */
import { setTimeout as delay } from 'node:timers/promises'

export interface BackoffPolicy {
  baseMs: number
  maxMs: number
  /** Growth per attempt (default 2). */
  factor?: number
  /** `full`: uniform in [0, step] (AWS's "full jitter"); `equal`: uniform in [step/2, step]. */
  jitter: 'full' | 'equal'
}

/** Delay before retry number `retry` (1 = the first retry); `random` returns [0, 1). */
export function backoffDelay (policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxMs, policy.baseMs * (policy.factor ?? 2) ** Math.max(0, retry - 1))
  return policy.jitter === 'full' ? Math.floor(random() * step) : Math.round(step / 2 + random() * step / 2)
}

/** Waits `ms`; rejects with the signal's own reason (not a generic AbortError) if it aborts first. */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal == null) { await delay(ms); return }
  await delay(ms, undefined, { signal }).catch((err: unknown) => { throw signal.aborted ? signal.reason : err })
}

/** Waits `ms` or until the signal aborts, whichever comes first; never rejects. */
export async function sleepUntilAborted (ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => {})
}
