// Disk full: the staging directory is a 256 KiB tmpfs (mount -t tmpfs; the test runs as root) and
// the download is 1.2 MB. The transfer must fail with a clear code and leave nothing behind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { runTransferJob } from '../../../src/transfer/run.ts'
import { fixture, pieces, log, loopback, fast, tempDir, serve, RecordingSink } from './support.ts'
import { hasher } from './hasher.ts'

test('a full staging volume fails with TRANSFER_DISK_FULL and leaves no partial file', async (t) => {
  const dir = await tempDir()
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir])
  t.after(() => { execFileSync('umount', [dir]) })
  const car = fixture('large.car')
  const srv = await serve(car)
  t.after(srv.close)
  const sink = new RecordingSink()
  await assert.rejects(runTransferJob({
    uuid: 'full', outDir: dir, url: srv.url, headers: {}, size: car.length,
    pieceCid: pieces['large.car']!.pieceCid, pieceSize: pieces['large.car']!.pieceSize, policy: loopback, tuning: fast
  }, { hasher, progress: sink, log }), (err: Error & { code?: string, retry?: string }) => {
    assert.equal(err.code, 'TRANSFER_DISK_FULL')
    assert.equal(err.retry, 'manual')
    assert.match(err.message, /^deal full: transfer: write .*full\.car\.part at \d+: staging volume full \(ENOSPC\)$/)
    return true
  })
  assert.deepEqual(await readdir(dir), [])
  assert.equal(sink.failure?.code, 'TRANSFER_DISK_FULL')
})
