/**
 * The transfer program: resumable HTTP download of a deal's data into the staging volume with
 * CommP and the CAR index computed in the same pass, offline import verification, progress to the
 * deal's status, and the SSRF guard at connect time. `src/cli/transfer.ts` and `verify.ts` wire it.
 */
export { runTransferJob, unpaddedSize, type TransferJobSpec, type TransferComponents, type TransferOutcome } from './run.ts'
export { verifyImport, type VerifySpec, type VerifyComponents, type VerifyOutcome } from './verify.ts'
export { download, defaultTuning, backoffDelay, type DownloadTarget, type DownloadTuning, type DownloadResult } from './download.ts'
export { PieceSink, commpHasher, sharedBuffer, type PieceHasherSpec, type PieceResult } from './piece-sink.ts'
export { guardedAddress, resolveAllowed, systemResolver, type Resolver } from './guard.ts'
export { parseTransferParams, checkTransferUrl, type TransferParams } from './params.ts'
export { TransferError, TransferErrorCodes, type TransferErrorCode } from './errors.ts'
export {
  ProgressThrottle, TerminalProgress, LogProgress, FanoutProgress,
  type ProgressSink, type TransferProgress, type TransferSuccess, type TransferFailure
} from './progress.ts'
