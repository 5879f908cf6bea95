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

test('a server that caps its partial responses is read range after range, with no failed attempt and no backoff', async (t) => {
  // 200 KB per answer, as S3 gateways and CDNs cap theirs: every 206 is complete as announced.
  const cap = 200_000
  const srv = await serve(car, {
    behave: (req, res) => {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
      const start = m !== null ? Number(m[1]) : 0
      const end = Math.min(car.length, start + cap) - 1
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${car.length}`, etag: '"v1"' })
      res.end(car.subarray(start, end + 1))
      return true
    }
  })
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
