import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { TokenBucket } from '../../src/token-bucket.ts'

describe('TokenBucket', () => {
  it('gives a burst, then refills at its rate and never past the burst', () => {
    let t = 1000
    const b = new TokenBucket({ perSecond: 20, burst: 5, now: () => t })
    assert.deepEqual(Array.from({ length: 6 }, () => b.take()), [true, true, true, true, true, false])
    t += 49
    assert.equal(b.take(), false, '0.98 of a token after 49 ms')
    t += 1
    assert.equal(b.take(), true)
    t += 60_000
    assert.equal(Array.from({ length: 10 }, () => b.take()).filter(Boolean).length, 5)
  })

  it('does not mint tokens when the clock goes backwards', () => {
    let t = 10_000
    const b = new TokenBucket({ perSecond: 1000, burst: 1, now: () => t })
    assert.equal(b.take(), true)
    t -= 5000
    assert.equal(b.take(), false)
  })

  it('refuses nonsense rates', () => {
    assert.throws(() => new TokenBucket({ perSecond: 0, burst: 1 }), /perSecond > 0/)
    assert.throws(() => new TokenBucket({ perSecond: 1, burst: 0.5 }), /burst ≥ 1/)
    assert.throws(() => new TokenBucket({ perSecond: Number.NaN, burst: 1 }), /got NaN/)
  })

  it('reserves past empty and says how long to wait', () => {
    let t = 0
    const b = new TokenBucket({ perSecond: 10, burst: 2, now: () => t })
    assert.deepEqual([b.reserve(), b.reserve(), b.reserve(), b.reserve()], [0, 0, 100, 200])
    t += 300 // three tokens back: the two owed, and one to take
    assert.deepEqual([b.reserve(), b.reserve()], [0, 100])
  })
})
