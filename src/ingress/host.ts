/**
 * The libp2p host: TCP + noise + yamux + identify, serving boost's provider protocols for every
 * StorageProvider of the installation. Limits: connections (total, pending and per address), inbound streams
 * per protocol and connection, a read deadline and a size limit per request. drain() stops taking
 * new streams, lets the ones in flight finish, then stops the node (SIGTERM).
 */
import { createLibp2p, type Libp2p } from 'libp2p'
import { noise } from './noise.ts'
import { yamux } from './yamux.ts'
import { libp2pLogger } from './libp2p-logger.ts'
import { answerUnknownPeers, forgetDisconnectedPeers, skipRemoteProtocolMerges } from './peer-store.ts'
import { linearConnectionList } from './connection-list.ts'
import { identify, type Identify } from '@libp2p/identify'
import { withCachedSigner } from './identity.ts'
import { answerIdentify, MAX_IDENTIFY_BYTES } from './identify-answer.ts'
import type { PrivateKey, Stream, Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { coalescingTcp, perIpGate } from './tcp.ts'
import { ConnectionsPerIp, DEFAULT_CONNECTIONS_PER_IP, DEFAULT_IP_LIMIT_EXEMPT } from './ip-limit.ts'
import { AddressRate, DEFAULT_CONNECTIONS_PER_IP_PER_SECOND, DEFAULT_PROPOSALS_PER_IP_PER_SECOND } from './address-rate.ts'
import { TokenBucket } from '../token-bucket.ts'
import { logger } from '../log.ts'
import { DEALYARD_VERSION } from '../version.ts'
import { PROTOCOL_IDS, STREAM_DEADLINES_MS } from '../protocol/ids.ts'
import { DEFAULT_MAX_MESSAGE_BYTES, MissingFieldError } from '../protocol/codec.ts'
import { ERR_CBOR_MISSING, ERR_CBOR_RANGE } from '../protocol/cbor/reader.ts'
import { DealyardError } from '../errors.ts'
import { decodeDealParams, encodeDealResponse } from '../protocol/deal.ts'
import { decodeDealStatusRequest, encodeDealStatusResponse } from '../protocol/status.ts'
import { decodeAskRequest, encodeAskResponse } from '../protocol/ask.ts'
import { encodeTransportsQueryResponse } from '../protocol/transports.ts'
import type { DealStatusRequest, TransportProtocol } from '../protocol/types.ts'
import type { AskService } from './ask.ts'
import { connectionsRefused, openConnections, openStreams, streamErrors } from './metrics.ts'
import type { ProposalService } from './proposals.ts'
import type { StatusService } from './status.ts'
import { answerUnasked, RequestMemory, serveRequest, type StreamLimits } from './streams.ts'

/**
 * A status request, decoded. One without its DealUUID or Signature is answered as boost answers
 * it (cbor-gen leaves the zero values): the zero UUID finds no deal, an empty signature verifies
 * nothing; not reset.
 */
function statusRequestOf (bytes: Uint8Array, maxBytes: number): DealStatusRequest {
  try {
    return decodeDealStatusRequest(bytes, { maxBytes })
  } catch (err) {
    if (!(err instanceof MissingFieldError)) throw err
    const partial = err.partial as Partial<DealStatusRequest>
    return {
      dealUuid: partial.dealUuid !== undefined && partial.dealUuid !== '' ? partial.dealUuid : '00000000-0000-0000-0000-000000000000',
      signature: partial.signature ?? { type: 1, data: new Uint8Array(0) }
    }
  }
}

/** A stream's receive window: js-yamux's initial one, never grown (see the muxer's options). */
const STREAM_WINDOW_BYTES = 256 * 1024
/** Beyond one largest request, what a connection's negotiating streams may hold (protocol lines, requests of a burst). */
const NEGOTIATION_SLACK_BYTES = 1 << 20
const log = logger('ingress:host')

export const DEFAULT_REQUEST_MEMORY_BYTES = 128 << 20

/** Inbound streams at once per protocol and connection: go-libp2p's default per protocol and peer (ProtocolPeerBaseLimit). */
export const DEFAULT_MAX_STREAMS = 64

/** Connections in their handshake at once, from all addresses (HostOptions.maxPendingConnections). */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 256

/** Connections open or in their handshake (HostOptions.maxConnections). */
export const DEFAULT_MAX_CONNECTIONS = 1000

/**
 * A connection that carries no byte for this long is closed. Live clients' muxers ping every 30 s
 * (go-yamux and js-yamux alike), so this only ends connections whose client froze or vanished
 * without a FIN; it replaces libp2p's connection monitor (see startHost).
 */
export const INACTIVITY_TIMEOUT_MS = 60_000

export interface HostOptions {
  privateKey: PrivateKey
  /** e.g. /ip4/0.0.0.0/tcp/24001 */
  listen: string[]
  /** Addresses to advertise instead of the listen addresses (e.g. the Service's). */
  announce?: string[]
  proposals: ProposalService
  status: StatusService
  ask: AskService
  /** `http` entry of the transports answer (boost: Retrievals.HTTP.HTTPRetrievalMultiaddr). */
  httpRetrievalMultiaddr?: string
  /**
   * Connections open or in their handshake (default 1000); past it new ones are closed at accept,
   * counted and logged. A hard limit: js-libp2p's own counts only open connections, lets every
   * handshake in flight past it, and then prunes the connections with the fewest streams, which
   * are the long-lived clients that are idle between requests, at a cost (a peer-store read per
   * connection, four sorts) paid on every connection past the limit.
   */
  maxConnections?: number
  /**
   * Connections in their handshake at once (default 256). 200 clients connecting together, each for
   * one deal as `boost deal` does, passed js-libp2p's 100: the rest were reset mid-handshake and
   * go-libp2p's dial backoff then failed their retries at once. The per-address limits still bound
   * what one client holds; this bounds the handshakes' memory (a few KB each) across all of them.
   */
  maxPendingConnections?: number
  /** A connection that carries no byte for this long is closed (default INACTIVITY_TIMEOUT_MS). */
  inactivityTimeoutMs?: number
  /** New inbound connections a second from one IPv4 address or IPv6 /56 (default 20; 0 = no limit). Exempt as ipLimitExempt. */
  inboundConnectionRate?: number
  /** Connections one IPv4 address (IPv6 /56) may hold, pending or open; 0 = no limit (default 8). */
  connectionsPerIp?: number
  /** Ranges exempt from connectionsPerIp and inboundConnectionRate (default loopback). */
  ipLimitExempt?: readonly string[]
  /** Proposals a second from one client address (IPv4, IPv6 /56), bursts of twice as many; 0 = no limit. Exempt as ipLimitExempt. */
  proposalsPerIpPerSecond?: number
  /** Memory all requests being read may hold together (default 128 MiB). */
  requestMemoryBytes?: number
  /** Inbound streams at once per protocol and connection (default 64, go-libp2p's per protocol and peer). */
  maxStreamsPerConnection?: number
  limits?: Partial<StreamLimits>
}

export interface IngressHost {
  node: Libp2p<{ identify: Identify }>
  peerId: string
  addresses (): string[]
  /** Streams being served now. */
  inFlight (): number
  drain (timeoutMs?: number): Promise<void>
}

export async function startHost (o: HostOptions): Promise<IngressHost> {
  const maxMessageBytes = o.limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const memory = o.limits?.memory ?? new RequestMemory(o.requestMemoryBytes ?? DEFAULT_REQUEST_MEMORY_BYTES)
  if (memory instanceof RequestMemory && memory.limit <= maxMessageBytes) {
    throw new Error(`request memory of ${memory.limit} bytes must exceed the largest request (${maxMessageBytes} bytes)`)
  }
  const limits: StreamLimits = {
    readDeadlineMs: o.limits?.readDeadlineMs ?? STREAM_DEADLINES_MS.providerRead,
    writeDeadlineMs: o.limits?.writeDeadlineMs ?? STREAM_DEADLINES_MS.providerWrite,
    maxMessageBytes,
    memory
  }
  const maxStreams = o.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS
  const exempt = o.ipLimitExempt ?? DEFAULT_IP_LIMIT_EXEMPT
  const proposalRate = new AddressRate({ perSecond: o.proposalsPerIpPerSecond ?? DEFAULT_PROPOSALS_PER_IP_PER_SECOND, exempt })
  // js-libp2p's inboundConnectionThreshold counted a second at a time: that many pass at once.
  const connectionRate = o.inboundConnectionRate ?? DEFAULT_CONNECTIONS_PER_IP_PER_SECOND
  const connectionRates = new AddressRate({ perSecond: connectionRate, burst: connectionRate, exempt })
  const refusalLogs = new TokenBucket({ perSecond: 1 / 20, burst: 3 })
  const perIp = new ConnectionsPerIp({ perIp: o.connectionsPerIp ?? DEFAULT_CONNECTIONS_PER_IP, exempt })
  // Set by drain(): new streams are reset and new connections refused at accept, so clients dial
  // another replica at once rather than negotiate a protocol nobody serves any more.
  let draining = false
  const gate = perIpGate(perIp, connectionRates, (address, reason, limit) => {
    connectionsRefused.inc({ reason: limit })
    // Said where an operator looks (a client behind NAT with many workers, a Service that hides
    // addresses, a burst of `boost deal` from one host), but a few lines a minute at most: an
    // attack makes thousands.
    const flag = limit === 'PerIpLimit' ? '--max-connections-per-ip' : '--inbound-connection-rate'
    if (refusalLogs.take()) log.warn({ address, reason }, `inbound connection refused: per-address limit (${flag})`)
    else log.debug({ address, reason }, 'inbound connection refused')
  })
  // Connections between accept and the end of their upgrade, counted here rather than by
  // js-libp2p's maxIncomingPendingConnections, which closes the excess without a trace.
  const maxPending = o.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS
  let handshaking = 0
  const maxConnections = o.maxConnections ?? DEFAULT_MAX_CONNECTIONS
  let open = 0
  const privateKey = withCachedSigner(o.privateKey)
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: o.listen, ...(o.announce !== undefined ? { announce: o.announce } : {}) },
    transports: [coalescingTcp({ inboundSocketInactivityTimeout: o.inactivityTimeoutMs ?? INACTIVITY_TIMEOUT_MS }, (conn) => {
      if (draining) {
        connectionsRefused.inc({ reason: 'Draining' })
        throw new DealyardError('ERR_CONNECTION_REFUSED', 'inbound connection refused: the ingress is shutting down')
      }
      if (handshaking >= maxPending) {
        connectionsRefused.inc({ reason: 'PendingLimit' })
        if (refusalLogs.take()) log.warn({ limit: maxPending }, 'inbound connection refused: too many connections in their handshake (--max-pending-connections)')
        throw new DealyardError('ERR_CONNECTION_REFUSED', `inbound connection refused: ${maxPending} connections already in their handshake`)
      }
      if (open + handshaking >= maxConnections) {
        connectionsRefused.inc({ reason: 'MaxConnections' })
        if (refusalLogs.take()) log.warn({ limit: maxConnections }, 'inbound connection refused: the connection limit is reached (--max-connections)')
        throw new DealyardError('ERR_CONNECTION_REFUSED', `inbound connection refused: ${maxConnections} connections open or in their handshake`)
      }
      gate(conn)
      handshaking++
      return () => { handshaking-- }
    })],
    connectionEncrypters: [noise()],
    // Streams that arrive before libp2p has attached its listener to a new connection's muxer are
    // held as "early" streams; past yamux's default of 10 the muxer aborts the connection, so a
    // client opening a dozen streams as soon as its dial returned lost all of them. Hold as many
    // as one protocol may have open; the per-protocol limit still refuses the excess one by one.
    // Early streams (opened before the connection is set up) count every protocol, identify's
    // included: an allowance of exactly maxStreams closed the whole connection of a client that
    // opened maxStreams proposals at once. Past the per-protocol limit they are reset one by one.
    // No keepalive pings of our own: js-yamux sends one as each connection opens ("to establish
    // RTT", which nothing here reads) and every 30 s after, and never acts on a missing answer. The
    // clients' muxers ping us (go-yamux every 30 s, closing a session that stops answering), and
    // the socket's inactivity timeout ends dead clients' connections on this side. `boost deal` connects for
    // every deal, so the opening ping (a frame and a timer each way) was per proposal.
    //
    // A stream's receive window stays at its initial 256 KiB (js-yamux would double it up to
    // 16 MiB for a fast sender; no request here comes near): a DATA frame for a stream that does
    // not exist (one just reset) can be no longer than that, and is refused past it rather than
    // buffered whole (16 MiB a connection, held for as long as a client trickled its last bytes).
    // A connection's streams at once, negotiating ones included, at most what the per-protocol
    // backstop allows one protocol (js-yamux's default 1,000).
    streamMuxers: [yamux({
      maxEarlyStreams: Math.max(10, 2 * maxStreams),
      enableKeepAlive: false,
      maxInboundStreams: 4 * maxStreams,
      streamOptions: { maxStreamWindowSize: STREAM_WINDOW_BYTES },
      // What streams still negotiating their protocol may hold on one connection: one request of
      // the largest size (go-libp2p clients send it right behind the protocol line), and then some.
      negotiationBytes: maxMessageBytes + NEGOTIATION_SLACK_BYTES
    })],
    logger: libp2pLogger(),
    // What identify tells peers (boost's host says boost-<version>): an SP's clients and its
    // operators see dealyard, not the js-libp2p default.
    nodeInfo: { name: 'dealyard', version: DEALYARD_VERSION },
    // identify answers clients (boost's client reads which deal protocols are served from it) but
    // is not run towards them: the ingress never dials a client, so their addresses, protocols and
    // signed records were read, verified, stored and deleted again on every connection for
    // nothing (and `boost deal` connects for every deal). go-libp2p runs it both ways; nothing a
    // client does depends on the server having identified it.
    services: { identify: identify({ runOnConnectionOpen: false }) },
    // The monitor pings every connection every 10 s, all in one macrotask (a stream, multistream,
    // noise frames and an AbortSignal each): at 900 connections a 120–140 ms stall of the event
    // loop every 10 s, and proposals on kept connections answered up to 180 ms late (round 24).
    // Dead clients are found by the socket's inactivity timeout instead (INACTIVITY_TIMEOUT_MS):
    // a frozen client holds its slot for a minute rather than 15 s.
    connectionMonitor: { enabled: false },
    connectionManager: {
      // The limit is the accept gate's (open + handshaking); libp2p's check and pruner never bind.
      maxConnections: maxConnections + maxPending,
      maxIncomingPendingConnections: Number.MAX_SAFE_INTEGER,
      // Counted per address in the gate above, with the exemptions and the refusals counted.
      inboundConnectionThreshold: Number.MAX_SAFE_INTEGER
    }
  })
  // Inner first: a merge skipped by the outer wrapper writes nothing, so it marks no peer as stored.
  answerUnknownPeers(node)
  skipRemoteProtocolMerges(node)
  linearConnectionList(node)
  // Counted from here, in the same turn as the listeners start: connections that opened while
  // libp2p started are in the list, and every one after fires the event.
  open = node.getConnections().length
  if (open > 0) openConnections.inc(open)
  node.addEventListener('connection:open', () => { open++; openConnections.inc() })
  node.addEventListener('connection:close', () => { open--; openConnections.dec() })
  await answerIdentify(node, privateKey, {
    error: (err) => { log.warn({ err: err.message }, 'updating the identify answer failed: it keeps the last one') },
    trimmed: (kept, of) => { log.warn({ kept, of, maxBytes: MAX_IDENTIFY_BYTES }, 'identify announces only the first addresses: all of them would not fit in an answer go-libp2p clients read (--announce)') }
  })
  forgetDisconnectedPeers(node, (err) => { log.debug({ err: err.message }, 'forgetting a disconnected peer failed') })
  const inflight = new Set<Promise<void>>()
  const track = (p: Promise<void>): void => {
    inflight.add(p)
    void p.finally(() => { inflight.delete(p) })
  }
  // Streams per connection and protocol being served, counted here rather than by libp2p's
  // maxInboundStreams, which resets the extra ones without a trace: a client whose proposals wait
  // (for a relist) and that keeps sending on one connection must show in the logs and metrics.
  const serving = new WeakMap<Connection, Map<string, number>>()
  const streamLimitLogs = new TokenBucket({ perSecond: 1 / 20, burst: 3 })
  const guard = (protocol: string, fn: (s: Stream, c: Connection) => Promise<void>) => (s: Stream, c: Connection): void => {
    if (draining) { s.abort(new Error('ingress is shutting down')); return }
    let counts = serving.get(c)
    if (counts === undefined) serving.set(c, counts = new Map())
    const n = counts.get(protocol) ?? 0
    if (n >= maxStreams) {
      streamErrors.inc({ protocol, code: 'TooManyStreams' })
      if (streamLimitLogs.take()) log.warn({ protocol, peer: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString(), limit: maxStreams }, 'too many streams of one protocol on one connection: the new one is reset (--max-streams)')
      s.abort(new Error(`too many ${protocol} streams on this connection (limit ${maxStreams})`))
      return
    }
    counts.set(protocol, n + 1)
    track(fn(s, c).catch((err: unknown) => {
      streamErrors.inc({ protocol, code: 'HandlerError' })
      log.warn({ protocol, err: (err as Error).message }, 'stream handler failed')
    }).finally(() => { counts.set(protocol, counts.get(protocol)! - 1) }))
  }
  // libp2p's own count only as a backstop (it also counts streams still closing).
  const streamOpts = { maxInboundStreams: 4 * maxStreams, runOnLimitedConnection: false }

  const dealHandler = (protocol: typeof PROTOCOL_IDS.dealProposal120 | typeof PROTOCOL_IDS.dealProposal121) =>
    guard(protocol, async (stream, conn) => {
      let accepted: string | undefined
      await serveRequest(stream, protocol, limits, 'DealParams', async (req) => {
        let params
        try {
          params = decodeDealParams(req, { maxBytes: limits.maxMessageBytes })
        } catch (err) {
          // Well formed, but with a value no deal can have or a field left out: boost would decode
          // it (zero values for missing fields) and refuse the deal, so the client hears a refusal
          // too rather than a reset.
          if (err instanceof DealyardError && err.code === ERR_CBOR_RANGE) return encodeDealResponse(o.proposals.refuseUnreadable(err.message, 'ValueOutOfRange'))
          if (err instanceof DealyardError && err.code === ERR_CBOR_MISSING) return encodeDealResponse(o.proposals.refuseUnreadable(err.message, 'MissingField'))
          throw err
        }
        const ip = conn.remoteAddr.getComponents()[0]?.value
        if (ip !== undefined && !proposalRate.admit(ip)) return encodeDealResponse(o.proposals.refuseRateLimited(proposalRate.limit))
        const res = await o.proposals.propose(params, { protocol, peerId: conn.remotePeer.toString() })
        if (res.accepted) accepted = params.dealUuid
        return encodeDealResponse(res)
      }, (err) => {
        // The deal stands (its funds and space tagged) while its client heard nothing: it may
        // propose again, or ask the deal's status. Bounded by the deals accepted, each logged.
        if (accepted !== undefined) log.warn({ deal: accepted, peer: conn.remotePeer.toString(), err: err.message }, 'deal accepted, but its answer could not be written: the client may not know')
      })
    })
  await node.handle(PROTOCOL_IDS.dealProposal121, dealHandler(PROTOCOL_IDS.dealProposal121), streamOpts)
  await node.handle(PROTOCOL_IDS.dealProposal120, dealHandler(PROTOCOL_IDS.dealProposal120), streamOpts)
  await node.handle(PROTOCOL_IDS.dealStatus, guard(PROTOCOL_IDS.dealStatus, async (stream) => {
    await serveRequest(stream, PROTOCOL_IDS.dealStatus, limits, 'DealStatusRequest', async (req) =>
      encodeDealStatusResponse(await o.status.status(statusRequestOf(req, limits.maxMessageBytes))))
  }), streamOpts)
  await node.handle(PROTOCOL_IDS.ask, guard(PROTOCOL_IDS.ask, async (stream) => {
    await serveRequest(stream, PROTOCOL_IDS.ask, limits, 'AskRequest', async (req) =>
      encodeAskResponse(await o.ask.ask(decodeAskRequest(req, { maxBytes: limits.maxMessageBytes }))))
  }), streamOpts)
  await node.handle(PROTOCOL_IDS.transports, guard(PROTOCOL_IDS.transports, async (stream) => {
    // The client sends nothing: answer at once and close (boost: 30 s write deadline).
    openStreams.inc({ protocol: PROTOCOL_IDS.transports })
    try {
      await answerUnasked(stream, encodeTransportsQueryResponse({ protocols: transports(node, o.httpRetrievalMultiaddr) }), STREAM_DEADLINES_MS.transportsWrite)
    } catch (err) {
      streamErrors.inc({ protocol: PROTOCOL_IDS.transports, code: (err as Error).name })
      stream.abort(err as Error)
    } finally {
      openStreams.dec({ protocol: PROTOCOL_IDS.transports })
    }
  }), streamOpts)

  const peerId = node.peerId.toString()
  log.info({ peerId, addresses: node.getMultiaddrs().map(String) }, 'libp2p host listening')

  return {
    node,
    peerId,
    addresses: () => node.getMultiaddrs().map(String),
    inFlight: () => inflight.size,
    drain: async (timeoutMs = 30_000) => {
      // The handlers stay: a stream negotiated now is reset (guard), where an unhandled protocol
      // would be answered "not supported" and the client might not try again.
      draining = true
      const all = Promise.allSettled([...inflight])
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())])
      await node.stop()
    }
  }
}

/** boost's order: libp2p (listen addresses + /p2p/<id>), then http if configured. */
function transports (node: Libp2p, http: string | undefined): TransportProtocol[] {
  const out: TransportProtocol[] = []
  const addrs = node.getMultiaddrs().map((a) => {
    const withId = a.getComponents().some((c) => c.name === 'p2p') ? a : a.encapsulate(`/p2p/${node.peerId.toString()}`)
    return withId.bytes
  })
  if (addrs.length > 0) out.push({ name: 'libp2p', addresses: addrs })
  if (http !== undefined && http !== '') out.push({ name: 'http', addresses: [multiaddr(http).bytes] })
  return out
}
