/**
 * What a connection may owe its peer: bytes queued for a peer that does not read, and how long
 * its writes may stay stuck.
 *
 * Why: nothing bounded either (round 58). js-libp2p's message streams queue what cannot be sent
 * yet without limit (their maxWriteBufferLength is unset), so a peer that never read and kept
 * provoking small answers (an RST per refused stream, a pong) made one connection hold the
 * ingress's whole heap: ~200 bytes of heap per 12-byte frame queued, a crash at a 384 MB heap
 * within 22 s. go-yamux, under boost, queues at most 64 frames before it stops reading the peer,
 * and ends a session whose write has been stuck for 10 s (ConnectionWriteTimeout).
 */
import type { Socket } from 'node:net'
import { DealyardError } from '../errors.ts'
import { noteConnectionClosed } from './connection-closes.ts'

/**
 * Unsent bytes a connection may queue (above the kernel's socket buffers). Every answer the
 * ingress writes is a few KiB at most, but noise hands the whole of its queue to the TCP
 * connection at once: a stream writing MiBs through a wide yamux window queued ~2 MB there
 * while its peer was reading (measured). A peer that reads nothing is caught by the write
 * timeout long before this, the frames it can provoke being rate-limited (yamux.ts).
 */
export const MAX_UNSENT_BYTES = 4 << 20
/** How long a connection's writes may make no progress (go-yamux's ConnectionWriteTimeout). */
export const WRITE_TIMEOUT_MS = 10_000

interface QueueFields {
  remoteAddr?: unknown
  writeBuffer?: { byteLength: number }
  checkWriteBufferLength?: () => void
  abort: (err: Error) => void
}

/**
 * Aborts `stream` (a js-libp2p message stream: the TCP connection, or noise's over it) once it
 * queues more than MAX_UNSENT_BYTES: the check js-libp2p runs whenever its peer is not taking
 * data, made to count and say why (`peer` names it in the log where the stream has no address of
 * its own, as noise's has not). False when the stream is not one of those.
 */
export function boundWriteBacklog (stream: unknown, peer?: string): boolean {
  const s = stream as QueueFields
  if (typeof s.checkWriteBufferLength !== 'function' || typeof s.writeBuffer?.byteLength !== 'number' || typeof s.abort !== 'function') return false
  s.checkWriteBufferLength = function (this: QueueFields): void {
    const queued = this.writeBuffer?.byteLength ?? 0
    if (queued <= MAX_UNSENT_BYTES) return
    const err = new DealyardError('ERR_WRITE_BACKLOG', `the peer does not read: ${queued} bytes unsent, more than ${MAX_UNSENT_BYTES}`)
    noteConnectionClosed('WriteBacklog', peer ?? String(this.remoteAddr ?? 'unknown'), err.message)
    this.abort(err)
  }
  return true
}

/**
 * Aborts the connection when its socket has held unsent bytes for `ms` without draining: a peer
 * that reads nothing (or too little to matter) for that long. Started by a write the socket could
 * not take at once, cleared when it drains.
 */
export function writeTimeout (socket: Socket, abort: (err: Error) => void, ms = WRITE_TIMEOUT_MS): { blocked: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined
  const clear = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  socket.on('drain', clear)
  socket.once('close', clear)
  return {
    blocked: () => {
      if (timer !== undefined || socket.destroyed) return
      timer = setTimeout(() => {
        timer = undefined
        if (socket.destroyed || socket.writableLength === 0) return
        const err = new DealyardError('ERR_WRITE_TIMEOUT', `the peer read nothing for ${ms} ms (${socket.writableLength} bytes unsent)`)
        noteConnectionClosed('WriteTimeout', `${socket.remoteAddress}:${socket.remotePort}`, err.message)
        abort(err)
      }, ms)
      timer.unref?.()
    }
  }
}
