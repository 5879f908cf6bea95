// The minimum transfer rate in real downloads from a local server that trickles its bytes: a
// source that never stalls but would hold a transfer slot for the whole deadline (one byte every
// 59 s, 100 bytes/s) is dropped and resumed like a stall, and fails the deal once the attempts run
// out. Windows are a few hundred milliseconds, as the stall tests' timeouts are.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { runTransferJob, type TransferJobSpec } from '../../../src/transfer/run.ts'
import { transferMetrics } from '../../../src/transfer/metrics.ts'
import type { DownloadTuning } from '../../../src/transfer/download.ts'
import { fixture, pieces, log, loopback, fast, tempDir, serve, trickle, rangeHead, sendRange, RecordingSink, type Behaviour } from './support.ts'
import { hasher } from './hasher.ts'

// Random bytes: these tests are about timing, so no piece CID is asked and no index built.
const data = randomBytes(1 << 20)

function job (url: string, outDir: string, tuning: Partial<DownloadTuning>, size = data.length): TransferJobSpec {
  return { uuid: 'minrate-1', outDir, url, headers: {}, size, policy: loopback, tuning: { ...fast, ...tuning }, index: false }
}

async function drops (reason: string): Promise<number> {
  const m = await transferMetrics().drops.get()
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0
}

test('a single stream below the minimum rate is dropped, resumed, and fails with the measured rate once the attempts run out', async (t) => {
  const srv = await serve(data, { behave: trickle(data, 16 << 10) })
  t.after(srv.close)
  const sink = new RecordingSink()
  const before = await drops('TOO_SLOW')
  await assert.rejects(runTransferJob(job(srv.url, await tempDir(), { stallMs: 300, minBytesPerSecond: 64 << 10, maxAttempts: 3 }), { hasher, progress: sink, log }),
    (err: Error & { code?: string, retry?: string }) => {
      assert.equal(err.code, 'TRANSFER_TOO_SLOW')
      assert.equal(err.retry, 'auto')
      // On a loaded machine the timers fire late: more windows may count, and the last slow one may not be the newest.
      assert.match(err.message, /^deal minrate-1: transfer: below the minimum rate: \d+\.\d KiB\/s over (the last|a window of) \d\.\d s( that ended \d\.\d s ago)?, minimum 64\.0 KiB\/s \(spec\.transfer\.minBytesPerSecond\); gave up after \d+ too-slow windows, at \d+ bytes$/)
      return true
    })
  // Each attempt brought bytes, yet the windows were counted: a trickle does not reset them.
  assert.ok(srv.seen.length >= 2 && srv.seen.length <= 3, `${srv.seen.length} requests`)
  assert.ok(srv.seen.slice(1).every((s) => /^bytes=\d+-$/.test(s.range ?? '')), 'the reconnects resumed')
  assert.equal(sink.failure?.code, 'TRANSFER_TOO_SLOW')
  assert.equal(await drops('TOO_SLOW') - before, srv.seen.length - 1, 'each connection dropped and resumed is counted as TOO_SLOW')
})

test('parallel ranges are measured together: connections each under the minimum pass when their sum is over it', async (t) => {
  // Two ranges of 512 KiB at 256 KiB/s each: 512 KiB/s together against a minimum of 320 KiB/s.
  const srv = await serve(data, { behave: trickle(data, 256 << 10) })
  t.after(srv.close)
  const before = await drops('TOO_SLOW')
  const out = await runTransferJob(job(srv.url, await tempDir(), { stallMs: 1000, minBytesPerSecond: 320 << 10, connections: 2, rangeMinBytes: 128 << 10 }),
    { hasher, progress: new RecordingSink(), log })
  assert.equal(out.bytes, data.length)
  assert.deepEqual(srv.seen.map((s) => s.range).sort(), ['bytes=0-524287', 'bytes=524288-1048575'])
  assert.equal(await drops('TOO_SLOW') - before, 0)
})

test('parallel ranges whose sum stays under the minimum are all dropped and resumed, then fail', async (t) => {
  // 16 KiB/s each, 32 KiB/s together, against 64 KiB/s.
  const srv = await serve(data, { behave: trickle(data, 16 << 10) })
  t.after(srv.close)
  await assert.rejects(runTransferJob(job(srv.url, await tempDir(), { stallMs: 300, minBytesPerSecond: 64 << 10, connections: 2, rangeMinBytes: 128 << 10, maxAttempts: 2 }),
    { hasher, progress: new RecordingSink(), log }),
  (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TRANSFER_TOO_SLOW')
    assert.match(err.message, /below the minimum rate: \d+\.\d KiB\/s over the last \d\.\d s, minimum 64\.0 KiB\/s \(spec\.transfer\.minBytesPerSecond\); range \d+-\d+: gave up after \d+ too-slow windows, at \d+ bytes/)
    return true
  })
  // Both connections were dropped together and each asked again for the rest of its range.
  const ends = srv.seen.map((s) => /-(\d+)$/.exec(s.range ?? '')?.[1])
  assert.equal(ends.filter((e) => e === '524287').length, 2)
  assert.equal(ends.filter((e) => e === '1048575').length, 2)
})

/** trickle(), closing each connection after `closeMs`: before the window ends, with bytes sent. */
function trickleAndClose (bytesPerSecond: number, closeMs: number): ReturnType<typeof trickle> {
  const slow = trickle(data, bytesPerSecond)
  return (req, res, i) => {
    const t = setTimeout(() => { res.destroy() }, closeMs)
    res.on('close', () => { clearTimeout(t) })
    return slow(req, res, i)
  }
}

/** Sends `bytes` on each connection (from the Range it asked), then nothing until it is dropped. */
function burstThenSilence (bytes: number): ReturnType<typeof trickle> {
  return (req, res) => {
    const { start, end } = rangeHead(req, res, data)
    res.write(data.subarray(start, Math.min(end + 1, start + bytes)))
    return true
  }
}

/**
 * Sends `bytes` and closes, then holds the next `held` requests without a byte, each closed just
 * before `holdMs` (a little under the stall timeout), and so on: no connection of its own ever
 * stalled, and windows without a byte were left to the stall timeout (red-team round 20).
 */
function burstThenHeldRequests (bytes: number, held: number, holdMs: number): ReturnType<typeof trickle> {
  // counted per range (by where it ends), so two connections each see the pattern
  const seen = new Map<string, number>()
  return (req, res) => {
    const range = /-(\d*)$/.exec(req.headers.range ?? '')?.[1] ?? ''
    const n = seen.get(range) ?? 0
    seen.set(range, n + 1)
    if (n % (held + 1) === 0) {
      const { start, end } = rangeHead(req, res, data)
      res.write(data.subarray(start, Math.min(end + 1, start + bytes)), () => { res.destroy() })
      return true
    }
    const t = setTimeout(() => { res.destroy() }, holdMs)
    res.on('close', () => { clearTimeout(t) })
    return true
  }
}

// Sources whose every connection brings bytes, which used to reset the attempts: each must still
// run out of them, on one stream and on two ranges.
const evasive = {
  // 16 KiB/s against 64 KiB/s, each connection closed after 250 ms of a 400 ms window
  'closing every connection before the window ends': { behave: trickleAndClose(16 << 10, 250), stallMs: 400, message: /gave up after 3 too-slow windows/ },
  // 100 bytes a connection, then silence: dropped as stalled, never as too slow (on a loaded
  // machine a window more may count before the attempt that brought bytes ends: 3 at least)
  // Around 1,000 B/s over a window measured a little short of 0.4 s: either side of 1 KiB/s.
  'sending a few bytes a connection and then nothing': { behave: burstThenSilence(100), stallMs: 300, message: /below the minimum rate: (?:\d+ B|1\.\d KiB)\/s over the last \d\.\d s, .*gave up after ([3-9]|\d{2,}) too-slow windows/ },
  // a burst of a whole window at the minimum (32 KiB; 400 ms at 64 KiB/s is 26 KiB), then four
  // requests held 350 ms each: a fifth of the minimum; more attempts than the held requests, so
  // each burst's progress kept the attempts from running out
  'sending a window at the minimum, then holding the next requests silent until just before the stall timeout': { behave: burstThenHeldRequests(32 << 10, 4, 350), stallMs: 400, maxAttempts: 6, withinMs: 20_000, message: /gave up after \d+ too-slow windows/ }
}
for (const [what, c] of Object.entries(evasive)) {
  for (const connections of [1, 2]) {
    test(`a server ${what} still runs out of attempts (${connections} connection${connections > 1 ? 's' : ''})`, async (t) => {
      const srv = await serve(data, { behave: c.behave })
      t.after(srv.close)
      const t0 = Date.now()
      await assert.rejects(runTransferJob(job(srv.url, await tempDir(), { stallMs: c.stallMs, minBytesPerSecond: 64 << 10, maxAttempts: 'maxAttempts' in c ? c.maxAttempts : 3, connections, rangeMinBytes: 128 << 10, deadlineMs: 40_000 }),
        { hasher, progress: new RecordingSink(), log }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TRANSFER_TOO_SLOW', err.message)
        assert.match(err.message, c.message)
        return true
      })
      assert.ok(Date.now() - t0 < ('withinMs' in c ? c.withinMs : 10_000), `gave up after ${Date.now() - t0} ms`)
    })
  }
}

test('a healthy transfer is not touched by the default minimum', async (t) => {
  const car = fixture('large.car')
  const srv = await serve(car)
  t.after(srv.close)
  const before = await drops('TOO_SLOW')
  const out = await runTransferJob({ ...job(srv.url, await tempDir(), { stallMs: 300 }, car.length), pieceCid: pieces['large.car']!.pieceCid, index: true },
    { hasher, progress: new RecordingSink(), log })
  assert.equal(out.attempts, 1)
  assert.equal(out.pieceCid, pieces['large.car']!.pieceCid)
  assert.equal(await drops('TOO_SLOW') - before, 0)
})

test('0 turns the minimum off: the same trickle that fails at 64 KiB/s completes', async (t) => {
  const small = data.subarray(0, 48 << 10)
  const cases: Record<string, { min: number, fails: boolean }> = {
    'at 64 KiB/s it fails': { min: 64 << 10, fails: true },
    'at 0 it completes in one attempt': { min: 0, fails: false }
  }
  for (const [name, c] of Object.entries(cases)) {
    await t.test(name, async (t) => {
      // 48 KiB at 32 KiB/s: 1.5 s, five windows of 300 ms.
      const srv = await serve(small, { behave: trickle(small, 32 << 10) })
      t.after(srv.close)
      const run = runTransferJob(job(srv.url, await tempDir(), { stallMs: 300, minBytesPerSecond: c.min, maxAttempts: 2 }, small.length), { hasher, progress: new RecordingSink(), log })
      if (c.fails) {
        await assert.rejects(run, { code: 'TRANSFER_TOO_SLOW' })
      } else {
        const out = await run
        assert.equal(out.attempts, 1)
        assert.equal(out.bytes, small.length)
      }
    })
  }
})

// Red-team round 21: sources that the per-connection meter could not see, and healthy sources
// with gaps that the round-20 rules failed.

/** A download from `url` at a 64 KiB/s minimum fails as too slow, within `withinMs`. */
async function failsTooSlow (url: string, tuning: Partial<DownloadTuning>, withinMs: number): Promise<void> {
  const t0 = Date.now()
  await assert.rejects(runTransferJob(job(url, await tempDir(), { minBytesPerSecond: 64 << 10, ...tuning }), { hasher, progress: new RecordingSink(), log }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TRANSFER_TOO_SLOW', err.message)
      assert.match(err.message, /below the minimum rate: .*gave up after \d+ too-slow windows, at \d+ bytes$/)
      return true
    })
  assert.ok(Date.now() - t0 < withinMs, `gave up after ${Date.now() - t0} ms`)
}

test('connections each shorter than the meter\'s tick, a burst and a reset, are still judged (one stream)', async (t) => {
  // 1000 bytes a connection, reset 30 ms later: 2 % of the minimum, never a stall
  const srv = await serve(data, {
    behave: (req, res) => {
      const { start, end } = rangeHead(req, res, data)
      res.write(data.subarray(start, Math.min(end + 1, start + 1000)), () => { setTimeout(() => { res.destroy() }, 30) })
      return true
    }
  })
  t.after(srv.close)
  await failsTooSlow(srv.url, { stallMs: 400, maxAttempts: 3, deadlineMs: 30_000 }, 10_000)
})

test('a source far over the minimum on average, with gaps between its connections, completes', async (t) => {
  // each connection: 250 ms before the headers, 128 KiB at once, 250 ms held, reset; every gap
  // is under the 400 ms stall timeout, two together are not; ~250 KiB/s against 64 KiB/s
  const srv = await serve(data, {
    behave: (req, res) => {
      setTimeout(() => {
        const { start, end } = rangeHead(req, res, data)
        res.write(data.subarray(start, Math.min(end + 1, start + (128 << 10))), () => { setTimeout(() => { res.destroy() }, 250) })
      }, 250)
      return true
    }
  })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir(), { stallMs: 400, minBytesPerSecond: 64 << 10, maxAttempts: 3, deadlineMs: 30_000 }), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.bytes, data.length)
})

test('slow errors before a slow first byte are each their own attempt, not one long silence', async (t) => {
  // two 503s after 180 ms each, then the data after 180 ms: each wait under the 400 ms stall timeout
  const srv = await serve(data, {
    behave: (req, res, i) => {
      setTimeout(() => {
        if (i < 2) { res.writeHead(503); res.end(); return }
        sendRange(req, res, data)
      }, 180)
      return true
    }
  })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir(), { stallMs: 400, minBytesPerSecond: 64 << 10, maxAttempts: 3 }), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.bytes, data.length)
  assert.equal(out.attempts, 3)
})

test('a server that answers every retry with the whole file (200, Range ignored) and drops it part way is given up on', async (t) => {
  const srv = await serve(data, { behave: (req, res, i) => { sendRange(req, res, data, { ignoreRange: i > 0, dropAfter: 100_000 + i * 1000 }); return true } })
  t.after(srv.close)
  await assert.rejects(runTransferJob(job(srv.url, await tempDir(), { maxAttempts: 3, deadlineMs: 30_000 }), { hasher, progress: new RecordingSink(), log }),
    { code: 'TRANSFER_RETRIES_EXHAUSTED', message: /the server ignored Range 4 times/ })
})

test('falling back from ranges to one stream keeps the transfer\'s deadline (round 22)', async (t) => {
  // the two range requests are held 1.5 s and answered with the whole file (Range ignored): the
  // download starts over as one stream, which trickles; the 3 s deadline counts from the start
  const srv = await serve(data, {
    behave: (req, res, i) => {
      if (i < 2) {
        setTimeout(() => { if (!res.destroyed) { res.writeHead(200, { 'content-length': data.length }); res.write(data.subarray(0, 1000)) } }, 1500)
        return true
      }
      return trickle(data, 4 << 10)(req, res, i)
    }
  })
  t.after(srv.close)
  const t0 = Date.now()
  await assert.rejects(runTransferJob(job(srv.url, await tempDir(), { connections: 2, rangeMinBytes: 128 << 10, minBytesPerSecond: 0, deadlineMs: 3000 }), { hasher, progress: new RecordingSink(), log }),
    { code: 'TRANSFER_DEADLINE', message: /transfer deadline of 3 s passed/ })
  const took = Date.now() - t0
  assert.ok(took < 4000, `ended after ${took} ms`)
})

// Red-team round 42: a server that caps its partial responses, each complete, is followed at once
// with no failure counted; the rate floor still judges the replies together.

/** Answers request `i` after `delayMs` with a complete 206 of `bytes(i)` bytes from where it asked. */
function cappedReplies (bytes: (i: number) => number, delayMs = 0): Behaviour {
  return (req, res, i) => {
    setTimeout(() => {
      if (res.destroyed) return
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
      const start = m !== null ? Number(m[1]) : 0
      const end = Math.min(data.length, start + bytes(i)) - 1
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${data.length}`, etag: '"v1"' })
      res.end(data.subarray(start, end + 1))
    }, delayMs)
    return true
  }
}

test('capped partial responses below the minimum are judged as one slow connection and fail', async (t) => {
  // 100 bytes every 50 ms, 2 KB/s against 64 KiB/s: held the slot until the deadline
  const srv = await serve(data, { behave: cappedReplies(() => 100, 50) })
  t.after(srv.close)
  await failsTooSlow(srv.url, { stallMs: 300, maxAttempts: 3, deadlineMs: 6000 }, 3000)
})

test('complete one-byte partial responses between server errors are judged by the minimum rate and fail', async (t) => {
  // each 206 is followed at once by a 500, whose backoff the next 206 ended
  const bytes = cappedReplies(() => 1)
  const srv = await serve(data, {
    behave: (req, res, i) => {
      if (i % 2 === 0) return bytes(req, res, i)
      res.writeHead(500)
      res.end()
      return true
    }
  })
  t.after(srv.close)
  // A drop for being slow that lands on a 206 request puts a 500 first in the next attempt: three
  // failures without bytes in a row at most (a drop is followed by a window without one), which
  // 4 attempts leave to the rate floor to end.
  await failsTooSlow(srv.url, { stallMs: 300, maxAttempts: 4, deadlineMs: 6000 }, 3000)
})

test('capped partial responses at full speed are not touched by the minimum', async (t) => {
  const srv = await serve(data, { behave: cappedReplies(() => 64 << 10) })
  t.after(srv.close)
  const before = await drops('TOO_SLOW')
  const out = await runTransferJob(job(srv.url, await tempDir(), { stallMs: 300, minBytesPerSecond: 64 << 10, maxAttempts: 2, backoffMinMs: 60_000, backoffMaxMs: 60_000 }), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.bytes, data.length)
  assert.equal(out.attempts, 1)
  assert.equal(srv.seen.length, 16)
  assert.equal(await drops('TOO_SLOW') - before, 0)
})
