/**
 * One request, one response per stream, as boost's lp2pimpl does it: read exactly one CBOR item
 * under a read deadline and a size limit, process with no deadline, write the answer under a write
 * deadline, close. A request that cannot be read or decoded gets no answer: the stream is reset
 * (boost closes without writing).
 */
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { DealyardError } from '../errors.ts'
import { logger } from '../log.ts'
import { readCborItem, type ByteBudget } from '../protocol/framing.ts'
import { openStreams, requestBytesHeld, streamErrors } from './metrics.ts'

const log = logger('ingress:streams')

/**
 * Bytes of requests being read, across every stream at once. Each stream's request is capped
 * (maxMessageBytes) and each address's connections too, but many addresses each holding 32
 * half-sent 5 MiB requests per connection to their read deadline would add up to gigabytes; past
 * this budget a request that needs more is refused (ERR_RESOURCE) while the rest are served.
 * go-libp2p's resource manager, under boost, caps a node's memory the same way.
 */
export class RequestMemory implements ByteBudget {
  readonly limit: number
  private used = 0

  constructor (limit: number) {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new Error(`request memory must be a positive number of bytes, got ${limit}`)
    this.limit = limit
  }

  take (n: number): boolean {
    if (this.used + n > this.limit) return false
    this.used += n
    requestBytesHeld.set(this.used)
    return true
  }

  give (n: number): void {
    this.used = Math.max(0, this.used - n)
    requestBytesHeld.set(this.used)
  }

  get inUse (): number { return this.used }
}

export interface StreamLimits {
  /** From stream open to a complete request (boost: 10 s). */
  readDeadlineMs: number
  /** To flush the answer (boost: 10 s). */
  writeDeadlineMs: number
  /** Largest request accepted. */
  maxMessageBytes: number
  /** Shared by every stream's read (none: unbounded). */
  memory?: ByteBudget
}

/** Sends `bytes` and closes our side within the deadline; resets the stream if the peer does not take them. */
export async function writeAndClose (stream: Stream, bytes: Uint8Array, deadlineMs: number): Promise<void> {
  // A timer cleared on success rather than AbortSignal.timeout, which fires (and builds its
  // DOMException) deadlineMs later for every stream, answered or not.
  const d = deadline(deadlineMs)
  try {
    if (!stream.send(bytes)) await stream.onDrain({ signal: d.signal })
    await stream.close({ signal: d.signal })
  } finally {
    d.clear()
  }
}

/** An AbortSignal that aborts with a TimeoutError after `ms`, and a way to cancel it. */
export function deadline (ms: number): { signal: AbortSignal, clear: () => void } {
  const c = new AbortController()
  const timer = setTimeout(() => { c.abort(new DOMException(`deadline of ${ms} ms exceeded`, 'TimeoutError')) }, ms)
  return { signal: c.signal, clear: () => { clearTimeout(timer) } }
}

/** Bytes a client may send after its request (which nothing reads) before the stream is reset. */
export const MAX_BYTES_AFTER_REQUEST = 64 << 10

/**
 * After the request, a client has nothing more to send: it reads the answer and closes. boost
 * closes both directions when it has answered (go-yamux then stops granting window, so a peer
 * can push at most a window of junk); js-yamux grants window as data arrives, so here the stream
 * goes on being read by the iterator that read the request (no listener added or removed per
 * stream): bytes that keep coming are counted and dropped, and past MAX_BYTES_AFTER_REQUEST the
 * stream is reset. A stream the client keeps open after the answer is reset once `graceMs` have
 * passed since our side closed, so it can hold neither a stream slot nor memory.
 */
function drainAfterRequest (stream: Stream, it: AsyncIterator<Uint8Array | Uint8ArrayList>): { answered: (graceMs: number) => void } {
  let timer: ReturnType<typeof setTimeout> | undefined
  let ended = false
  void (async () => {
    let extra = 0
    try {
      for (;;) {
        const next = await it.next()
        if (next.done === true) break
        extra += next.value.byteLength
        if (extra > MAX_BYTES_AFTER_REQUEST) {
          streamErrors.inc({ protocol: stream.protocol ?? 'unknown', code: 'DataAfterRequest' })
          stream.abort(new DealyardError('ERR_STREAM_PROTOCOL', `${extra} bytes sent after the request`))
          break
        }
      }
    } catch {
      // The stream was reset or aborted: nothing left to guard.
    } finally {
      ended = true
      if (timer !== undefined) clearTimeout(timer)
    }
  })()
  return {
    answered: (graceMs) => {
      if (ended || (stream.status !== 'open' && stream.status !== 'closing')) return
      timer = setTimeout(() => { stream.abort(new DealyardError('ERR_STREAM_PROTOCOL', `stream still open ${graceMs} ms after the answer`)) }, graceMs)
      timer.unref?.()
    }
  }
}

/**
 * Answers a stream whose client sends no request (the transports query, identify) and guards it
 * like an answered request's: whatever the client sends is read and dropped (past
 * MAX_BYTES_AFTER_REQUEST the stream is reset), and a stream still open `deadlineMs` after the
 * answer is reset. A stream nobody read kept every byte sent to it (js-yamux grants window as data
 * arrives): 512 MiB from one client on one stream, measured.
 */
export async function answerUnasked (stream: Stream, bytes: Uint8Array, deadlineMs: number): Promise<void> {
  const after = drainAfterRequest(stream, stream[Symbol.asyncIterator]())
  await writeAndClose(stream, bytes, deadlineMs)
  after.answered(deadlineMs)
}

/**
 * The stream as readCborItem reads it, without letting it end the iteration: the rest is drained.
 *
 * A peer that closed its side before the handler first read (its FIN in the same read as the
 * protocol negotiation, or right after half a request) has sent all it will: libp2p's iterator,
 * which learns of a close only from an event, would wait for bytes that never come until the read
 * deadline. What is buffered then is the whole request; after it (or at once, with nothing
 * buffered), the read ends, as boost's decoder ends at EOF.
 */
function keepOpen (stream: Stream, it: AsyncIterator<Uint8Array | Uint8ArrayList>): AsyncIterable<Uint8Array | Uint8ArrayList> {
  let first = true
  let closedBefore = false
  const done = Promise.resolve<IteratorResult<Uint8Array | Uint8ArrayList>>({ done: true, value: undefined })
  return {
    [Symbol.asyncIterator]: () => ({
      // Not async: the read of every request goes through here, without an extra promise per chunk.
      next: () => {
        if (first) {
          first = false
          closedBefore = stream.remoteWriteStatus === 'closed'
          if (closedBefore && stream.readBufferLength === 0) return done
        } else if (closedBefore) {
          return done
        }
        return it.next()
      }
    })
  }
}

/**
 * Serves one request: `handle` gets the request's bytes and returns the answer's bytes, or throws
 * (ERR_CBOR_DECODE for a bad request) to reset without answering. `lost` hears of an answer that
 * was made but could not be written (the stream or its connection gone meanwhile).
 */
export async function serveRequest (stream: Stream, protocol: string, limits: StreamLimits, path: string, handle: (req: Uint8Array) => Promise<Uint8Array>, lost?: (err: Error) => void): Promise<void> {
  openStreams.inc({ protocol })
  const deadline = new AbortController()
  const timer = setTimeout(() => { deadline.abort(new Error('read deadline')) }, limits.readDeadlineMs)
  try {
    const it = stream[Symbol.asyncIterator]()
    const req = await readCborItem(keepOpen(stream, it), { maxBytes: limits.maxMessageBytes, signal: deadline.signal, path, ...(limits.memory !== undefined ? { budget: limits.memory } : {}) })
    clearTimeout(timer)
    const after = drainAfterRequest(stream, it)
    const res = await handle(req)
    try {
      await writeAndClose(stream, res, limits.writeDeadlineMs)
    } catch (err) {
      lost?.(err as Error)
      throw err
    }
    after.answered(limits.writeDeadlineMs)
  } catch (err) {
    const code = err instanceof DealyardError ? err.code : (err as { name?: string }).name ?? 'Error'
    streamErrors.inc({ protocol, code })
    log.debug({ protocol, code, err: (err as Error).message }, 'stream closed without an answer')
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  } finally {
    clearTimeout(timer)
    openStreams.dec({ protocol })
  }
}
