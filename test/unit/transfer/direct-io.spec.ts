// Direct I/O helpers (src/transfer/direct-io.ts): aligned shared buffers and O_DIRECT handles. The
// fallback for filesystems that refuse direct writes is tested in slab-writer.spec.ts (tmpfs takes
// O_DIRECT since Linux 6.6, so no local filesystem here refuses it).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { loadNative } from '../../../src/filecoin/commp/native.ts'
import { alignedSharedBuffer, DIRECT_ALIGN, openDirect } from '../../../src/transfer/direct-io.ts'
import { tempDir } from './support.ts'

const addon = loadNative().addon

test('aligned shared buffers start on a page boundary and are shared memory', () => {
  assert.ok(addon !== undefined, `the native addon is part of the build: ${loadNative().reason ?? ''}`)
  for (const size of [1, 4096, 1 << 20, (1 << 20) + 17]) {
    const b = alignedSharedBuffer(size)!
    assert.equal(b.length, size)
    assert.equal(addon.addressModulo(b, 4096), 0)
    assert.ok(b.buffer instanceof SharedArrayBuffer)
  }
})

test('a direct handle writes aligned blocks that read back exactly', async (t) => {
  const dir = await tempDir()
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const path = join(dir, 'f')
  await writeFile(path, '')
  const fh = await openDirect(path)
  assert.ok(fh !== undefined, `${dir} takes O_DIRECT`)
  const buf = alignedSharedBuffer(2 * DIRECT_ALIGN)!
  randomBytes(buf.length).copy(buf)
  await fh.write(buf, 0, buf.length, DIRECT_ALIGN)
  await fh.close()
  const back = await readFile(path)
  assert.equal(back.length, 3 * DIRECT_ALIGN)
  assert.deepEqual(back.subarray(DIRECT_ALIGN), buf)
})
