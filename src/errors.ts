/**
 * The base of every error dealyard raises on purpose. `code` is stable and machine-matchable (as
 * undici's `UND_ERR_*` codes are); `retry` says how a deal step that hit it should continue and maps
 * straight to `status.retry` on a StorageDeal.
 */
export type RetryClass = 'auto' | 'manual' | 'fatal'

export interface DealyardErrorOptions extends ErrorOptions {
  retry?: RetryClass
}

export class DealyardError extends Error {
  readonly code: string
  readonly retry: RetryClass

  constructor (code: string, message: string, options: DealyardErrorOptions = {}) {
    super(message, options)
    this.name = 'DealyardError'
    this.code = code
    this.retry = options.retry ?? 'fatal'
  }
}

/** Adds what the caller was doing to an error's message, keeping the original as `cause`. */
export function wrap (context: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err)
  if (err instanceof DealyardError) {
    const wrapped = new DealyardError(err.code, `${context}: ${message}`, { cause: err, retry: err.retry })
    wrapped.name = err.name
    return wrapped
  }
  return new Error(`${context}: ${message}`, { cause: err })
}
