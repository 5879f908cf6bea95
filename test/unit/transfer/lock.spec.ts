// One transfer per deal at a time: the lock file, its takeover of dead runs, and two runs of one deal.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { lutimes, mkdir, readFile, rename, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { lockDeal, type LockOptions } from '../../../src/transfer/lock.ts'
import { runTransferJob, type TransferJobSpec } from '../../../src/transfer/run.ts'
import { fixture, pieces, log, loopback, fast, tempDir, serve, trickle, RecordingSink, type DataServer } from './support.ts'
import { hasher } from './hasher.ts'

const opts: LockOptions = { heartbeatMs: 50, staleMs: 2_000 }
const holderOf = async (path: string): Promise<{ host: string, pid: number, token: string }> => JSON.parse(await readFile(path, 'utf8')) as { host: string, pid: number, token: string }

/** Another run's takeover: its lock replaces ours in one step, as lockDeal writes it (never seen half-written). */
async function replaceLock (path: string, holder: object): Promise<void> {
  await writeFile(`${path}.new`, JSON.stringify(holder))
  await rename(`${path}.new`, path)
}

test('a held lock refuses a second run, naming the holder; released, it is free again', async () => {
  const path = join(await tempDir(), 'd1.lock')
  const first = await lockDeal(path, opts)
  const h = await holderOf(path)
  assert.equal(h.pid, process.pid)
  await assert.rejects(lockDeal(path, opts), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TRANSFER_BUSY')
    assert.match(err.message, new RegExp(`another transfer of this deal is running \\(process ${process.pid} on .*; lock ${path}\\); this run changed nothing`))
    return true
  })
  await first.release()
  assert.equal(existsSync(path), false)
  const second = await lockDeal(path, opts)
  assert.notEqual((await holderOf(path)).token, h.token)
  await second.release()
})

test('the lock of a process that no longer runs in this PID namespace is taken over at once; elsewhere its age decides', async () => {
  const path = join(await tempDir(), 'd2.lock')
  const ns = 'boot-1/pid:[4026531836]'
  const dead = { host: 'here', pid: 4242, since: new Date().toISOString(), token: 'dead', ns }
  await writeFile(path, JSON.stringify(dead))
  const lock = await lockDeal(path, { ...opts, host: 'here', ns, alive: (pid) => pid !== 4242 })
  assert.equal((await holderOf(path)).pid, process.pid)
  await lock.release()
  // Alive in this namespace: kept.
  await writeFile(path, JSON.stringify({ ...dead, pid: 4243, token: 'live' }))
  await assert.rejects(lockDeal(path, { ...opts, host: 'here', ns, alive: () => true }), { code: 'TRANSFER_BUSY' })
  // Another PID namespace with the same host name (a hostNetwork pod, a restarted container that
  // is PID 1 again): its process IDs say nothing here, however they look.
  await writeFile(path, JSON.stringify(dead))
  await assert.rejects(lockDeal(path, { ...opts, host: 'here', ns: 'boot-1/pid:[4026532000]', alive: () => false }), { code: 'TRANSFER_BUSY' })
  await assert.rejects(lockDeal(path, { ...opts, host: 'here', ns: undefined, alive: () => false }), { code: 'TRANSFER_BUSY' })
})

test('processes racing for one dead lock: exactly one takes it, every round', async (t) => {
  // Separate processes, as runs are: in one process the file operations interleave too little to
  // show a race (two and three winners in a quarter of such rounds, before the takeover file).
  const dir = await tempDir()
  const rounds = 10
  const contenders = Array.from({ length: 8 }, () => spawn(process.execPath, [join(import.meta.dirname, 'lock-contender.ts'), dir, String(rounds)], { stdio: ['ignore', 'pipe', 'inherit'] }))
  t.after(() => { for (const c of contenders) c.kill() })
  const lines = contenders.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]())
  const next = async (i: number): Promise<{ ready?: boolean, round?: number, won?: boolean, held?: boolean, code?: string }> => {
    const line = await lines[i]!.next()
    assert.equal(line.done, false, `contender ${i} exited`)
    return JSON.parse(line.value as string) as { ready?: boolean, round?: number, won?: boolean, held?: boolean, code?: string }
  }
  for (let i = 0; i < contenders.length; i++) assert.equal((await next(i)).ready, true)
  for (let round = 0; round < rounds; round++) {
    await writeFile(join(dir, 'deal.lock'), JSON.stringify({ host: 'other-node', pid: 1, since: new Date().toISOString(), token: `dead-${round}` }))
    const old = new Date(Date.now() - 61_000)
    await utimes(join(dir, 'deal.lock'), old, old)
    await writeFile(join(dir, `go-${round}`), '')
    const results = await Promise.all(contenders.map(async (_, i) => await next(i)))
    const won = results.flatMap((r, i) => r.won === true ? [i] : [])
    assert.equal(won.length, 1, `round ${round}: ${won.length} processes took the lock`)
    for (const r of results) if (r.won !== true) assert.equal(r.code, 'TRANSFER_BUSY')
    await writeFile(join(dir, `done-${round}`), '')
    assert.equal((await next(won[0]!)).held, true, `round ${round}: the winner lost the lock`)
  }
})

test('runs racing for one dead lock: exactly one takes it', async () => {
  const path = join(await tempDir(), 'race.lock')
  for (let round = 0; round < 20; round++) {
    await writeFile(path, JSON.stringify({ host: 'other-node', pid: 1, since: new Date().toISOString(), token: `dead-${round}` }))
    const old = new Date(Date.now() - opts.staleMs - 1000)
    await utimes(path, old, old)
    const results = await Promise.allSettled(Array.from({ length: 8 }, async () => await lockDeal(path, opts)))
    const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof lockDeal>>> => r.status === 'fulfilled')
    assert.equal(won.length, 1, `round ${round}: ${won.length} runs hold the lock`)
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'TRANSFER_BUSY')
    assert.equal(won[0]!.value.held(), true)
    await won[0]!.value.release()
  }
})

test('a lock path that is a directory is named as such; a dangling link is judged by its age', async () => {
  const dir = await tempDir()
  await mkdir(join(dir, 'dir.lock'))
  await assert.rejects(lockDeal(join(dir, 'dir.lock'), opts), /the lock .*dir\.lock is a directory or device, not a lock file: remove it/)
  await symlink(join(dir, 'nowhere'), join(dir, 'link.lock'))
  await assert.rejects(lockDeal(join(dir, 'link.lock'), opts), { code: 'TRANSFER_BUSY' })
  const old = new Date(Date.now() - opts.staleMs - 1000)
  await lutimes(join(dir, 'link.lock'), old, old)
  const lock = await lockDeal(join(dir, 'link.lock'), opts)
  assert.equal((await holderOf(join(dir, 'link.lock'))).pid, process.pid)
  await lock.release()
})

test('a lock removed from under its holder: the holder learns it lost the lock, named so', async () => {
  const path = join(await tempDir(), 'gone.lock')
  const lock = await lockDeal(path, opts)
  await unlink(path)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(lock.held(), false)
  assert.match((lock.lost.reason as Error).message, /^this run stopped: its lock .*gone\.lock was removed by someone else/)
})

test('another host\'s lock is kept while it is touched and taken over once it is not', async () => {
  const path = join(await tempDir(), 'd3.lock')
  await writeFile(path, JSON.stringify({ host: 'other-node', pid: 1, since: new Date().toISOString(), token: 'far' }))
  await assert.rejects(lockDeal(path, opts), /process 1 on other-node/)
  const old = new Date(Date.now() - opts.staleMs - 1000)
  await utimes(path, old, old)
  const lock = await lockDeal(path, opts)
  assert.equal((await holderOf(path)).pid, process.pid)
  await lock.release()
})

test('an unreadable lock file is judged by its age alone', async () => {
  const path = join(await tempDir(), 'd4.lock')
  await writeFile(path, '')
  await assert.rejects(lockDeal(path, opts), /a run whose lock file is unreadable or being written/)
  const old = new Date(Date.now() - opts.staleMs - 1000)
  await utimes(path, old, old)
  const lock = await lockDeal(path, opts)
  await lock.release()
})

test('the holder touches its lock, and learns when another run took it over', async () => {
  const path = join(await tempDir(), 'd5.lock')
  const lock = await lockDeal(path, opts)
  const old = new Date(Date.now() - 10_000)
  await utimes(path, old, old)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.ok(Date.now() - (await stat(path)).mtimeMs < 1_000, 'the heartbeat touched the lock')
  assert.equal(lock.lost.aborted, false)
  await replaceLock(path, { host: 'other-node', pid: 7, since: new Date().toISOString(), token: 'thief' })
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(lock.lost.aborted, true)
  assert.match((lock.lost.reason as Error).message, /process 7 on other-node/)
  // Not ours any more: release leaves the other run's lock in place.
  await lock.release()
  assert.equal((await holderOf(path)).token, 'thief')
})

const car = fixture('large.car')
const piece = pieces['large.car']!

/** A deal's job against a server sending the CAR at `bytesPerSecond`, and its staging directory. */
async function trickledDeal (t: TestContext, uuid: string, bytesPerSecond: number): Promise<{ job: TransferJobSpec, dir: string, srv: DataServer }> {
  const srv = await serve(car, { behave: trickle(car, bytesPerSecond) })
  t.after(srv.close)
  const dir = await tempDir()
  return { srv, dir, job: { uuid, outDir: dir, url: srv.url, headers: {}, size: car.length, pieceCid: piece.pieceCid, pieceSize: piece.pieceSize, policy: loopback, tuning: fast, inputsFromDeal: true } }
}

/** Waits (up to a second) until a run is under way: its lock taken, its partial file made. */
async function underWay (dir: string, uuid: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(join(dir, `${uuid}.car.part`)); i++) await new Promise((resolve) => setTimeout(resolve, 10))
}

test('two runs of one deal at once: the second stops before touching the files or the status, and the first finishes', async (t) => {
  const { job, dir, srv } = await trickledDeal(t, 'twice-1', 2_000_000)
  const firstStatus = new RecordingSink()
  const first = runTransferJob(job, { hasher, progress: firstStatus, log })
  await underWay(dir, 'twice-1')
  const secondStatus = new RecordingSink()
  await assert.rejects(runTransferJob(job, { hasher, progress: secondStatus, log }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TRANSFER_BUSY')
    assert.match(err.message, /^deal twice-1: transfer: another transfer of this deal is running/)
    return true
  })
  assert.equal(secondStatus.failure, undefined)
  assert.equal(secondStatus.reports.length, 0)
  const out = await first
  assert.equal(srv.seen.length, 1)
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.deepEqual(await readFile(out.stagedPath), car)
  assert.equal(firstStatus.failure, undefined)
  assert.equal(existsSync(join(dir, 'twice-1.lock')), false)
})

test('a run whose lock was taken over stops downloading and leaves the status to the run that took it', async (t) => {
  const { job, dir } = await trickledDeal(t, 'stolen-1', 1_000_000)
  const status = new RecordingSink()
  const run = runTransferJob(job, { hasher, progress: status, log, lock: opts })
  await underWay(dir, 'stolen-1')
  await replaceLock(join(dir, 'stolen-1.lock'), { host: 'other-node', pid: 9, since: new Date().toISOString(), token: 'taker' })
  await assert.rejects(run, { code: 'TRANSFER_BUSY' })
  assert.equal(status.failure, undefined)
  assert.equal(status.success, undefined)
  assert.ok(existsSync(join(dir, 'stolen-1.car.part')), 'the partial file is the other run\'s to use')
  assert.equal((await holderOf(join(dir, 'stolen-1.lock'))).token, 'taker')
})

test('a run that resumes after a pause longer than the lock\'s life finds it taken over at its next byte, before any heartbeat, and writes no more', async (t) => {
  const { job, dir } = await trickledDeal(t, 'paused-1', 1_000_000)
  // No heartbeat runs during the test: only the write path can notice.
  let pausedFor = 0
  const status = new RecordingSink()
  // The progress throttle's clock jumps with the pause too: its next byte would be reported at once.
  const run = runTransferJob(job, { hasher, progress: status, log, now: () => Date.now() + pausedFor, lock: { heartbeatMs: 3_600_000, staleMs: 60_000, clock: () => performance.now() + pausedFor } })
  await underWay(dir, 'paused-1')
  // The process "was stopped" for two hours, and another run took the deal over meanwhile.
  const reported = status.reports.length
  pausedFor = 2 * 3_600_000
  await replaceLock(join(dir, 'paused-1.lock'), { host: 'other-node', pid: 11, since: new Date().toISOString(), token: 'taker' })
  const sidecar = join(dir, 'paused-1.car.part.json')
  const before = existsSync(sidecar) ? await readFile(sidecar, 'utf8') : undefined
  await assert.rejects(run, (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TRANSFER_BUSY')
    assert.match(err.message, /process 11 on other-node/)
    return true
  })
  assert.equal(existsSync(sidecar) ? await readFile(sidecar, 'utf8') : undefined, before, 'the sidecar was written after the takeover')
  assert.equal(status.reports.length, reported, 'progress was reported after the takeover')
  assert.equal(status.failure, undefined)
  assert.equal((await holderOf(join(dir, 'paused-1.lock'))).token, 'taker')
})

test('held() reads the lock file: a takeover is seen at once, not a heartbeat later', async () => {
  const path = join(await tempDir(), 'now.lock')
  const lock = await lockDeal(path, { heartbeatMs: 3_600_000, staleMs: 60_000 })
  assert.equal(lock.held(), true)
  await replaceLock(path, { host: 'other-node', pid: 12, since: new Date().toISOString(), token: 'taker' })
  assert.equal(lock.held(), false)
  assert.match((lock.lost.reason as Error).message, /process 12 on other-node/)
  await lock.release()
})

test('a takeover file is a crash\'s only once it is as old as a dead lock; one that is no file is named', async () => {
  const dir = await tempDir()
  const path = join(dir, 'mutex.lock')
  const deadLock = async (): Promise<void> => {
    await writeFile(path, JSON.stringify({ host: 'other-node', pid: 1, since: new Date().toISOString(), token: 'dead' }))
    const old = new Date(Date.now() - opts.staleMs - 1000)
    await utimes(path, old, old)
  }
  await deadLock()
  // A run stopped mid-takeover for less than a lock's life may still remove the dead lock: its
  // takeover file stands, and this run does not take over.
  await writeFile(`${path}.takeover`, '1\n')
  const young = new Date(Date.now() - opts.staleMs / 2)
  await utimes(`${path}.takeover`, young, young)
  await assert.rejects(lockDeal(path, opts), { code: 'TRANSFER_BUSY' })
  assert.ok(existsSync(`${path}.takeover`))
  // As old as a dead lock: a crash's, removed; the next run takes over.
  const old = new Date(Date.now() - opts.staleMs - 1000)
  await utimes(`${path}.takeover`, old, old)
  await assert.rejects(lockDeal(path, opts), { code: 'TRANSFER_BUSY' })
  assert.equal(existsSync(`${path}.takeover`), false)
  const lock = await lockDeal(path, opts)
  await lock.release()
  await deadLock()
  await mkdir(`${path}.takeover`)
  await assert.rejects(lockDeal(path, opts), /mutex\.lock\.takeover is a directory or device, not a lock file: remove it/)
})

test('a FIFO put in the lock\'s place does not block the holder: it reads as a lost lock', async () => {
  const dir = await tempDir()
  // In a child process: a blocked read would stop this one's test runner with it.
  const script = `
    import { lockDeal } from ${JSON.stringify(new URL('../../../src/transfer/lock.ts', import.meta.url).href)}
    import { execFileSync } from 'node:child_process'
    import { unlinkSync } from 'node:fs'
    const path = ${JSON.stringify(join(dir, 'fifo.lock'))}
    const lock = await lockDeal(path, { heartbeatMs: 3_600_000, staleMs: 60_000 })
    unlinkSync(path)
    execFileSync('mkfifo', [path])
    console.log(JSON.stringify({ held: lock.held(), reason: lock.lost.reason?.message }))
    process.exit(0)`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' })
  assert.equal(r.signal, null, `the child was killed (blocked on the FIFO): ${r.stderr}`)
  const out = JSON.parse(r.stdout) as { held: boolean, reason: string }
  assert.equal(out.held, false)
  assert.match(out.reason, /^this run stopped: another run took its lock over \(unreadable lock file; lock .*fifo\.lock\)/)
})
