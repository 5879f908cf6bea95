/**
 * A minimal HTTP/1.1 GET client for bulk downloads: one request per connection (`Connection:
 * close`), the response head parsed here, and the body decoded (Content-Length, chunked, or until
 * close) straight into the caller's buffers. Plain TCP uses net's `onread` so the kernel copies
 * socket data directly into the caller's write buffer: no per-read Buffer, no stream machinery
 * (measured on 2 GiB over loopback: ~0.25 CPU-s against ~1.4 for undici's body stream). TLS goes
 * through 'data' events and one copy. The caller vets the address (SSRF guard) before we connect.
 */
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { isIP } from 'node:net'
import { TransferError, TransferErrorCodes, RetryableError } from './errors.ts'

export type Headers = Record<string, string | string[] | undefined>

/** Where body bytes go. */
export interface BodyTarget {
  /** The region the next socket read lands in (its free tail); at least 1 byte. */
  space (): Uint8Array
  /**
   * `n` body bytes sit at the start of `region` (a region `space()` returned, or another buffer:
   * then the target copies them). Returns false when the target has no room for another read:
   * reading pauses until `resume` (given to `attach`) is called.
   */
  accept (region: Uint8Array, n: number): boolean
  /** Called once before the first accept with the function that resumes a paused read. */
  attach (resume: () => void): void
}

export interface GetOptions {
  /** Resolves and vets `hostname`; returns the address to connect to. */
  address: (hostname: string) => Promise<string>
  signal: AbortSignal
  connectTimeoutMs?: number
  /** Extra trusted CAs for https (tests; production uses the system store). */
  ca?: string | Buffer
}

/** Informational (1xx) heads before the response's own: Go's net/http allows 5. */
const MAX_INFORMATIONAL = 5
const MAX_HEAD = 64 << 10
const SCRATCH = 64 << 10
const FORBIDDEN = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'te', 'upgrade', 'keep-alive'])

/** Sends `GET url` and resolves once the response head arrived; the body is read by the caller. */
export async function get (url: URL, headers: Record<string, string>, opts: GetOptions): Promise<Http1Response> {
  opts.signal.throwIfAborted()
  const head = requestHead(url, headers)
  const tlsOn = url.protocol === 'https:'
  const port = url.port !== '' ? Number(url.port) : tlsOn ? 443 : 80
  const bare = url.hostname.replace(/^\[|\]$/g, '')
  const ip = await opts.address(url.hostname)
  opts.signal.throwIfAborted()
  const res = new Http1Response()
  const socket: Socket = tlsOn
    ? tlsConnect({ host: ip, port, servername: isIP(bare) === 0 ? bare : undefined, ALPNProtocols: ['http/1.1'], ...(opts.ca !== undefined ? { ca: opts.ca } : {}) })
    : netConnect({ host: ip, port, onread: { buffer: () => res.region(), callback: (n: number) => res.onRead(n) } })
  if (tlsOn) socket.on('data', (chunk: Buffer) => { res.onChunk(chunk) })
  res.bind(socket, opts.signal)
  socket.setNoDelay(true)
  const timeout = opts.connectTimeoutMs ?? 30_000
  const timer = setTimeout(() => { res.fail(new RetryableError('CONNECT_TIMEOUT', `connect to ${url.host}: no connection after ${timeout} ms`)) }, timeout)
  socket.once(tlsOn ? 'secureConnect' : 'connect', () => { clearTimeout(timer) })
  socket.write(head)
  try {
    return await res.head
  } finally { clearTimeout(timer) }
}

/**
 * What Go's net/http (boost's transfer client) sends, and so what a header of a deal, a flag or a
 * params file may be: a token name (httpguts.ValidHeaderFieldName), a value with no control
 * character but tab (httpguts.ValidHeaderFieldValue).
 */
export const isHeaderName = (name: string): boolean => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)
export const isHeaderValue = (value: string): boolean => !/[\x00-\x08\x0a-\x1f\x7f]/.test(value)

function requestHead (url: URL, headers: Record<string, string>): string {
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n`
  let ua = false
  const basic = basicAuthOf(url, headers)
  for (const [k, v] of Object.entries(headers)) {
    // Go sets its Basic header in place of an empty Authorization one (Header.Set).
    if (basic !== undefined && k.toLowerCase() === 'authorization') continue
    if (!isHeaderName(k) || !isHeaderValue(v)) {
      throw new TransferError(TransferErrorCodes.Params, `transfer header ${JSON.stringify(k)}: invalid name or value`)
    }
    if (FORBIDDEN.has(k.toLowerCase())) continue
    if (k.toLowerCase() === 'user-agent') ua = true
    head += `${k}: ${v}\r\n`
  }
  if (!ua) head += 'User-Agent: dealyard-transfer\r\n'
  if (basic !== undefined) head += `Authorization: ${basic}\r\n`
  return head + '\r\n'
}

/**
 * Credentials in the URL (`https://user:pass@host/…`) as Go's http.Client (boost's transfer) sends
 * them: Basic auth, unless the request already has an Authorization header. Per request, so a
 * redirect to a URL without credentials sends none.
 */
export function basicAuthOf (url: URL, headers: Record<string, string>): string | undefined {
  if (url.username === '' && url.password === '') return undefined
  // Go: only when req.Header.Get("Authorization") is empty.
  if (Object.entries(headers).some(([k, v]) => k.toLowerCase() === 'authorization' && v !== '')) return undefined
  return `Basic ${Buffer.concat([percentDecoded(url.username), Buffer.from(':'), percentDecoded(url.password)]).toString('base64')}`
}

/**
 * The bytes a WHATWG userinfo component (ASCII, %-escaped) stands for, as Go's url.User holds them:
 * %ff is the byte 0xff, not text (decodeURIComponent refuses escapes that are not UTF-8).
 */
function percentDecoded (s: string): Buffer {
  const out: number[] = []
  for (let i = 0; i < s.length; i++) {
    const hex = s[i] === '%' ? s.slice(i + 1, i + 3) : ''
    if (/^[0-9a-fA-F]{2}$/.test(hex)) { out.push(parseInt(hex, 16)); i += 2 } else out.push(...Buffer.from(s[i]!, 'utf8'))
  }
  return Buffer.from(out)
}

type Framing = { kind: 'none' } | { kind: 'length', left: number } | { kind: 'close' } | { kind: 'chunked' }

export class Http1Response {
  statusCode = 0
  headers: Headers = {}
  /**
   * The body's length when the framing gives one (Content-Length, identical values of a list
   * merged); undefined for chunked (which overrides any Content-Length, RFC 9112 §6.3) and
   * close-delimited bodies.
   */
  contentLength: number | undefined
  readonly head: Promise<Http1Response>
  #headResolve!: (r: Http1Response) => void
  #headReject!: (e: Error) => void
  #headDone = false
  #socket: Socket | undefined
  #scratch: Buffer = Buffer.allocUnsafe(SCRATCH)
  /** Head bytes gathered so far (a response head may span reads). */
  #headBuf = Buffer.allocUnsafe(0)
  /** Body bytes that came with the head, before a target was attached. */
  #early: Buffer[] = []
  #lastRegion: Uint8Array = this.#scratch
  #target: BodyTarget | undefined
  #framing: Framing = { kind: 'close' }
  #chunk = new ChunkedDecoder()
  #bodyDone = false
  #ended = false
  #error: Error | undefined
  #bodyResolve: (() => void) | undefined
  #bodyReject: ((e: Error) => void) | undefined

  constructor () {
    this.head = new Promise((resolve, reject) => { this.#headResolve = resolve; this.#headReject = reject })
    this.head.catch(() => {})
  }

  bind (socket: Socket, signal: AbortSignal): void {
    this.#socket = socket
    const onAbort = (): void => { this.fail(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason))) }
    signal.addEventListener('abort', onAbort, { once: true })
    socket.on('error', (err: NodeJS.ErrnoException) => { this.fail(new RetryableError(err.code ?? 'SOCKET', `connection: ${err.message}`, { cause: err })) })
    socket.on('close', () => {
      signal.removeEventListener('abort', onAbort)
      this.#onEnd()
    })
    socket.on('end', () => { this.#onEnd() })
  }

  /** The buffer for the next read: the target's free region once the body flows, else scratch. */
  region (): Uint8Array {
    this.#lastRegion = this.#target !== undefined && this.#headDone && this.#error === undefined && !this.#bodyDone ? this.#target.space() : this.#scratch
    return this.#lastRegion
  }

  onRead (n: number): boolean {
    return this.#data(this.#lastRegion, n)
  }

  onChunk (chunk: Buffer): void {
    if (!this.#data(chunk, chunk.length)) this.#socket?.pause()
  }

  /** Reads the whole body into `target`; rejects on a connection failure (bytes accepted so far stay accepted). */
  async readBody (target: BodyTarget): Promise<void> {
    if (this.#target !== undefined) throw new Error('body already read')
    this.#target = target
    target.attach(() => { this.#socket?.resume() })
    const done = new Promise<void>((resolve, reject) => { this.#bodyResolve = resolve; this.#bodyReject = reject })
    for (const b of this.#early.splice(0)) this.#body(b, b.length)
    if (this.#framing.kind === 'none' || (this.#framing.kind === 'length' && this.#framing.left === 0) || (this.#framing.kind === 'close' && this.#ended)) this.#finishBody()
    else if (this.#error !== undefined) this.#bodyReject?.(this.#error)
    else this.#socket?.resume()
    return await done
  }

  /** Up to `max` bytes of the body as text (error pages), then closes. */
  async text (max = 4096): Promise<string> {
    const buf = Buffer.allocUnsafe(max)
    let len = 0
    let resume = (): void => {}
    await this.readBody({
      space: () => buf.subarray(len < max ? len : 0),
      accept: (region, n) => {
        const take = Math.min(n, max - len)
        if (region.buffer !== buf.buffer || region.byteOffset !== buf.byteOffset + len) buf.set(region.subarray(0, take), len)
        len += take
        if (len >= max) { this.close(); resume() }
        return true
      },
      attach: (r) => { resume = r }
    }).catch(() => {})
    return buf.toString('utf8', 0, len)
  }

  /** Drops the connection (we never reuse one). */
  close (): void {
    if (!this.#bodyDone && this.#error === undefined) this.#error = new Error('closed')
    this.#bodyDone = true
    this.#bodyResolve?.()
    this.#socket?.destroy()
  }

  fail (err: Error): void {
    if (this.#error !== undefined || this.#bodyDone) { this.#socket?.destroy(); return }
    this.#error = err
    this.#socket?.destroy()
    if (!this.#headDone) this.#headReject(err)
    this.#bodyReject?.(err)
  }

  #informational = 0

  #data (region: Uint8Array, n: number): boolean {
    if (this.#error !== undefined || this.#bodyDone) return false
    if (this.#headDone) return this.#body(region, n)
    // Gather head bytes (heads are small: copying them is fine).
    const prev = this.#headBuf.length
    this.#headBuf = Buffer.concat([this.#headBuf, region.subarray(0, n)])
    const end = headEnd(this.#headBuf, prev)
    if (end < 0) {
      if (this.#headBuf.length > MAX_HEAD) this.fail(new RetryableError('HEAD_TOO_LARGE', `response head over ${MAX_HEAD} bytes`))
      return true
    }
    const rest = this.#headBuf.subarray(end)
    try {
      this.#parseHead(headLines(this.#headBuf.toString('latin1', 0, end)))
    } catch (err) {
      this.fail(err as Error)
      return false
    }
    if (this.statusCode < 200) {
      // 1xx informational: the real head follows. At most MAX_INFORMATIONAL of them, as Go's
      // client (boost's) allows: a server sending nothing else held a core and ~0.5 GB for each
      // stall timeout (red-team round 50).
      if (++this.#informational > MAX_INFORMATIONAL) {
        this.fail(new RetryableError('TOO_MANY_1XX', `more than ${MAX_INFORMATIONAL} informational (1xx) responses`))
        return false
      }
      this.#headBuf = Buffer.allocUnsafe(0)
      return rest.length === 0 ? true : this.#data(rest, rest.length)
    }
    this.#headDone = true
    this.#headBuf = Buffer.allocUnsafe(0)
    if (rest.length > 0) this.#early.push(Buffer.from(rest))
    this.#headResolve(this)
    // Wait for the caller to attach a target (or close) before reading on.
    return false
  }

  #parseHead (lines: string[]): void {
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '')
    if (m === null) throw new RetryableError('BAD_RESPONSE', `malformed status line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`)
    this.statusCode = Number(m[1])
    const h: Headers = {}
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':')
      if (c <= 0) throw new RetryableError('BAD_RESPONSE', `malformed header line ${JSON.stringify(line.slice(0, 80))}`)
      const k = line.slice(0, c).trim().toLowerCase()
      const v = line.slice(c + 1).trim()
      const old = h[k]
      h[k] = old === undefined ? v : Array.isArray(old) ? [...old, v] : [old, v]
    }
    this.headers = h
    const te = h['transfer-encoding']
    const cl = h['content-length']
    if (this.statusCode === 204 || this.statusCode === 304) this.#framing = { kind: 'none' }
    else if (te !== undefined) {
      checkTransferEncoding(te)
      this.#framing = { kind: 'chunked' }
    } else if (cl !== undefined) {
      const values = new Set((Array.isArray(cl) ? cl : [cl]).flatMap((v) => v.split(',')).map((v) => v.trim()))
      const v = [...values][0] ?? ''
      if (values.size !== 1 || !/^\d+$/.test(v)) throw new RetryableError('BAD_RESPONSE', `invalid content-length ${String(cl)}`)
      this.#framing = { kind: 'length', left: Number(v) }
      this.contentLength = Number(v)
    } else this.#framing = { kind: 'close' }
  }

  /** Decodes the framing of `region[0..n)` in place and hands the body bytes to the target. */
  #body (region: Uint8Array, n: number): boolean {
    const target = this.#target
    if (target === undefined) { this.#early.push(Buffer.from(region.subarray(0, n))); return false }
    let k = n
    let complete = false
    const f = this.#framing
    if (f.kind === 'length') {
      k = Math.min(n, f.left)
      f.left -= k
      complete = f.left === 0
    } else if (f.kind === 'chunked') {
      try {
        k = this.#chunk.decode(region, n)
      } catch (err) { this.fail(err as Error); return false }
      complete = this.#chunk.done
    } else if (f.kind === 'none') {
      k = 0
      complete = true
    }
    let more = true
    if (k > 0) {
      try {
        more = target.accept(region, k)
      } catch (err) { this.fail(err as Error); return false }
    }
    if (complete) { this.#finishBody(); return false }
    return more
  }

  #finishBody (): void {
    if (this.#bodyDone) return
    this.#bodyDone = true
    this.#socket?.destroy()
    this.#bodyResolve?.()
  }

  #onEnd (): void {
    this.#ended = true
    if (this.#bodyDone || this.#error !== undefined) return
    if (!this.#headDone) { this.fail(new RetryableError('CONNECTION_CLOSED', 'connection closed before the response head')); return }
    if (this.#framing.kind === 'close' && this.#target !== undefined) { this.#finishBody(); return }
    if (this.#framing.kind === 'close') return // body not read yet: readBody finishes it
    this.fail(new RetryableError('CONNECTION_CLOSED', 'connection closed before the end of the body'))
  }
}

/**
 * Where the body starts: just past the empty line that ends the response head (searching LFs from
 * `from`), or -1 while it has not all arrived. A line ends in LF, with or without a CR before it,
 * as Go's net/http reads heads (textproto.Reader on bufio.Reader.ReadLine): boost's client takes
 * responses from servers that end lines in a bare LF, so ours must too.
 */
export function headEnd (buf: Buffer, from: number): number {
  for (let lf = buf.indexOf(0x0a, from); lf >= 0; lf = buf.indexOf(0x0a, lf + 1)) {
    const eol = lf > 0 && buf[lf - 1] === 0x0d ? lf - 1 : lf
    // The line is empty when its line end follows the previous line's LF (or starts the buffer).
    if (eol === 0 || buf[eol - 1] === 0x0a) return lf + 1
  }
  return -1
}

/** The lines of a head `headEnd` delimited, without their line ends nor the empty last line. */
function headLines (text: string): string[] {
  const lines = text.split('\n').map((l) => l.endsWith('\r') ? l.slice(0, -1) : l)
  // The text ends in the empty line's LF: the split gives the empty line, then ''.
  return lines.slice(0, -2)
}

/**
 * A Transfer-Encoding we can decode: exactly one field, `chunked` (any case). Anything else (`gzip,
 * chunked`, `identity`, two fields) is refused as Go's net/http refuses it ("unsupported transfer
 * encoding", transfer.go parseTransferEncoding): taking `gzip, chunked` as chunked stored gzip bytes
 * as the deal's data. Retryable like the other malformed responses: a proxy on the way may be what
 * adds the coding, and another attempt may not go through it.
 */
function checkTransferEncoding (te: string | string[]): void {
  if (Array.isArray(te)) {
    throw new RetryableError('UNSUPPORTED_TRANSFER_ENCODING', `response has ${te.length} Transfer-Encoding fields (${te.map(shown).join(', ')}): only one, chunked, can be decoded`)
  }
  if (te.toLowerCase() !== 'chunked') {
    throw new RetryableError('UNSUPPORTED_TRANSFER_ENCODING', `unsupported Transfer-Encoding ${shown(te)}: only chunked can be decoded`)
  }
}

/** A header value for an error message: quoted, control characters escaped, at most 100 characters. */
export function shown (v: string): string {
  return JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}…` : v)
}

/**
 * Go's net/http limits on the framing (internal/chunked.go, transfer.go): a chunk-size line, CRLF
 * included, and a trailer section must each fit its 4 KiB read buffer, and the chunk-size lines and
 * CRLFs may come to 16 bytes per chunk plus twice its data, plus 16 KiB.
 */
const MAX_CHUNK_LINE = 4096
const MAX_TRAILER = 4096
const MAX_EXCESS = 16 << 10

const CR = 0x0d
const LF = 0x0a

/**
 * Chunked transfer coding, decoded in place (body bytes move left over the framing), taking what
 * Go's net/http (boost's client) takes and refusing what it refuses. Chunk-size lines end in CRLF
 * only: a bare LF, or a CR anywhere else on the line, is refused (Go since 1.23.8 / 1.24.2,
 * CVE-2025-22871: a proxy that ends chunk lines at a bare LF reads another body than a client that
 * takes the LF as part of an extension). After the hex digits comes optional white space to
 * the line's end, or a `;` and an extension of any bytes but CR and LF; white space before the `;`
 * is refused, as Go refuses it.
 */
export class ChunkedDecoder {
  done = false
  #state: 'size' | 'ws' | 'ext' | 'size-lf' | 'data' | 'data-cr' | 'data-lf' | 'trailer' = 'size'
  #size = 0
  #digits = 0
  #left = 0
  /** Bytes of the current chunk-size line, its CRLF included. */
  #lineLen = 0
  /** Framing bytes past what the chunks' sizes allow for (Go's `excess`). */
  #excess = 0
  /** The trailer section, taken whole before it is checked (Go peeks at it the same way). */
  #trailer: Buffer | undefined
  #trailerLen = 0

  decode (buf: Uint8Array, n: number): number {
    let o = 0
    let i = 0
    while (i < n && !this.done) {
      switch (this.#state) {
        case 'data': {
          const take = Math.min(this.#left, n - i)
          if (o !== i) buf.copyWithin(o, i, i + take)
          o += take; i += take; this.#left -= take
          if (this.#left === 0) this.#state = 'data-cr'
          break
        }
        case 'size': case 'ws': case 'ext': case 'size-lf':
          // Go reads the line into its 4 KiB buffer: without an LF in it, the line is too long.
          if (++this.#lineLen > MAX_CHUNK_LINE) throw bad(`chunk-size line longer than ${MAX_CHUNK_LINE} bytes`)
          this.#sizeLine(buf[i++]!)
          break
        case 'data-cr': if (buf[i++] !== CR) throw bad('missing CRLF after chunk'); this.#state = 'data-lf'; break
        case 'data-lf': if (buf[i++] !== LF) throw bad('missing CRLF after chunk'); this.#state = 'size'; break
        case 'trailer': this.#trailerByte(buf[i++]!); break
      }
    }
    return o
  }

  #sizeLine (c: number): void {
    if (c === LF && this.#state !== 'size-lf') throw bad('chunk-size line ends in a bare LF')
    switch (this.#state) {
      case 'size': {
        const d = hex(c)
        if (d >= 0) {
          // Go's internal/chunked parseHexUint: up to 16 hex digits, so leading zeros pad a size
          // to 16. A value past 2^53 cannot be counted here exactly, nor be a real chunk of a deal.
          if (++this.#digits > 16) throw bad('chunk size has more than 16 hex digits')
          this.#size = this.#size * 16 + d
          if (this.#size > Number.MAX_SAFE_INTEGER) throw bad('chunk size too large')
        } else if (c === 0x3b) {
          this.#state = 'ext'
        } else if (c === 0x20 || c === 0x09) {
          this.#state = 'ws'
        } else if (c === CR) {
          this.#state = 'size-lf'
        } else throw bad('bad chunk size')
        break
      }
      // Go trims white space off the line's end, then cuts the extension off at the first `;`:
      // what stays must be hex digits alone.
      case 'ws':
        if (c === CR) this.#state = 'size-lf'
        else if (c !== 0x20 && c !== 0x09) throw bad('bad chunk size (white space inside the chunk-size line)')
        break
      case 'ext': if (c === CR) this.#state = 'size-lf'; break
      case 'size-lf': {
        if (c !== LF) throw bad('CR inside a chunk-size line')
        if (this.#digits === 0) throw bad('bad chunk size line')
        // Go's overhead allowance, not applied to the last chunk (its EOF replaces the error).
        this.#excess = Math.max(0, this.#excess + this.#lineLen - 16 - 2 * this.#size)
        if (this.#size > 0 && this.#excess > MAX_EXCESS) throw bad('too much framing for the data (chunk extensions or tiny chunks)')
        this.#left = this.#size
        this.#state = this.#size === 0 ? 'trailer' : 'data'
        this.#size = 0; this.#digits = 0; this.#lineLen = 0
        break
      }
    }
  }

  /**
   * The trailer section, as Go's body.readTrailer reads it: a CRLF alone ends the body; otherwise
   * the section runs to the first CRLF CRLF, which must come within 4 KiB (a bare LF empty line
   * does not end it), and its fields are checked as textproto.ReadMIMEHeader checks them.
   */
  #trailerByte (c: number): void {
    const t = this.#trailer ??= Buffer.allocUnsafe(MAX_TRAILER)
    const n = ++this.#trailerLen
    t[n - 1] = c
    if (n === 2 && t[0] === CR && t[1] === LF) { this.done = true; return }
    if (n >= 4 && t[n - 4] === CR && t[n - 3] === LF && t[n - 2] === CR && t[n - 1] === LF) {
      checkTrailer(t.toString('latin1', 0, n))
      this.done = true
      return
    }
    if (n === MAX_TRAILER) throw bad(`trailer section longer than ${MAX_TRAILER} bytes`)
  }
}

/**
 * textproto.ReadMIMEHeader's checks up to the first empty line (what follows it is never read):
 * lines end in LF with or without a CR before it; a line starting with white space continues the
 * previous field (the first may not); a field has a colon, a name of token characters and spaces,
 * and a value of visible characters, space, tab and bytes over 0x7f.
 */
function checkTrailer (text: string): void {
  if (text[0] === ' ' || text[0] === '\t') throw bad(`trailer starts with white space: ${shown(text.slice(0, 80))}`)
  const lines = text.split('\n').map((l) => l.endsWith('\r') ? l.slice(0, -1) : l)
  for (let i = 0; i < lines.length;) {
    const first = lines[i++]!
    if (first === '') return
    if (!first.includes(':')) throw bad(`trailer field without a colon: ${shown(first)}`)
    let field = first.replace(/[ \t]+$/, '')
    while (i < lines.length && /^[ \t]/.test(lines[i]!)) field += ' ' + lines[i++]!.replace(/^[ \t]+|[ \t]+$/g, '')
    const colon = field.indexOf(':')
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z -]+$/.test(field.slice(0, colon)) || !/^[\t\x20-\x7e\x80-\xff]*$/.test(field.slice(colon + 1))) {
      throw bad(`malformed trailer field ${shown(field)}`)
    }
  }
}

function hex (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

function bad (what: string): Error { return new RetryableError('BAD_CHUNKING', `chunked body: ${what}`) }
