// The slab writer between the socket and the file: ordered written prefix with writes finishing
// out of order, buffers held until the sink let go of them, and memory bounded by the pool.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, readFile, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { SlabPool, SlabWriter } from '../../../src/transfer/slab-writer.ts'
import { DIRECT_ALIGN, openDirect } from '../../../src/transfer/direct-io.ts'
import { tempDir } from './support.ts'

test('bytes arrive in the file in order; the sink sees every buffer once; memory stays at the pool', async () => {
  const dir = await tempDir()
  const fh = await open(join(dir, 'f'), 'w+')
  const data = randomBytes(5 << 20)
  const seen: Buffer[] = []
  const written: number[] = []
  const buffers = new Set<ArrayBufferLike>()
  let holding = 0
  let maxHolding = 0
  const w = new SlabWriter(fh, 0, {
    slabBytes: 256 << 10,
    slabs: 4,
    writes: 2,
    syncEveryBytes: 1 << 20,
    check: () => {},
    onBytes: () => {},
    onWritten: (end) => { written.push(end) },
    // A slow sink: each buffer is held for a few ms, as the hashing thread would.
    onSlab: async (d) => {
      buffers.add(d.buffer)
      seen.push(Buffer.from(d))
      holding++
      maxHolding = Math.max(maxHolding, holding)
      await new Promise((resolve) => setTimeout(resolve, 3))
      holding--
    }
  })
  await feed(w, data)
  await w.finish()
  await fh.close()
  assert.deepEqual(await readFile(join(dir, 'f')), data)
  assert.deepEqual(Buffer.concat(seen), data)
  assert.equal(written.at(-1), data.length)
  for (let i = 1; i < written.length; i++) assert.ok(written[i]! > written[i - 1]!)
  assert.ok(buffers.size <= 5, `${buffers.size} buffers for a pool of 4`)
  assert.ok(maxHolding <= 5)
})

test('a refused length throws from accept before anything past it is queued', async () => {
  const dir = await tempDir()
  const fh = await open(join(dir, 'f'), 'w+')
  const w = new SlabWriter(fh, 0, {
    slabBytes: 64 << 10, slabs: 2, writes: 1, syncEveryBytes: 0,
    check: (end) => { if (end > 1000) throw Object.assign(new Error('too long'), { code: 'TOO_LONG' }) },
    onBytes: () => {}, onWritten: () => {}, onSlab: () => undefined
  })
  w.accept(Buffer.alloc(600, 1), 600)
  assert.throws(() => w.accept(Buffer.alloc(600, 2), 600), { code: 'TOO_LONG' })
  await w.finish()
  await fh.close()
  assert.deepEqual(await readFile(join(dir, 'f')), Buffer.alloc(600, 1))
})

test('writers sharing a pool one after the other borrow its buffers and give every one back, also after a failure', async () => {
  // A download's responses, one writer each: the buffers are made once, whatever their number.
  const dir = await tempDir()
  const fh = await open(join(dir, 'f'), 'w+')
  const data = randomBytes(3 << 20)
  const pool = new SlabPool({ slabBytes: 128 << 10, slabs: 4, aligned: false })
  const part = 300_000
  let at = 0
  for (let i = 0; at < data.length; i++) {
    const n = Math.min(part, data.length - at)
    const w = new SlabWriter(fh, at, {
      pool, slabBytes: 128 << 10, slabs: 4, writes: 2, syncEveryBytes: 0,
      check: () => {}, onBytes: () => {}, onWritten: () => {},
      // A slow sink: the writer is done only once the hasher let go of every buffer too.
      onSlab: async () => { await new Promise((resolve) => setTimeout(resolve, 2)) }
    })
    await feed(w, data.subarray(at, at + n))
    await w.finish()
    assert.equal(pool.lent, 0, 'every buffer back once the writer finished')
    at += n
  }
  assert.deepEqual(await readFile(join(dir, 'f')), data)
  assert.ok(pool.allocated >= 1 && pool.allocated <= 5, `${pool.allocated} buffers made for ${Math.ceil(data.length / part)} writers (a pool of 4)`)
  // A writer whose sink fails: the buffers it had queued come back too.
  const failing = new SlabWriter(fh, 0, {
    pool, slabBytes: 128 << 10, slabs: 4, writes: 1, syncEveryBytes: 0,
    check: () => {}, onBytes: () => {}, onWritten: () => {},
    onSlab: async () => { await new Promise((resolve) => setTimeout(resolve, 2)); throw new Error('sink gone') }
  })
  await feed(failing, data.subarray(0, 1 << 20)).catch(() => {})
  await assert.rejects(failing.finish(), /sink gone/)
  await fh.close()
  assert.equal(pool.lent, 0)
})

/** A write handle that records every write and can refuse them (as a filesystem refusing O_DIRECT). */
function recording (fh: FileHandle, refuse = false): { handle: FileHandle, writes: Array<{ pos: number, len: number }> } {
  const writes: Array<{ pos: number, len: number }> = []
  const handle = {
    write: async (buf: Buffer, off: number, len: number, pos: number) => {
      writes.push({ pos, len })
      if (refuse) throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' })
      return await fh.write(buf, off, len, pos)
    }
  } as unknown as FileHandle
  return { handle, writes }
}

/**
 * Feeds `data` like a socket: reads into space() when there is room, else foreign chunks (copied),
 * of odd sizes, waiting for the writer's resume when it pauses; stops after `stopAt` bytes.
 */
async function feed (w: SlabWriter, data: Buffer, stopAt = data.length): Promise<void> {
  let resume: () => void = () => {}
  w.attach(() => { resume() })
  let at = 0
  let i = 0
  while (at < stopAt) {
    const n = Math.min(1 + ((i * 7919) % 90_000), stopAt - at)
    let more: boolean
    if (i++ % 2 === 0) {
      const s = w.space()
      const k = Math.min(n, s.length)
      data.copy(s, 0, at, at + k)
      more = w.accept(s, k)
      at += k
    } else {
      more = w.accept(data.subarray(at, at + n), n)
      at += n
    }
    if (!more) await new Promise<void>((resolve) => { resume = resolve })
  }
}

async function directCase (opts: { start: number, refuse?: boolean, complete?: boolean, stopAt?: number }): Promise<{ file: Buffer, data: Buffer, seen: Buffer, written: number, direct: Array<{ pos: number, len: number }>, buffered: Array<{ pos: number, len: number }> }> {
  const dir = await tempDir()
  const path = join(dir, 'f')
  const data = randomBytes((3 << 20) + 777)
  await writeFile(path, data.subarray(0, opts.start))
  const fh = await open(path, 'r+')
  // A real O_DIRECT handle where this filesystem has one; the alignment checks below hold either way.
  const real = await openDirect(path) ?? await open(path, 'r+')
  const direct = recording(real, opts.refuse)
  const buffered = recording(fh)
  const seen: Buffer[] = []
  let written = opts.start
  const w = new SlabWriter(buffered.handle, opts.start, {
    slabBytes: 256 << 10, slabs: 4, writes: 2, syncEveryBytes: 0, direct: direct.handle,
    check: () => {}, onBytes: () => {}, onWritten: (end) => { written = end },
    onSlab: async (d, pos) => {
      assert.equal(pos, opts.start + Buffer.concat(seen).length, 'the sink sees the stream in order')
      seen.push(Buffer.from(d))
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
  })
  await feed(w, data.subarray(opts.start), (opts.stopAt ?? data.length) - opts.start)
  await w.finish(opts.complete ?? true)
  await real.close()
  await fh.close()
  return { file: await readFile(path), data, seen: Buffer.concat(seen), written, direct: direct.writes, buffered: buffered.writes }
}

test('direct mode: whole aligned blocks go direct, an unaligned start and the final tail buffered; the file is exact', async () => {
  const start = 5000
  const r = await directCase({ start })
  assert.deepEqual(r.file, r.data)
  assert.deepEqual(r.seen, r.data.subarray(start))
  assert.equal(r.written, r.data.length)
  assert.ok(r.direct.length > 5)
  for (const d of r.direct) assert.ok(d.pos % DIRECT_ALIGN === 0 && d.len % DIRECT_ALIGN === 0, `direct write at ${d.pos} of ${d.len}`)
  // The first buffer starts at 5000 (unaligned) and ends on a block boundary; only the last write is a tail.
  assert.equal(r.buffered[0]!.pos, start)
  assert.equal((r.buffered[0]!.pos + r.buffered[0]!.len) % DIRECT_ALIGN, 0)
  assert.equal(r.buffered.length, 2)
  assert.equal(r.buffered[1]!.pos + r.buffered[1]!.len, r.data.length)
})

test('direct mode: a dropped connection leaves file, sink and written prefix at one aligned length', async () => {
  const stopAt = 2_000_001
  const r = await directCase({ start: 0, complete: false, stopAt })
  assert.equal(r.written % DIRECT_ALIGN, 0)
  assert.ok(r.written > stopAt - DIRECT_ALIGN && r.written <= stopAt)
  assert.equal(r.seen.length, r.written, 'the hasher saw exactly what was written')
  assert.deepEqual(r.file, r.data.subarray(0, r.written))
  assert.equal(r.buffered.length, 0)
})

test('direct mode: a filesystem that refuses direct writes gets them through the page cache', async () => {
  const r = await directCase({ start: 0, refuse: true })
  assert.deepEqual(r.file, r.data)
  assert.deepEqual(r.seen, r.data)
  // The writes already in flight (2) when the first refusal came back, then buffered for good.
  assert.ok(r.direct.length >= 1 && r.direct.length <= 2, `${r.direct.length} direct attempts`)
  for (const d of r.direct) assert.ok(r.buffered.some((b) => b.pos === d.pos && b.len === d.len), 'a refused write is redone buffered')
})
