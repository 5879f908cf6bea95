import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { wrap, DealyardError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { TransferHostPolicy } from '../policy/transfer-host.ts'
import { TransferError, TransferErrorCodes, diskError } from './errors.ts'
import { parseCidAnyBase } from '../filecoin/cid.ts'
import { checkPieceCid, commitStaged, removePartial, verifyPieceFile, writeIndex } from './finalize.ts'
import { download, defaultTuning, type DownloadTuning } from './download.ts'
import { guardedAddress, type Resolver } from './guard.ts'
import { checkTransferUrl } from './params.ts'
import { PieceSink, type PieceHasherSpec, type PieceResult } from './piece-sink.ts'
import { ProgressThrottle, type ProgressSink } from './progress.ts'
import { transferMetrics } from './metrics.ts'
import { droppedByUs } from './min-rate.ts'
import { defaultLockOptions, lockDeal, type DealLock, type LockOptions } from './lock.ts'

export interface TransferJobSpec {
  /** Deal UUID: names the staged files `<uuid>.car`, `<uuid>.car.idx`. */
  uuid: string
  /** Staging directory. */
  outDir: string
  url: string
  headers: Record<string, string>
  /** Declared transfer size (spec.transfer.size); 0 = unknown. */
  size: number
  /** Expected piece CID; when absent the piece CID is only computed and reported. */
  pieceCid?: string | undefined
  /** Padded piece size of the proposal; the CommP is zero-padded up to it. */
  pieceSize?: number | undefined
  policy: TransferHostPolicy
  tuning?: Partial<DownloadTuning>
  /** Build the CAR index on the way (default true). */
  index?: boolean
  /**
   * The inputs are the deal's own (a `--deal` run no flag overrides): a fatal failure removes the
   * partial download and a staged file that fails verification is deleted, as boost cleans up a
   * failed deal's file. Otherwise (an operator's command line, whose flags may be what is wrong)
   * neither is deleted: the partial stays for a run with corrected flags, and a staged file that
   * fails verification is moved aside.
   */
  inputsFromDeal?: boolean
}

export interface TransferComponents {
  hasher: PieceHasherSpec
  progress: ProgressSink
  log: Logger
  resolver?: Resolver
  now?: () => number
  lock?: LockOptions
}

export interface TransferOutcome {
  pieceCid: string
  stagedPath: string
  indexPath: string | undefined
  bytes: number
  attempts: number
  restarts: number
  replayedBytes: number
  seconds: number
}

const UUID_SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** Unpadded capacity of a padded piece size: no body may be longer. */
export function unpaddedSize (padded: number): number { return padded - padded / 128 }

/**
 * The transfer program's work for one online deal: download into `<uuid>.car.part` with resume,
 * CommP and CAR index computed in the same pass, then check the piece CID against the proposal,
 * write the index and rename the data into place. Rerunning after success re-verifies the staged
 * file instead of downloading again (and downloads again if it no longer verifies). A fatal
 * failure removes the partial file; a retryable one keeps it so the next Job resumes.
 */
export async function runTransferJob (job: TransferJobSpec, comps: TransferComponents): Promise<TransferOutcome> {
  const now = comps.now ?? Date.now
  const started = now()
  const partPath = join(job.outDir, `${job.uuid}.car.part`)
  const finalPath = join(job.outDir, `${job.uuid}.car`)
  const indexPath = join(job.outDir, `${job.uuid}.car.idx`)
  const metrics = transferMetrics()
  let throttle: ProgressThrottle | undefined
  const context = `deal ${job.uuid}: transfer`
  let sink: PieceSink | undefined
  let lock: DealLock | undefined
  // Set once the run's inputs are checked: a refusal before then (an unsafe uuid naming a file
  // outside the staging directory, a bad URL or size) leaves every file as it was.
  let checked = false
  try {
    if (!UUID_SAFE.test(job.uuid)) throw new TransferError(TransferErrorCodes.Params, `unsafe deal uuid ${JSON.stringify(job.uuid)}`)
    checkTransferUrl(job.url)
    // The expected piece CID must be one before hours of download, not found wanting after them.
    if (job.pieceCid !== undefined) {
      try { parseCidAnyBase(job.pieceCid) } catch {
        throw new TransferError(TransferErrorCodes.Params, `the expected piece CID ${JSON.stringify(job.pieceCid)} is not a CID`)
      }
    }
    // A fresh staging volume (or a new --out-dir) has no directory yet: create it rather than fail.
    await mkdir(job.outDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw new TransferError(TransferErrorCodes.Params, `staging directory ${job.outDir}: ${err.message}`, { cause: err })
    })
    const maxBytes = job.pieceSize !== undefined ? unpaddedSize(job.pieceSize) : Number.MAX_SAFE_INTEGER
    if (job.size > maxBytes) {
      throw new TransferError(TransferErrorCodes.Params, `transfer size ${job.size} exceeds the piece's capacity ${maxBytes} (piece size ${job.pieceSize})`)
    }
    // Before any file of the deal is touched: a second run of the same deal stops here.
    lock = await lockDeal(join(job.outDir, `${job.uuid}.lock`), comps.lock ?? defaultLockOptions)
    const held = lock
    // The deal's status is the lock holder's to write: a run that lost the lock (stopped for
    // longer than it lives) must not report over the run that took it.
    const status: ProgressSink = {
      progress: (p) => { try { held.assertHeld() } catch { return } return comps.progress.progress(p) },
      succeeded: async (r, p) => { if (!held.held()) throw held.lost.reason; await comps.progress.succeeded(r, p) },
      failed: async (f, p) => { await comps.progress.failed(f, p) }
    }
    const newSink = (): PieceSink => new PieceSink(comps.hasher, { index: job.index ?? true })
    sink = newSink()
    checked = true

    if (await exists(finalPath)) {
      // A previous run finished: verify what is staged rather than fetch it again.
      comps.log.info({ path: finalPath }, 'staged file already present; verifying it')
      let staged: { piece: PieceResult, indexPath: string | undefined, size: number } | undefined
      const unfit = (why: string): TransferError => new TransferError(TransferErrorCodes.SizeMismatch, why)
      try {
        const st = await stat(finalPath)
        if (!st.isFile()) throw unfit('not a regular file')
        if (job.size > 0 && st.size !== job.size) throw unfit(`${st.size} bytes where the deal declares ${job.size}`)
        if (st.size > maxBytes) throw unfit(`${st.size} bytes, more than the piece holds (${maxBytes})`)
        staged = { ...await verifyPieceFile(finalPath, st.size, { sink, pieceCid: job.pieceCid, pieceSize: job.pieceSize, indexPath, log: comps.log }), size: st.size }
      } catch (err) {
        // Anything else (a read error, the hasher failing) says nothing about the file: the run
        // fails and the next one verifies it again.
        const code = (err as { code?: unknown }).code
        if (code !== TransferErrorCodes.SizeMismatch && code !== TransferErrorCodes.CommPMismatch) throw err
        // What was staged passed the piece CID check before it was renamed into place, so a
        // mismatch now is the staging volume's doing (corruption, a file copied over it) when the
        // inputs are the deal's: the file is deleted (staging space is counted per deal). With an
        // operator's flags (another --size, --piece-size or --piece-cid than the run that staged
        // it) the flags may be what is wrong and the file the only copy of the data: it is moved
        // aside (the operator removes it). Either way it is said in the log and the data fetched again.
        lock.assertHeld()
        if (job.inputsFromDeal === true) {
          comps.log.warn({ path: finalPath, err: (err as Error).message }, 'staged file failed verification; removed, downloading again')
          await rm(finalPath, { recursive: true, force: true })
        } else {
          const aside = `${finalPath}.mismatch-${now()}`
          comps.log.warn({ path: finalPath, movedTo: aside, err: (err as Error).message }, 'staged file failed verification against this run\'s inputs; moved aside, downloading again')
          await rename(finalPath, aside).catch((e: unknown) => { throw diskError(`rename ${finalPath}`, e) })
        }
        await rm(indexPath, { force: true })
        await sink.close()
        sink = newSink()
      }
      if (staged !== undefined) {
        const { piece, indexPath: idx, size } = staged
        // Said again: the run that staged it may have died (or had its status write refused)
        // between the rename and reporting success, and the deal's status is all that tells on.
        await status.succeeded({ pieceCid: piece.pieceCid, stagedPath: finalPath, indexPath: idx },
          { bytesReceived: size, totalBytes: size, rateBytesPerSecond: 0, attempt: 0, lastUpdate: new Date(now()) })
        return { pieceCid: piece.pieceCid, stagedPath: finalPath, indexPath: idx, bytes: size, attempts: 0, restarts: 0, replayedBytes: size, seconds: (now() - started) / 1000 }
      }
    }

    const existing = await stat(partPath).then((s) => s.size, () => 0)
    throttle = new ProgressThrottle(status, { now, startBytes: existing })
    const address = guardedAddress({ policy: job.policy, ...(comps.resolver !== undefined ? { resolver: comps.resolver } : {}) })
    const tuning = { ...defaultTuning, ...job.tuning }
    const t = throttle
    const piecesink = sink
    const res = await download(
      { url: job.url, headers: job.headers, size: job.size, maxBytes, partPath },
      {
        address,
        sink: piecesink,
        now,
        guard: lock.assertHeld,
        onProgress: (p) => { t.update(p.bytes, p.total, p.attempt) },
        onRetry: (err, attempt, delayMs) => {
          metrics.retries.inc()
          const code = (err as { code?: unknown }).code
          if (droppedByUs(code)) metrics.drops.inc({ reason: code as string })
          comps.log.warn({ attempt, delayMs, code, err: err.message }, 'transfer attempt failed; retrying')
        }
      },
      tuning,
      lock.lost)
    // A partial left longer than the data turned out to be (the server's file shrank) is cut,
    // and a counter cannot go down.
    metrics.bytes.inc(Math.max(0, res.bytes - existing))
    const piece = await sink.finish(job.pieceSize)
    checkPieceCid(job.pieceCid, piece)
    lock.assertHeld()
    const idx = await writeIndex(piece, indexPath, comps.log)
    lock.assertHeld()
    await commitStaged(partPath, finalPath)
    const outcome: TransferOutcome = { pieceCid: piece.pieceCid, stagedPath: finalPath, indexPath: idx, ...res, seconds: (now() - started) / 1000 }
    metrics.operations.inc({ result: 'ok' })
    const fin = throttle.final()
    await status.succeeded({ pieceCid: outcome.pieceCid, stagedPath: finalPath, indexPath: idx }, { ...fin, bytesReceived: res.bytes, totalBytes: res.bytes })
    return outcome
  } catch (err) {
    const e = wrap(context, err)
    // The deal's files and status belong to the run holding its lock (or that took it over): a
    // run that lost it while failing for another reason leaves them too.
    const lostLock = lock !== undefined && (err as { code?: unknown }).code !== TransferErrorCodes.Busy && !lock.held()
    if ((err as { code?: unknown }).code === TransferErrorCodes.Busy || lostLock) {
      metrics.operations.inc({ result: 'busy' })
      // Said as what it is: the other failure may come from the two runs' writes.
      if (lostLock) throw wrap(context, new TransferError(TransferErrorCodes.Busy, `${(lock!.lost.reason as Error).message} (this run was failing: ${(err as Error).message})`, { retry: 'auto', cause: err }))
      throw e
    }
    const retry = err instanceof DealyardError ? err.retry : 'auto'
    // Keep the partial file only when the next attempt can resume from it. A full volume is not
    // the bytes' fault: they are kept (within the deal's own staging tag) for the run after the
    // operator frees space, not fetched again, a whole piece of them perhaps.
    if (checked && job.inputsFromDeal === true && retry !== 'auto' && (err as { code?: unknown }).code !== TransferErrorCodes.DiskFull) await removePartial(partPath).catch(() => {})
    metrics.operations.inc({ result: 'error' })
    const p = throttle?.final() ?? { bytesReceived: 0, totalBytes: job.size, rateBytesPerSecond: 0, attempt: 1, lastUpdate: new Date(now()) }
    await comps.progress.failed({ message: e.message, code: (e as DealyardError).code ?? 'TRANSFER_INTERNAL' }, p).catch((err: unknown) => {
      // The failure itself is what the process exits with; the deal's status not saying so is
      // worth a line of its own (it went unsaid when the apiserver refused the write).
      comps.log.warn({ err: (err as Error).message }, 'the failure could not be written to the deal\'s status')
    })
    throw e
  } finally {
    await sink?.close()
    await lock?.release()
  }
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}
