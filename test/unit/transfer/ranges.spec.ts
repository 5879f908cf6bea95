// Parallel ranges (boost's NChunks): the split, the requests, a SIGKILL in the middle of a
// multi-range download and the resume to the right piece CID, and the fall-back to one stream.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runTransferJob, type TransferJobSpec } from '../../../src/transfer/run.ts'
import { splitRanges, contiguousPrefix } from '../../../src/transfer/ranges.ts'
import { commpOfFile } from '../../../src/filecoin/commp/index.ts'
import { fixture, pieces, log, loopback, fast, tempDir, serve, RecordingSink } from './support.ts'
import { hasher } from './hasher.ts'

const root = join(import.meta.dirname, '../../..')
const car = fixture('large.car')
const piece = pieces['large.car']!

test('ranges split at aligned offsets and the prefix stops at the first unfinished range', () => {
  assert.deepEqual(splitRanges(10 << 20, 3), [
    { start: 0, end: 4 << 20, written: 0 }, { start: 4 << 20, end: 8 << 20, written: 4 << 20 }, { start: 8 << 20, end: 10 << 20, written: 8 << 20 }])
  assert.deepEqual(splitRanges(100, 4).map((r) => r.end), [100])
  const r = splitRanges(12, 3, 4)
  r[0]!.written = 4; r[1]!.written = 6; r[2]!.written = 12
  assert.equal(contiguousPrefix(r), 6)
  r[1]!.written = 8
  assert.equal(contiguousPrefix(r), 12)
})

function job (url: string, outDir: string, over: Partial<TransferJobSpec> = {}): TransferJobSpec {
  return {
    uuid: 'ranges-1', outDir, url, headers: {}, size: car.length, pieceCid: piece.pieceCid, pieceSize: piece.pieceSize, policy: loopback,
    tuning: { ...fast, connections: 3, rangeMinBytes: 128 << 10 }, ...over
  }
}

test('three ranges are fetched at once and give go-car\'s index and the piece CID', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log })
  assert.deepEqual(srv.seen.map((s) => s.range).sort(), ['bytes=0-524287', 'bytes=1048576-1211566', 'bytes=524288-1048575'])
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
  assert.deepEqual(await readFile(out.indexPath!), fixture('large.car.idx'))
})

test('a server that answers ranges with 200 gets one stream from zero instead', async (t) => {
  const srv = await serve(car, { ignoreRange: true })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(srv.seen.at(-1)!.range, undefined)
})

test('a server whose 206 bodies run past their Content-Range gets one stream instead of the same range retried for good', async (t) => {
  const srv = await serve(car, {
    behave: (req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
      if (m === null) return undefined // the single stream's requests: served as asked
      // No Content-Length: the body is close-delimited, and goes on to the end of the file.
      res.writeHead(206, { 'Content-Range': `bytes ${m[1]}-${m[2]}/${car.length}` })
      res.end(car.subarray(Number(m[1])))
      return true
    }
  })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
  assert.ok(srv.seen.some((s) => s.range === undefined || /^bytes=\d+-$/.test(s.range)), 'one stream took over')
})

test('a multi-range download killed with SIGKILL resumes every range where its data ended', async (t) => {
  // 12 MiB of random bytes in 3 ranges of 4 MiB. The first responses send 2.5 MiB of their range
  // and then hang, so the killed process has written two 1 MiB buffers per range.
  const dir = await tempDir()
  const data = randomBytes(12 << 20)
  const src = join(dir, 'src.bin')
  await writeFile(src, data)
  const expected = await commpOfFile(src, { paddedPieceSize: 16 << 20 })
  let hang = true
  const srv = await serve(data, {
    etag: '"r1"',
    behave: (req, res) => {
      if (!hang) return undefined
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
      if (m === null) { res.writeHead(500); res.end(); return true }
      const start = Number(m[1])
      const end = Number(m[2])
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${data.length}`, etag: '"r1"' })
      res.write(data.subarray(start, start + (5 << 19)))
      return true
    }
  })
  t.after(srv.close)
  const args = ['--url', srv.url, '--size', String(data.length), '--piece-size', String(16 << 20), '--out-dir', dir, '--uuid', 'kill-1',
    '--allow-cidr', '127.0.0.1/32', '--connections', '3', '--range-min-bytes', String(1 << 20), '--quiet']
  const script = 'import(\'./src/cli/transfer.ts\').then((m) => m.runTransfer(JSON.parse(process.argv[1]))).then((c) => { process.exitCode = c })'
  const child = spawn(process.execPath, ['-e', script, JSON.stringify(args)], { cwd: root, env: { ...process.env, DEALYARD_LOG_LEVEL: 'silent' }, stdio: 'ignore' })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  const sidecar = join(dir, 'kill-1.car.part.json')
  let meta: { ranges: Array<{ start: number, written: number }>, etag?: string } | undefined
  for (let i = 0; i < 300; i++) {
    meta = await readFile(sidecar, 'utf8').then((s) => JSON.parse(s) as typeof meta, () => undefined)
    if (meta?.ranges.every((r) => r.written - r.start >= 2 << 20) === true) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  await exited
  assert.deepEqual(meta!.ranges.map((r) => r.written - r.start), [2 << 20, 2 << 20, 2 << 20])
  assert.equal(meta!.etag, '"r1"')

  hang = false
  const before = srv.seen.length
  const res = await runTransferJob({
    uuid: 'kill-1', outDir: dir, url: srv.url, headers: {}, size: data.length, pieceSize: 16 << 20, pieceCid: expected.pieceCid,
    policy: loopback, index: false, tuning: { ...fast, connections: 3, rangeMinBytes: 1 << 20 }
  }, { hasher, progress: new RecordingSink(), log })
  assert.deepEqual(srv.seen.slice(before).map((s) => s.range).sort(), ['bytes=10485760-12582911', 'bytes=2097152-4194303', 'bytes=6291456-8388607'])
  assert.equal(res.pieceCid, expected.pieceCid)
  assert.equal(res.replayedBytes, 2 << 20)
  assert.deepEqual(await readFile(res.stagedPath), data)
})

test('a single stream\'s partial file is taken over by the ranges with its prefix', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  await writeFile(join(dir, 'ranges-1.car.part'), car.subarray(0, 600_000))
  await writeFile(join(dir, 'ranges-1.car.part.json'), JSON.stringify({ url: srv.url, etag: '"v1"', written: 600_000 }))
  const out = await runTransferJob(job(srv.url, dir), { hasher, progress: new RecordingSink(), log })
  assert.deepEqual(srv.seen.map((s) => s.range).sort(), ['bytes=1048576-1211566', 'bytes=600000-1048575'])
  assert.equal(out.pieceCid, piece.pieceCid)
})

test('a parallel download\'s partial cut back by a one-stream run that then failed is not resumed past the cut by the next parallel run', async (t) => {
  const dir = await tempDir()
  // Three ranges, each 100,000 bytes in: the file holds them all (written out of order, as ranges do).
  const ranges = splitRanges(car.length, 3, 128 << 10).map((r) => ({ ...r, written: r.start + 100_000 }))
  let failing = true
  const srv = await serve(car, { behave: (_req, res) => { if (!failing) return undefined; res.writeHead(503); res.end(); return true } })
  t.after(srv.close)
  await writeFile(join(dir, 'ranges-1.car.part'), car.subarray(0, ranges[2]!.written))
  await writeFile(join(dir, 'ranges-1.car.part.json'), JSON.stringify({ url: srv.url, etag: '"v1"', size: car.length, ranges }))
  // One stream: the file is cut to the first range's prefix; the server fails before any byte.
  await assert.rejects(runTransferJob(job(srv.url, dir, { tuning: { ...fast, connections: 1, maxAttempts: 1 } }), { hasher, progress: new RecordingSink(), log }))
  assert.equal((await readFile(join(dir, 'ranges-1.car.part'))).length, 100_000)
  // The parallel run again, the server answering now: the cut bytes are fetched again.
  failing = false
  const out = await runTransferJob(job(srv.url, dir), { hasher, progress: new RecordingSink(), log }).catch((err: Error) => err)
  assert.ok(!(out instanceof Error), String(out))
  assert.equal(out.pieceCid, piece.pieceCid)
})
