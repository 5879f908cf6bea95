import { open, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { CID } from 'multiformats/cid'
import { parseCidAnyBase } from '../filecoin/cid.ts'
import { RecordTable, indexFromRecords } from '../index/car/index.ts'
import type { Logger } from '../log.ts'
import { TransferError, TransferErrorCodes, diskError } from './errors.ts'
import type { PieceResult, PieceSink } from './piece-sink.ts'

/**
 * A file already on the staging volume (an offline import, or a transfer's earlier run) hashed
 * through `sink` in chunks, `onBytes` told as they go, checked against the proposal's piece CID,
 * and indexed at `indexPath`. The caller has checked it is a regular file of `size` bytes.
 */
export async function verifyPieceFile (file: string, size: number, o: { sink: PieceSink, pieceCid: string | undefined, pieceSize: number | undefined, indexPath: string, log: Logger, onBytes?: (at: number) => void }): Promise<{ piece: PieceResult, indexPath: string | undefined }> {
  const chunk = 16 << 20
  for (let at = 0; at < size;) {
    at += await o.sink.replay(file, Math.min(size, at + chunk))
    o.onBytes?.(at)
  }
  const piece = await o.sink.finish(o.pieceSize)
  checkPieceCid(o.pieceCid, piece)
  return { piece, indexPath: await writeIndex(piece, o.indexPath, o.log) }
}

/** The bytes' piece CID must be the proposal's; anything else fails the deal (boost: fatal). */
export function checkPieceCid (expected: string | undefined, piece: PieceResult): void {
  if (expected === undefined) return
  // As CIDs, not as text: the same piece CID in another multibase (base32 upper, say, which the
  // schema and go-cid take) is the same piece, and refusing it deleted good data as a mismatch.
  let want: CID
  try { want = parseCidAnyBase(expected) } catch (err) {
    throw new TransferError(TransferErrorCodes.Params, `the expected piece CID ${JSON.stringify(expected)} is not a CID: ${(err as Error).message}`)
  }
  if (!want.equals(parseCidAnyBase(piece.pieceCid))) {
    throw new TransferError(TransferErrorCodes.CommPMismatch, `commP mismatch: expected ${want.toString()}, got ${piece.pieceCid}`)
  }
}

/**
 * Writes the CARv2 MultihashIndexSorted index next to the data, atomically (temp file + rename),
 * where the indexing step reads it. Data that is not a CAR gets no index: the deal can still be
 * sealed, only not indexed, so that is a warning here and not a failure.
 */
export async function writeIndex (piece: PieceResult, path: string, log: Logger): Promise<string | undefined> {
  const car = piece.car
  if (car === undefined) return undefined
  if (car.error !== undefined) {
    log.warn({ err: car.error.message, blocks: car.records.length }, 'payload is not a complete CAR; no index written')
    return undefined
  }
  // From the hash thread the table arrives as plain data (hash-thread.ts hands it over).
  const records = RecordTable.from(car.records)
  const tmp = `${path}.tmp`
  try {
    await writeFile(tmp, indexFromRecords(records))
    await syncFile(tmp)
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw diskError(`write index ${path}`, err)
  }
  return path
}

/** Moves the finished partial file into place and makes the rename durable. */
export async function commitStaged (partPath: string, finalPath: string): Promise<void> {
  try {
    await rename(partPath, finalPath)
    await rm(`${partPath}.json`, { force: true })
    await rm(`${partPath}.json.tmp`, { force: true })
    await syncDir(dirname(finalPath))
  } catch (err) { throw diskError(`rename ${partPath}`, err) }
}

/** Removes a partial download and its sidecar: after a fatal failure nothing half-done stays. */
export async function removePartial (partPath: string): Promise<void> {
  await rm(partPath, { force: true })
  await rm(`${partPath}.json`, { force: true })
  await rm(`${partPath}.json.tmp`, { force: true })
}

async function syncFile (path: string): Promise<void> {
  const fh = await open(path, 'r')
  try { await fh.sync() } finally { await fh.close() }
}

async function syncDir (path: string): Promise<void> {
  const fh = await open(path, 'r')
  try { await fh.sync() } catch { /* some file systems refuse fsync on a directory */ } finally { await fh.close() }
}
