/**
 * js-yamux with go-yamux's window-update policy, DATA frames delivered per batch, frames decoded
 * straight off each read, and DATA frames refused by their header when longer than the receive
 * window allows, before their body is buffered (patchMuxerDecoding, below).
 *
 * Why: @chainsafe/libp2p-yamux answers every received DATA frame with a WINDOW_UPDATE (each its
 * own noise message and socket write), where go-yamux sends one only when at least half the
 * window has been consumed or a flag (SYN/ACK) must go out. boost's client writes a proposal with
 * cbor-gen's unbuffered MarshalCBOR, field by field: ~65 DATA frames per proposal (counted), so
 * the ingress answered each proposal with as many window updates (0.31 ms per proposal in a CPU
 * profile of the ingress bench, more than signature recovery). Skipping updates below half the
 * window changes nothing a peer can rely on: its send window stays above half of what it was
 * granted, and the update still comes before it could stall.
 *
 * The same client's dozens of frames per proposal also cost one `message` event each on the
 * stream (an Event object, EventTarget dispatch, a read-buffer copy, an async-iterator turn).
 * The DATA frames without flags that one decoded batch
 * holds for a stream are gathered and handed to the stream once, in a microtask after the batch
 * (the muxer decodes a whole read synchronously); flow-control accounting stays per frame, and
 * any frame with a flag, a window update, or a frame over the window first delivers what is
 * gathered, so data always precedes the FIN or RST that follows it. (38 frames per delivery,
 * counted in the bench.) Together, in the bench's ingress CPU per proposal: 2.05–2.34 → ~2.0 ms;
 * the larger share of the gain showed in the clients', which receive fewer frames.
 *
 * Both patch YamuxStream.prototype (the class @chainsafe/libp2p-yamux exports as `./stream`)
 * once per process; where a release changes the fields they rest on (state, recvWindow,
 * recvWindowCapacity, onData), they stand aside and test/unit/ingress/yamux.spec.ts fails.
 */
import { GoAwayCode, yamux as jsYamux } from '@chainsafe/libp2p-yamux'
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'
import { Uint8ArrayList } from 'uint8arraylist'
import { DealyardError } from '../errors.ts'
import { TokenBucket } from '../token-bucket.ts'
import { pingsDropped, streamsWaiting } from './metrics.ts'
import { noteConnectionClosed } from './connection-closes.ts'

interface WindowFields { state: StreamState, recvWindow: number, recvWindowCapacity: number }

interface Frame { header: { flag: number, length: number }, data?: Uint8Array | Uint8ArrayList | null }

interface DataFields extends WindowFields {
  protocol?: string
  abort?: (err: Error) => void
  [negotiating]?: NegotiatingStream
  onData: (data: Uint8Array | Uint8ArrayList) => void
  processFlags?: (flags: number) => void
  sendWindowUpdate: () => void
  [gathered]?: Uint8ArrayList | undefined
}

const gathered = Symbol('dealyard.yamux.gathered')

let patched = false

export function patchYamuxStreams (): boolean {
  if (patched) return true
  const proto = YamuxStream.prototype as unknown as {
    sendWindowUpdate?: (this: WindowFields) => void
    handleData?: (this: DataFields, frame: Frame) => void
    handleWindowUpdate?: (this: DataFields, frame: Frame) => void
  }
  const original = proto.sendWindowUpdate
  const handleData = proto.handleData
  const handleWindowUpdate = proto.handleWindowUpdate
  if (typeof original !== 'function' || typeof handleData !== 'function' || typeof handleWindowUpdate !== 'function') return false
  proto.sendWindowUpdate = function (this: WindowFields): void {
    const fieldsKnown = typeof this.recvWindow === 'number' && typeof this.recvWindowCapacity === 'number'
    // Established: no SYN or ACK to carry (Init/SYNReceived), not paused (the original tracks that).
    if (fieldsKnown && this.state === StreamState.Established && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
    original.call(this)
  }
  const deliver = (stream: DataFields): void => {
    const data = stream[gathered]
    if (data === undefined) return
    stream[gathered] = undefined
    stream.onData(data)
  }
  proto.handleData = function (this: DataFields, frame: Frame): void {
    const n = this[negotiating]
    if (n !== undefined && frame.header.length > 0 && this.protocol === '' && !n.count(frame.header.length)) {
      this.abort?.(new DealyardError('ERR_RESOURCE', `streams still negotiating their protocol hold more than ${n.budget.limit} bytes on this connection`))
      return
    }
    if (frame.data != null) frame = { header: frame.header, data: unpinned(frame.data) }
    const len = frame.header.length
    const flag = frame.header.flag
    if ((flag & FLAG_FIN) !== 0 && (flag & FLAG_RST) === 0 && len > 0 && frame.data != null && typeof this.processFlags === 'function') {
      // The yamux spec lets the last DATA frame carry the FIN. js-yamux processes a frame's flags
      // before its data, so the stream ended first and the request it carried was lost (no
      // answer); go-yamux, under boost, buffers the data and reads it before the EOF. Data first.
      deliver(this)
      handleData.call(this, { header: { ...frame.header, flag: flag & ~FLAG_FIN }, data: frame.data })
      this.processFlags(FLAG_FIN)
      return
    }
    if (flag !== 0 || frame.data == null || typeof this.recvWindowCapacity !== 'number' || this.recvWindowCapacity < len) {
      deliver(this)
      handleData.call(this, frame)
      return
    }
    this.recvWindowCapacity -= len
    let list = this[gathered]
    if (list === undefined) {
      list = this[gathered] = new Uint8ArrayList()
      queueMicrotask(() => { deliver(this) })
    }
    list.append(frame.data)
    this.sendWindowUpdate()
  }
  proto.handleWindowUpdate = function (this: DataFields, frame: Frame): void {
    deliver(this)
    handleWindowUpdate.call(this, frame)
  }
  patched = true
  return true
}

/**
 * A DATA frame's body, copied when it is a small part of the buffer it lies in. Bodies are
 * subarrays of the decrypted socket read (decoding and decryption hand on views, not copies), so a
 * stream holding a 1-byte frame held the whole ~64 KiB read: what a stream's buffers count (4 MiB
 * unread, the request limits) was a small part of what it kept (1 GB from 8 KB counted, measured).
 * Copied, a body keeps at most twice its size.
 */
function unpinned (data: Uint8Array | Uint8ArrayList): Uint8Array {
  const bytes = data instanceof Uint8Array ? data : data.subarray()
  if (bytes.byteLength * 2 >= bytes.buffer.byteLength) return bytes
  // Not slice(): on a Node Buffer (what sockets deliver) it is a view too.
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy
}

const HEADER_BYTES = 12
const YAMUX_VERSION = 0
const FRAME_DATA = 0
const FRAME_WINDOW_UPDATE = 1
const decodingPatched = Symbol('dealyard.yamux.decoding')

const FLAG_SYN = 1
const FLAG_ACK = 2
const FLAG_FIN = 4
const FLAG_RST = 8
/** @chainsafe/libp2p-yamux's defaults, for a muxer that does not say. */
const INITIAL_WINDOW = 256 * 1024
const MAX_WINDOW = 16 * 1024 * 1024

interface MuxerFields {
  decoder?: { buffer?: { byteLength: number, append: (b: Uint8Array) => void, subarray: (from?: number, to?: number) => Uint8Array } }
  onData?: (buf: Uint8Array | Uint8ArrayList) => void
  handleFrame?: (frame: Frame) => void
  handleStreamMessage?: (frame: Frame) => void
  streams?: Array<{ streamId?: number, recvWindowCapacity?: number }>
  streamOptions?: { initialStreamWindowSize?: number, maxStreamWindowSize?: number }
  log?: { trace?: { enabled?: boolean } }
  [decodingPatched]?: boolean
}

/**
 * Refuses (ERR_YAMUX_FRAME, which aborts the connection) a DATA frame, seen by its header alone, whose body could never be accepted: longer than
 * its stream may receive now (the window a peer must respect), or for a new stream longer than the
 * initial window, or for no stream at all longer than the largest window. js-yamux's decoder
 * buffers a whole frame before looking at its length, so one header claiming 2 GiB followed by a
 * steady stream of bytes made the ingress hold all of them (660 MB in 8 s from one connection,
 * measured). go-yamux checks the window before it reads a body; so does this.
 */
function checkFrameHeader (m: MuxerFields, h: Uint8Array): void {
  if (h[0] !== YAMUX_VERSION) throw goAwayError('ERR_YAMUX_FRAME', `Invalid frame version ${h[0]}`, GoAwayCode.ProtocolError)
  if (h[1] !== FRAME_DATA) return
  const flag = (h[2]! << 8) + h[3]!
  const streamID = (h[4]! * 2 ** 24) + (h[5]! << 16) + (h[6]! << 8) + h[7]!
  const length = (h[8]! * 2 ** 24) + (h[9]! << 16) + (h[10]! << 8) + h[11]!
  const stream = m.streams?.find((s) => s.streamId === streamID)
  const limit = typeof stream?.recvWindowCapacity === 'number'
    ? stream.recvWindowCapacity
    : (flag & FLAG_SYN) !== 0 ? m.streamOptions?.initialStreamWindowSize ?? INITIAL_WINDOW : m.streamOptions?.maxStreamWindowSize ?? MAX_WINDOW
  if (length > limit) throw goAwayError('ERR_YAMUX_FRAME', `DATA frame of ${length} bytes for stream ${streamID} exceeds its receive window of ${limit}`, GoAwayCode.ProtocolError)
}

/**
 * Frames decoded straight off the buffer a read delivers, for the muxer's class (found through
 * its first instance: @chainsafe/libp2p-yamux does not export it).
 *
 * Why: the muxer's decoder wraps every frame in Uint8ArrayList work (a header subarray, a data
 * sublist, a consume) and the muxer formats a debug description of every frame (an object and two
 * arrays) before asking whether trace logging is on; boost's clients send ~65 frames per
 * proposal. A read whose frames start at its first byte (nothing left over from the previous
 * read: the common case, every noise message holding whole frames) is cut with plain subarrays,
 * and frames of a stream go to the muxer's stream dispatch directly; anything else — bytes left
 * over, a bad version byte — takes the muxer's own decoder, which also
 * keeps a trailing partial frame. Same frames, same order, same errors.
 */
export function patchMuxerDecoding (muxer: unknown): boolean {
  const proto = Object.getPrototypeOf(muxer) as MuxerFields | null
  if (proto == null) return false
  if (proto[decodingPatched] === true) return true
  const m = muxer as MuxerFields
  const onData = proto.onData
  if (typeof onData !== 'function' || typeof proto.handleFrame !== 'function' || typeof proto.handleStreamMessage !== 'function' ||
    typeof m.decoder?.buffer?.byteLength !== 'number' || typeof m.decoder.buffer.append !== 'function') return false
  proto.onData = function (this: Required<Omit<MuxerFields, 'log'>> & MuxerFields, data: Uint8Array | Uint8ArrayList): void {
    const pending = this.decoder.buffer!
    // The encrypted stream hands over a list (usually of one buffer: then this is no copy).
    const buf = data instanceof Uint8Array ? data : data.subarray()
    if (pending.byteLength > 0) {
      // A frame split across reads (its header was checked when it came whole), taken by the
      // muxer's decoder. A header completed by this read is checked now; the frame the decoder
      // is left holding afterwards, once its header is there.
      const have = pending.byteLength
      if (have < HEADER_BYTES && have + buf.byteLength >= HEADER_BYTES) {
        const h = new Uint8Array(HEADER_BYTES)
        h.set(pending.subarray(0, have))
        h.set(buf.subarray(0, HEADER_BYTES - have), have)
        checkFrameHeader(this, h)
      }
      onData.call(this, buf)
      if (pending.byteLength >= HEADER_BYTES) checkFrameHeader(this, pending.subarray(0, HEADER_BYTES))
      return
    }
    const n = buf.byteLength
    let at = 0
    while (n - at >= HEADER_BYTES) {
      if (buf[at] !== YAMUX_VERSION) checkFrameHeader(this, buf.subarray(at, at + HEADER_BYTES))
      const type = buf[at + 1]!
      const header = {
        type,
        flag: (buf[at + 2]! << 8) + buf[at + 3]!,
        streamID: (buf[at + 4]! * 2 ** 24) + (buf[at + 5]! << 16) + (buf[at + 6]! << 8) + buf[at + 7]!,
        length: (buf[at + 8]! * 2 ** 24) + (buf[at + 9]! << 16) + (buf[at + 10]! << 8) + buf[at + 11]!
      }
      let frame: Frame & { header: typeof header }
      if (type === FRAME_DATA) {
        const end = at + HEADER_BYTES + header.length
        if (end > n) {
          checkFrameHeader(this, buf.subarray(at, at + HEADER_BYTES))
          break
        }
        frame = { header, data: buf.subarray(at + HEADER_BYTES, end) }
        at = end
      } else {
        frame = { header }
        at += HEADER_BYTES
      }
      // handleFrame traces each frame (when DEBUG enables it) and dispatches stream frames to handleStreamMessage.
      if (header.streamID !== 0 && (type === FRAME_DATA || type === FRAME_WINDOW_UPDATE) && this.log?.trace?.enabled !== true) this.handleStreamMessage(frame)
      else this.handleFrame(frame)
    }
    if (at < n) pending.append(buf.subarray(at))
  }
  proto[decodingPatched] = true
  return true
}

const negotiating = Symbol('dealyard.yamux.negotiating')
const negotiationPatched = Symbol('dealyard.yamux.negotiation')
const negotiationBudget = Symbol('dealyard.yamux.negotiationBudget')

/** What a connection's streams still negotiating their protocol hold, and the most they may. */
interface NegotiationBudget { used: number, limit: number }

/**
 * One stream's share of its connection's NegotiationBudget: counted from its first DATA frame until
 * libp2p names its protocol (multistream-select done: its handler now reads, and counts what it
 * buffers) or it closes.
 */
class NegotiatingStream {
  readonly budget: NegotiationBudget
  private held = 0
  constructor (budget: NegotiationBudget) { this.budget = budget }
  /** Counts `bytes`; false when the connection's streams would then hold more than the limit. */
  count (bytes: number): boolean {
    if (this.budget.used + bytes > this.budget.limit) return false
    this.held += bytes
    this.budget.used += bytes
    return true
  }

  release (): void {
    this.budget.used -= this.held
    this.held = 0
  }
}

interface NegotiationFields {
  _newStream?: (...args: unknown[]) => unknown
  [negotiationBudget]?: NegotiationBudget
  [negotiationPatched]?: boolean
}

/**
 * Bounds what a connection's streams hold while they negotiate their protocol. Until
 * multistream-select has read a stream's protocol, its bytes wait in the negotiation's read buffer
 * (up to 4 MiB a stream), and js-yamux grants window as they arrive: a client that never read the
 * "na" answers to its protocol lines (so the negotiation stopped reading while its answers could
 * not be sent) made 50 streams of one connection hold 550 MB (measured); 256 streams would be
 * gigabytes. go-yamux grants window only as the negotiation reads. Past `limit` bytes on one
 * connection, the stream whose frame would go over is reset.
 */
export function patchMuxerNegotiation (muxer: unknown, limit: number): boolean {
  const m = muxer as NegotiationFields
  const proto = Object.getPrototypeOf(muxer) as NegotiationFields | null
  if (proto == null || typeof proto._newStream !== 'function') return false
  m[negotiationBudget] = { used: 0, limit }
  if (proto[negotiationPatched] === true) return true
  const newStream = proto._newStream
  proto._newStream = function (this: NegotiationFields, ...args: unknown[]): unknown {
    const stream = newStream.apply(this, args) as DataFields & { addEventListener?: (type: string, fn: () => void, o?: { once: boolean }) => void }
    const budget = this[negotiationBudget]
    if (budget === undefined || typeof stream?.protocol !== 'string' || typeof stream.addEventListener !== 'function') return stream
    const n = new NegotiatingStream(budget)
    stream[negotiating] = n
    // libp2p sets `protocol` once multistream-select has read it (connection.js).
    let protocol = stream.protocol
    Object.defineProperty(stream, 'protocol', {
      configurable: true,
      enumerable: true,
      get: () => protocol,
      set: (v: string) => {
        protocol = v
        if (v !== '') n.release()
      }
    })
    stream.addEventListener('close', () => { n.release() }, { once: true })
    return stream
  }
  proto[negotiationPatched] = true
  return true
}

/** Ping replies a connection gets at once, and per second after that (go-yamux: a backlog of 32, the rest dropped). */
export const PONG_BURST = 32
export const PONGS_PER_SECOND = 32
const pongBucket = Symbol('dealyard.yamux.pongs')
const pingsPatched = Symbol('dealyard.yamux.pings')

interface PingFields {
  handlePing?: (header: { flag: number, length: number }) => void
  activePing?: { id: number }
  [pongBucket]?: TokenBucket
  [pingsPatched]?: boolean
}

/**
 * Ping requests answered within a per-connection budget, the rest dropped. js-yamux answers every
 * ping it receives with a frame of its own (each a noise message and a socket write, queued
 * without bound when the peer does not read): a peer sending nothing but 12-byte pings made the
 * ingress hold ~20 bytes for each byte received (1.4 GB RSS from 36 MB of pings, measured).
 * go-yamux, under boost, queues at most 32 replies and drops the rest (session.go, PingBacklog);
 * a peer's keepalive (one ping every 30 s) is never near this budget. Dropped: counted, not fatal.
 * A ping that is neither a request nor the answer to the muxer's own is ignored, as go-yamux does.
 * Patched on the muxer class once per process, like the decoding patch.
 */
export function patchMuxerPings (muxer: unknown): boolean {
  const proto = Object.getPrototypeOf(muxer) as PingFields | null
  if (proto == null) return false
  if (proto[pingsPatched] === true) return true
  const handlePing = proto.handlePing
  if (typeof handlePing !== 'function') return false
  proto.handlePing = function (this: PingFields, header: { flag: number, length: number }): void {
    if (header.flag === FLAG_SYN) {
      const bucket = this[pongBucket] ??= new TokenBucket({ burst: PONG_BURST, perSecond: PONGS_PER_SECOND })
      if (!bucket.take()) { pingsDropped.inc(); return }
    } else if (header.flag !== FLAG_ACK || this.activePing?.id !== header.length) {
      // Neither a request nor the answer to our own ping (a late or repeated pong, flags 0):
      // go-yamux (session.go, handlePing) ignores it, where js-yamux ends the connection.
      return
    }
    handlePing.call(this, header)
  }
  proto[pingsPatched] = true
  return true
}

/**
 * New inbound streams a connection has served at once, and per second after that; the streams
 * past it wait their turn (the peer's requests are answered later, none fails).
 */
export const STREAM_SERVE_BURST = 256
export const STREAMS_SERVED_PER_SECOND = 128
/**
 * New inbound streams a connection may open at once, and per second after that, or it is closed.
 * Twice the serving rate: a client waiting for its answers opens streams no faster than they are
 * served (plus its concurrency, at most js-yamux's 256 streams at once), so only a peer opening
 * streams without waiting for them (and resetting them) gets here, or one retrying without pause
 * the opens its own stream limit refused (go-libp2p sends the SYN, then the RST; boost's client
 * waits a second before it retries). Each such pair costs ~0.1 ms here (round 59).
 */
export const STREAM_OPEN_BURST = 512
export const STREAMS_OPENED_PER_SECOND = 2 * STREAMS_SERVED_PER_SECOND
const streamOpens = Symbol('dealyard.yamux.streamOpens')
const streamServes = Symbol('dealyard.yamux.streamServes')
const waiting = Symbol('dealyard.yamux.waitingStreams')
const streamOpensPatched = Symbol('dealyard.yamux.streamOpensPatched')

interface InboundStream { status?: string }

interface StreamOpenFields {
  status?: string
  incomingStream?: (id: number) => void
  safeDispatchEvent?: (type: string, init?: { detail: InboundStream }) => boolean
  handleGoAway?: (reason: number) => void
  streams?: Array<{ streamId?: number }>
  maConn?: { abort?: (err: Error) => void, remoteAddr?: unknown, stream?: { remoteAddr?: unknown } }
  [streamOpens]?: TokenBucket
  [streamServes]?: TokenBucket
  [waiting]?: { queue: InboundStream[], timer: ReturnType<typeof setTimeout> | undefined }
  [streamOpensPatched]?: boolean
}

/**
 * An error the muxer's read handler turns into aborting the muxer and the connection, with the
 * GoAway code js-yamux takes from `reason` (without one it sends 0, "normal termination", which
 * go-yamux reports as an orderly close).
 */
function goAwayError (code: string, message: string, reason: GoAwayCode): DealyardError {
  return Object.assign(new DealyardError(code, message), { reason })
}

/** The peer's address, for a log line: the muxer's connection is noise's, which wraps the TCP one. */
function peerAddress (m: StreamOpenFields): string {
  return String(m.maConn?.stream?.remoteAddr ?? m.maConn?.remoteAddr ?? 'unknown')
}

/**
 * New inbound streams are served at most STREAMS_SERVED_PER_SECOND a connection (after a burst of
 * STREAM_SERVE_BURST): the others wait, tracked by js-yamux as any stream (their bytes under the
 * negotiation bound) but not yet handed to libp2p (their 'stream' event held back), and are handed
 * on in order as the budget allows; one the peer resets meanwhile is dropped. A connection opening streams faster than STREAMS_OPENED_PER_SECOND
 * (after STREAM_OPEN_BURST) is closed. A GoAway from the peer ends the connection.
 *
 * Why: every stream served costs the ingress's one thread its setup, multistream-select and
 * teardown, and a stream past js-yamux's 256-stream limit an RST frame written back: one
 * connection opening and resetting streams as fast as it could took the whole event loop (43,000
 * pairs a second, other clients' asks 1–6 s late, /metrics past the liveness probe's timeout,
 * watches dropped), and one that also never read made the RSTs pile up until the heap ran out
 * (round 58). Closing a connection at the serving rate, as first done, also closed clients that
 * reuse one connection for many requests (a sequential status poller on a LAN makes ~1,000 a
 * second), and with it every request in flight on it, accepted proposals included (round 59):
 * they are slowed down now instead. go-libp2p bounds streams by count, not rate.
 *
 * GoAway: js-yamux ends its streams but leaves the TCP connection open (and, for a normal
 * termination, goes on accepting new streams on it); go-yamux, boost's, ends the session on any
 * GoAway (session.go handleGoAway returns an error).
 */
export function patchMuxerStreamOpens (muxer: unknown): boolean {
  const proto = Object.getPrototypeOf(muxer) as StreamOpenFields | null
  if (proto == null) return false
  if (proto[streamOpensPatched] === true) return true
  const { incomingStream, safeDispatchEvent: dispatch, handleGoAway } = proto
  if (typeof incomingStream !== 'function' || typeof dispatch !== 'function' || typeof handleGoAway !== 'function' ||
    !Array.isArray((muxer as StreamOpenFields).streams)) return false
  proto.incomingStream = function (this: StreamOpenFields, id: number): void {
    if (this.streams?.some((s) => s.streamId === id) !== true) {
      const bucket = this[streamOpens] ??= new TokenBucket({ burst: STREAM_OPEN_BURST, perSecond: STREAMS_OPENED_PER_SECOND })
      if (!bucket.take()) {
        const why = `more than ${STREAMS_OPENED_PER_SECOND} new streams a second on this connection`
        noteConnectionClosed('StreamOpenRate', peerAddress(this), why)
        throw goAwayError('ERR_RESOURCE', why, GoAwayCode.InternalError)
      }
    }
    incomingStream.call(this, id)
  }
  // Every inbound stream reaches libp2p through the muxer's 'stream' event (early ones too, once a
  // listener is added): held back there, the stream is already tracked, its frames reach it.
  proto.safeDispatchEvent = function (this: StreamOpenFields, type: string, init?: { detail: InboundStream }): boolean {
    if (type !== 'stream' || init === undefined) return dispatch.call(this, type, init)
    const serves = this[streamServes] ??= new TokenBucket({ burst: STREAM_SERVE_BURST, perSecond: STREAMS_SERVED_PER_SECOND })
    const q = this[waiting] ??= { queue: [], timer: undefined }
    if (q.queue.length === 0 && serves.take()) return dispatch.call(this, type, init)
    q.queue.push(init.detail)
    streamsWaiting.inc()
    if (q.timer === undefined) serveWaiting(this, serves, dispatch)
    return true
  }
  proto.handleGoAway = function (this: StreamOpenFields, reason: number): void {
    handleGoAway.call(this, reason)
    this.maConn?.abort?.(new DealyardError('ERR_YAMUX_GOAWAY', `the peer sent GoAway (code ${reason})`))
  }
  proto[streamOpensPatched] = true
  return true
}

/** Hands waiting streams to libp2p as the budget allows; again once a token is due, while any wait. */
function serveWaiting (m: StreamOpenFields, serves: TokenBucket, dispatch: NonNullable<StreamOpenFields['safeDispatchEvent']>): void {
  const q = m[waiting]!
  q.timer = undefined
  while (q.queue.length > 0) {
    const stream = q.queue[0]!
    if (m.status !== 'open' || stream.status !== 'open') { q.queue.shift(); streamsWaiting.dec(); continue }
    if (!serves.take()) break
    q.queue.shift()
    streamsWaiting.dec()
    dispatch.call(m, 'stream', { detail: stream })
  }
  if (q.queue.length > 0) q.timer = setTimeout(() => { serveWaiting(m, serves, dispatch) }, Math.ceil(1000 / STREAMS_SERVED_PER_SECOND)).unref()
}

/** The yamux muxer factory, with the stream and decoding patches above applied. */
export function yamux (init: Parameters<typeof jsYamux>[0] & { negotiationBytes?: number } = {}): ReturnType<typeof jsYamux> {
  patchYamuxStreams()
  const { negotiationBytes, ...options } = init
  const make = jsYamux(options)
  return (...c: Parameters<ReturnType<typeof jsYamux>>) => {
    const factory = make(...c)
    const create = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn) => {
      const muxer = create(maConn)
      patchMuxerDecoding(muxer)
      patchMuxerPings(muxer)
      patchMuxerStreamOpens(muxer)
      if (negotiationBytes !== undefined) patchMuxerNegotiation(muxer, negotiationBytes)
      return muxer
    }
    return factory
  }
}
