/**
 * The client side of boost's deal protocols, as boost's lp2pimpl DealClient does it: open a stream
 * offering mk/1.2.1 then mk/1.2.0, write one CBOR item (write deadline 10 s), read one (read
 * deadline 60 s), close. Works against any mk1.2 provider (boost, Curio, dealyard).
 */
import { createLibp2p, type Libp2p } from 'libp2p'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '../ingress/yamux.ts'
import { identify } from '@libp2p/identify'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey as Libp2pKey, Stream } from '@libp2p/interface'
import { coalescingTcp } from '../ingress/tcp.ts'
import { libp2pLogger } from '../ingress/libp2p-logger.ts'
import { deadline } from '../ingress/streams.ts'
import { DealyardError } from '../errors.ts'
import { sign } from '../filecoin/signature.ts'
import type { PrivateKey } from '../filecoin/keys.ts'
import { readCborItem } from '../protocol/framing.ts'
import { DEAL_PROPOSAL_PROTOCOLS, PROTOCOL_IDS, STREAM_DEADLINES_MS } from '../protocol/ids.ts'
import { decodeDealResponse, encodeDealParams, encodeDealParamsV120 } from '../protocol/deal.ts'
import { decodeDealStatusResponse, encodeDealStatusRequest } from '../protocol/status.ts'
import { decodeAskResponse, encodeAskRequest } from '../protocol/ask.ts'
import { decodeTransportsQueryResponse } from '../protocol/transports.ts'
import { statusRequestMessage } from '../protocol/proposal.ts'
import type { AskResponse, DealParams, DealResponse, DealStatusResponse, TransportsQueryResponse } from '../protocol/types.ts'
import { Address } from '../filecoin/address.ts'
import { DEALYARD_VERSION } from '../version.ts'

export type DealClientNode = Libp2p

/** The request went out and no readable answer came back: the provider may have acted on it. */
export const NO_ANSWER = 'ERR_NO_ANSWER'

/** A dialing-only libp2p node (no listen addresses). */
export async function createClientNode (privateKey?: Libp2pKey): Promise<DealClientNode> {
  return await createLibp2p({
    ...(privateKey !== undefined ? { privateKey } : {}),
    addresses: { listen: [] },
    transports: [coalescingTcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    logger: libp2pLogger(),
    nodeInfo: { name: 'dealyard-client', version: DEALYARD_VERSION },
    // A miner's on-chain addresses (up to 1 KiB of them, ~100) are all tried, as go-libp2p's
    // dialer tries them; js-libp2p stops at 25 by default.
    connectionManager: { maxPeerAddrsToDial: 128 },
    services: { identify: identify() }
  })
}

export interface CallOptions {
  writeDeadlineMs?: number
  readDeadlineMs?: number
  signal?: AbortSignal
}

/**
 * A provider to dial: one multiaddr ending in /p2p/<peer ID>, or several of one peer (its on-chain
 * addresses, tried as libp2p's dialer tries a peer's addresses).
 */
export type ProviderTarget = Multiaddr | string | Multiaddr[]

async function exchange (node: DealClientNode, to: ProviderTarget, protocols: string | readonly string[], req: Uint8Array | undefined, path: string, o: CallOptions): Promise<{ bytes: Uint8Array, protocol: string }> {
  const addrs = Array.isArray(to) ? to : [typeof to === 'string' ? multiaddr(to) : to]
  if (addrs.length === 0) throw new DealyardError('ERR_DIAL', `${path}: no address to dial`)
  const ma = addrs.length === 1 ? addrs[0]! : addrs
  const write = deadline(o.writeDeadlineMs ?? STREAM_DEADLINES_MS.clientWrite)
  const writeSignal = o.signal === undefined ? write.signal : AbortSignal.any([write.signal, o.signal])
  let stream: Stream
  try {
    const offered = Array.isArray(protocols) ? [...protocols] : [protocols as string]
    const known = await preferredProtocol(node, addrs[0]!, offered)
    // As go-libp2p's NewStream does when identify already told it the peer's protocols: name that
    // one protocol and send the request with it, without waiting for multistream's echo (a round
    // trip and a wake-up fewer on both ends). Otherwise negotiate in full.
    stream = known !== undefined
      ? await node.dialProtocol(ma, [known], { signal: writeSignal, negotiateFully: false })
      : await node.dialProtocol(ma, offered, { signal: writeSignal })
  } catch (err) {
    write.clear()
    throw new DealyardError('ERR_DIAL', `${path}: dial ${addrs.map(String).join(', ')}: ${(err as Error).message}`, { cause: err, retry: 'auto' })
  }
  // From the first byte of the request on, a failure leaves the outcome unknown: the provider may
  // have read the request and acted on it (a deal accepted whose answer was lost).
  let sent = false
  const readMs = o.readDeadlineMs ?? STREAM_DEADLINES_MS.clientRead
  const read = new AbortController()
  try {
    sent = req !== undefined
    if (req !== undefined && !stream.send(req)) await stream.onDrain({ signal: writeSignal })
    write.clear()
    const timer = setTimeout(() => { read.abort() }, readMs)
    try {
      const bytes = await readCborItem(stream, { path, signal: o.signal === undefined ? read.signal : AbortSignal.any([read.signal, o.signal]) })
      return { bytes, protocol: stream.protocol ?? '' }
    } finally {
      clearTimeout(timer)
    }
  } catch (err) {
    stream.abort(err as Error)
    if (!sent) throw err
    const why = read.signal.aborted ? `no answer within ${readMs / 1000} s` : (err as Error).message
    throw new DealyardError(NO_ANSWER, `${path}: ${why}`, { cause: err })
  } finally {
    write.clear()
    await stream.close().catch(() => {})
  }
}

/** The first of `offered` that the peer announced through identify, if it is known. */
async function preferredProtocol (node: DealClientNode, ma: Multiaddr, offered: string[]): Promise<string | undefined> {
  const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
  if (id === undefined) return undefined
  const peer = node.getPeers().find((p) => p.toString() === id)
  if (peer === undefined) return undefined
  const announced = await node.peerStore.get(peer).then((p) => p.protocols, () => [] as string[])
  return offered.find((p) => announced.includes(p))
}

export interface ProposeOptions extends CallOptions {
  /** Offer only mk/1.2.0 and send the 5-key form (an old client). */
  v120?: boolean
}

export async function proposeDeal (node: DealClientNode, to: ProviderTarget, params: DealParams, o: ProposeOptions = {}): Promise<DealResponse & { protocol: string }> {
  const r = o.v120 === true
    ? await exchange(node, to, PROTOCOL_IDS.dealProposal120, encodeDealParamsV120(params), 'DealResponse', o)
    : await exchange(node, to, DEAL_PROPOSAL_PROTOCOLS, encodeDealParams(params), 'DealResponse', o)
  try {
    return { ...decodeDealResponse(r.bytes), protocol: r.protocol }
  } catch (err) {
    throw new DealyardError(NO_ANSWER, `the provider's answer cannot be read: ${(err as Error).message}`, { cause: err })
  }
}

/** Signs the 16 UUID bytes with the client's key, as boost's SendDealStatusRequest does. */
export async function dealStatus (node: DealClientNode, to: ProviderTarget, dealUuid: string, key: PrivateKey, o: CallOptions = {}): Promise<DealStatusResponse> {
  const req = encodeDealStatusRequest({ dealUuid, signature: sign(key, statusRequestMessage(dealUuid)) })
  return decodeDealStatusResponse((await exchange(node, to, PROTOCOL_IDS.dealStatus, req, 'DealStatusResponse', o)).bytes)
}

export async function storageAsk (node: DealClientNode, to: ProviderTarget, miner: string, o: CallOptions = {}): Promise<AskResponse> {
  const req = encodeAskRequest({ miner: Address.fromString(miner) })
  return decodeAskResponse((await exchange(node, to, PROTOCOL_IDS.ask, req, 'AskResponse', o)).bytes)
}

export async function queryTransports (node: DealClientNode, to: ProviderTarget, o: CallOptions = {}): Promise<TransportsQueryResponse> {
  return decodeTransportsQueryResponse((await exchange(node, to, PROTOCOL_IDS.transports, undefined, 'QueryResponse', o)).bytes)
}
