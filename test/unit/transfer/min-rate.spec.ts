// The minimum transfer rate's meter on a fake clock: what a window is, when the first one opens,
// and what 0 means. The downloads that use it are in min-rate-download.spec.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RateFloor } from '../../../src/transfer/min-rate.ts'

function meter (minBytesPerSecond: number, windowMs = 60_000, limit = 15): { floor: RateFloor, clock: { t: number } } {
  const clock = { t: 1_000_000 }
  return { floor: new RateFloor({ minBytesPerSecond, windowMs, now: () => clock.t, setting: 'spec.transfer.minBytesPerSecond', limit }), clock }
}

/** Feeds `bytesPerSecond` for `seconds`, checking every second as the download's timer does; returns the first error. */
function run (floor: RateFloor, clock: { t: number }, bytesPerSecond: number, seconds: number): Error | undefined {
  for (let i = 0; i < seconds; i++) {
    floor.add(bytesPerSecond)
    clock.t += 1000
    const e = floor.check()
    if (e !== undefined) return e
  }
  return undefined
}

test('a source averaging below the minimum over a full window is too slow, with the rate, the window and the setting named', () => {
  const { floor, clock } = meter(65536)
  // 100 bytes/s: no stall ever, yet a 32 GiB piece would take ten years.
  assert.equal(run(floor, clock, 100, 59), undefined, 'not judged before a full window')
  const e = run(floor, clock, 100, 1) as Error & { code: string }
  assert.equal(e.code, 'TOO_SLOW')
  assert.equal(e.message, 'below the minimum rate: 100 B/s over the last 60 s, minimum 64.0 KiB/s (spec.transfer.minBytesPerSecond)')
})

test('a trickle of a byte every 59 seconds is too slow once a window holds it', () => {
  const { floor, clock } = meter(65536)
  floor.add(1)
  clock.t += 59_000
  floor.add(1)
  assert.equal(floor.check(), undefined)
  clock.t += 1000
  assert.match(floor.check()?.message ?? '', /^below the minimum rate: 0 B\/s over the last 60 s/)
})

test('a healthy rate is never too slow, and neither is a slow start that a burst makes up within the window', () => {
  const { floor, clock } = meter(65536)
  assert.equal(run(floor, clock, 10 << 20, 600), undefined)
  const slow = meter(65536)
  assert.equal(run(slow.floor, slow.clock, 1000, 30), undefined)
  assert.equal(run(slow.floor, slow.clock, 200_000, 30), undefined, '30 s at 1 kB/s and 30 s at 200 kB/s average 100 kB/s')
})

test('windows follow one another: a fast start does not carry a transfer that has become slow', () => {
  const { floor, clock } = meter(65536)
  assert.equal(run(floor, clock, 10 << 20, 120), undefined)
  // The fast seconds leave the window one by one: once the last has (a window may hold 3.75 MiB,
  // less than one fast second), the window averages 1 kB/s.
  assert.equal(run(floor, clock, 1000, 59), undefined)
  const e = run(floor, clock, 1000, 1)
  assert.ok(e !== undefined, 'too slow once the fast bytes left the window')
  assert.match(e.message, /over the last 60 s/)
})

test('the time before the first byte is not judged: the first window opens at the first byte', () => {
  const { floor, clock } = meter(65536)
  // 50 s waiting for the first byte (the stall timeout bounds that wait, not the rate).
  for (let i = 0; i < 50; i++) { clock.t += 1000; assert.equal(floor.check(), undefined) }
  // Then 128 KiB/s: counted from the request this would average 37 KiB/s over the first minute.
  assert.equal(run(floor, clock, 128 << 10, 120), undefined)
})

/** Feeds `bytesPerSecond` for `seconds` (0: silence), checking every second; returns every error. */
function runAll (floor: RateFloor, clock: { t: number }, bytesPerSecond: number, seconds: number): Error[] {
  const errors: Error[] = []
  for (let i = 0; i < seconds; i++) {
    if (bytesPerSecond > 0) floor.add(bytesPerSecond)
    clock.t += 1000
    const e = floor.check()
    if (e !== undefined) errors.push(e)
  }
  return errors
}

test('after a drop of ours the next connection is not dropped for a window; the windows are still counted', () => {
  const { floor, clock } = meter(65536)
  assert.ok(run(floor, clock, 100, 60) !== undefined)
  assert.equal(floor.slowWindows, 1)
  floor.dropped()
  // the next minute is as slow: counted once more, but nothing is dropped until it is over
  assert.deepEqual(runAll(floor, clock, 100, 59), [])
  assert.equal(floor.slowWindows, 1)
  assert.equal(runAll(floor, clock, 100, 2).length, 1, 'the window after the grace is judged and drops')
  assert.equal(floor.slowWindows, 2)
})

test('too-slow windows are counted once a window, whatever the connections do; each window at the minimum takes one off', () => {
  const { floor, clock } = meter(65536)
  // checked every second, three slow minutes count three times, not 180
  runAll(floor, clock, 100, 180)
  assert.equal(floor.slowWindows, 3)
  // half a window is not judged yet
  runAll(floor, clock, 65536 * 4, 30)
  assert.equal(floor.slowWindows, 3)
  runAll(floor, clock, 65536, 60)
  assert.equal(floor.slowWindows, 2)
  runAll(floor, clock, 65536, 120)
  assert.equal(floor.slowWindows, 0)
  runAll(floor, clock, 65536, 120)
  assert.equal(floor.slowWindows, 0, 'never below 0: a long good run banks nothing')
  assert.equal(floor.describe(), '3 too-slow windows (3 made up for by windows at the minimum)')
})

/** Windows of `pattern` (bytes a second for a whole window each, 0 for silence), repeated; the too-slow count after each. */
function windows (pattern: number[], rounds: number): number[] {
  const { floor, clock } = meter(65536)
  const counts: number[] = []
  for (let r = 0; r < rounds; r++) {
    for (const rate of pattern) {
      runAll(floor, clock, rate, 60)
      counts.push(floor.slowWindows)
    }
  }
  return counts
}

test('a source at the minimum for one window in every few cannot keep a slot: the count keeps growing', () => {
  // Round 19: one full window at the minimum between every two too-slow ones cleared the count,
  // so with the default 15 attempts a source averaging a fifteenth of the minimum never failed.
  const bursty = windows([100, 100, 70_000], 20)
  assert.ok(bursty.at(-1)! >= 15, `count after 60 windows: ${bursty.at(-1)}`)
  // Round 20: a window at the minimum, then silence (connections held just under the stall
  // timeout, or stalled): silent windows count as too slow.
  const pulse = windows([70_000, 0, 0, 0], 10)
  assert.ok(pulse.at(-1)! >= 15, `count after 40 windows: ${pulse.at(-1)}`)
  // at the minimum half the time, it keeps going (it averages half the minimum or more)
  const even = windows([100, 70_000], 30)
  assert.ok(Math.max(...even) <= 2, `count ranged up to ${Math.max(...even)}`)
  const gaps = windows([0, 70_000], 30)
  assert.ok(Math.max(...gaps) <= 2, `count ranged up to ${Math.max(...gaps)}`)
})

test('a window without a byte counts as too slow but drops nothing: silent connections are the stall timeout\'s to drop', () => {
  const { floor, clock } = meter(65536)
  floor.add(10 << 20)
  clock.t += 61_000
  assert.equal(floor.check(), undefined)
  clock.t += 60_000
  assert.equal(floor.check(), undefined)
  assert.equal(floor.slowWindows, 1)
  assert.equal(floor.lastSlow, 'below the minimum rate: 0 B/s over the last 60 s, minimum 64.0 KiB/s (spec.transfer.minBytesPerSecond)')
})

// Round 23: with every silent run capped, unanswered requests (13, stretched by the stall timeout
// and backoffs of up to a minute) then 14 windows at the minimum, repeated, held a slot for 24 h:
// at 39 % of the minimum with 60 s windows (~22 silent windows a cycle), and at 14 % with 4 s
// windows (~110) while the spacing of forgiven outages was 4 × limit windows of 4 s.
const outageCycles = {
  'with 60 s windows': { windowMs: 60_000, silent: 22 },
  'with 4 s windows, an outage stretched over many of them': { windowMs: 4000, silent: 110 }
}
for (const [what, c] of Object.entries(outageCycles)) {
  test(`outages are forgiven once in a while, not every time: bursts at the minimum between them still lose the slot (${what})`, () => {
    const { floor, clock } = meter(65536, c.windowMs, 15)
    const seconds = c.windowMs / 1000
    let cycles = 0
    while (cycles < 20 && !floor.exhausted(true)) {
      runAll(floor, clock, 0, seconds * c.silent)
      runAll(floor, clock, 70_000, seconds * 14)
      cycles++
    }
    assert.ok(cycles < 20, `still going after ${cycles} cycles, count ${floor.slowWindows}`)
  })
}

test('the transfer gives up only after an attempt that brought bytes: one that brings nothing is the attempt limit\'s', () => {
  const { floor, clock } = meter(65536, 60_000, 5)
  runAll(floor, clock, 100, 60 * 4)
  assert.equal(floor.exhausted(true), false)
  runAll(floor, clock, 100, 60)
  assert.equal(floor.slowWindows, 5)
  assert.equal(floor.exhausted(false), false)
  assert.equal(floor.exhausted(true), true)
})

test('an outage counts at most one window less than the limit: a source back at full speed survives its next hiccup', () => {
  // Round 22: four unanswered requests and the backoffs between them made nine silent windows
  // against a limit of six; the first attempt back at full speed to end failed the transfer.
  const { floor, clock } = meter(65536, 4000, 6)
  runAll(floor, clock, 1 << 20, 8)
  runAll(floor, clock, 0, 4 * 9)
  assert.equal(floor.slowWindows, 5)
  runAll(floor, clock, 1 << 20, 4)
  assert.equal(floor.slowWindows, 4)
  assert.equal(floor.exhausted(true), false)
  // the failure names the last slow window, and when it was, once windows came after it
  assert.equal(floor.lastSlow, 'below the minimum rate: 0 B/s over a window of 4.0 s that ended 4.0 s ago, minimum 64.0 KiB/s (spec.transfer.minBytesPerSecond)')
  // a second outage soon after is not forgiven
  runAll(floor, clock, 0, 4 * 9)
  assert.equal(floor.exhausted(true), true)
  assert.equal(floor.lastSlow, 'below the minimum rate: 0 B/s over the last 4.0 s, minimum 64.0 KiB/s (spec.transfer.minBytesPerSecond)')
})

test('0 turns the check off', () => {
  const { floor, clock } = meter(0)
  assert.equal(run(floor, clock, 1, 3600), undefined)
})
