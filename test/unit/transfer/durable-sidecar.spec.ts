// The sidecar never vouches for bytes a power loss can take back: every save that records written
// bytes comes after an fdatasync of the part file that began once those bytes were written. Saves
// are paced, so the syncs are too: not one per write, nor one per reply of a capping server.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import fsp, { open, readFile, writeFile, type FileHandle } from 'node:fs/promises'
import { readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { runTransferJob, type TransferJobSpec } from '../../../src/transfer/run.ts'
import { MetaSaver, type Meta } from '../../../src/transfer/sidecar.ts'
import { fixture, pieces, log, loopback, fast, tempDir, serve, trickle, RecordingSink, type Behaviour } from './support.ts'
import { hasher } from './hasher.ts'

const car = fixture('large.car')
const piece = pieces['large.car']!

function job (url: string, outDir: string, tuning: TransferJobSpec['tuning'] = {}): TransferJobSpec {
  return { uuid: 'durable-1', outDir, url, headers: {}, size: car.length, pieceCid: piece.pieceCid, pieceSize: piece.pieceSize, policy: loopback, tuning: { ...fast, ...tuning } }
}

/** Byte ranges [start, end), kept sorted and merged. */
class Spans {
  list: Array<[number, number]> = []
  add (s: number, e: number): void {
    if (e <= s) return
    const out: Array<[number, number]> = []
    for (const [a, b] of this.list) {
      if (b < s || a > e) out.push([a, b])
      else { s = Math.min(s, a); e = Math.max(e, b) }
    }
    out.push([s, e])
    this.list = out.sort((x, y) => x[0] - y[0])
  }

  clip (len: number): void { this.list = this.list.filter(([a]) => a < len).map(([a, b]) => [a, Math.min(b, len)]) }
  covers (s: number, e: number): boolean { return e <= s || this.list.some(([a, b]) => a <= s && b >= e) }
  copy (): Spans { const c = new Spans(); c.list = this.list.map(([a, b]) => [a, b]); return c }
}

interface Watch {
  /** Sidecar saves that vouched for bytes no finished sync had covered. */
  violations: string[]
  /** Sidecar saves that vouched for any byte. */
  claiming: number
  /** Syncs of a part file. */
  syncs: number
  /**
   * The sync of a part file, counted from 1, that fails with `code` as the kernel's does: nothing
   * is synced, and the open file's later syncs return 0 having synced none of it either (on Linux
   * the failed pages are marked clean: "fsyncgate"). Undefined: none fails.
   */
  failAt: { n: number, code: string } | undefined
  /** A sync failed as asked. */
  failed: boolean
  /** Lengths a part file was cut to. */
  truncates: number[]
  /** Bytes written to part files. */
  bytes: number
}

/**
 * Follows, whatever code does them, every write, truncate and sync of a `.car.part` file (the
 * FileHandle methods) and every sidecar save (the rename of its temp file over it). A sync
 * covers the bytes whose writes had finished when it began; each save must vouch only for covered
 * bytes: [0, written), or each range's [start, written).
 */
async function watchDurability (t: TestContext): Promise<Watch> {
  const w: Watch = { violations: [], claiming: 0, syncs: 0, failAt: undefined, failed: false, truncates: [], bytes: 0 }
  // Open files one of whose syncs failed: their later syncs prove nothing.
  const poisoned = new WeakSet<FileHandle>()
  const files = new Map<string, { written: Spans, durable: Spans }>()
  const file = (path: string): { written: Spans, durable: Spans } => {
    let f = files.get(path)
    if (f === undefined) { f = { written: new Spans(), durable: new Spans() }; files.set(path, f) }
    return f
  }
  const partOf = (fh: FileHandle): string | undefined => {
    const path = readlinkSync(`/proc/self/fd/${fh.fd}`)
    return path.endsWith('.car.part') ? path : undefined
  }
  const probe = await open(join(await tempDir(), 'probe'), 'w')
  const proto = Object.getPrototypeOf(probe) as FileHandle
  await probe.close()
  const orig = { write: proto.write, truncate: proto.truncate, datasync: proto.datasync, sync: proto.sync, rename: fsp.rename }
  type Fn = (this: FileHandle, ...args: unknown[]) => Promise<unknown>
  const patch = (name: 'write' | 'truncate' | 'datasync' | 'sync', wrap: (fh: FileHandle, part: string, args: unknown[], call: () => Promise<unknown>) => Promise<unknown>): void => {
    const original = orig[name] as unknown as Fn
    ;(proto as unknown as Record<string, Fn>)[name] = async function (this: FileHandle, ...args: unknown[]) {
      const part = partOf(this)
      const call = async (): Promise<unknown> => await original.apply(this, args)
      return part === undefined ? await call() : await wrap(this, part, args, call)
    }
  }
  patch('write', async (_fh, part, args, call) => {
    const res = await call() as { bytesWritten: number }
    if (typeof args[3] === 'number') file(part).written.add(args[3], args[3] + res.bytesWritten)
    w.bytes += res.bytesWritten
    return res
  })
  patch('truncate', async (_fh, part, args, call) => {
    const res = await call()
    const f = file(part)
    f.written.clip(Number(args[0] ?? 0))
    f.durable.clip(Number(args[0] ?? 0))
    w.truncates.push(Number(args[0] ?? 0))
    return res
  })
  for (const name of ['datasync', 'sync'] as const) {
    patch(name, async (fh, part, _args, call) => {
      w.syncs++
      if (w.failAt?.n === w.syncs) {
        w.failed = true
        poisoned.add(fh)
        throw Object.assign(new Error(`${w.failAt.code}: i/o error, ${name}`), { code: w.failAt.code })
      }
      const covered = file(part).written.copy()
      const res = await call()
      if (!poisoned.has(fh)) for (const [a, b] of covered.list) file(part).durable.add(a, b)
      return res
    })
  }
  const rename = async (from: Parameters<typeof fsp.rename>[0], to: Parameters<typeof fsp.rename>[1]): Promise<void> => {
    const dest = String(to)
    if (dest.endsWith('.car.part.json')) {
      const meta = JSON.parse(readFileSync(from, 'utf8')) as Meta
      const claims: Array<[number, number]> = meta.ranges !== undefined ? meta.ranges.map((r) => [r.start, r.written]) : [[0, meta.written ?? 0]]
      const durable = file(dest.slice(0, -'.json'.length)).durable
      if (claims.some(([s, e]) => e > s)) w.claiming++
      for (const [s, e] of claims) {
        if (!durable.covers(s, e)) w.violations.push(`sidecar vouches for ${s}-${e}, synced: ${JSON.stringify(durable.list)}`)
      }
    }
    await orig.rename(from, to)
  }
  fsp.rename = rename
  syncBuiltinESMExports()
  t.after(() => {
    Object.assign(proto, { write: orig.write, truncate: orig.truncate, datasync: orig.datasync, sync: orig.sync })
    fsp.rename = orig.rename
    syncBuiltinESMExports()
  })
  return w
}

/** The first request gets a 200 whose connection drops after `bytes`; the others are served. */
function firstReplyDrops (bytes: number): Behaviour {
  return (_req, res, i) => {
    if (i > 0) return undefined
    res.writeHead(200, { 'content-length': car.length, etag: '"v1"' })
    res.write(car.subarray(0, bytes), () => { setTimeout(() => res.socket?.destroy(), 30) })
    return true
  }
}

test('one stream: every sidecar save that records bytes comes after a sync of them, through a drop and its resume', async (t) => {
  const w = await watchDurability(t)
  const srv = await serve(car, { behave: firstReplyDrops(700_000) })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(srv.seen.length, 2)
  assert.ok(w.claiming > 0, 'no sidecar save recorded a byte')
  assert.deepEqual(w.violations, [])
})

test('parallel ranges: every sidecar save comes after a sync of the bytes its ranges record', async (t) => {
  const w = await watchDurability(t)
  const srv = await serve(car)
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir(), { connections: 3, rangeMinBytes: 128 << 10 }), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(srv.seen.length, 3)
  assert.ok(w.claiming > 0, 'no sidecar save recorded a byte')
  assert.deepEqual(w.violations, [])
})

test('a server capping its replies gets no sync per reply: the saves are paced', async (t) => {
  const w = await watchDurability(t)
  const cap = 100_000
  const srv = await serve(car, {
    behave: (req, res) => {
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0)
      const end = Math.min(car.length, start + cap) - 1
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${car.length}`, etag: '"v1"' })
      res.end(car.subarray(start, end + 1))
      return true
    }
  })
  t.after(srv.close)
  const out = await runTransferJob(job(srv.url, await tempDir(), { saveEveryMs: 60_000 }), { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(srv.seen.length, Math.ceil(car.length / cap))
  // The first save, the last reply's flush, the final fsync before staging.
  assert.ok(w.syncs <= 3, `${w.syncs} syncs for ${srv.seen.length} replies`)
  assert.deepEqual(w.violations, [])
})

/** A MetaSaver on a fresh sidecar saying `written: 0`; unless told, its syncs record what the sidecar said as they ran. */
async function saverOn (o: { everyMs: number, sync?: () => Promise<void>, failed?: () => unknown, guard?: () => void }): Promise<{ saver: MetaSaver, seen: number[], written: () => Promise<number | undefined> }> {
  const path = join(await tempDir(), 'x.car.part.json')
  const meta: Meta = { url: 'http://example/x', written: 0 }
  await writeFile(path, JSON.stringify(meta))
  const written = async (): Promise<number | undefined> => (JSON.parse(await readFile(path, 'utf8')) as Meta).written
  const seen: number[] = []
  // Read as the sync is called, not later: what the sidecar said before the save it precedes.
  const saver = new MetaSaver(path, { sync: async () => { seen.push((JSON.parse(readFileSync(path, 'utf8')) as Meta).written!) }, ...o })
  saver.use(meta)
  return { saver, seen, written }
}

test('the saver syncs before each save that records more, and at most once per interval however many writes land', async () => {
  const { saver, seen, written } = await saverOn({ everyMs: 60_000 })
  for (let i = 1; i <= 100; i++) {
    saver.save(i * 1000)
    await new Promise((resolve) => setImmediate(resolve))
  }
  // The first write's save ran at once; the other 99 wait for the interval.
  assert.deepEqual(seen, [0])
  await saver.flush(100_000)
  // The flush does not wait for the interval, and its sync ran while the sidecar still said 1000.
  assert.deepEqual(seen, [0, 1000])
  assert.equal(await written(), 100_000)
  // Nothing more to record: no sync.
  await saver.flush(100_000)
  assert.deepEqual(seen, [0, 1000])
})

test('a failed sync leaves the sidecar as it was, and the flush throws it', async () => {
  const { saver, written } = await saverOn({ everyMs: 0, sync: async () => { throw Object.assign(new Error('fdatasync x.car.part: EIO'), { code: 'EIO' }) } })
  saver.save(5000)
  await assert.rejects(saver.flush(5000), /EIO/)
  assert.equal(await written(), 0)
})

test('a run that lost its lock while the data synced does not save the sidecar', async () => {
  let held = true
  const { saver, written } = await saverOn({ everyMs: 0, sync: async () => { held = false }, guard: () => { if (!held) throw new Error('lock taken over') } })
  saver.save(5000)
  await assert.rejects(saver.flush(5000), /lock taken over/)
  assert.equal(await written(), 0)
})

test('a sync that fails once and then returns 0 (fsyncgate): nothing more is saved, and every flush throws the failure', async () => {
  let calls = 0
  const { saver, seen, written } = await saverOn({
    everyMs: 0,
    sync: async () => {
      calls++
      if (calls === 1) throw Object.assign(new Error('fdatasync x.car.part: EIO'), { code: 'EIO' })
    }
  })
  saver.save(1 << 20)
  await assert.rejects(saver.flush(), /EIO/)
  // The kernel now says 0 for the failed pages: no later save may take that for proof of them.
  saver.save(2 << 20)
  await new Promise((resolve) => setTimeout(resolve, 50))
  await assert.rejects(saver.flush(3 << 20), /EIO/)
  await saver.stop()
  await assert.rejects(saver.flush(4 << 20), /EIO/)
  assert.throws(() => { saver.check() }, /EIO/)
  assert.equal(calls, 1)
  assert.deepEqual(seen, [])
  assert.equal(await written(), 0)
})

test('a saver saves nothing after another caller\'s sync of the part file failed, not even what it had synced', async () => {
  let failed: Error | undefined
  const { saver, seen, written } = await saverOn({ everyMs: 0, failed: () => failed })
  saver.save(1000)
  await saver.flush()
  assert.equal(await written(), 1000)
  // The slab writer's writeback sync failed: progress the saver's last sync covered is still not saved.
  saver.save(1000)
  failed = Object.assign(new Error('fdatasync x.car.part: EIO'), { code: 'EIO' })
  await assert.rejects(saver.flush(), /EIO/)
  saver.save(5000)
  await assert.rejects(saver.flush(5000), /EIO/)
  assert.deepEqual(seen, [0])
  assert.equal(await written(), 1000)
})

/** A trickled one-stream run whose `n`th sync of the part file fails with `code`, and its record after the failure. */
async function failingRun (t: TestContext, w: Watch, n: number, code: string, tuning: TransferJobSpec['tuning'] = {}): Promise<{ srv: Awaited<ReturnType<typeof serve>>, spec: TransferJobSpec, dir: string, err: Error & { code?: string } }> {
  const srv = await serve(car, { behave: trickle(car, 2_000_000) })
  t.after(srv.close)
  const dir = await tempDir()
  const spec = job(srv.url, dir, { saveEveryMs: 20, ...tuning })
  w.failAt = { n, code }
  w.failed = false
  w.syncs = 0
  w.bytes = 0
  const err = await runTransferJob(spec, { hasher, progress: new RecordingSink(), log }).then(() => undefined, (e: unknown) => e as Error & { code?: string })
  w.failAt = undefined
  assert.ok(w.failed, `sync ${n} never ran`)
  assert.ok(err !== undefined, `the run went on after sync ${n} failed with ${code}, and finished`)
  return { srv, spec, dir, err }
}

/** Runs `spec` again (nothing fails): it resumes from what the sidecar recorded and finishes. */
async function resumes (srv: Awaited<ReturnType<typeof serve>>, spec: TransferJobSpec): Promise<void> {
  const recorded = (JSON.parse(await readFile(join(spec.outDir, `${spec.uuid}.car.part.json`), 'utf8')) as Meta).written ?? 0
  const before = srv.seen.length
  const out = await runTransferJob(spec, { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(Number(/^bytes=(\d+)-$/.exec(srv.seen[before]?.range ?? 'bytes=0-')?.[1]), recorded)
}

test('a failed sync of the part file ends a one-stream run with it, no save after it vouches for a byte it left unproven, and the next run resumes from the last record', async (t) => {
  const w = await watchDurability(t)
  // Through the page cache, with the slab writer's writeback syncs among the paced saves' ones.
  for (let n = 1; n <= 6; n++) {
    const { srv, spec, err } = await failingRun(t, w, n, 'EIO', { directIo: false, syncEveryBytes: 256 << 10 })
    assert.equal(err.code, 'TRANSFER_DISK', `sync ${n}: ${err.message}`)
    assert.match(err.message, /f(data)?sync .*EIO/, `sync ${n}`)
    assert.deepEqual(w.violations, [], `sync ${n}`)
    await resumes(srv, spec)
    assert.deepEqual(w.violations, [], `sync ${n}, the run after`)
  }
})

test('a sync that fails as a dropped connection\'s bytes are recorded ends the run: no attempt more, whose bytes no sidecar could record', async (t) => {
  const w = await watchDurability(t)
  const srv = await serve(car, { behave: firstReplyDrops(700_000) })
  t.after(srv.close)
  // The first sync is the first paced save's, at the first write; the second the flush after the drop.
  w.failAt = { n: 2, code: 'EIO' }
  await assert.rejects(runTransferJob(job(srv.url, await tempDir()), { hasher, progress: new RecordingSink(), log }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TRANSFER_DISK')
    assert.match(err.message, /fdatasync .*EIO/)
    return true
  })
  assert.ok(w.failed)
  assert.equal(srv.seen.length, 1)
  assert.deepEqual(w.violations, [])
})

test('an fdatasync that says ENOSPC (the file system\'s writeback): no bytes given back nor saved, the run fails as disk full, and the next run resumes from the last record', async (t) => {
  const w = await watchDurability(t)
  for (let n = 1; n <= 3; n++) {
    w.truncates = []
    const { srv, spec, dir, err } = await failingRun(t, w, n, 'ENOSPC')
    assert.equal(err.code, 'TRANSFER_DISK_FULL', `sync ${n}: ${err.message}`)
    assert.match(err.message, /fdatasync .*ENOSPC/, `sync ${n}`)
    assert.deepEqual(w.violations, [], `sync ${n}`)
    // Giving bytes back is for a sidecar that records the prefix before them: none may now.
    assert.deepEqual(w.truncates, [], `sync ${n}`)
    // Stopped at its next bytes, not at the reply's end: none of the rest could be recorded.
    assert.ok(w.bytes < car.length, `sync ${n}: the whole file downloaded`)
    assert.ok(statSync(join(dir, `${spec.uuid}.car.part`)).size > 0)
    await resumes(srv, spec)
  }
})

test('parallel ranges: a failed sync of the part file ends the run with it, and no save after it vouches for a byte it left unproven', async (t) => {
  const w = await watchDurability(t)
  for (let n = 1; n <= 3; n++) {
    const { srv, spec, err } = await failingRun(t, w, n, 'EIO', { connections: 3, rangeMinBytes: 128 << 10 })
    assert.equal(err.code, 'TRANSFER_DISK', `sync ${n}: ${err.message}`)
    assert.match(err.message, /f(data)?sync .*EIO/, `sync ${n}`)
    assert.deepEqual(w.violations, [], `sync ${n}`)
    // Stopped at the ranges' next bytes: downloaded to the end, the run failed only at its final fsync.
    assert.ok(w.bytes < car.length, `sync ${n}: the whole file downloaded`)
    const out = await runTransferJob(spec, { hasher, progress: new RecordingSink(), log })
    assert.equal(out.pieceCid, piece.pieceCid)
    assert.deepEqual(w.violations, [], `sync ${n}, the run after`)
  }
})

test('a run that lost its lock as its sidecar found the volume full neither cuts the part file nor writes the sidecar', async (t) => {
  const w = await watchDurability(t)
  const srv = await serve(car, { behave: trickle(car, 2_000_000) })
  t.after(srv.close)
  const spec = job(srv.url, await tempDir(), { saveEveryMs: 20 })
  const lockPath = join(spec.outDir, `${spec.uuid}.lock`)
  const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
  let pausedFor = 0
  let lost = false
  let cutBefore = 0
  const writesAfter: string[] = []
  const probe = await open(join(await tempDir(), 'probe'), 'w')
  const proto = Object.getPrototypeOf(probe) as FileHandle
  await probe.close()
  const writeFileOrig = proto.writeFile
  proto.writeFile = async function (this: FileHandle, ...args: Parameters<FileHandle['writeFile']>) {
    if (readlinkSync(`/proc/self/fd/${this.fd}`).endsWith('.car.part.json.tmp')) {
      if (lost) { writesAfter.push(String(args[0])); throw enospc() }
      if (((JSON.parse(String(args[0])) as Meta).written ?? 0) > 0) {
        // The first save of bytes finds the volume full; meanwhile the process was stopped for two
        // hours and another run took the deal over: the lock says so at its next check.
        lost = true
        cutBefore = w.truncates.length
        writeFileSync(`${lockPath}.new`, JSON.stringify({ host: 'other-node', pid: 13, since: new Date().toISOString(), token: 'taker' }))
        renameSync(`${lockPath}.new`, lockPath)
        pausedFor = 2 * 3_600_000
        throw enospc()
      }
    }
    await writeFileOrig.apply(this, args)
  }
  t.after(() => { proto.writeFile = writeFileOrig })
  await assert.rejects(runTransferJob(spec, { hasher, progress: new RecordingSink(), log, lock: { heartbeatMs: 3_600_000, staleMs: 60_000, clock: () => performance.now() + pausedFor } }), { code: 'TRANSFER_BUSY' })
  assert.ok(lost, 'no save found the volume full')
  // The full volume's way out (one more save, then bytes given back and the shorter prefix saved)
  // is the lock holder's to take, not this run's.
  assert.deepEqual(writesAfter, [], 'the sidecar was written after the takeover')
  assert.deepEqual(w.truncates.slice(cutBefore), [], 'the part file was cut after the takeover')
})
