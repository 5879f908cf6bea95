import { DealyardError, type RetryClass } from '../errors.ts'

/**
 * Stable codes of transfer failures (written to status.transfer.errorCode). The retry class says
 * what the controller does next: `auto` starts another transfer Job later (it resumes from the
 * partial file), `manual` waits for an operator, `fatal` fails the deal.
 */
export const TransferErrorCodes = {
  /** Bad or missing transfer parameters (URL, headers, sizes, flags). */
  Params: 'TRANSFER_PARAMS',
  /** The server answered 401 or 403: the client's headers do not grant access. */
  Unauthorized: 'TRANSFER_UNAUTHORIZED',
  /** Any other 4xx: the request will not succeed by retrying. */
  HttpClientError: 'TRANSFER_HTTP_CLIENT_ERROR',
  /** 5xx, dropped connections, stalls after all attempts. */
  RetriesExhausted: 'TRANSFER_RETRIES_EXHAUSTED',
  /** The data's size differs from the deal's declared transfer size. */
  SizeMismatch: 'TRANSFER_SIZE_MISMATCH',
  /** The server sent more bytes than the deal declared. */
  TooLong: 'TRANSFER_BODY_TOO_LONG',
  /** The piece CID of the received bytes differs from the proposal's. */
  CommPMismatch: 'TRANSFER_COMMP_MISMATCH',
  /** The host resolved to an address the transfer-host policy refuses (SSRF guard). */
  AddressRefused: 'TRANSFER_ADDRESS_REFUSED',
  /** Too many redirects, or a redirect to a non-HTTP URL. */
  Redirect: 'TRANSFER_REDIRECT',
  /** Attempts ran out with the transfer below its minimum rate (spec.transfer.minBytesPerSecond). */
  TooSlow: 'TRANSFER_TOO_SLOW',
  /** The whole transfer took longer than its deadline. */
  Deadline: 'TRANSFER_DEADLINE',
  /** The staging volume is full (ENOSPC, EDQUOT, EFBIG). */
  DiskFull: 'TRANSFER_DISK_FULL',
  /** Another I/O failure on the staging volume. */
  Disk: 'TRANSFER_DISK',
  /** The transfer type cannot be handled by this program. */
  Unsupported: 'TRANSFER_UNSUPPORTED',
  /** The staged file for an offline deal is missing or unreadable. */
  Import: 'TRANSFER_IMPORT',
  /** Another transfer of the same deal holds its lock (lock.ts); this run changed nothing. */
  Busy: 'TRANSFER_BUSY'
} as const

export type TransferErrorCode = typeof TransferErrorCodes[keyof typeof TransferErrorCodes]

export class TransferError extends DealyardError {
  readonly statusCode: number | undefined
  constructor (code: TransferErrorCode, message: string, options: { retry?: RetryClass, cause?: unknown, statusCode?: number } = {}) {
    super(code, message, { retry: options.retry ?? 'fatal', cause: options.cause })
    this.name = 'TransferError'
    this.statusCode = options.statusCode
  }
}

/**
 * A failure of one connection attempt that another attempt may cure (5xx, reset, stall, short
 * body). Internal to the download loop: it becomes RetriesExhausted when attempts run out.
 */
export class RetryableError extends Error {
  readonly code: string
  constructor (code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'RetryableError'
    this.code = code
  }
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG'])

/** Classifies a file-system error from the staging volume. */
export function diskError (what: string, err: unknown): TransferError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code !== undefined && DISK_FULL.has(code)) {
    const why = code === 'EFBIG' ? 'file size limit reached (EFBIG: the process\'s ulimit -f, or the file system\'s largest file)' : `staging volume full (${code})`
    return new TransferError(TransferErrorCodes.DiskFull, `${what}: ${why}; the partial download is kept: free space and run again to resume from its last recorded byte`, { retry: 'manual', cause: err })
  }
  const message = err instanceof Error ? err.message : String(err)
  return new TransferError(TransferErrorCodes.Disk, `${what}: ${message}`, { retry: 'auto', cause: err })
}
