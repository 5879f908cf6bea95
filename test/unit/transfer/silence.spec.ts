// The stall timeout's clock (src/transfer/silence.ts) on a fake clock: silence runs on across
// connections the server ends, the backoff between attempts is not counted, and a drop of ours
// gives the next connection a whole allowance.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SilenceClock } from '../../../src/transfer/silence.ts'

test('silence runs on across a connection the server ended, not through the backoff', () => {
  const clock = { t: 0 }
  const silence = new SilenceClock(() => clock.t)
  silence.resume(true)
  clock.t += 300
  silence.heard()
  clock.t += 250
  assert.equal(silence.silentMs(), 250)
  // the server closes the connection; 5 s of backoff of ours
  silence.pause()
  clock.t += 5000
  assert.equal(silence.silentMs(), 250, 'the backoff is not counted')
  silence.resume(false)
  clock.t += 100
  assert.equal(silence.silentMs(), 350, 'the next connection starts where the last one stopped')
})

test('a drop of ours gives the next connection a whole allowance', () => {
  const clock = { t: 0 }
  const silence = new SilenceClock(() => clock.t)
  silence.resume(true)
  clock.t += 400
  silence.pause()
  clock.t += 20
  silence.resume(true)
  assert.equal(silence.silentMs(), 0)
  clock.t += 50
  assert.equal(silence.silentMs(), 50)
})
