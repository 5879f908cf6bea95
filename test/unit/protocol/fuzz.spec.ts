import { describe, it } from 'node:test'
import { fuzz } from './fuzz-harness.ts'

describe('decoder fuzzing (fast-check)', () => {
  // 100k decoder runs: 35k mutated golden messages × 2 decoders + 30k random inputs.
  it('never crashes or hangs: every failure is ERR_CBOR_DECODE, every success round-trips', { timeout: 120_000 }, () => {
    fuzz(100_000)
  })
})
