import { DealyardError, type RetryClass } from '../errors.ts'

/**
 * Error codes of the Lotus clients:
 * - ERR_LOTUS_TRANSPORT: the request did not get a JSON-RPC answer (connection refused/reset, HTTP
 *   5xx without a JSON-RPC body). Retryable; reads are retried by the client itself, pushes never.
 * - ERR_LOTUS_RPC: the server answered with a JSON-RPC error object; `rpcCode` holds its code
 *   (1 = the method returned an error, 11 = actor not found, -32xxx = our request was malformed).
 * - ERR_LOTUS_TIMEOUT: no answer within the per-call timeout.
 * - ERR_LOTUS_UNAVAILABLE: transport errors on every attempt: the node is down or unreachable.
 * - ERR_LOTUS_AUTH: HTTP 401 or 403, the token was refused (a configuration problem, not transient).
 * - ERR_LOTUS_DECODE: the answer did not have the shape Lotus gives this method.
 * - ERR_LOTUS_STREAM: the piece data upload of a streamed call failed.
 */
export type LotusErrorCode = 'ERR_LOTUS_TRANSPORT' | 'ERR_LOTUS_RPC' | 'ERR_LOTUS_TIMEOUT' |
  'ERR_LOTUS_UNAVAILABLE' | 'ERR_LOTUS_AUTH' | 'ERR_LOTUS_DECODE' | 'ERR_LOTUS_STREAM'

export interface LotusRpcErrorOptions {
  cause?: unknown
  retry?: RetryClass
  method?: string
  rpcCode?: number
  httpStatus?: number
  attempts?: number
}

export class LotusRpcError extends DealyardError {
  /** JSON-RPC method, e.g. `Filecoin.MpoolPushMessage`. */
  readonly method: string | undefined
  /** The `code` of the JSON-RPC error object (ERR_LOTUS_RPC only). */
  readonly rpcCode: number | undefined
  readonly httpStatus: number | undefined
  /** How many requests were sent before giving up. */
  readonly attempts: number | undefined

  constructor (code: LotusErrorCode, message: string, opts: LotusRpcErrorOptions = {}) {
    super(code, message, { cause: opts.cause, retry: opts.retry ?? defaultRetry(code, opts.rpcCode) })
    this.name = 'LotusRpcError'
    this.method = opts.method
    this.rpcCode = opts.rpcCode
    this.httpStatus = opts.httpStatus
    this.attempts = opts.attempts
  }
}

/** JSON-RPC codes for a malformed request: retrying the same bytes cannot help. */
function isProtocolCode (rpcCode: number | undefined): boolean {
  return rpcCode !== undefined && rpcCode <= -32000 && rpcCode >= -32768
}

function defaultRetry (code: LotusErrorCode, rpcCode: number | undefined): RetryClass {
  switch (code) {
    case 'ERR_LOTUS_TRANSPORT':
    case 'ERR_LOTUS_TIMEOUT':
    case 'ERR_LOTUS_UNAVAILABLE':
    case 'ERR_LOTUS_STREAM':
      return 'auto'
    case 'ERR_LOTUS_AUTH':
      return 'manual'
    case 'ERR_LOTUS_DECODE':
      return 'fatal'
    case 'ERR_LOTUS_RPC':
      // A method error (code 1 and Lotus's typed codes) is a business answer the caller must read;
      // a -32xxx code means our request itself was wrong.
      return isProtocolCode(rpcCode) ? 'fatal' : 'manual'
  }
}

/** Well-known Lotus JSON-RPC error codes (lotus/api/api_errors.go, go-jsonrpc). */
export const RpcCode = {
  MethodError: 1,
  OutOfGas: 2,
  ActorNotFound: 11,
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602
} as const

/**
 * Whether a Lotus (or venus) error text says there is no actor of this kind at the address: none at
 * all ("actor not found" from address resolution and state reads, "failed to find actor: f0…" from
 * the VM, as StateAccountKey of an unknown ID says it), or another kind of actor ("actor code is
 * not account", "… not miner"). Lotus gives no code of its own for these.
 */
export function noActorOfKind (message: string, kind: 'account' | 'miner'): boolean {
  return /actor not found|failed to find actor/i.test(message) || message.toLowerCase().includes(`actor code is not ${kind}`)
}
