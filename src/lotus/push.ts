/**
 * io.Reader parameters over JSON-RPC, as lotus-miner decodes them (lotus/lib/rpcenc, registered on
 * the miner's go-jsonrpc server; go-jsonrpc's own httpio package is not what Lotus mounts):
 *
 * - the param slot holds `{"Type":"push","Info":"<uuid>"}`, and the bytes go to
 *   `<rpc url>/../streams/v0/push/<uuid>` (…/rpc/v0 → …/rpc/streams/v0/push/<uuid>) in a separate
 *   HTTP request, concurrently with the call;
 * - we send HEAD first, as Lotus's Go client does: the miner answers 200 when the method starts
 *   reading (then we POST the body), 204 when it closed the reader unread, 302 to hand the stream
 *   to a worker; so no body is held open while the miner waits for a sector;
 * - `{"Type":"null","Info":"<n>"}` is a reader of n zero bytes and needs no upload.
 *
 * The body is the staged data followed by zeros up to the unpadded piece size, streamed with
 * back-pressure, never buffered whole.
 */
import { Readable } from 'node:stream'
import { request, type Dispatcher } from 'undici'
import { LotusRpcError } from './errors.ts'
import { readBody } from './rpc.ts'
import { pushBytes } from './metrics.ts'

export type PieceData = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | NodeJS.ReadableStream

export interface ReaderStream { Type: 'push' | 'null' | 'http', Info: string }

/** …/rpc/v0 → …/rpc/streams/v0/push (lotus/api/client getPushUrl). */
export function pushBaseUrl (rpcUrl: string): string {
  const u = new URL(rpcUrl)
  if (u.protocol === 'ws:') u.protocol = 'http:'
  if (u.protocol === 'wss:') u.protocol = 'https:'
  const parts = u.pathname.split('/').filter((p) => p !== '')
  parts.pop()
  u.pathname = '/' + [...parts, 'streams', 'v0', 'push'].join('/')
  u.search = ''
  return u.toString()
}

const ZERO_CHUNK = new Uint8Array(1 << 20)

/**
 * `data` followed by zero bytes up to exactly `size` bytes. Throws ERR_LOTUS_STREAM if `data` is
 * longer than `size`: the miner reads exactly `size` bytes, and silently cutting would commit
 * to a different piece.
 */
export async function * padTo (data: PieceData, size: number): AsyncGenerator<Uint8Array> {
  let sent = 0
  for await (const chunk of data as AsyncIterable<Uint8Array | string> | Iterable<Uint8Array>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (sent + b.length > size) {
      throw new LotusRpcError('ERR_LOTUS_STREAM', `piece data is longer than the unpadded piece size ${size}`, { retry: 'fatal' })
    }
    sent += b.length
    if (b.length > 0) yield b
  }
  while (sent < size) {
    const n = Math.min(ZERO_CHUNK.length, size - sent)
    yield n === ZERO_CHUNK.length ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, n)
    sent += n
  }
}

async function * counted (src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const b of src) {
    pushBytes.inc(b.length)
    yield b
  }
}

export interface PushOptions {
  headers: Record<string, string>
  dispatcher: Dispatcher
  signal: AbortSignal
}

export type PushOutcome = 'sent' | 'unread'

/**
 * Uploads `body` (exactly `size` bytes) to a push URL: HEAD (following 302s) until the miner asks
 * for the data, then POST with Content-Length so the miner's reader sees EOF with the last byte.
 */
export async function pushStream (url: string, body: AsyncIterable<Uint8Array>, size: number, opts: PushOptions): Promise<PushOutcome> {
  const headers = { ...opts.headers, 'content-type': 'application/octet-stream' }
  let target = url
  for (let hops = 0; ; hops++) {
    if (hops > 8) throw new LotusRpcError('ERR_LOTUS_STREAM', `push ${url}: too many redirects`)
    const res = await request(target, { method: 'HEAD', headers, dispatcher: opts.dispatcher, signal: opts.signal })
    await res.body.dump()
    if (res.statusCode === 302) {
      const loc = res.headers.location
      if (typeof loc !== 'string') throw new LotusRpcError('ERR_LOTUS_STREAM', `push ${target}: 302 without Location`)
      target = new URL(loc, target).toString()
      continue
    }
    if (res.statusCode === 204) return 'unread'
    if (res.statusCode !== 200) {
      throw new LotusRpcError('ERR_LOTUS_STREAM', `push ${target}: HEAD answered HTTP ${res.statusCode}`, { httpStatus: res.statusCode })
    }
    break
  }
  const res = await request(target, {
    method: 'POST',
    headers: { ...headers, 'content-length': String(size) },
    body: Readable.from(counted(body), { objectMode: false, highWaterMark: 1 << 20 }),
    dispatcher: opts.dispatcher,
    signal: opts.signal
  })
  // The miner answers an upload with an empty body or a short error text.
  const text = await readBody(res, 1 << 20, `push ${target}`)
  if (res.statusCode !== 200) {
    throw new LotusRpcError('ERR_LOTUS_STREAM', `push ${target}: POST answered HTTP ${res.statusCode}: ${text.slice(0, 120)}`, { httpStatus: res.statusCode })
  }
  return 'sent'
}
