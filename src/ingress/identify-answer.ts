/**
 * Answers identify (`/ipfs/id/1.0.0`) from a message encoded once, and keeps the host's signed peer
 * record, sealed once, in its own peer-store entry.
 *
 * Why: `boost deal` connects for every deal, and go-libp2p's Connect waits for identify, so every
 * deal costs an identify answer. js-libp2p's identify built it for every request: the address
 * manager's address list, the host's peer-store entry read and decoded, its multiaddrs and key
 * encoded, and, with no record in the store, a new peer record signed (an Ed25519 signature). In
 * the ingress benchmark with a connection per proposal that was ~6 % of the ingress's CPU. go-libp2p's
 * identify also signs once and again only when the host's addresses change. Here the message's
 * fields other than the client's observed address are encoded when the host's entry changes (its
 * protocols, addresses or the agent identify's service stored there), and each answer appends
 * the observed address, as a protobuf decoder takes fields in any order.
 *
 * js-libp2p's identify service stays for the rest (it stores the agent and protocol versions, and
 * is configured not to identify clients, see host.ts); only its handler is replaced.
 */
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey, Stream, Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { answerUnasked } from './streams.ts'

export const IDENTIFY_PROTOCOL = '/ipfs/id/1.0.0'
/** The p2p protocol's multiaddr code: identify announces addresses without it. */
const CODE_P2P = 421
/** js-libp2p identify's write budget for its answer. */
const WRITE_DEADLINE_MS = 5000
/**
 * The largest answer sent. go-libp2p reads an identify message of at most 8 KiB (signedIDSize in
 * p2p/protocol/identify/id.go) and drops a larger one whole: no protocols, no addresses, and boost's
 * client then finds no deal protocol. go-libp2p trims its own answers to 4 KiB
 * (maxOwnIdentifyMsgSize); so does this, by announcing fewer addresses.
 */
export const MAX_IDENTIFY_BYTES = 4096
/** Room kept for the observed address each answer adds (a DNS or IPv6 multiaddr with its tag). */
const OBSERVED_ROOM = 128

type IdentifyNode = Pick<Libp2p, 'peerId' | 'peerStore' | 'getMultiaddrs' | 'addEventListener' | 'handle' | 'unhandle'>

function varint (n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n >>>= 7 }
  out.push(n)
  return out
}

/** A length-delimited protobuf field (wire type 2): strings and bytes alike. */
function field (no: number, value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value
  return Uint8Array.from([...varint((no << 3) | 2), ...varint(bytes.byteLength), ...bytes])
}

const concat = (parts: Uint8Array[]): Uint8Array => Buffer.concat(parts)

/** Identify's fields (identify.proto): observedAddr is 4, added per answer. */
export interface IdentifyFields {
  protocolVersion?: string
  agentVersion?: string
  publicKey: Uint8Array
  listenAddrs: Uint8Array[]
  protocols: string[]
  signedPeerRecord?: Uint8Array
}

/** Every field but observedAddr, in identify.proto's order, as js-libp2p encodes them. */
export function encodeIdentifyFields (f: IdentifyFields): Uint8Array {
  return concat([
    ...(f.protocolVersion !== undefined ? [field(5, f.protocolVersion)] : []),
    ...(f.agentVersion !== undefined ? [field(6, f.agentVersion)] : []),
    field(1, f.publicKey),
    ...f.listenAddrs.map((a) => field(2, a)),
    ...f.protocols.map((p) => field(3, p)),
    ...(f.signedPeerRecord !== undefined ? [field(8, f.signedPeerRecord)] : [])
  ])
}

/** One answer: the fields, the observed address, the whole varint-length-prefixed. */
export function identifyAnswer (fields: Uint8Array, observedAddr: Uint8Array | undefined): Uint8Array {
  const message = observedAddr === undefined ? fields : concat([fields, field(4, observedAddr)])
  return concat([Uint8Array.from(varint(message.byteLength)), message])
}

/**
 * Seals the signed peer record when the addresses change, re-encodes identify's fields when the
 * host's entry changes, and answers identify from them. Resolves once the first answer is ready
 * and the handler installed.
 */
export async function answerIdentify (node: IdentifyNode, privateKey: PrivateKey, on: { error: (err: Error) => void, trimmed: (kept: number, of: number) => void }): Promise<void> {
  let record: { key: string, envelope: Uint8Array | undefined } | undefined
  let fields: Uint8Array | undefined
  /** The address list the records below were sealed for (all of it, before any trim). */
  let sealedFor: string | undefined
  let warnedFor: string | undefined
  /** Records sealed for prefixes of that list, by their addresses: a trim re-run as protocols change signs nothing again. */
  const sealed = new Map<string, Uint8Array | undefined>()
  const addresses = (): Multiaddr[] => node.getMultiaddrs().map((ma) => ma.decapsulateCode(CODE_P2P))
  const publicKey = publicKeyToProtobuf(privateKey.publicKey)
  const seal = async (multiaddrs: Multiaddr[]): Promise<{ key: string, envelope: Uint8Array | undefined }> => {
    const key = multiaddrs.map(String).join(' ')
    if (!sealed.has(key)) {
      // No address, no record: identify then sends none, as js-libp2p's does.
      sealed.set(key, multiaddrs.length === 0
        ? undefined
        : (await RecordEnvelope.seal(new PeerRecord({ peerId: node.peerId, multiaddrs }), privateKey)).marshal())
    }
    return { key, envelope: sealed.get(key) }
  }
  const build = async (): Promise<void> => {
    // No entry yet (nothing stored about the host): no protocols and no agent to tell.
    const self = await node.peerStore.get(node.peerId).catch((err: Error) => {
      if (err.name === 'NotFoundError') return { protocols: [] as string[], metadata: new Map<string, Uint8Array>() }
      throw err
    })
    const text = (k: string): string | undefined => { const v = self.metadata.get(k); return v === undefined ? undefined : new TextDecoder().decode(v) }
    const all = addresses()
    const allKey = all.map(String).join(' ')
    if (sealedFor !== allKey) {
      sealed.clear()
      sealedFor = allKey
    }
    let multiaddrs = all
    let answer = await seal(multiaddrs)
    const encode = (): Uint8Array => encodeIdentifyFields({
      protocolVersion: text('ProtocolVersion'),
      agentVersion: text('AgentVersion'),
      publicKey,
      listenAddrs: multiaddrs.map((a) => a.bytes),
      protocols: self.protocols,
      ...(answer.envelope !== undefined ? { signedPeerRecord: answer.envelope } : {})
    })
    let encoded = encode()
    while (encoded.byteLength + OBSERVED_ROOM > MAX_IDENTIFY_BYTES && multiaddrs.length > 1) {
      // Each address is in the answer twice (listenAddrs and the record, with a few bytes of
      // framing each): drop from the end as many as the excess needs, then seal and measure again.
      let excess = encoded.byteLength + OBSERVED_ROOM - MAX_IDENTIFY_BYTES
      let n = multiaddrs.length
      while (n > 1 && excess > 0) { n--; excess -= 2 * (multiaddrs[n]!.bytes.byteLength + 3) }
      multiaddrs = multiaddrs.slice(0, n)
      answer = await seal(multiaddrs)
      encoded = encode()
    }
    // Said once for an address list: the kept count moves by one or two as protocols come and go.
    if (multiaddrs.length < all.length && warnedFor !== allKey) {
      warnedFor = allKey
      on.trimmed(multiaddrs.length, all.length)
    }
    if (record?.key !== answer.key && answer.envelope !== undefined) {
      // Kept where js-libp2p's identify and other services look for it.
      await node.peerStore.merge(node.peerId, { peerRecordEnvelope: answer.envelope })
    }
    record = answer
    fields = encoded
  }
  let running: Promise<void> | undefined
  let again = false
  const update = (): void => {
    if (running !== undefined) { again = true; return }
    running = build().catch(on.error).finally(() => {
      running = undefined
      if (again) { again = false; update() }
    })
  }
  // The address manager, the registrar (protocols) and identify's service (agent) write the
  // host's entry; each write that changes it says so.
  node.addEventListener('self:peer:update', update)
  await build()
  await node.unhandle(IDENTIFY_PROTOCOL)
  await node.handle(IDENTIFY_PROTOCOL, (stream: Stream, connection: Connection) => {
    // A TCP connection's remote address is always an IP address, which identify reports.
    // Guarded as an answered request: what the client sends on it is dropped, and it is reset if
    // it stays open or the answer cannot be written in time.
    answerUnasked(stream, identifyAnswer(fields!, connection.remoteAddr.bytes), WRITE_DEADLINE_MS).catch((err: unknown) => { stream.abort(err as Error) })
  }, { maxInboundStreams: 1, runOnLimitedConnection: true })
}
