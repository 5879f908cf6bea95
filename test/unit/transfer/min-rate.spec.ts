// The minimum transfer rate's meter on a fake clock: what a window is, when the first one opens,
// and what 0 means. The downloads that use it are in min-rate-download.spec.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RateFloor } from '../../../src/transfer/min-rate.ts'

function meter (minBytesPerSecond: number, windowMs = 60_000): { floor: RateFloor, clock: { t: number } } {
  const clock = { t: 1_000_000 }
  return { floor: new RateFloor({ minBytesPerSecond, windowMs, now: () => clock.t, setting: 'spec.transfer.minBytesPerSecond' }), clock }
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

test('the window slides: a fast start does not carry a transfer that has become slow', () => {
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

test('restart gives the next connection a whole window of its own', () => {
  const { floor, clock } = meter(65536)
  assert.ok(run(floor, clock, 100, 60) !== undefined)
  floor.restart()
  // The slow minute before the restart is forgotten: 59 s at 64 KiB/s are not judged, and then pass.
  assert.equal(run(floor, clock, 65536, 120), undefined)
})

test('too-slow windows are counted across restarts; each full window at the minimum takes one off', () => {
  const { floor, clock } = meter(65536)
  for (let i = 1; i <= 3; i++) {
    assert.ok(run(floor, clock, 100, 60) !== undefined)
    assert.equal(floor.slowWindows, i)
    floor.restart()
  }
  // a fast first half does not make a full window: still counted
  assert.equal(run(floor, clock, 65536 * 4, 30), undefined)
  assert.equal(floor.slowWindows, 3)
  // checked every second, a window at the minimum counts once, not once per check
  assert.equal(run(floor, clock, 65536, 60), undefined)
  assert.equal(floor.slowWindows, 2)
  assert.equal(run(floor, clock, 65536, 120), undefined)
  assert.equal(floor.slowWindows, 0)
  assert.equal(run(floor, clock, 65536, 120), undefined)
  assert.equal(floor.slowWindows, 0, 'never below 0: a long good run banks nothing')
})

/** Windows of `pattern` (bytes a second for a whole window each), repeated; the too-slow count after each, restarting after each drop as the download does. */
function windows (pattern: number[], rounds: number): number[] {
  const { floor, clock } = meter(65536)
  const counts: number[] = []
  for (let r = 0; r < rounds; r++) {
    for (const rate of pattern) {
      if (run(floor, clock, rate, 60) !== undefined) floor.restart()
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
  // at the minimum half the time, it keeps going (it averages half the minimum or more)
  const even = windows([100, 70_000], 30)
  assert.ok(Math.max(...even) <= 2, `count ranged up to ${Math.max(...even)}`)
})

test('a connection dropped for silence counts as a too-slow window, reported as too slow when what came since the window opened is under the minimum', () => {
  const { floor, clock } = meter(65536, 4000)
  assert.equal(floor.stalled(), undefined, 'nothing came: reported as a plain stall')
  assert.equal(floor.slowWindows, 1, 'and counted: a window without a byte is below any minimum')
  floor.restart()
  clock.t += 4000
  floor.add(100)
  clock.t += 4000
  const e = floor.stalled() as Error & { code: string }
  assert.equal(e.code, 'TOO_SLOW')
  assert.equal(e.message, 'below the minimum rate: 25 B/s over the last 4.0 s, minimum 64.0 KiB/s (spec.transfer.minBytesPerSecond)')
  assert.equal(floor.slowWindows, 2)
  // two ranges dropped together count once
  assert.ok(floor.stalled() !== undefined)
  assert.equal(floor.slowWindows, 2)
  floor.restart()
  // a good run that then stalls is reported as a stall, not a slow source; its windows made up for the two
  assert.equal(run(floor, clock, 1 << 20, 10), undefined)
  assert.equal(floor.slowWindows, 0)
  clock.t += 4000
  assert.equal(floor.stalled(), undefined)
  assert.equal(floor.slowWindows, 1)
  assert.equal(floor.describe(), '3 too-slow windows (2 made up for by windows at the minimum)')
})

test('a source at the minimum for one window and then silent through stalls loses its slot', () => {
  // Round 20: each silent connection was a plain stall, which counted only as an attempt, and the
  // next window at the minimum brought progress: a slot held at a fifteenth of the minimum.
  const { floor, clock } = meter(65536, 60_000)
  let failedAfter: number | undefined
  for (let cycle = 0; cycle < 30 && failedAfter === undefined; cycle++) {
    assert.equal(run(floor, clock, 65536, 60), undefined)
    for (let s = 0; s < 3; s++) {
      clock.t += 60_000
      floor.stalled()
      if (floor.ended('STALLED', 15)) { failedAfter = cycle; break }
    }
  }
  assert.ok(failedAfter !== undefined && failedAfter < 10, `still going after ${failedAfter ?? 30} cycles`)
})

test('a window without a single byte is left to the stall timeout', () => {
  const { floor, clock } = meter(65536)
  floor.add(10 << 20)
  clock.t += 61_000
  assert.equal(floor.check(), undefined)
  clock.t += 60_000
  assert.equal(floor.check(), undefined)
})

test('0 turns the check off', () => {
  const { floor, clock } = meter(0)
  assert.equal(run(floor, clock, 1, 3600), undefined)
})
