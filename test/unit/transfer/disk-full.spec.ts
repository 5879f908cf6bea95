// Disk full: the staging directory is a 256 KiB tmpfs (mount -t tmpfs; the test runs as root) and
// the download is 1.2 MB. The transfer must fail with a clear code, keep what it had written
// (within the deal's own staging tag), and resume from it once the operator makes room.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { rmSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runTransferJob } from '../../../src/transfer/run.ts'
import { fixture, pieces, log, loopback, fast, tempDir, serve, RecordingSink } from './support.ts'
import { hasher } from './hasher.ts'
import type { TransferFailure, TransferProgress } from '../../../src/transfer/progress.ts'

/** A staging directory on a tmpfs of `size` (the test runs as root), unmounted after the test. */
async function tmpfsStaging (t: TestContext, size: string): Promise<string> {
  const dir = await tempDir()
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  t.after(() => { execFileSync('umount', [dir]) })
  return dir
}

const FILLER = 'other-deal.car.part'

/** Another deal's file taking all the volume's room but `left` bytes; its path. */
function fillAllBut (dir: string, left: number): string {
  const st = statfsSync(dir)
  writeFileSync(join(dir, FILLER), Buffer.alloc(st.bavail * st.bsize - left))
  return join(dir, FILLER)
}

test('a full staging volume fails with TRANSFER_DISK_FULL, keeps the bytes written, and the next run resumes from them', async (t) => {
  const dir = await tmpfsStaging(t, '256k')
  const car = fixture('large.car')
  const srv = await serve(car)
  t.after(srv.close)
  const failedAt: number[] = []
  const sink = new (class extends RecordingSink {
    override async failed (f: TransferFailure, p?: TransferProgress): Promise<void> { failedAt.push(p!.bytesReceived); await super.failed(f) }
  })()
  const job = {
    uuid: 'full', outDir: dir, url: srv.url, headers: {}, size: car.length,
    pieceCid: pieces['large.car']!.pieceCid, pieceSize: pieces['large.car']!.pieceSize, policy: loopback, tuning: fast
  }
  await assert.rejects(runTransferJob(job, { hasher, progress: sink, log }), (err: Error & { code?: string, retry?: string }) => {
    assert.equal(err.code, 'TRANSFER_DISK_FULL')
    assert.equal(err.retry, 'manual')
    assert.match(err.message, /^deal full: transfer: write .*full\.car\.part at \d+: staging volume full \(ENOSPC\); the partial download is kept: free space and run again to resume from its last recorded byte$/)
    return true
  })
  assert.equal(sink.failure?.code, 'TRANSFER_DISK_FULL')
  const kept = (await stat(join(dir, 'full.car.part'))).size
  assert.ok(kept > 0, 'the partial file was removed')
  // What the status said was received is what the volume took, not what was queued for it.
  assert.ok(failedAt[0]! <= 256 << 10, `reported ${failedAt[0]} bytes received on a 256 KiB volume`)
  // Room made: the next run asks for the rest, not for everything again.
  execFileSync('mount', ['-o', 'remount,size=8m', dir])
  const before = srv.seen.length
  const out = await runTransferJob(job, { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, pieces['large.car']!.pieceCid)
  const firstRange = srv.seen[before]?.range
  assert.match(firstRange ?? '', /^bytes=(\d+)-$/)
  assert.ok(Number(/^bytes=(\d+)-$/.exec(firstRange!)![1]) > 0, `started over: ${firstRange}`)
  assert.ok((await readdir(dir)).includes('full.car'))
})

test('a volume full for a moment while the connection drops: the sidecar is saved once there is room, and the same run finishes with the right piece CID', async (t) => {
  const dir = await tmpfsStaging(t, '2m')
  const car = fixture('large.car')
  const sent = 256 << 10
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  const srv = await serve(car, {
    behave: (_req, res, i) => {
      if (i !== 0) return undefined
      // The first answer sends 256 KiB, then drops once the test has made room again.
      res.writeHead(200, { 'content-length': car.length, etag: '"v1"' })
      res.write(car.subarray(0, sent), () => { void released.then(() => { res.socket?.destroy() }) })
      return true
    }
  })
  t.after(srv.close)
  // Another deal's file leaves room for the 256 KiB but not for the sidecar's next copy (tmpfs
  // counts pages: the run's lock file, the first sidecar, the data, then no page for a save;
  // measured, 4–6 KiB of slack besides the lock's page).
  const filler = fillAllBut(dir, sent + 6144 + 4096)
  setTimeout(() => { rmSync(filler); release() }, 1000).unref()
  const job = {
    uuid: 'moment', outDir: dir, url: srv.url, headers: {}, size: car.length,
    pieceCid: pieces['large.car']!.pieceCid, pieceSize: pieces['large.car']!.pieceSize, policy: loopback, tuning: { ...fast, writeBatchBytes: 128 << 10 }
  }
  // The sidecar's failed save made the file give bytes back, and the same run then resumed from
  // there with the hasher past them: a false "commP mismatch", fatal, the partial deleted.
  const out = await runTransferJob(job, { hasher, progress: new RecordingSink(), log })
  assert.equal(out.pieceCid, pieces['large.car']!.pieceCid)
})

test('bytes given back on a full volume end the run even when the stall timer aborted the attempt meanwhile', async (t) => {
  const dir = await tmpfsStaging(t, '2m')
  const car = fixture('large.car')
  const sent = 256 << 10
  const filler = join(dir, FILLER)
  const srv = await serve(car, {
    behave: (_req, res, i) => {
      // The first answer sends 256 KiB and then nothing (the stall timer ends it); a second one, which
      // the run must not make, would find room again and resume behind the hasher.
      if (i === 0) { res.writeHead(200, { 'content-length': car.length, etag: '"v1"' }); res.write(car.subarray(0, sent)); return true }
      rmSync(filler, { force: true })
      return undefined
    }
  })
  t.after(srv.close)
  fillAllBut(dir, sent + 6144)
  const job = {
    uuid: 'stalled', outDir: dir, url: srv.url, headers: {}, size: car.length,
    pieceCid: pieces['large.car']!.pieceCid, pieceSize: pieces['large.car']!.pieceSize, policy: loopback, tuning: { ...fast, stallMs: 1000, writeBatchBytes: 128 << 10 }
  }
  await assert.rejects(runTransferJob(job, { hasher, progress: new RecordingSink(), log }), { code: 'TRANSFER_DISK_FULL' })
  assert.equal(srv.seen.length, 1, 'the run went on after giving bytes back')
  assert.ok((await stat(join(dir, 'stalled.car.part'))).size > 0)
})
