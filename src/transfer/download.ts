import { rm, type FileHandle } from 'node:fs/promises'
import { deadlineSignal, openPartFile, PartSync, type TransferSignals } from './part-file.ts'
import { openDirect } from './direct-io.ts'
import { TransferError, TransferErrorCodes, RetryableError, diskError } from './errors.ts'
import { getRange, header, parseContentRange, strongEtag, type RangeResponse } from './http-request.ts'
import { shown } from './http1.ts'
import type { PieceSink } from './piece-sink.ts'
import { BodyOverrun, SlabPool, SlabWriter } from './slab-writer.ts'
import { contiguousPrefix, downloadRanges, RangesUnsupported } from './ranges.ts'
import { backoffDelay, sleep } from './retry.ts'
import { RateFloor, TOO_SLOW, droppedByUs, tickMs, tooSlowFailure, watchRate } from './min-rate.ts'
import { DEFAULT_MIN_BYTES_PER_SECOND } from '../api/storageprovider.ts'
import { MetaSaver, readMeta, saveMeta, type Meta } from './sidecar.ts'

export { backoffDelay }

export interface DownloadTarget {
  url: string
  headers: Record<string, string>
  /** Declared transfer size in bytes; 0 when unknown (then Content-Length decides, up to maxBytes). */
  size: number
  /** Hard cap on the body: the piece's unpadded size. */
  maxBytes: number
  /** The partial file, `<uuid>.car.part`; a sidecar `<partPath>.json` keeps the ETag across restarts. */
  partPath: string
}

export interface DownloadTuning {
  /** No byte for this long → drop the connection and reconnect. Also the minimum rate's window. */
  stallMs: number
  /**
   * Bytes per second the transfer (all its connections together) must average over the last
   * stallMs, or its connections are dropped and resumed like a stall (min-rate.ts); 0: off.
   */
  minBytesPerSecond: number
  /** Where minBytesPerSecond was set, for the error message. */
  minRateSetting: string
  /** The whole download, ms from start. */
  deadlineMs: number
  /** Consecutive failed attempts without progress before giving up. */
  maxAttempts: number
  backoffMinMs: number
  backoffMaxMs: number
  backoffFactor: number
  maxRedirects: number
  /** Bytes per write buffer (socket reads land in it directly; one write + hash step each). */
  writeBatchBytes: number
  /** Write buffers per connection: memory is writeBatchBytes × writeBuffers. */
  writeBuffers: number
  /** Writes in flight per connection (< writeBuffers, so that one buffer fills meanwhile). */
  writesInFlight: number
  /** Start writeback of written data every this many bytes, so the final fsync is short (0: off). */
  syncEveryBytes: number
  /**
   * Least time between two saves of the sidecar while bytes arrive, ms: each syncs the data it
   * records first (sidecar.ts), and a crash costs about this much of the download again.
   */
  saveEveryMs: number
  /** Parallel range requests for one file (boost's NChunks); 1 = one stream. */
  connections: number
  /** Files smaller than connections × this go as one stream. */
  rangeMinBytes: number
  /** Write the staging file with O_DIRECT where the filesystem allows it (direct-io.ts). */
  directIo: boolean
}

export const defaultTuning: DownloadTuning = {
  stallMs: 60_000,
  minBytesPerSecond: DEFAULT_MIN_BYTES_PER_SECOND,
  minRateSetting: 'spec.transfer.minBytesPerSecond',
  deadlineMs: 24 * 3600_000,
  maxAttempts: 15,
  backoffMinMs: 1000,
  backoffMaxMs: 60_000,
  backoffFactor: 2,
  // boost follows at most 2 redirects (spec boost-protocol §5.3).
  maxRedirects: 2,
  // 1 MiB × 16, two writes in flight: measured best on the 2 GiB bench (BENCHMARKS.md). Larger
  // buffers leave the caches before the page-cache copy reads them; more concurrent writes to one
  // file contend for its inode lock.
  writeBatchBytes: 1 << 20,
  writeBuffers: 16,
  writesInFlight: 2,
  syncEveryBytes: 256 << 20,
  // One fdatasync a second: on the 2 GiB bench 6 of them, 0.3–1.5 ms each (direct I/O leaves
  // nothing dirty), where the unpaced saves had been 365, unsynced; a crash costs a second's bytes.
  saveEveryMs: 1000,
  connections: 1,
  rangeMinBytes: 64 << 20,
  directIo: true
}

export interface DownloadProgress { bytes: number, total: number, attempt: number }

export interface DownloadComponents {
  /** Resolves and vets a host name before each connection (the SSRF guard). */
  address: (hostname: string) => Promise<string>
  sink: PieceSink
  onProgress?: (p: DownloadProgress) => void
  /** Reports a failed attempt before the backoff (for logs). */
  onRetry?: (err: Error, attempt: number, delayMs: number) => void
  now?: () => number
  random?: () => number
  /** Throws when this run may no longer write the deal's files (another run took its lock). */
  guard?: () => void
}

export interface DownloadResult {
  bytes: number
  /** Connection attempts made (1 = no retry). */
  attempts: number
  /** Times the download started over from byte 0 (server ignored Range, ETag changed). */
  restarts: number
  /** Bytes of the partial file re-read to rebuild the hasher state after a process restart. */
  replayedBytes: number
}


/** Internal: the server's bytes are not the ones on disk; start over from byte 0. */
class Restart extends Error {}

/**
 * Downloads `target.url` into `target.partPath`, resuming from what is already there, and feeds
 * every byte once, in order, through `sink` (CommP + CAR index) on the way to disk.
 *
 * A resume is trusted only when it provably continues the same bytes: 206 with a Content-Range
 * starting where the file ends and, if the first response had a strong ETag, the same ETag.
 * A 200 to a Range request (server ignores ranges) restarts from zero using that body; an ETag
 * change restarts with a fresh request. Failures that another attempt may cure (5xx, resets,
 * stalls, short bodies) back off and reconnect; the backoff resets whenever bytes arrived.
 */
export async function download (target: DownloadTarget, comps: DownloadComponents, tuning: DownloadTuning = defaultTuning, signal?: AbortSignal): Promise<DownloadResult> {
  // One deadline and one rate meter for the whole transfer: falling back from ranges to one
  // stream restarted both, so a server choosing when to refuse ranges held a slot for twice the
  // deadline (red-team round 22).
  const signals = deadlineSignal(tuning, signal)
  const floor = new RateFloor({ minBytesPerSecond: tuning.minBytesPerSecond, windowMs: tuning.stallMs, now: comps.now ?? Date.now, setting: tuning.minRateSetting, limit: tuning.maxAttempts })
  if (tuning.connections > 1 && target.size >= tuning.connections * tuning.rangeMinBytes) {
    try {
      return await downloadRanges(target, comps, tuning, signals, floor)
    } catch (err) {
      if (!(err instanceof RangesUnsupported)) throw err
      // The server does not serve these ranges as asked (or the data changed): one stream from
      // zero, which has its own rules for both.
      comps.onRetry?.(err, 0, 0)
      comps.guard?.()
      await rm(target.partPath, { force: true })
      await rm(`${target.partPath}.json`, { force: true })
    }
  }
  return await downloadStream(target, comps, tuning, signals, floor)
}

async function downloadStream (target: DownloadTarget, comps: DownloadComponents, tuning: DownloadTuning, signals: TransferSignals, floor: RateFloor): Promise<DownloadResult> {
  const now = comps.now ?? Date.now
  const random = comps.random ?? Math.random
  const limit = target.size > 0 ? target.size : target.maxBytes
  const metaPath = `${target.partPath}.json`
  const { deadline, outer } = signals

  const fh = await openPartFile(target.partPath)
  const direct = tuning.directIo ? await openDirect(target.partPath) : undefined
  // On the buffered handle, for the direct one's writes too: an fdatasync covers the file's data
  // whichever descriptor wrote it. O_DIRECT alone is no durability: a finished direct write may
  // sit in the disk's volatile cache, and the file's new length and extents are not committed.
  // Every sync of the file goes through `part`: after one failed, no other proves anything.
  const part = new PartSync(fh, target.partPath)
  const sync = part.data
  const saver = new MetaSaver(metaPath, { sync, failed: () => part.failed, guard: comps.guard, everyMs: tuning.saveEveryMs })
  // One set of write buffers for all the responses, however many a capping server sends.
  const pool = new SlabPool({ slabBytes: tuning.writeBatchBytes, slabs: tuning.writeBuffers, aligned: direct !== undefined })

  const result: DownloadResult = { bytes: 0, attempts: 0, restarts: 0, replayedBytes: 0 }
  try {
    let meta = await readMeta(metaPath)
    let offset = (await fh.stat()).size
    if (meta === 'corrupt' && offset > 0) {
      // No proof of what the file holds: start over.
      await truncate(fh, target.partPath)
      offset = 0
    }
    if (meta === 'corrupt') meta = undefined
    if (meta?.ranges !== undefined) {
      // Left by a parallel download: its good prefix is where the first unfinished range stands.
      // Recorded so before the file is cut to it: a run that failed before its first byte left the
      // ranges' sidecar beside the cut file, and a parallel run then resumed its ranges over the
      // cut bytes, staging zeros (red-team round 50).
      const { ranges: _ranges, size: _size, ...rest } = meta
      meta = { ...rest, written: contiguousPrefix(meta.ranges) }
      comps.guard?.()
      await saveDurable(sync, comps.guard, metaPath, meta)
    }
    if (meta?.written !== undefined && meta.written < offset) {
      await truncate(fh, target.partPath, meta.written)
      offset = meta.written
    }
    if (offset > limit || (meta !== undefined && meta.url !== target.url)) {
      // Longer than the deal allows, or from another URL: not a prefix we can trust. Its sidecar
      // goes first, for the same reason.
      comps.guard?.()
      await rm(metaPath, { force: true })
      await truncate(fh, target.partPath)
      offset = 0
      meta = undefined
    }
    saver.use(meta)
    await comps.sink.reset()
    if (offset > 0) result.replayedBytes = await comps.sink.replay(target.partPath, offset)
    // Without a declared size the data's own length, from its first reply, is the target: taken
    // again whenever the download starts over (the data may have changed), and a continuing reply
    // that says another length means the data changed under us.
    const declared = target.size > 0 ? target.size : undefined
    let expected = declared
    // Where this run stands before its first byte: the partial file kept, as trusted (a failure
    // before any byte arrives otherwise reported the file's length before it was cut).
    comps.onProgress?.({ bytes: offset, total: expected ?? 0, attempt: 1 })
    let failures = 0
    // The rate is the transfer's, judged on its own timer: connections shorter than a tick, and the
    // time between them, are judged too (min-rate.ts).
    let current: AbortController | undefined
    const rateTimer = watchRate(floor, tuning.stallMs, () => current === undefined ? [] : [current])

    // The last response delivered all it announced and the next request continues it: that
    // request is not a new attempt.
    let continuing = false
    // Where the attempt started: continued responses are one attempt, judged as one connection
    // would be. A drop of the latest request, which has brought nothing yet, still ends an attempt
    // that brought bytes (judged as an attempt without any, a too-slow source went on forever).
    let attemptStart = offset
    // Continued responses that named no total (`bytes a-b/*`): a 416 then means the data ends here.
    let openEnded = false
    try {
      for (;;) {
        if (expected !== undefined && offset === expected) break
        if (!continuing) { result.attempts++; attemptStart = offset }
        continuing = false
        const before = offset
        // The written prefix as the attempt moves it (receive advances it).
        const at = { offset }
        const attempt = new AbortController()
        current = attempt
        let lastByte = now()
        const stallTimer = setInterval(() => {
          if (now() - lastByte >= tuning.stallMs) attempt.abort(new RetryableError('STALLED', `no bytes for ${Math.round(tuning.stallMs / 1000)} s at offset ${at.offset}`))
        }, tickMs(tuning.stallMs))
        try {
          const res = await getRange(target.url, target.headers, offset, {
            address: comps.address,
            signal: AbortSignal.any([attempt.signal, outer]),
            maxRedirects: tuning.maxRedirects
          })
          // A resumed run of data without a declared size whose partial is already whole (the last
          // run ended after its last byte but before staging): the 416 names exactly our length.
          // It took the whole piece again from byte 0 (red-team round 50).
          const unsatisfied = res.statusCode === 416 ? unsatisfiedLength(header(res.headers, 'content-range')) : undefined
          const whole = declared === undefined && offset > 0 && unsatisfied === offset
          if (res.statusCode === 416 && (openEnded || whole)) {
            res.body.close()
            // RFC 9110 §14.4: the data's length may be unknown to the server until its end, and
            // the range past that end is not satisfiable. A 416 naming another length than ours
            // says the data changed meanwhile.
            if (unsatisfied !== undefined && unsatisfied !== offset) throw new Restart(`the data's length is now ${unsatisfied} bytes, ${offset} received`)
            expected = offset
            break
          }
          const start = await checkResponse(res, offset, target, meta)
          if (start === 0 && offset > 0) {
            // The server ignored Range (200): this body is the whole file again. Bounded like the
            // ETag restarts: a server answering every retry with the whole file and dropping it part
            // way held the transfer until its deadline (red-team round 21).
            try { countRestart(result, tuning, 'the server ignored Range', ', sending the data from its start again each time'); comps.guard?.() } catch (err) { res.body.close(); throw err }
            // The sidecar first, as a restart does: one still saying the old prefix, beside a file
            // refilled from byte 0 out of order, made a run killed meanwhile resume over a hole.
            await saver.stop()
            saver.use(undefined)
            await rm(metaPath, { force: true })
            meta = undefined
            await truncate(fh, target.partPath)
            await comps.sink.reset()
            offset = 0
            expected = declared
            openEnded = false
          }
          at.offset = offset
          const announced = res.statusCode === 206 ? parseContentRange(header(res.headers, 'content-range')) : undefined
          const total = announced !== undefined ? announced.total : contentLength(res)
          if (total !== undefined && total > limit) {
            res.body.close()
            throw tooLong(target, total)
          }
          if (declared === undefined && total !== undefined && expected !== undefined && total !== expected) {
            res.body.close()
            throw new Restart(`the data's length changed from ${expected} to ${total} bytes`)
          }
          expected ??= total
          const etag = strongEtag(header(res.headers, 'etag'))
          if (meta === undefined || (meta.etag === undefined && etag !== undefined && offset === 0)) {
            await saver.stop()
            meta = { url: target.url, ...(etag !== undefined ? { etag } : {}), written: offset }
            comps.guard?.()
            // A partial kept without a sidecar is recorded at its length: synced first too.
            if (offset > 0) await saveDurable(sync, comps.guard, metaPath, meta)
            else await saveMeta(metaPath, meta)
            saver.use(meta)
          }
          const m = meta
          try {
            await receive(res, { fh, direct, pool, part }, at, limit, target, comps, tuning, (n) => { lastByte = now(); floor.add(n) }, result.attempts, expected, (end) => { saver.save(end) }, announced !== undefined ? announced.end + 1 : undefined)
          } catch (err) {
            // Bytes written before a failure are good: the next attempt continues after them. The
            // failure is what gets reported; a sidecar that cannot be saved either only costs a
            // longer resume.
            await flushWritten(saver, part, comps.guard, fh, target.partPath, metaPath, m, at).catch((flushErr: unknown) => {
              // A full volume that made the file give bytes back ends the run (the hasher has seen
              // them: only a new run, replaying the file, may go on from the shorter prefix). So
              // does a failed sync of the part file, with its error whatever ended the attempt: no
              // later sync of this run proves anything (PartSync), so no sidecar could record the
              // bytes of another attempt, and a retry only downloaded them for nothing. Any other
              // failure to save the sidecar only costs a longer resume.
              const full = (e: unknown): boolean => (e as { code?: unknown }).code === TransferErrorCodes.DiskFull
              if (full(flushErr)) { offset = at.offset; throw full(err) ? err : flushErr }
              if (part.failed !== undefined) { offset = at.offset; throw part.failed }
            })
            offset = at.offset
            throw err
          }
          // A reply that the next request continues at once (a capping server's, below) leaves the
          // sidecar to the paced saves: flushed after each, a server capping its replies at 1 MiB
          // cost an fdatasync per MiB.
          const continues = announced !== undefined && at.offset === announced.end + 1 && at.offset > before && (expected === undefined || at.offset < expected)
          try {
            await flushWritten(saver, part, comps.guard, fh, target.partPath, metaPath, m, at, !continues)
          } finally {
            offset = at.offset
          }
          if (expected !== undefined && offset > expected) {
            // Past the length the data was announced at (a body without a length after a reply
            // that named one, or a 206 naming no total after one that did; a 206 is cut at its
            // own range's end): the data does not agree with itself. Taken as
            // the data having changed, as a reply naming another length is: from byte 0, at most
            // maxAttempts times. Going on asked for bytes past the data's end until the piece's
            // capacity (red-team round 42).
            throw new Restart(`a reply ran to ${offset} bytes, past the data's length of ${expected}`)
          }
          if (announced !== undefined && offset === announced.end + 1 && offset > before && (expected === undefined || offset < expected)) {
            // A server that caps its partial responses (S3 gateways, CDNs: 1–16 MiB each) sent the
            // whole range it announced: the next request continues at once, with no backoff and no
            // failure counted. Each such request brings at least a byte, and the deadline judges
            // the transfer. So does the rate floor, here as after a dropped connection: replies
            // that each end well never reached that check, and one every 200 ms at 0.5 % of the
            // minimum held the slot until the deadline (red-team round 42). A drop of ours that
            // landed after the body ended is the attempt's end, as on one connection.
            if (attempt.signal.aborted) throw attempt.signal.reason
            if (floor.exhausted(true)) throw tooSlowFailure(floor, new RetryableError(TOO_SLOW, `below the minimum rate at ${offset} bytes`), '', offset)
            failures = 0
            continuing = true
            // Without a total the data goes on until a request past its end (416) or a reply
            // that names it: the first capped reply was taken for the whole (round 42).
            if (expected === undefined) openEnded = true
            continue
          }
          if (expected === undefined) {
            // A reply with a range that named no total and stopped short of the range's end was
            // cut, not the data's end; only a body of unknown length (a 200) ends with the data.
            if (announced !== undefined) throw new RetryableError('SHORT_BODY', `connection closed at ${offset}, before the end of the range ${announced.start}-${announced.end}`)
            expected = offset
          }
          if (offset < expected) throw new RetryableError('SHORT_BODY', `connection closed at ${offset} of ${expected} bytes`)
        } catch (err) {
          // The attempt is over: neither timer may act on it during the backoff below.
          clearInterval(stallTimer)
          current = undefined
          // What the attempt's own timers aborted it for, unless it ended on a decision of its own
          // (a TransferError: bytes given back on a full volume must end the run, whatever the stall
          // timer or the rate floor said meanwhile, or the next attempt resumes behind the hasher).
          const cause = !(err instanceof TransferError) && attempt.signal.aborted && !outer.aborted ? attempt.signal.reason as unknown : err
          if (droppedByUs((cause as { code?: unknown }).code)) floor.dropped()
          if (cause instanceof Restart) {
            // A server whose ETag changes on every request would restart us forever.
            countRestart(result, tuning, 'the data changed', ` during the transfer (${cause.message})`)
            comps.guard?.()
            await saver.stop()
            saver.use(undefined)
            await truncate(fh, target.partPath)
            await rm(metaPath, { force: true })
            await comps.sink.reset()
            offset = 0
            meta = undefined
            expected = declared
            openEnded = false
            continue
          }
          if (outer.aborted) {
            if (deadline.aborted) {
              throw new TransferError(TransferErrorCodes.Deadline, `transfer deadline of ${Math.round(tuning.deadlineMs / 1000)} s passed at ${offset} bytes`, { retry: 'fatal', cause })
            }
            throw outer.reason
          }
          if (cause instanceof TransferError) throw cause
          // A trickle brings bytes on every attempt, which resets the attempts without progress, so
          // the too-slow windows are counted apart (min-rate.ts). A source that sends nothing is a
          // failed transfer, not a slow one: those attempts are the attempt limit's.
          const progressed = offset > attemptStart
          if (progressed) failures = 0
          failures++
          if (failures >= tuning.maxAttempts) {
            throw new TransferError(TransferErrorCodes.RetriesExhausted,
              `could not finish transfer after ${result.attempts} attempts (the last ${failures} failed in a row), at ${offset} bytes: ${(cause as Error).message}`,
              { retry: 'auto', cause })
          }
          if (floor.exhausted(progressed)) throw tooSlowFailure(floor, cause as Error, '', offset)
          const delay = backoffDelay(failures, tuning, random)
          comps.onRetry?.(cause as Error, result.attempts, delay)
          await sleep(delay, outer).catch(() => {})
        } finally {
          clearInterval(stallTimer)
        }
      }
    } finally {
      clearInterval(rateTimer)
    }
    // Throws an earlier failed sync too: this one returning 0 would not prove the bytes it covers.
    await part.full()
    result.bytes = offset
    return result
  } finally {
    // Whatever ended the download, the prefix is on record and no save runs on after it (the
    // caller may remove the files next); after a failed sync nothing more is recorded (PartSync).
    await saver.flush().catch(() => {})
    await direct?.close().catch(() => {})
    await fh.close().catch(() => {})
  }
}

/** The data's length a 416's `Content-Range: bytes *\/N` names, if it names one. */
function unsatisfiedLength (v: string | undefined): number | undefined {
  const m = v === undefined ? null : /^bytes \*\/(\d+)$/i.exec(v.trim())
  return m === null ? undefined : Number(m[1])
}

/** Counts a restart from zero; past `maxAttempts` of them the transfer fails: `<what> N times<detail>`. */
function countRestart (result: DownloadResult, tuning: DownloadTuning, what: string, detail: string): void {
  result.restarts++
  if (result.restarts > tuning.maxAttempts) {
    throw new TransferError(TransferErrorCodes.RetriesExhausted, `${what} ${result.restarts} times${detail}`, { retry: 'auto' })
  }
}

/** The body's length as its framing reads it (a Content-Length beside chunked encoding means nothing). */
function contentLength (res: RangeResponse): number | undefined {
  return res.body.contentLength
}

function tooLong (target: DownloadTarget, got: number): TransferError {
  const what = target.size > 0 ? `the declared transfer size ${target.size}` : `the piece capacity ${target.maxBytes}`
  return new TransferError(TransferErrorCodes.TooLong, `body of ${got} bytes is longer than ${what}`)
}

/** Returns where the body starts in the file; throws Restart when the bytes cannot continue ours. */
async function checkResponse (res: RangeResponse, offset: number, target: DownloadTarget, meta: Meta | undefined): Promise<number> {
  const etag = strongEtag(header(res.headers, 'etag'))
  if (res.statusCode === 416) {
    res.body.close()
    throw new Restart('range not satisfiable')
  }
  if (res.statusCode === 200) {
    const len = contentLength(res)
    if (target.size > 0 && len !== undefined && len !== target.size) {
      res.body.close()
      if (len > target.size) throw tooLong(target, len)
      throw new TransferError(TransferErrorCodes.SizeMismatch, `deal size mismatch: server has ${len} bytes, deal declares ${target.size}`)
    }
    return 0
  }
  // 206
  const raw = header(res.headers, 'content-range')
  const range = parseContentRange(raw)
  const etagChanged = meta?.etag !== undefined && etag !== undefined && etag !== meta.etag
  if (range === undefined || range.start !== offset || etagChanged) {
    res.body.close()
    throw new Restart(etagChanged ? 'ETag changed' : range === undefined ? `a 206 with ${raw === undefined ? 'no Content-Range' : `Content-Range ${shown(raw)}, not a valid range`}` : 'Content-Range does not continue the file')
  }
  const len = contentLength(res)
  if (len !== undefined && len !== range.end - range.start + 1) {
    // The reply says two things about which bytes it holds: neither can be trusted to continue
    // the file, as with a Content-Range that cannot be read. Taken, a body running past its range
    // was stored past it, and the next request took up after the stray bytes.
    res.body.close()
    throw new Restart(`Content-Range bytes ${range.start}-${range.end} with a body of ${len} bytes`)
  }
  if (target.size > 0 && range.total !== undefined && range.total !== target.size) {
    res.body.close()
    if (range.total > target.size) throw tooLong(target, range.total)
    throw new TransferError(TransferErrorCodes.SizeMismatch, `deal size mismatch: server has ${range.total} bytes, deal declares ${target.size}`)
  }
  return offset
}

/**
 * Streams the body into the file through the slab writer: socket reads land in its buffers, and
 * each full buffer is written and, at the same time, handed to the sink's thread (CommP + CAR
 * index) while the next ones fill. `at.offset` follows the written prefix.
 */
async function receive (res: RangeResponse, file: { fh: FileHandle, direct: FileHandle | undefined, pool: SlabPool, part: PartSync }, at: { offset: number }, limit: number, target: DownloadTarget,
  comps: DownloadComponents, tuning: DownloadTuning, onBytes: (n: number) => void, attempt: number, expected: number | undefined,
  onWritten: (end: number) => void, endAt?: number): Promise<void> {
  const writer = new SlabWriter(file.fh, at.offset, {
    // A 206 ends at its range's end: a chunked body running past it (no Content-Length to say
    // otherwise) had the stray bytes stored, and the next request took up after them (round 43).
    endAt,
    direct: file.direct,
    pool: file.pool,
    slabBytes: tuning.writeBatchBytes,
    slabs: tuning.writeBuffers,
    writes: Math.max(1, Math.min(tuning.writesInFlight, tuning.writeBuffers - 1)),
    syncEveryBytes: tuning.syncEveryBytes,
    // Its writeback syncs are the part file's too: one that fails ends the run (PartSync).
    sync: file.part.data,
    // A body that is too long: nothing of it past the limit is queued. After a failed sync (a
    // paced save's, in the background) nothing more is: no sidecar of this run can record it.
    check: (end) => { comps.guard?.(); file.part.check(); if (end > limit) throw tooLong(target, end) },
    onBytes,
    onSlab: (data) => comps.sink.update(data),
    // Progress is what is on the staging volume (the status field says so), not what is queued
    // for it: up to writeBuffers × writeBatchBytes more, lost if a write then fails.
    onWritten: (end) => {
      at.offset = end
      onWritten(end)
      comps.onProgress?.({ bytes: end, total: expected ?? 0, attempt })
    }
  })
  let bodyError: unknown
  try {
    await res.body.readBody(writer)
  } catch (err) {
    // The range's bytes are all in; the rest is not read.
    if (err instanceof BodyOverrun) res.body.close()
    else bodyError = err
  }
  // Whatever arrived before a drop is good data: it is written so the next attempt resumes after it.
  try {
    await writer.finish(bodyError === undefined)
  } catch (err) { throw diskError(`write ${target.partPath} at ${at.offset}`, err) }
  if (bodyError !== undefined) throw bodyError
}

/** What a full volume costs the written prefix (at most twice this): room for the sidecar's new copy. */
const GIVE_BACK_BYTES = 64 << 10

/**
 * Records the written prefix (`at.offset`) in the sidecar; without `force`, only throws what a
 * paced save threw. On a full volume the sidecar's new copy needs a page the data took: the file
 * then gives back its last 64–128 KiB (down to a 64 KiB boundary, which direct I/O can resume from)
 * so that the prefix before it is on record, and the next run resumes there rather than from the
 * last save (perhaps from 0, a whole piece again). `at.offset` follows; what the save threw is
 * thrown still. Both files are touched only while `guard` says the run still holds its lock.
 */
async function flushWritten (saver: MetaSaver, part: PartSync, guard: (() => void) | undefined, fh: FileHandle, partPath: string, metaPath: string, meta: Meta, at: { offset: number }, force = true): Promise<void> {
  try {
    if (force) await saver.flush(at.offset)
    else saver.check()
  } catch (err) {
    if ((err as { code?: unknown }).code !== TransferErrorCodes.DiskFull) throw err
    // The saves below are the last word: a paced one after them would record a prefix given back.
    await saver.stop()
    // A failed sync of the part file (ENOSPC from the file system's writeback, or any failure
    // before): no sidecar of this run may record more than it did before it, so there is nothing
    // to give bytes back for. The file is left as it is and the run ends with the sync's error
    // (TRANSFER_DISK_FULL for an ENOSPC, to wait for room; TRANSFER_DISK otherwise). The next run
    // cuts the file to what the sidecar recorded before the failure and downloads the rest again:
    // giving back here and recording the shorter prefix took a sync returning 0 for proof, which
    // after a failed one it is not (PartSync).
    part.check()
    // A run that lost its lock writes neither file (the saver checks before each save too).
    guard?.()
    // The saver keeps the first error of the attempt; the volume may have room again since (another
    // deal's file removed): one more save, as is, before anything is given back.
    if (await saveDurable(part.data, guard, metaPath, { ...meta, written: at.offset }).then(() => true, () => false)) return
    part.check()
    if (at.offset > 0) {
      const back = Math.max(0, Math.floor((at.offset - GIVE_BACK_BYTES) / GIVE_BACK_BYTES) * GIVE_BACK_BYTES)
      guard?.()
      try {
        await truncate(fh, partPath, back)
        at.offset = back
        await saveDurable(part.data, guard, metaPath, { ...meta, written: back })
      } catch {}
    }
    // Bytes given back whose sync then failed: the sync's error is the run's (see above).
    part.check()
    throw err
  }
}

/**
 * A sidecar save that records data this run may have written: the data is synced first, and the
 * lock checked after the sync, just before the write, as the paced saves do.
 */
async function saveDurable (sync: () => Promise<void>, guard: (() => void) | undefined, metaPath: string, meta: Meta): Promise<void> {
  await sync()
  guard?.()
  await saveMeta(metaPath, meta)
}

async function truncate (fh: FileHandle, path: string, length = 0): Promise<void> {
  try { await fh.truncate(length) } catch (err) { throw diskError(`truncate ${path}`, err) }
}
