// Resume after a crash with several writes in flight: the file may be longer than its good prefix
// (a later write finished, an earlier one did not), so the sidecar's `written` decides.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runTransferJob, type TransferJobSpec } from '../../../src/transfer/run.ts'
import { fixture, pieces, log, loopback, fast, tempDir, serve, RecordingSink, type Behaviour } from './support.ts'
import { hasher } from './hasher.ts'

const car = fixture('large.car')
const piece = pieces['large.car']!

function job (url: string, outDir: string): TransferJobSpec {
  return { uuid: 'resume-1', outDir, url, headers: {}, size: car.length, pieceCid: piece.pieceCid, pieceSize: piece.pieceSize, policy: loopback, tuning: fast }
}

test('a partial file with a hole past the sidecar\'s written prefix resumes from that prefix', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  const j = job(srv.url, dir)
  const part = Buffer.from(car.subarray(0, 900_000))
  part.fill(0, 300_000, 600_000) // the write at 300000 never landed; the one at 600000 did
  await writeFile(join(dir, 'resume-1.car.part'), part)
  await writeFile(join(dir, 'resume-1.car.part.json'), JSON.stringify({ url: srv.url, etag: '"v1"', written: 300_000 }))
  const out = await runTransferJob(j, { hasher, progress: new RecordingSink(), log })
  assert.equal(srv.seen.length, 1)
  assert.equal(srv.seen[0]!.range, 'bytes=300000-')
  assert.equal(out.replayedBytes, 300_000)
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
})

test('an unreadable sidecar next to a partial file makes the download start over', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  await writeFile(join(dir, 'resume-1.car.part'), Buffer.alloc(500_000, 7))
  await writeFile(join(dir, 'resume-1.car.part.json'), '{"url": "http://tru')
  const out = await runTransferJob(job(srv.url, dir), { hasher, progress: new RecordingSink(), log })
  assert.equal(srv.seen[0]!.range, undefined)
  assert.equal(out.replayedBytes, 0)
  assert.equal(out.pieceCid, piece.pieceCid)
})

/** The first request gets a 200 of `data` with `headers` that drops after `bytes`; the others are served. */
function firstReplyDrops (data: Buffer, bytes: number, headers: Record<string, string | number>): Behaviour {
  return (_req, res, i) => {
    if (i > 0) return undefined
    res.writeHead(200, { 'content-length': data.length, ...headers })
    res.write(data.subarray(0, bytes), () => { setTimeout(() => res.socket?.destroy(), 30) })
    return true
  }
}

test('the sidecar follows the written prefix while the download runs', async (t) => {
  // The connection drops after 700000 bytes: the sidecar then says how far the file is good.
  const srv = await serve(car, { behave: firstReplyDrops(car, 700_000, { etag: '"v1"' }) })
  t.after(srv.close)
  const dir = await tempDir()
  const j = { ...job(srv.url, dir), tuning: { ...fast, maxAttempts: 1 } }
  await assert.rejects(runTransferJob(j, { hasher, progress: new RecordingSink(), log }), { code: 'TRANSFER_RETRIES_EXHAUSTED' })
  const meta = JSON.parse(await readFile(join(dir, 'resume-1.car.part.json'), 'utf8')) as { url: string, etag: string, written: number }
  assert.equal(meta.written, 700_000)
  assert.equal(meta.etag, '"v1"')
  assert.deepEqual(await readFile(join(dir, 'resume-1.car.part')), car.subarray(0, 700_000))
})

/**
 * Answers every request with a complete 206 of at most `cap` bytes naming `total` (the data's
 * length unless told), and a request past the end with a 416 whose Content-Range is `unsatisfied`.
 */
function capped (data: Buffer, cap: number, opts: { total?: string, unsatisfied?: string | undefined } = {}): Behaviour {
  return (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    const start = m !== null ? Number(m[1]) : 0
    if (start >= data.length) {
      const unsatisfied = 'unsatisfied' in opts ? opts.unsatisfied : `bytes */${data.length}`
      res.writeHead(416, unsatisfied !== undefined ? { 'content-range': unsatisfied } : {})
      res.end()
      return true
    }
    const end = Math.min(data.length, start + cap) - 1
    res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${opts.total ?? data.length}`, etag: '"v1"' })
    res.end(data.subarray(start, end + 1))
    return true
  }
}

test('a server that caps its partial responses is read range after range, with no failed attempt and no backoff', async (t) => {
  // 200 KB per answer, as S3 gateways and CDNs cap theirs: every 206 is complete as announced.
  const cap = 200_000
  const srv = await serve(car, { behave: capped(car, cap) })
  t.after(srv.close)
  const dir = await tempDir()
  // A backoff of a minute: one counted as a failure would outlast the test.
  const j = { ...job(srv.url, dir), tuning: { ...fast, backoffMinMs: 60_000, backoffMaxMs: 60_000, maxAttempts: 2 } }
  const out = await runTransferJob(j, { hasher, progress: new RecordingSink(), log })
  assert.equal(srv.seen.length, Math.ceil(car.length / cap))
  assert.deepEqual(srv.seen.map((s) => s.range), srv.seen.map((_, i) => i === 0 ? undefined : `bytes=${i * cap}-`))
  assert.equal(out.attempts, 1)
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
})

test('a capped partial response cut short is still a failed attempt', async (t) => {
  const srv = await serve(car, {
    behave: (req, res, i) => {
      if (i > 0) return undefined
      res.writeHead(206, { 'content-length': 300_000, 'content-range': `bytes 0-299999/${car.length}`, etag: '"v1"' })
      res.write(car.subarray(0, 100_000), () => { setTimeout(() => res.socket?.destroy(), 30) })
      return true
    }
  })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.attempts, 2)
  assert.equal(out.pieceCid, piece.pieceCid)
})

test('without a declared size, data replaced mid-transfer (a new ETag, another length) is fetched whole at its new length', async (t) => {
  // The first version of the file is 300 KB longer; its reply drops part way. The second request
  // finds the new version (the real CAR, another ETag and length).
  const old = Buffer.concat([car, Buffer.alloc(300_000, 1)])
  const srv = await serve(car, { behave: firstReplyDrops(old, 400_000, { etag: '"v0"' }) })
  t.after(srv.close)
  const out = await runTransferJob({ ...job(srv.url, await tempDir()), size: 0 }, { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(out.bytes, car.length)
  assert.equal(out.restarts, 1)
  assert.ok(srv.seen.length <= 3, `${srv.seen.length} requests`)
})

test('without a declared size, a server that ignores Range and now sends a shorter file is followed to its new length', async (t) => {
  const old = Buffer.concat([car, Buffer.alloc(300_000, 1)])
  const srv = await serve(car, { ignoreRange: true, etag: undefined, behave: firstReplyDrops(old, 400_000, {}) })
  t.after(srv.close)
  const out = await runTransferJob({ ...job(srv.url, await tempDir()), size: 0 }, { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(out.bytes, car.length)
})

test('without a declared size, a partial that is already whole (its run ended before staging) is staged without a second download', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  await writeFile(join(dir, 'resume-1.car.part'), car)
  await writeFile(join(dir, 'resume-1.car.part.json'), JSON.stringify({ url: srv.url, etag: '"v1"', written: car.length }))
  const out = await runTransferJob({ ...job(srv.url, dir), size: 0 }, { hasher, progress: new RecordingSink(), log })
  assert.deepEqual(srv.seen.map((s) => s.range), [`bytes=${car.length}-`], 'one request, answered 416 with the same length')
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(out.replayedBytes, car.length)
})

// Red-team round 42: capped partial responses and what they may say about the data's length.

test('the write buffers are made once for the download, however many capped responses it takes', async (t) => {
  // A set of buffers for each response held memory at a set per response until the garbage
  // collector came round (2 GB of RSS for a 1 GB file in 1 MiB replies). Counted where they are
  // made: shared memory of the write buffers' size (page-aligned ones take 4 KiB more).
  const slabBytes = 192 << 10
  const made: number[] = []
  const Real = globalThis.SharedArrayBuffer
  globalThis.SharedArrayBuffer = new Proxy(Real, {
    construct (target, args: [number], newTarget) {
      const b = Reflect.construct(target, args, newTarget) as SharedArrayBuffer
      if (b.byteLength === slabBytes || b.byteLength === slabBytes + 4096) made.push(b.byteLength)
      return b
    }
  })
  t.after(() => { globalThis.SharedArrayBuffer = Real })
  const cap = 100_000
  const srv = await serve(car, { behave: capped(car, cap) })
  t.after(srv.close)
  const j = { ...job(srv.url, await tempDir()), tuning: { ...fast, writeBatchBytes: slabBytes, writeBuffers: 4 } }
  const out = await runTransferJob(j, { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(srv.seen.length, Math.ceil(car.length / cap))
  assert.ok(made.length >= 1 && made.length <= 4, `${made.length} write buffers made for ${srv.seen.length} responses (4 to a download)`)
})

test('without a declared size, capped responses that name no total are followed to the data\'s end (a 416)', async (t) => {
  // RFC 9110 §14.4: `bytes a-b/*` when the server does not know the length yet. The first of them
  // was taken for the whole data. The 416 past the end names the length or says nothing.
  for (const unsatisfied of [`bytes */${car.length}`, undefined]) {
    const cap = 200_000
    const srv = await serve(car, { behave: capped(car, cap, { total: '*', unsatisfied }) })
    t.after(srv.close)
    const j = { ...job(srv.url, await tempDir()), size: 0, tuning: { ...fast, backoffMinMs: 60_000, backoffMaxMs: 60_000 } }
    const out = await runTransferJob(j, { hasher, progress: new RecordingSink(), log })
    assert.equal(out.bytes, car.length)
    assert.equal(out.pieceCid, piece.pieceCid)
    assert.equal(out.attempts, 1)
    assert.equal(out.restarts, 0)
    assert.equal(srv.seen.length, Math.ceil(car.length / cap) + 1, 'one request past the end')
    assert.deepEqual(await readFile(out.stagedPath), car)
  }
})

test('without a declared size, a 416 naming another length than the capped responses brought is the data changing', async (t) => {
  const srv = await serve(car, { behave: capped(car, 200_000, { total: '*', unsatisfied: `bytes */${car.length + 5}` }) })
  t.after(srv.close)
  const j = { ...job(srv.url, await tempDir()), size: 0, tuning: { ...fast, maxAttempts: 1 } }
  await assert.rejects(runTransferJob(j, { hasher, progress: new RecordingSink(), log }),
    { code: 'TRANSFER_RETRIES_EXHAUSTED', message: new RegExp(`the data changed 2 times during the transfer \\(the data's length is now ${car.length + 5} bytes, ${car.length} received\\)`) })
})

test('without a declared size, replies whose Content-Range names a total below what they send are refused, not taken up to the piece\'s capacity', async (t) => {
  // bytes a-(a+99999)/1000, each reply 100000 bytes
  const srv = await serve(car, {
    behave: (req, res) => {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
      const start = m !== null ? Number(m[1]) : 0
      res.writeHead(206, { 'content-length': 100_000, 'content-range': `bytes ${start}-${start + 99_999}/1000` })
      res.end(Buffer.alloc(100_000, 9))
      return true
    }
  })
  t.after(srv.close)
  const j = { ...job(srv.url, await tempDir()), size: 0, tuning: { ...fast, maxAttempts: 2 } }
  await assert.rejects(runTransferJob(j, { hasher, progress: new RecordingSink(), log }),
    { code: 'TRANSFER_RETRIES_EXHAUSTED', message: /the data changed 3 times during the transfer \(a 206 with Content-Range "bytes 0-99999\/1000", not a valid range\)/ })
  assert.equal(srv.seen.length, 3)
  assert.ok(srv.seen.every((s) => s.range === undefined), 'nothing of theirs was kept')
})

test('without a declared size, a reply that runs past the length it announced is cut there, and nothing more is asked', async (t) => {
  // The first reply names 1000 bytes and sends 100000 (chunked: no Content-Length to hold it to);
  // the ones after it name no total.
  const srv = await serve(car, {
    behave: (req, res) => {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
      if (m === null) {
        res.writeHead(206, { 'content-range': 'bytes 0-999/1000' })
        res.write(Buffer.alloc(100_000, 9))
        res.end()
        return true
      }
      const start = Number(m[1])
      res.writeHead(206, { 'content-length': 100, 'content-range': `bytes ${start}-${start + 99}/*` })
      res.end(Buffer.alloc(100, 9))
      return true
    }
  })
  t.after(srv.close)
  // The 1000 bytes it named are the data (not the CAR the deal's piece CID is of): the piece CID
  // check refuses them; before, the next requests went on past the named length.
  const j = { ...job(srv.url, await tempDir()), size: 0, tuning: { ...fast, maxAttempts: 2 } }
  await assert.rejects(runTransferJob(j, { hasher, progress: new RecordingSink(), log }), { code: 'TRANSFER_COMMP_MISMATCH' })
  assert.equal(srv.seen.length, 1)
})

test('a partial response whose Content-Length is not its Content-Range\'s length is not stored', async (t) => {
  // bytes 0-99999 announced, 200000 sent: the second half is not the data.
  const srv = await serve(car, {
    behave: (_req, res, i) => {
      if (i > 0) return undefined
      res.writeHead(206, { 'content-length': 200_000, 'content-range': `bytes 0-99999/${car.length}`, etag: '"v1"' })
      res.end(Buffer.concat([car.subarray(0, 100_000), Buffer.alloc(100_000, 0xff)]))
      return true
    }
  })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.restarts, 1)
  assert.equal(srv.seen[1]!.range, undefined, 'started over')
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
})

test('a chunked 206 running past its Content-Range end has the stray bytes dropped, and the next range follows its end', async (t) => {
  // Each answer: the 100 KB its Content-Range names, then 5 KB of 0xEE, chunked (no Content-Length).
  const srv = await serve(car, {
    behave: (req, res) => {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
      const start = m !== null ? Number(m[1]) : 0
      const end = Math.min(car.length, start + 100_000) - 1
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${car.length}`, etag: '"v1"' })
      res.write(car.subarray(start, end + 1))
      res.end(Buffer.alloc(5000, 0xee))
      return true
    }
  })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
  assert.deepEqual(srv.seen.map((s) => s.range), srv.seen.map((_, i) => i === 0 ? undefined : `bytes=${i * 100_000}-`))
})
