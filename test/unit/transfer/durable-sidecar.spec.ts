// The sidecar never vouches for bytes a power loss can take back: every save that records written
// bytes comes after an fdatasync of the part file that began once those bytes were written. Saves
// are paced, so the syncs are too: not one per write, nor one per reply of a capping server.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import fsp, { open, readFile, writeFile, type FileHandle } from 'node:fs/promises'
import { readFileSync, readlinkSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { runTransferJob, type TransferJobSpec } from '../../../src/transfer/run.ts'
import { MetaSaver, type Meta } from '../../../src/transfer/sidecar.ts'
import { fixture, pieces, log, loopback, fast, tempDir, serve, RecordingSink, type Behaviour } from './support.ts'
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
}

/**
 * Follows, whatever code does them, every write, truncate and sync of a `.car.part` file (the
 * FileHandle methods) and every sidecar save (the rename of its temp file over it). A sync
 * covers the bytes whose writes had finished when it began; each save must vouch only for covered
 * bytes: [0, written), or each range's [start, written).
 */
async function watchDurability (t: TestContext): Promise<Watch> {
  const w: Watch = { violations: [], claiming: 0, syncs: 0 }
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
    return res
  })
  patch('truncate', async (_fh, part, args, call) => {
    const res = await call()
    const f = file(part)
    f.written.clip(Number(args[0] ?? 0))
    f.durable.clip(Number(args[0] ?? 0))
    return res
  })
  for (const name of ['datasync', 'sync'] as const) {
    patch(name, async (_fh, part, _args, call) => {
      const covered = file(part).written.copy()
      const res = await call()
      for (const [a, b] of covered.list) file(part).durable.add(a, b)
      w.syncs++
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
async function saverOn (o: { everyMs: number, sync?: () => Promise<void>, guard?: () => void }): Promise<{ saver: MetaSaver, seen: number[], written: () => Promise<number | undefined> }> {
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
