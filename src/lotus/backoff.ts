/**
 * Retry policy as data: how many attempts, and the jittered exponential delay between them
 * ("full jitter": a uniform pick in [0, min(max, base·2^n)], which spreads many clients out after
 * a node restart instead of having them retry in lockstep).
 */
import { backoffDelay as sharedBackoffDelay } from '../backoff.ts'

export interface RetryPolicy {
  /** Attempts in total, including the first (1 = never retry). */
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5_000 }

/** Delay before retry number `retry` (1 = the first retry); `random` returns [0, 1). */
export function backoffDelay (policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  return sharedBackoffDelay({ baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, jitter: 'full' }, retry, random)
}
