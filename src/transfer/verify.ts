import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { wrap, DealyardError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { TransferError, TransferErrorCodes } from './errors.ts'
import { verifyPieceFile } from './finalize.ts'
import { PieceSink, type PieceHasherSpec } from './piece-sink.ts'
import { ProgressThrottle, type ProgressSink } from './progress.ts'
import { unpaddedSize } from './run.ts'
import { fileKind } from '../filecoin/commp/index.ts'

export interface VerifySpec {
  uuid: string
  /** The imported file (offline deal: spec.dataSource.path, resolved on the staging volume). */
  file: string
  /** Where the index goes (`<uuid>.car.idx`); default: next to the file. */
  outDir: string
  pieceCid?: string | undefined
  pieceSize?: number | undefined
  index?: boolean
}

export interface VerifyComponents { hasher: PieceHasherSpec, progress: ProgressSink, log: Logger, now?: () => number }

export interface VerifyOutcome { pieceCid: string, stagedPath: string, indexPath: string | undefined, bytes: number, seconds: number }

/**
 * Offline import verification: the piece CID (and CAR index) of a file already on the staging
 * volume, computed by the same sink as a download and reported the same way. The imported file
 * is the operator's, so a mismatch leaves it where it is.
 */
export async function verifyImport (spec: VerifySpec, comps: VerifyComponents): Promise<VerifyOutcome> {
  const now = comps.now ?? Date.now
  const started = now()
  const throttle = new ProgressThrottle(comps.progress, { now })
  let sink: PieceSink | undefined
  try {
    const st = await stat(spec.file).catch((err: unknown) => {
      throw new TransferError(TransferErrorCodes.Import, `imported file ${spec.file}: ${(err as Error).message}`, { retry: 'manual', cause: err })
    })
    // A FIFO or device reports size 0: it would "verify" as the empty piece.
    if (!st.isFile()) throw new TransferError(TransferErrorCodes.Import, `imported file ${spec.file}: not a regular file (${fileKind(st)})`, { retry: 'manual' })
    const size = st.size
    if (spec.pieceSize !== undefined && size > unpaddedSize(spec.pieceSize)) {
      throw new TransferError(TransferErrorCodes.SizeMismatch, `imported file of ${size} bytes does not fit the piece (${unpaddedSize(spec.pieceSize)} bytes)`)
    }
    sink = new PieceSink(comps.hasher, { index: spec.index ?? true })
    const { piece, indexPath } = await verifyPieceFile(spec.file, size, {
      sink, pieceCid: spec.pieceCid, pieceSize: spec.pieceSize, indexPath: join(spec.outDir, `${spec.uuid}.car.idx`), log: comps.log,
      // Reported as it reads: a 32 GiB import takes minutes.
      onBytes: (at) => { throttle.update(at, size, 1) }
    })
    const fin = throttle.final()
    await comps.progress.succeeded({ pieceCid: piece.pieceCid, stagedPath: spec.file, indexPath }, fin)
    return { pieceCid: piece.pieceCid, stagedPath: spec.file, indexPath, bytes: size, seconds: (now() - started) / 1000 }
  } catch (err) {
    const e = wrap(`deal ${spec.uuid}: verify`, err)
    await comps.progress.failed({ message: e.message, code: (e as DealyardError).code ?? 'TRANSFER_INTERNAL' }, throttle.final()).catch(() => {})
    throw e
  } finally {
    await sink?.close()
  }
}
