/**
 * libp2p's TCP transport with each connection's socket writes gathered per event-loop turn.
 *
 * Why: noise hands the TCP connection every encrypted message as two buffers (its 2-byte length,
 * then the ciphertext), and @libp2p/tcp writes each buffer with its own `socket.write` on a
 * no-delay socket, so every yamux frame costs two syscalls and two TCP segments. One deal proposal
 * is six frames from the provider (stream ACK, multistream answer, window update, answer, FIN…):
 * twelve writes, each waking the peer. Corking the socket until the event loop's check phase
 * (setImmediate) turns the writes of one burst into a single writev (and one segment), on both
 * ends. Not process.nextTick: that runs before the promise jobs of the same turn, so the stream
 * ACK (sent while yamux decodes) and multistream's answer (sent from a promise job right after)
 * went out as two writes; gathering to the check phase saved the ingress 0.15–0.25 CPU-ms and the
 * clients 0.1 per proposal in the bench. Bytes, their order and back-pressure (`write()` still
 * answers false past the high-water mark, `drain` still fires) are unchanged; the only delay is to
 * the end of the current loop turn. It leans on @libp2p/tcp 11's
 * connection shape (a `socket` field, the `sendData` hook): where that changes, connections pass
 * through untouched, and test/unit/ingress/tcp.spec.ts's write count fails.
 */
import { Socket } from 'node:net'
import { tcp, type TCPOptions, type TCPComponents } from '@libp2p/tcp'
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import type { ConnectionsPerIp } from './ip-limit.ts'
import type { AddressRate } from './address-rate.ts'
import { DealyardError } from '../errors.ts'
import { boundWriteBacklog, writeTimeout } from './write-bounds.ts'

/**
 * Decides on an inbound connection as soon as its socket is accepted, before libp2p's own checks
 * and the handshake: throw to refuse it (the socket is then reset). What it returns, if anything,
 * is called once the connection's upgrade (handshake and muxer) has settled, either way.
 */
export type InboundGate = (conn: MultiaddrConnection) => void | (() => void)

/**
 * tcp(), with socket writes gathered per loop turn on every inbound and outbound connection, and
 * every inbound connection passed through `gate` first.
 */
export function coalescingTcp (init?: TCPOptions, gate?: InboundGate): (components: TCPComponents) => Transport {
  const make = tcp(init)
  return (components) => {
    const transport = make(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, options) => await dial(ma, { ...options, upgrader: gathering(options.upgrader) })
    transport.createListener = (options) => createListener({ ...options, upgrader: gathering(options.upgrader, gate) })
    return transport
  }
}

/** The upgrader, gathering the writes of every connection it upgrades. */
function gathering (upgrader: Upgrader, gate?: InboundGate): Upgrader {
  return new Proxy(upgrader, {
    get (target, key) {
      if (key === 'upgradeInbound') {
        return async (c: MultiaddrConnection, o: Parameters<Upgrader['upgradeInbound']>[1]) => {
          const settled = gate?.(c)
          try {
            await target.upgradeInbound(boundWrites(gatherWrites(c)), o)
          } finally {
            settled?.()
          }
        }
      }
      if (key === 'upgradeOutbound') return async (c: MultiaddrConnection, o: Parameters<Upgrader['upgradeOutbound']>[1]) => await target.upgradeOutbound(gatherWrites(c), o)
      const v: unknown = Reflect.get(target, key, target)
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
}

interface SocketConnection { socket?: unknown, sendData?: (data: Iterable<Uint8Array>) => { sentBytes: number, canSendMore: boolean } }

/**
 * Wraps the connection's sendData (AbstractMultiaddrConnection's hook, called synchronously for
 * every message) so the first write of a loop turn corks the socket and the turn's check phase
 * uncorks it.
 * destroy() and resetAndDestroy() flush first: they drop whatever a cork holds, where an uncorked
 * write would already be with the kernel (the TCP listener destroys every socket when libp2p
 * stops, right after the last answers were written). end() flushes by itself.
 * A connection that is not a TCP socket one is returned untouched.
 */
export function gatherWrites<C extends MultiaddrConnection> (conn: C): C {
  const c = conn as unknown as SocketConnection
  const socket = c.socket
  const send = c.sendData
  if (!(socket instanceof Socket) || typeof send !== 'function') return conn
  let corked = false
  const flush = (): void => {
    if (!corked) return
    corked = false
    socket.uncork()
  }
  c.sendData = (data) => {
    if (!corked && !socket.destroyed && !socket.writableEnded) {
      corked = true
      socket.cork()
      setImmediate(flush)
    }
    return send.call(conn, data)
  }
  const destroy = socket.destroy
  const resetAndDestroy = socket.resetAndDestroy
  socket.destroy = function (this: Socket, ...args: Parameters<Socket['destroy']>) {
    flush()
    return destroy.apply(this, args)
  }
  socket.resetAndDestroy = function (this: Socket) {
    flush()
    return resetAndDestroy.call(this)
  }
  return conn
}

/**
 * The connection's unsent bytes bounded and its stuck writes timed out (write-bounds.ts): inbound
 * connections only, where the ingress writes nothing but small answers. An outbound one (the
 * client CLI's) may have a large proposal in flight behind a peer's wide window. A connection
 * that is not a TCP socket one gets the byte bound only, when it has one.
 */
export function boundWrites<C extends MultiaddrConnection> (conn: C): C {
  boundWriteBacklog(conn)
  const c = conn as unknown as SocketConnection
  const socket = c.socket
  const send = c.sendData
  if (!(socket instanceof Socket) || typeof send !== 'function') return conn
  const stuck = writeTimeout(socket, (err) => { conn.abort(err) })
  c.sendData = (data) => {
    const sent = send.call(conn, data)
    if (!sent.canSendMore) stuck.blocked()
    return sent
  }
  return conn
}

/** Which per-address limit refused a connection. */
export type PerIpRefusal = 'PerIpLimit' | 'ConnectionRate'

/**
 * A gate admitting each inbound connection at `rate` new connections a second per address, and
 * holding it to `limiter`'s per-address limit from accept to close; `onRefused` hears every
 * refusal (the caller counts them; an attack makes many).
 */
export function perIpGate (limiter: ConnectionsPerIp, rate: AddressRate, onRefused: (address: string, reason: string, limit: PerIpRefusal) => void): InboundGate {
  return (conn) => {
    const socket = (conn as unknown as SocketConnection).socket
    const address = socket instanceof Socket ? socket.remoteAddress : conn.remoteAddr.toString().split('/')[2]
    if (address === undefined) return
    if (!rate.admit(address)) {
      const reason = `more than ${rate.limit} new connections a second from this address`
      onRefused(address, reason, 'ConnectionRate')
      throw new DealyardError('ERR_CONNECTION_REFUSED', `inbound connection from ${address} refused: ${reason}`)
    }
    const admission = limiter.admit(address)
    if (!admission.ok) {
      onRefused(address, admission.reason, 'PerIpLimit')
      throw new DealyardError('ERR_CONNECTION_REFUSED', `inbound connection from ${address} refused: ${admission.reason}`)
    }
    if (!(socket instanceof Socket)) {
      conn.addEventListener('close', admission.release, { once: true })
    } else if (socket.destroyed) {
      admission.release()
    } else {
      socket.once('close', admission.release)
    }
  }
}
