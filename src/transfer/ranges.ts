import { openPartFile, PartSync, type TransferSignals } from './part-file.ts'
import { TransferError, TransferErrorCodes, RetryableError, diskError } from './errors.ts'
import { getRange, header, parseContentRange, strongEtag } from './http-request.ts'
import { SlabPool, SlabWriter } from './slab-writer.ts'
import type { DownloadComponents, DownloadResult, DownloadTarget, DownloadTuning } from './download.ts'
import { backoffDelay, sleep } from './retry.ts'
import { droppedByUs, tickMs, tooSlowFailure, watchRate, type RateFloor } from './min-rate.ts'
import { RangesSaver, readMeta, saveMeta, type Meta } from './sidecar.ts'

/** One range of a parallel download: bytes [start, end), good up to `written`. */
export interface RangeState { start: number, end: number, written: number }

/** Splits [0, size) into at most n ranges, each a multiple of `align` bytes but the last. */
export function splitRanges (size: number, n: number, align = 1 << 20): RangeState[] {
  const step = Math.max(align, Math.ceil(size / n / align) * align)
  const out: RangeState[] = []
  for (let s = 0; s < size; s += step) out.push({ start: s, end: Math.min(size, s + step), written: s })
  return out
}

/** The length up to which the file is complete: where the first unfinished range stands. */
export function contiguousPrefix (ranges: RangeState[]): number {
  for (const r of ranges) if (r.written < r.end) return r.written
  return ranges.at(-1)?.end ?? 0
}

function validRanges (ranges: unknown, size: number): ranges is RangeState[] {
  if (!Array.isArray(ranges) || ranges.length === 0) return false
  let at = 0
  for (const r of ranges as RangeState[]) {
    if (r.start !== at || !(r.end > r.start) || !(r.written >= r.start && r.written <= r.end)) return false
    at = r.end
  }
  return at === size
}

/** The server did not answer a range as asked, or the data changed: the caller goes back to one stream. */
export class RangesUnsupported extends Error {}

/**
 * Parallel ranges (boost's NChunks) with the single stream's resume guarantees: the file is cut
 * into `connections` ranges fetched at once, each into its own place in the file. The sidecar
 * keeps every range's written prefix (saved only after the writes below it finished and were
 * synced), so after a crash or a power loss each range resumes where it provably was. Every
 * response must be a 206 with exactly the Content-Range asked for and the first response's strong
 * ETag; anything else (a server without ranges, changed data) throws RangesUnsupported and the
 * caller starts over with one stream.
 * CommP and the index need the bytes in order: they read the file back behind the contiguous
 * prefix (from the page cache) while the ranges still download.
 */
export async function downloadRanges (target: DownloadTarget, comps: DownloadComponents, tuning: DownloadTuning, signals: TransferSignals, floor: RateFloor): Promise<DownloadResult> {
  const now = comps.now ?? Date.now
  const random = comps.random ?? Math.random
  const size = target.size
  const metaPath = `${target.partPath}.json`
  const { deadline, outer } = signals
  const fh = await openPartFile(target.partPath)
  // The data a sidecar save records is synced first (sidecar.ts); after a failed sync nothing more
  // is recorded, and the run ends with it (PartSync).
  const part = new PartSync(fh, target.partPath)
  const sync = part.data

  const result: DownloadResult = { bytes: 0, attempts: 0, restarts: 0, replayedBytes: 0 }
  const stop = new AbortController()
  const all = AbortSignal.any([outer, stop.signal])
  try {
    const old = await readMeta(metaPath)
    const length = (await fh.stat()).size
    let meta: Meta
    if (old !== undefined && old !== 'corrupt' && old.url === target.url && old.size === size && validRanges(old.ranges, size)) {
      // No range resumes past the file's end: what lies beyond it was cut (or never landed).
      meta = { ...old, ranges: old.ranges.map((r) => ({ ...r, written: Math.max(r.start, Math.min(r.written, length)) })) }
    } else {
      const ranges = splitRanges(size, tuning.connections, Math.min(1 << 20, tuning.rangeMinBytes))
      if (old !== undefined && old !== 'corrupt' && old.url === target.url && old.ranges === undefined) {
        // A single stream's partial file: its good prefix fills the first ranges.
        const prefix = Math.min(length, old.written ?? length)
        for (const r of ranges) r.written = Math.max(r.start, Math.min(r.end, prefix))
        meta = { ...old, size, ranges }
        delete meta.written
        if (prefix > 0) await sync()
      } else {
        comps.guard?.()
        try { await fh.truncate(0) } catch (err) { throw diskError(`truncate ${target.partPath}`, err) }
        meta = { url: target.url, size, ranges }
      }
      comps.guard?.()
      await saveMeta(metaPath, meta)
    }
    const ranges = meta.ranges!
    const saver = new RangesSaver(metaPath, meta, { sync, failed: () => part.failed, guard: comps.guard, everyMs: tuning.saveEveryMs })

    // CommP + index follow the contiguous prefix by reading the file back, one replay at a time.
    await comps.sink.reset()
    result.replayedBytes = contiguousPrefix(ranges)
    let hashTarget = 0
    let hashing: Promise<unknown> = Promise.resolve()
    const hashUpTo = (force: boolean): void => {
      const prefix = contiguousPrefix(ranges)
      if (prefix <= hashTarget || (!force && prefix - hashTarget < tuning.writeBatchBytes * 8)) return
      hashTarget = prefix
      hashing = hashing.then(async () => await comps.sink.replay(target.partPath, prefix))
      hashing.catch(() => {})
    }
    hashUpTo(true)

    const received = (): number => ranges.reduce((n, r) => n + r.written, 0) - ranges.reduce((n, r) => n + r.start, 0)
    // Where this run stands before its first byte: what the ranges kept, as trusted (a failure
    // before any byte arrives otherwise reported the file's length before it was cut).
    comps.onProgress?.({ bytes: received(), total: size, attempt: 1 })
    // The minimum rate is the transfer's, not each connection's: a slow sum drops every connection
    // at once (each counts the failure and resumes), whatever their shares of it.
    const connected = new Set<AbortController>()
    const rateTimer = watchRate(floor, tuning.stallMs, () => connected)
    const one = async (r: RangeState): Promise<void> => {
      let failures = 0
      // The range's write buffers, made once for all its attempts (slab-writer.ts).
      const pool = new SlabPool({ slabBytes: tuning.writeBatchBytes, slabs: tuning.writeBuffers, aligned: false })
      while (r.written < r.end) {
        result.attempts++
        const before = r.written
        const attempt = new AbortController()
        connected.add(attempt)
        let lastByte = now()
        const stallTimer = setInterval(() => {
          if (now() - lastByte >= tuning.stallMs) attempt.abort(new RetryableError('STALLED', `no bytes for ${Math.round(tuning.stallMs / 1000)} s at offset ${r.written}`))
        }, tickMs(tuning.stallMs))
        try {
          const res = await getRange(target.url, target.headers, r.written, {
            address: comps.address, signal: AbortSignal.any([attempt.signal, all]), maxRedirects: tuning.maxRedirects, to: r.end - 1
          })
          const cr = parseContentRange(header(res.headers, 'content-range'))
          const etag = strongEtag(header(res.headers, 'etag'))
          if (res.statusCode !== 206 || cr === undefined || cr.start !== r.written || cr.end !== r.end - 1 || cr.total !== size) {
            res.body.close()
            throw new RangesUnsupported(`asked bytes ${r.written}-${r.end - 1}/${size}, got HTTP ${res.statusCode} ${header(res.headers, 'content-range') ?? 'without Content-Range'}`)
          }
          if (meta.etag !== undefined ? etag !== meta.etag : (etag !== undefined && ranges.some((x) => x.written > x.start && x !== r))) {
            res.body.close()
            throw new RangesUnsupported('ETag changed between range requests')
          }
          if (meta.etag === undefined && etag !== undefined) { meta.etag = etag; saver.save() }
          const writer = new SlabWriter(fh, r.written, {
            pool,
            slabBytes: tuning.writeBatchBytes,
            slabs: tuning.writeBuffers,
            writes: Math.max(1, Math.min(tuning.writesInFlight, tuning.writeBuffers - 1)),
            syncEveryBytes: 0,
            // More than the Content-Range it announced: the same would come again on every retry
            // of this range, so the download goes on as one stream, which stops at the file's end.
            // After a failed sync (a paced save's, in the background) the run ends: no sidecar of
            // it can record more, and the final fsync would prove nothing (PartSync).
            check: (end) => { comps.guard?.(); part.check(); if (end > r.end) throw new RangesUnsupported(`range ${r.start}-${r.end - 1}: the server sent more than the range it announced`) },
            onBytes: (n) => { lastByte = now(); floor.add(n) },
            onSlab: () => undefined,
            onWritten: (end) => {
              r.written = end
              saver.save()
              hashUpTo(false)
              comps.onProgress?.({ bytes: received(), total: size, attempt: result.attempts })
            }
          })
          let bodyError: unknown
          try { await res.body.readBody(writer) } catch (err) { bodyError = err }
          try { await writer.finish() } catch (err) { throw diskError(`write ${target.partPath} at ${r.written}`, err) }
          if (bodyError !== undefined) throw bodyError
          if (r.written < r.end) throw new RetryableError('SHORT_BODY', `range ${r.start}-${r.end - 1} closed at ${r.written}`)
        } catch (err) {
          // The attempt is over: its timer must not judge the backoff below.
          clearInterval(stallTimer)
          connected.delete(attempt)
          const cause = attempt.signal.aborted && !all.aborted ? attempt.signal.reason as unknown : err
          if (droppedByUs((cause as { code?: unknown }).code)) floor.dropped()
          if (cause instanceof RangesUnsupported || cause instanceof TransferError) throw cause
          if (all.aborted) throw all.reason
          // Too-slow windows are counted apart from attempts, which are judged first (download.ts).
          const progressed = r.written > before
          if (progressed) failures = 0
          failures++
          if (failures >= tuning.maxAttempts) {
            throw new TransferError(TransferErrorCodes.RetriesExhausted,
              `range ${r.start}-${r.end - 1}: could not finish after ${failures} attempts without progress, at ${r.written} bytes: ${(cause as Error).message}`,
              { retry: 'auto', cause })
          }
          if (floor.exhausted(progressed)) throw tooSlowFailure(floor, cause as Error, `range ${r.start}-${r.end - 1}: `, r.written)
          const delay = backoffDelay(failures, tuning, random)
          comps.onRetry?.(cause as Error, result.attempts, delay)
          await sleep(delay, all).catch(() => {})
        } finally {
          clearInterval(stallTimer)
          connected.delete(attempt)
        }
      }
    }
    // The first failure stops the others; every range settles before the file is closed.
    const settled = await Promise.allSettled(ranges.map(async (r) => { try { await one(r) } catch (err) { stop.abort(err); throw err } }))
      .finally(() => { clearInterval(rateTimer) })
    await saver.flush().catch(() => {})
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed !== undefined) {
      await hashing.catch(() => {})
      if (deadline.aborted) {
        throw new TransferError(TransferErrorCodes.Deadline, `transfer deadline of ${Math.round(tuning.deadlineMs / 1000)} s passed at ${received()} bytes`, { retry: 'fatal', cause: failed.reason })
      }
      throw stop.signal.reason ?? failed.reason
    }
    hashUpTo(true)
    await hashing
    // Throws an earlier failed sync too: ranges that ended before it noticed are not proven by this
    // one returning 0 (PartSync).
    await part.full()
    result.bytes = size
    return result
  } finally {
    await fh.close().catch(() => {})
  }
}
