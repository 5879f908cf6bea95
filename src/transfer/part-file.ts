import { open, type FileHandle } from 'node:fs/promises'
import { diskError } from './errors.ts'
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
