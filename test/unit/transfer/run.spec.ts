import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runTransferJob, type TransferJobSpec } from '../../../src/transfer/run.ts'
import { fixture, pieces, log, loopback, fast, tempDir, assertResumedAt, serve, sendRange, RecordingSink } from './support.ts'
import { hasher } from './hasher.ts'
import type { ProgressSink, TransferFailure, TransferProgress } from '../../../src/transfer/progress.ts'

const car = fixture('large.car')
const piece = pieces['large.car']!

function job (url: string, outDir: string, over: Partial<TransferJobSpec> = {}): TransferJobSpec {
  return {
    uuid: 'd0c5e1a2-0000-4000-8000-000000000001',
    outDir,
    url,
    headers: {},
    size: car.length,
    pieceCid: piece.pieceCid,
    pieceSize: piece.pieceSize,
    policy: loopback,
    tuning: fast,
    // A deal's Job: its inputs are the deal's (the operator-flag cases say inputsFromDeal: false).
    inputsFromDeal: true,
    ...over
  }
}

test('a clean download stages the CAR, go-car\'s index and the proposal\'s piece CID', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  const sink = new RecordingSink()
  const out = await runTransferJob(job(srv.url, dir), { hasher, progress: sink, log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
  assert.deepEqual(await readFile(out.indexPath!), fixture('large.car.idx'))
  assert.deepEqual((await readdir(dir)).sort(), ['d0c5e1a2-0000-4000-8000-000000000001.car', 'd0c5e1a2-0000-4000-8000-000000000001.car.idx'])
  assert.equal(sink.success?.pieceCid, piece.pieceCid)
  assert.equal(out.attempts, 1)
})

test('a run after the data was staged verifies it without downloading and reports success again', async (t) => {
  let requests = 0
  const srv = await serve(car, { behave: () => { requests++; return false } })
  t.after(srv.close)
  const dir = await tempDir()
  // a run that staged the file and died before its status write
  await runTransferJob(job(srv.url, dir), { hasher, progress: new RecordingSink(), log })
  const fetched = requests
  const sink = new RecordingSink()
  const out = await runTransferJob(job(srv.url, dir), { hasher, progress: sink, log })
  assert.equal(requests, fetched, 'downloaded again')
  assert.equal(out.replayedBytes, car.length)
  assert.equal(sink.success?.pieceCid, piece.pieceCid)
  assert.equal(sink.success?.stagedPath, out.stagedPath)
})

for (const [what, damage] of [
  ['cut short', async (f: string) => { await writeFile(f, car.subarray(0, car.length - 1000)) }],
  ['with bytes appended (the same CommP)', async (f: string) => { await writeFile(f, Buffer.concat([car, Buffer.alloc(4096)])) }],
  ['another piece copied over it', async (f: string) => { await writeFile(f, fixture('small.car')) }],
  ['a directory', async (f: string) => { const { rm, mkdir } = await import('node:fs/promises'); await rm(f); await mkdir(f) }]
] as const) {
  test(`a staged file that no longer verifies (${what}) is removed and the data downloaded again`, async (t) => {
    let requests = 0
    const srv = await serve(car, { behave: () => { requests++; return false } })
    t.after(srv.close)
    const dir = await tempDir()
    const first = await runTransferJob(job(srv.url, dir), { hasher, progress: new RecordingSink(), log })
    const j0 = job(srv.url, dir).uuid
    const fetched = requests
    await damage(first.stagedPath)
    const sink = new RecordingSink()
    const out = await runTransferJob(job(srv.url, dir), { hasher, progress: sink, log })
    assert.ok(requests > fetched, 'not downloaded again')
    assert.deepEqual(await readFile(out.stagedPath), car)
    assert.deepEqual(await readFile(out.indexPath!), fixture('large.car.idx'))
    assert.equal(sink.success?.pieceCid, piece.pieceCid)
    assert.equal(sink.failure, undefined)
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.mismatch-')), [])
    void j0
  })
}

test('with an operator\'s flags, neither a staged file that fails verification nor a partial a fatal failure ends is deleted: the flags may be what is wrong', async (t) => {
  const srv = await serve(car, { behave: (req, res) => { if (req.headers.authorization === 'Bearer good') return undefined; res.writeHead(401); res.end(); return true } })
  t.after(srv.close)
  const dir = await tempDir()
  const ok = job(srv.url, dir, { headers: { Authorization: 'Bearer good' }, inputsFromDeal: false })
  await runTransferJob(ok, { hasher, progress: new RecordingSink(), log })
  // A re-run with another deal's piece CID: the staged file is moved aside, not deleted.
  const other = pieces['small.car']!.pieceCid
  await assert.rejects(runTransferJob({ ...ok, pieceCid: other }, { hasher, progress: new RecordingSink(), log }), { code: 'TRANSFER_COMMP_MISMATCH' })
  const files = await readdir(dir)
  assert.equal(files.filter((f) => f.startsWith(`${ok.uuid}.car.mismatch-`)).length, 1, files.join(' '))
  assert.deepEqual(await readFile(join(dir, files.find((f) => f.includes('.mismatch-'))!)), car)
  // A partial waiting to be resumed, then a run with the header forgotten (401, fatal): kept.
  const half = await dropsThenAnswers(401)
  t.after(half.close)
  const resumable = job(half.url, await tempDir(), { tuning: { ...fast, maxAttempts: 1 }, inputsFromDeal: false })
  await assert.rejects(runTransferJob(resumable, { hasher, progress: new RecordingSink(), log }), { code: 'TRANSFER_RETRIES_EXHAUSTED' })
  const partial = join(resumable.outDir, `${resumable.uuid}.car.part`)
  const kept = (await readFile(partial)).length
  await assert.rejects(runTransferJob(resumable, { hasher, progress: new RecordingSink(), log }), { code: 'TRANSFER_UNAUTHORIZED' })
  assert.equal((await readFile(partial)).length, kept)
})

test('the server closing mid-stream 10 times still gives the right file and piece CID', async (t) => {
  const srv = await serve(car, {
    behave: (req, res, i) => {
      if (i >= 10) return undefined
      sendRange(req, res, car, { dropAfter: 50_000 + i * 1000 })
      return true
    }
  })
  t.after(srv.close)
  const dir = await tempDir()
  const out = await runTransferJob(job(srv.url, dir), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.attempts, 11)
  assert.equal(out.restarts, 0)
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
  assert.deepEqual(await readFile(out.indexPath!), fixture('large.car.idx'))
  // Each reconnect asked for the bytes after the ones already on disk.
  const starts = srv.seen.map((s) => Number(/^bytes=(\d+)-$/.exec(s.range ?? 'bytes=0-')?.[1]))
  assert.equal(starts[0], 0)
  for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! > starts[i - 1]!, `request ${i} starts after request ${i - 1}`)
})

test('a server that ignores Range makes the download restart from zero', async (t) => {
  const srv = await serve(car, {
    behave: (req, res, i) => {
      sendRange(req, res, car, { ignoreRange: true, ...(i === 0 ? { dropAfter: 400_000 } : {}) })
      return true
    }
  })
  t.after(srv.close)
  const dir = await tempDir()
  const out = await runTransferJob(job(srv.url, dir), { hasher, progress: new RecordingSink(), log })
  await assertResumedAt(srv.seen[1]?.range, dir, 400_000)
  assert.equal(out.restarts, 1)
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
})

test('a changed ETag on resume restarts from zero instead of splicing two versions', async (t) => {
  const other = Buffer.from(car)
  other[car.length - 10] = other[car.length - 10]! ^ 0xff
  const srv = await serve(car, {
    behave: (req, res, i) => {
      if (i === 0) { sendRange(req, res, other, { etag: '"old"', dropAfter: 300_000 }); return true }
      sendRange(req, res, car, { etag: '"new"' })
      return true
    }
  })
  t.after(srv.close)
  const dir = await tempDir()
  const out = await runTransferJob(job(srv.url, dir), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.restarts, 1)
  assert.equal(srv.seen.at(-1)?.range, undefined)
  assert.equal(out.pieceCid, piece.pieceCid)
})

test('after a crash the partial file is resumed with Range and its prefix re-read once', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  const j = job(srv.url, dir)
  await writeFile(join(dir, `${j.uuid}.car.part`), car.subarray(0, 700_001))
  const out = await runTransferJob(j, { hasher, progress: new RecordingSink(), log })
  assert.equal(srv.seen.length, 1)
  assert.equal(srv.seen[0]!.range, 'bytes=700001-')
  assert.equal(out.replayedBytes, 700_001)
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.indexPath!), fixture('large.car.idx'))
})

test('a body longer than the declared size is refused', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  await assert.rejects(runTransferJob(job(srv.url, dir, { size: car.length - 1000, pieceCid: undefined }), { hasher, progress: new RecordingSink(), log }),
    { code: 'TRANSFER_BODY_TOO_LONG', retry: 'fatal' })
  assert.deepEqual(await readdir(dir), [])
})

test('a chunked body that runs past the declared size is cut off and refused', async (t) => {
  const srv = await serve(car, {
    behave: (_req, res) => {
      res.writeHead(200) // no Content-Length: the length is only known by counting
      res.write(car)
      res.end(car.subarray(0, 5000))
      return true
    }
  })
  t.after(srv.close)
  const dir = await tempDir()
  await assert.rejects(runTransferJob(job(srv.url, dir, { pieceCid: undefined }), { hasher, progress: new RecordingSink(), log }),
    { code: 'TRANSFER_BODY_TOO_LONG' })
  assert.deepEqual(await readdir(dir), [])
})

test('a chunked body is not measured by a Content-Length beside it, and a Content-Length list of one repeated value is that value', async (t) => {
  // Written to the socket by hand: node:http would not send these heads.
  const heads = [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 10\r\nConnection: close\r\n\r\n',
    `HTTP/1.1 200 OK\r\nContent-Length: ${car.length}, ${car.length}\r\nConnection: close\r\n\r\n`
  ]
  for (const [i, head] of heads.entries()) {
    const body = i === 0 ? Buffer.concat([Buffer.from(`${car.length.toString(16)}\r\n`), car, Buffer.from('\r\n0\r\n\r\n')]) : car
    const srv = await serve(car, { behave: (_req, res) => { res.socket!.end(Buffer.concat([Buffer.from(head), body])); return true } })
    t.after(srv.close)
    const out = await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log })
    assert.equal(out.pieceCid, piece.pieceCid, head)
  }
})

test('wrong data fails with commP mismatch and the partial file is removed', async (t) => {
  const wrong = Buffer.from(car)
  wrong[car.length >> 1] = wrong[car.length >> 1]! ^ 1
  const srv = await serve(wrong)
  t.after(srv.close)
  const dir = await tempDir()
  const sink = new RecordingSink()
  await assert.rejects(runTransferJob(job(srv.url, dir), { hasher, progress: sink, log }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TRANSFER_COMMP_MISMATCH')
    assert.match(err.message, new RegExp(`commP mismatch: expected ${piece.pieceCid}, got baga`))
    return true
  })
  assert.deepEqual(await readdir(dir), [])
  assert.equal(sink.failure?.code, 'TRANSFER_COMMP_MISMATCH')
})

test('the expected piece CID is compared as a CID: written in base32 upper (as the schema takes it), the same piece is staged', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir(), { pieceCid: piece.pieceCid.toUpperCase() }), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
})

test('the deal\'s own Accept-Encoding and Range headers, in any case, give way to the download\'s', async (t) => {
  const sent: string[][] = []
  const srv = await serve(car, { behave: (req) => { sent.push(req.rawHeaders); return undefined } })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir(), { headers: { 'Accept-Encoding': 'gzip', RANGE: 'bytes=0-9', 'X-Token': 't' } }), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  const named = (h: string[], name: string): string[] =>
    Array.from({ length: h.length / 2 }, (_, i) => [h[2 * i]!.toLowerCase(), h[2 * i + 1]!]).filter(([k]) => k === name).map(([, v]) => v!)
  assert.deepEqual(named(sent[0]!, 'accept-encoding'), ['identity'])
  assert.deepEqual(named(sent[0]!, 'range'), [])
  assert.deepEqual(named(sent[0]!, 'x-token'), ['t'])
})

test('401 is fatal at once with a message about the transfer headers', async (t) => {
  const srv = await serve(car, { behave: (_req, res) => { res.writeHead(401); res.end('token expired'); return true } })
  t.after(srv.close)
  const dir = await tempDir()
  await assert.rejects(runTransferJob(job(srv.url, dir, { headers: { Authorization: 'Bearer x' } }), { hasher, progress: new RecordingSink(), log }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TRANSFER_UNAUTHORIZED')
      assert.match(err.message, /HTTP 401.*Authorization.*token expired/)
      return true
    })
  assert.equal(srv.seen.length, 1)
  assert.equal(srv.seen[0]!.authorization, 'Bearer x')
})

test('credentials in the URL go out as Basic auth, as Go\'s http.Client sends them, unless an Authorization header is given', async (t) => {
  const basic = `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`
  const srv = await serve(car, { behave: (req, res) => { if (req.headers.authorization === basic) return undefined; res.writeHead(401); res.end(); return true } })
  t.after(srv.close)
  const withUser = srv.url.replace('http://', 'http://us%40er:p%3Ass@')
  const out = await runTransferJob(job(withUser, await tempDir()), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(srv.seen[0]!.authorization, basic)
  // The deal's own Authorization header wins over the URL's credentials (Go: only when none is set).
  await assert.rejects(runTransferJob(job(withUser, await tempDir(), { headers: { authorization: 'Bearer x' } }), { hasher, progress: new RecordingSink(), log }),
    (err: Error & { code?: string }) => err.code === 'TRANSFER_UNAUTHORIZED' && /refused the deal's credentials/.test(err.message))
  assert.equal(srv.seen.at(-1)!.authorization, 'Bearer x')
  // No credentials at all: the message says so, rather than blaming headers that were never sent.
  await assert.rejects(runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log }),
    (err: Error & { code?: string }) => err.code === 'TRANSFER_UNAUTHORIZED' && /wants credentials, and the deal's transfer params give none/.test(err.message))
})

test('5xx answers are retried with backoff until the data comes', async (t) => {
  const srv = await serve(car, { behave: (_req, res, i) => { if (i >= 3) return undefined; res.writeHead(503); res.end(); return true } })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.attempts, 4)
  assert.equal(out.pieceCid, piece.pieceCid)
})

/** A server whose first answer drops after 100 kB, and that answers `status` from then on. */
async function dropsThenAnswers (status: number): Promise<Awaited<ReturnType<typeof serve>>> {
  return await serve(car, {
    behave: (req, res, i) => {
      if (i === 0) { sendRange(req, res, car, { dropAfter: 100_000 }); return true }
      res.writeHead(status); res.end(); return true
    }
  })
}

test('when attempts run out the error is retryable and the partial file is kept for the next Job', async (t) => {
  const srv = await dropsThenAnswers(500)
  t.after(srv.close)
  const dir = await tempDir()
  const j = job(srv.url, dir, { tuning: { ...fast, maxAttempts: 3 } })
  await assert.rejects(runTransferJob(j, { hasher, progress: new RecordingSink(), log }), { code: 'TRANSFER_RETRIES_EXHAUSTED', retry: 'auto' })
  const part = await readFile(join(dir, `${j.uuid}.car.part`))
  assert.ok(part.length >= 64 << 10 && part.length <= 100_000)
  assert.deepEqual(part, car.subarray(0, part.length))
})

test('a resumed run that fails at once reports the bytes it kept and a rate of zero, not 0 bytes at a negative rate the apiserver refuses', async (t) => {
  const srv = await dropsThenAnswers(404)
  t.after(srv.close)
  const dir = await tempDir()
  const j = job(srv.url, dir, { tuning: { ...fast, maxAttempts: 1 } })
  await assert.rejects(runTransferJob(j, { hasher, progress: new RecordingSink(), log }), { code: 'TRANSFER_RETRIES_EXHAUSTED' })
  const kept = (await readFile(join(dir, `${j.uuid}.car.part`))).length
  assert.ok(kept > 0)
  const reported: TransferProgress[] = []
  const sink: ProgressSink = { progress: () => {}, succeeded: async () => {}, failed: async (_f: TransferFailure, p: TransferProgress) => { reported.push(p) } }
  await assert.rejects(runTransferJob(j, { hasher, progress: sink, log }), { code: 'TRANSFER_HTTP_CLIENT_ERROR' })
  assert.equal(reported.length, 1)
  assert.deepEqual([reported[0]!.bytesReceived, reported[0]!.rateBytesPerSecond], [kept, 0])
})

for (const connections of [1, 4]) {
  test(`a run that cuts the partial it found (its sidecar names another URL) and then fails reports the bytes it kept, not the file's length before (${connections} connection${connections > 1 ? 's' : ''})`, async (t) => {
    const srv = await serve(car, { behave: (_req, res) => { res.writeHead(503); res.end(); return true } })
    t.after(srv.close)
    const dir = await tempDir()
    const j = job(srv.url, dir, { tuning: { ...fast, maxAttempts: 2, connections, rangeMinBytes: 128 << 10 } })
    await writeFile(join(dir, `${j.uuid}.car.part`), car.subarray(0, 200_000))
    await writeFile(join(dir, `${j.uuid}.car.part.json`), JSON.stringify({ url: 'http://other.example/data.car', written: 200_000 }))
    const reported: TransferProgress[] = []
    const sink: ProgressSink = { progress: () => {}, succeeded: async () => {}, failed: async (_f: TransferFailure, p: TransferProgress) => { reported.push(p) } }
    // Nothing of that file is this URL's: the run starts from 0, and the 503s end it there.
    await assert.rejects(runTransferJob(j, { hasher, progress: sink, log }), { code: 'TRANSFER_RETRIES_EXHAUSTED' })
    assert.deepEqual([reported[0]?.bytesReceived, reported[0]?.rateBytesPerSecond], [0, 0])
  })
}

test('a partial file longer than the deal (left by another version of the data) is started over, and the run succeeds', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  const j = job(srv.url, dir)
  await writeFile(join(dir, `${j.uuid}.car.part`), Buffer.alloc(car.length + 4096, 7))
  // The bytes counter was asked to go down by the 4 KiB and threw: "It is not possible to decrease a counter".
  const out = await runTransferJob(j, { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
})

test('a stalled connection is dropped and resumed', async (t) => {
  const srv = await serve(car, {
    behave: (req, res, i) => {
      if (i > 0) return undefined
      res.writeHead(200, { 'content-length': car.length, etag: '"v1"' })
      res.write(car.subarray(0, 200_000)) // then nothing: the socket stays open
      return true
    }
  })
  t.after(srv.close)
  const dir = await tempDir()
  const out = await runTransferJob(job(srv.url, dir, { tuning: { ...fast, stallMs: 300 } }), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.attempts, 2)
  await assertResumedAt(srv.seen[1]?.range, dir, 200_000)
  assert.equal(out.pieceCid, piece.pieceCid)
})

test('the total deadline ends a transfer that keeps stalling', async (t) => {
  const srv = await serve(car, { behave: (_req, res) => { res.writeHead(200, { 'content-length': car.length }); res.write(car.subarray(0, 1000)); return true } })
  t.after(srv.close)
  await assert.rejects(runTransferJob(job(srv.url, await tempDir(), { tuning: { ...fast, stallMs: 100, deadlineMs: 700 } }), { hasher, progress: new RecordingSink(), log }),
    { code: 'TRANSFER_DEADLINE' })
})

test('a redirect to a refused address is refused before connecting', async (t) => {
  const cases: Record<string, string> = {
    'a host name that resolves to a private address': 'http://internal.example:80/data.car',
    'a literal link-local address (metadata service)': 'http://169.254.169.254/latest/meta-data'
  }
  for (const [name, location] of Object.entries(cases)) {
    await t.test(name, async (t) => {
      const srv = await serve(car, { behave: (_req, res) => { res.writeHead(302, { location }); res.end(); return true } })
      t.after(srv.close)
      const resolver = async (host: string): Promise<string[]> => host === 'internal.example' ? ['10.0.0.5'] : ['127.0.0.1']
      await assert.rejects(runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log, resolver }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'TRANSFER_ADDRESS_REFUSED')
          assert.match(err.message, /refused by transfer-host policy/)
          return true
        })
      assert.equal(srv.seen.length, 1)
    })
  }
})

test('a redirect to an allowed host is followed with the Range header, without Authorization', async (t) => {
  const target = await serve(car)
  t.after(target.close)
  const front = await serve(car, { behave: (req, res) => { res.writeHead(307, { location: `http://localhost:${target.port}/moved.car` }); res.end(); return true } })
  t.after(front.close)
  const resolver = async (): Promise<string[]> => ['127.0.0.1']
  const out = await runTransferJob(job(front.url, await tempDir(), { headers: { Authorization: 'Bearer secret' } }), { hasher, progress: new RecordingSink(), log, resolver })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(front.seen[0]!.authorization, 'Bearer secret')
  assert.equal(target.seen[0]!.authorization, undefined)
})

test('Authorization follows a redirect to the same host name on another port or to a subdomain, as Go\'s client sends it, and not back once dropped', async (t) => {
  const resolver = async (): Promise<string[]> => ['127.0.0.1']
  for (const to of ['localhost', 'data.localhost']) {
    const target = await serve(car)
    t.after(target.close)
    const front = await serve(car, { behave: (_req, res) => { res.writeHead(307, { location: `http://${to}:${target.port}/moved.car` }); res.end(); return true } })
    t.after(front.close)
    await runTransferJob(job(`http://localhost:${front.port}/a.car`, await tempDir(), { headers: { Authorization: 'Bearer secret' } }), { hasher, progress: new RecordingSink(), log, resolver })
    assert.equal(target.seen[0]!.authorization, 'Bearer secret', to)
  }
  // localhost → 127.0.0.1 (another host: dropped) → localhost again: still dropped.
  const last = await serve(car)
  t.after(last.close)
  const middle = await serve(car, { behave: (_req, res) => { res.writeHead(302, { location: `http://localhost:${last.port}/c.car` }); res.end(); return true } })
  t.after(middle.close)
  const first = await serve(car, { behave: (_req, res) => { res.writeHead(302, { location: `http://127.0.0.1:${middle.port}/b.car` }); res.end(); return true } })
  t.after(first.close)
  await runTransferJob(job(`http://localhost:${first.port}/a.car`, await tempDir(), { headers: { Authorization: 'Bearer secret' } }), { hasher, progress: new RecordingSink(), log, resolver })
  assert.deepEqual([first.seen[0]!.authorization, middle.seen[0]!.authorization, last.seen[0]!.authorization], ['Bearer secret', undefined, undefined])
})

test('a redirect to a Location that cannot be read fails at once, saying so', async (t) => {
  const front = await serve(car, { behave: (_req, res) => { res.writeHead(302, { location: 'http://[fe80::1%25lo]:1/x.car' }); res.end(); return true } })
  t.after(front.close)
  await assert.rejects(runTransferJob(job(front.url, await tempDir()), { hasher, progress: new RecordingSink(), log }),
    (err: Error & { code?: string }) => err.code === 'TRANSFER_REDIRECT' && /302 to a Location that cannot be read: "http:\/\/\[fe80::1%25lo\]:1\/x\.car"/.test(err.message))
  assert.equal(front.seen.length, 1, 'not retried')
})

test('the data server itself is refused when the policy does not allow loopback', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  await assert.rejects(runTransferJob(job(srv.url, await tempDir(), { policy: { allowCidrs: [], denyCidrs: [] } }), { hasher, progress: new RecordingSink(), log }),
    { code: 'TRANSFER_ADDRESS_REFUSED' })
  assert.equal(srv.seen.length, 0)
})

test('progress is reported at most about once a second with a rate', async (t) => {
  let sent = 0
  const srv = await serve(car, {
    behave: (_req, res) => {
      res.writeHead(200, { 'content-length': car.length })
      const timer = setInterval(() => {
        res.write(car.subarray(sent, sent + 100_000))
        sent += 100_000
        if (sent >= car.length) { clearInterval(timer); res.end() }
      }, 200)
      return true
    }
  })
  t.after(srv.close)
  const sink = new RecordingSink()
  await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: sink, log })
  assert.ok(sink.reports.length >= 1 && sink.reports.length <= 4, `${sink.reports.length} reports for ~2.4 s`)
  for (let i = 1; i < sink.reports.length; i++) {
    assert.ok(sink.reports[i]!.lastUpdate.getTime() - sink.reports[i - 1]!.lastUpdate.getTime() >= 1000)
  }
  assert.ok(sink.reports.at(-1)!.rateBytesPerSecond > 0)
})
