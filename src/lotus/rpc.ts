/**
 * JSON-RPC 2.0 over HTTP POST, as go-jsonrpc serves it: positional params, bearer token, one
 * request per call. Each call has its own timeout; transport failures of idempotent calls are
 * retried with jittered backoff (never a call marked non-idempotent: a message push spends gas, and
 * its safe repeat is the caller's, with the same MsgUuid). Every call is counted and timed.
 */
import { Agent, request, type Dispatcher } from 'undici'
import { logger } from '../log.ts'
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './backoff.ts'
import { sleep } from '../backoff.ts'
import { LotusRpcError } from './errors.ts'
import { rpcAttempts, rpcDuration, rpcErrors, rpcOperations } from './metrics.ts'

/** url = http(s)://host:port/rpc/v1 (full node) or /rpc/v0 (miner). */
export interface RpcEndpoint { url: string, token?: string, timeoutMs?: number }

export interface ClientOptions {
  retry?: Partial<RetryPolicy>
  /** An undici dispatcher; the default one has no header/body timeouts (calls set their own). */
  dispatcher?: Dispatcher
  /** [0, 1) source for backoff jitter (tests pass a fixed one). */
  random?: () => number
}

export interface CallOptions {
  /** false for calls whose repetition has effects (message pushes): no automatic retry. */
  idempotent?: boolean
  /** Per-call timeout; null = none (StateWaitMsg, AddPiece). Default: the endpoint's, else 30 s. */
  timeoutMs?: number | null
  signal?: AbortSignal
  /** Largest answer read (default MAX_RESPONSE_BYTES). */
  maxResponseBytes?: number
}

export const DEFAULT_TIMEOUT_MS = 30_000

/**
 * Largest JSON-RPC answer read by default: ample for every call dealyard makes (a tipset, a miner's
 * info, a receipt are kilobytes; SectorsList, which grows with the miner, and ChainGetMessage,
 * which carries a message's params, set their own). Without a bound, a URL pointing at something
 * that is not Lotus (a mistyped port, a hostile server) could answer an endless body, all of it
 * held in memory: 850 MB in the ingress from one proposal and one ask, measured. Kept small
 * because calls run concurrently (chain reads per client, per proposal): the bound is per call.
 */
export const MAX_RESPONSE_BYTES = 1 << 20

/**
 * A response body as text, refused (ERR_LOTUS_DECODE; the operator must fix the endpoint, not a
 * retry) once it passes `max` bytes, whether Content-Length says so up front or the bytes do.
 */
export async function readBody (res: Dispatcher.ResponseData, max: number, what: string): Promise<string> {
  const tooLarge = (): LotusRpcError => new LotusRpcError('ERR_LOTUS_DECODE', `${what}: answer larger than ${max} bytes: not a Lotus API answer`, { retry: 'manual', httpStatus: res.statusCode })
  const declared = Number(res.headers['content-length'])
  if (Number.isFinite(declared) && declared > max) {
    res.body.destroy()
    throw tooLarge()
  }
  const parts: Buffer[] = []
  let n = 0
  for await (const chunk of res.body) {
    n += (chunk as Buffer).byteLength
    if (n > max) {
      res.body.destroy()
      throw tooLarge()
    }
    parts.push(chunk as Buffer)
  }
  return Buffer.concat(parts, n).toString('utf8')
}

// Lotus calls may block for hours (StateWaitMsg, SectorAddPieceToAny): undici's default 300 s
// header/body timeouts would cut them, so the shared agent has none and each call brings its own.
let sharedAgent: Agent | undefined
export function defaultDispatcher (): Dispatcher {
  // A bounded pool per Lotus endpoint: a burst of proposals queues its chain queries on a few
  // kept-alive connections instead of opening (and then dropping) one per query in flight.
  sharedAgent ??= new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 4_000, connections: 32 })
  return sharedAgent
}

const log = logger('lotus')

export class RpcClient {
  readonly endpoint: RpcEndpoint
  readonly name: string
  /** host:port of the URL: the metrics' `node` label. */
  readonly #node: string
  readonly #retry: RetryPolicy
  readonly #dispatcher: Dispatcher
  readonly #random: () => number
  #nextId = 1

  constructor (endpoint: RpcEndpoint, name: string, opts: ClientOptions = {}) {
    // Neither message repeats the text: a URL's password, or a token passed where the URL goes
    // (Lotus's TOKEN:/ip4/… API info reads as a URL whose scheme is the token), would be printed.
    const u = URL.parse(endpoint.url)
    if (u === null) {
      throw new LotusRpcError('ERR_LOTUS_TRANSPORT', `lotus ${name}: the url is not an absolute URL (e.g. http://127.0.0.1:1234/rpc/v1)`, { retry: 'fatal' })
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new LotusRpcError('ERR_LOTUS_TRANSPORT', `lotus ${name}: the url must be http(s)${u.protocol.length <= 8 ? `, got ${u.protocol}` : ''} (Lotus API info, TOKEN:/ip4/…/tcp/…/http, is not a URL)`, { retry: 'fatal' })
    }
    this.endpoint = endpoint
    this.name = name
    this.#node = u.host
    this.#retry = { ...DEFAULT_RETRY, ...opts.retry }
    this.#dispatcher = opts.dispatcher ?? defaultDispatcher()
    this.#random = opts.random ?? Math.random
  }

  get dispatcher (): Dispatcher { return this.#dispatcher }

  headers (): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json' }
    if (this.endpoint.token != null && this.endpoint.token !== '') h.authorization = `Bearer ${this.endpoint.token}`
    return h
  }

  /** Calls `Filecoin.<method>` and returns the raw `result` (null when absent). */
  async call (method: string, params: unknown[], opts: CallOptions = {}): Promise<unknown> {
    const full = `Filecoin.${method}`
    const labels = { endpoint: this.name, node: this.#node, method }
    rpcOperations.inc(labels)
    const end = rpcDuration.startTimer(labels)
    const attempts = opts.idempotent === false ? 1 : Math.max(1, this.#retry.attempts)
    const timeoutMs = opts.timeoutMs === undefined ? (this.endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS) : opts.timeoutMs
    let last: LotusRpcError | undefined
    try {
      for (let i = 1; i <= attempts; i++) {
        if (i > 1) await sleep(backoffDelay(this.#retry, i - 1, this.#random), opts.signal)
        rpcAttempts.inc(labels)
        try {
          return await this.#once(full, params, timeoutMs, opts.signal, opts.maxResponseBytes ?? MAX_RESPONSE_BYTES)
        } catch (err) {
          if (!(err instanceof LotusRpcError)) throw err
          last = err
          const transient = err.code === 'ERR_LOTUS_TRANSPORT' || err.code === 'ERR_LOTUS_TIMEOUT'
          if (!transient || i === attempts) break
          log.debug({ method: full, attempt: i, err: err.message }, 'lotus call failed, retrying')
        }
      }
      throw finalError(last!, full, attempts, opts.idempotent === false)
    } catch (err) {
      rpcErrors.inc({ ...labels, code: (err as { code?: string }).code ?? 'ERR_UNKNOWN' })
      throw err
    } finally {
      end()
    }
  }

  async #once (method: string, params: unknown[], timeoutMs: number | null, outer: AbortSignal | undefined, maxBytes: number): Promise<unknown> {
    const id = this.#nextId++
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params })
    const signals: AbortSignal[] = []
    const timeout = timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)
    if (timeout !== undefined) signals.push(timeout)
    if (outer !== undefined) signals.push(outer)
    const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined
    let status: number
    let text: string
    try {
      const res = await request(this.endpoint.url, { method: 'POST', headers: this.headers(), body, dispatcher: this.#dispatcher, signal })
      status = res.statusCode
      text = await readBody(res, maxBytes, `lotus ${this.name}: ${method}`)
    } catch (err) {
      if (err instanceof LotusRpcError) throw err
      if (outer?.aborted === true) throw outer.reason ?? err
      if (timeout?.aborted === true) {
        throw new LotusRpcError('ERR_LOTUS_TIMEOUT', `lotus ${this.name}: ${method}: no answer within ${timeoutMs} ms`, { cause: err, method })
      }
      const code = (err as { code?: string }).code
      throw new LotusRpcError('ERR_LOTUS_TRANSPORT', `lotus ${this.name}: ${method}: ${code ?? ''}${code != null ? ' ' : ''}${(err as Error).message}`, { cause: err, method })
    }
    return parseResponse(this.name, method, status, text)
  }
}

/** Interprets one HTTP answer of go-jsonrpc. Exported for unit tests. */
export function parseResponse (name: string, method: string, status: number, text: string): unknown {
  // 403 too: a proxy or gateway in front of Lotus refusing the token; retrying will not change it.
  if (status === 401 || status === 403) {
    throw new LotusRpcError('ERR_LOTUS_AUTH', `lotus ${name}: ${method}: token refused (HTTP ${status})`, { method, httpStatus: status })
  }
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { parsed = undefined }
  const env = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined
  const error = env?.error
  if (error !== undefined && error !== null && typeof error === 'object') {
    const e = error as { code?: unknown, message?: unknown }
    const rpcCode = typeof e.code === 'number' ? e.code : undefined
    const msg = typeof e.message === 'string' ? e.message : JSON.stringify(error)
    throw new LotusRpcError('ERR_LOTUS_RPC', `lotus ${name}: ${method}: ${msg}`, { method, rpcCode, httpStatus: status })
  }
  if (status !== 200 || env === undefined) {
    // A proxy's 502, a restarting node's 503, a truncated body: no answer from Lotus itself.
    const snippet = text.slice(0, 120).replace(/\s+/g, ' ').trim()
    throw new LotusRpcError('ERR_LOTUS_TRANSPORT', `lotus ${name}: ${method}: HTTP ${status}${snippet !== '' ? `: ${snippet}` : ''}`, { method, httpStatus: status })
  }
  return env.result ?? null
}

function finalError (last: LotusRpcError, method: string, attempts: number, push: boolean): LotusRpcError {
  if (attempts > 1 && last.code === 'ERR_LOTUS_TRANSPORT') {
    return new LotusRpcError('ERR_LOTUS_UNAVAILABLE', `${last.message} (gave up after ${attempts} attempts)`, { cause: last, method, attempts, httpStatus: last.httpStatus })
  }
  if (push && last.code === 'ERR_LOTUS_TRANSPORT') {
    // The push may or may not have reached the node: the caller repeats it with the same MsgUuid.
    return new LotusRpcError('ERR_LOTUS_TRANSPORT', `${last.message} (not retried: the call is not idempotent)`, { cause: last, method, attempts, httpStatus: last.httpStatus })
  }
  return last
}

