// The slab writer between the socket and the file: ordered written prefix with writes finishing
// out of order, buffers held until the sink let go of them, and memory bounded by the pool.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { SlabWriter } from '../../../src/transfer/slab-writer.ts'
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
  let resume: () => void = () => {}
  w.attach(() => { resume() })
  // Feed like a socket: into space() when there is room, else a foreign chunk (copied).
  let at = 0
  while (at < data.length) {
    const n = Math.min(100_000, data.length - at)
    let more: boolean
    if (at % 3 === 0) {
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
