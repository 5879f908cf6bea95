import { open, type FileHandle } from 'node:fs/promises'
import { diskError, type TransferError } from './errors.ts'
import type { DownloadTuning } from './download.ts'

/** Opens the `.part` file for resuming, creating it on the first attempt. */
export async function openPartFile (path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r+').catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return await open(path, 'w+')
      throw err
    })
  } catch (err) { throw diskError(`open ${path}`, err) }
}

/**
 * The syncs of one run's part file, through one open file. On Linux a writeback error is reported
 * once per open file (errseq_t, since 4.13): the pages whose writeback failed are marked clean, and
 * the next fdatasync returns 0 (PostgreSQL's "fsyncgate"; fsync(2): later calls "may succeed even
 * though the data was not written"). So once a sync of the file failed (EIO, ENOSPC, whatever it
 * said), no later sync of this run proves that the bytes written before the failure reached the
 * disk: every later call throws that first failure without syncing, and whatever takes a sync for
 * proof (a sidecar save, the final fsync before staging) stops there. A sync that returns while
 * another one failed (the slab writer's writeback and a sidecar save may overlap) proves nothing
 * either: the error was reported to the other. The next run, on a new open file, resumes from the
 * last sidecar saved before the failure and downloads the rest again.
 */
export class PartSync {
  readonly #fh: FileHandle
  readonly #path: string
  #failed: TransferError | undefined

  constructor (fh: FileHandle, path: string) {
    this.#fh = fh
    this.#path = path
  }

  /** The first failed sync of this run, if one failed. */
  get failed (): TransferError | undefined { return this.#failed }

  /** Throws the first failed sync of this run, if one failed. */
  check (): void { if (this.#failed !== undefined) throw this.#failed }

  /** fdatasync: the data written so far, and the length that reaches it. */
  readonly data = async (): Promise<void> => { await this.#sync('fdatasync', async () => { await this.#fh.datasync() }) }

  /** fsync, before the file is staged. */
  readonly full = async (): Promise<void> => { await this.#sync('fsync', async () => { await this.#fh.sync() }) }

  async #sync (what: string, call: () => Promise<void>): Promise<void> {
    this.check()
    try { await call() } catch (err) { this.#failed ??= diskError(`${what} ${this.#path}`, err) }
    this.check()
  }
}

/** A transfer's deadline, and the deadline or the caller's abort, whichever comes first. */
export interface TransferSignals { deadline: AbortSignal, outer: AbortSignal }

/**
 * The whole download's deadline, and it combined with the caller's signal (`outer`); callers keep
 * `deadline` to tell a passed deadline from a cancellation.
 */
export function deadlineSignal (tuning: Pick<DownloadTuning, 'deadlineMs'>, signal?: AbortSignal): TransferSignals {
  const deadline = AbortSignal.timeout(tuning.deadlineMs)
  return { deadline, outer: signal === undefined ? deadline : AbortSignal.any([deadline, signal]) }
}
