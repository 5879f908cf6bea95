import { NotFoundError, type Libp2p, type PeerId, type PeerStore, type Peer, type PeerData } from '@libp2p/interface'

/**
 * Keeps libp2p's per-stream protocol merges about other peers out of the peer store.
 *
 * Why: for every inbound stream libp2p merges the negotiated protocol into the remote peer's
 * record (`connection.js`: "the peer store should ensure that the peer is registered with that
 * protocol"): a write lock, a datastore read, protobuf decode, compare, encode and write — ~0.1
 * CPU-ms a stream, and for a peer first seen on this connection (`boost deal` connects for every
 * deal) a new record that forgetDisconnectedPeers deletes again when it leaves. Nothing reads it:
 * the ingress never opens a stream to a client, which is all a peer's protocols are for, and
 * libp2p ignores what the merge returns. Such merges (only protocols, another peer) return the
 * record as it would be without touching the store; anything else, and every write about this host
 * itself (identify announces its protocols from there), goes through.
 */
export function skipRemoteProtocolMerges (node: Pick<Libp2p, 'peerId' | 'peerStore'>): void {
  const store = node.peerStore as PeerStore
  const merge = store.merge.bind(store)
  store.merge = async (id: PeerId, data: PeerData, options?: Parameters<PeerStore['merge']>[2]): Promise<Peer> => {
    const keys = Object.keys(data)
    if (keys.length !== 1 || keys[0] !== 'protocols' || data.protocols === undefined || id.equals(node.peerId)) return await merge(id, data, options)
    return { id, addresses: [], protocols: [...data.protocols], metadata: new Map(), tags: new Map() }
  }
}

/**
 * Deletes a peer's record once its last connection has closed.
 *
 * Why: libp2p keeps every peer it was ever connected to (identify's protocols, addresses and key,
 * ~1 KB) and only expires a record when it is read again, which for a server that never dials
 * out is never. Every new peer ID that connects, a fresh `boost deal` key or a client that makes
 * up a key per connection, grew the ingress for good (30 connections, 30 records left, measured).
 * The ingress dials nobody, so it needs nothing about a peer once it is gone.
 */
export function forgetDisconnectedPeers (node: Pick<Libp2p, 'peerStore' | 'addEventListener'>, onError: (err: Error) => void = () => {}): void {
  node.addEventListener('peer:disconnect', (evt) => {
    node.peerStore.delete(evt.detail).catch(onError)
  })
}

/**
 * Reads and deletes about peers nothing was written for answer without the store.
 *
 * Why: every disconnect makes libp2p read the peer's record twice (the reconnect queue, for a
 * keep-alive tag; the registrar, for topologies to tell) and forgetDisconnectedPeers delete it:
 * three trips through the peer's lock and the datastore, and two NotFoundErrors, for a client
 * whose record was never written (the store keeps only RSA clients' keys; per-stream protocol
 * merges are skipped above). `boost deal` connects for every deal, so this was per proposal. The
 * peers written for are tracked through the store's write methods; after a signed peer record
 * (its peer is known only inside it) every read goes to the store again.
 */
export function answerUnknownPeers (node: Pick<Libp2p, 'peerId' | 'peerStore'>): void {
  const store = node.peerStore as PeerStore
  const written = new Set<string>()
  let exact = true
  const known = (id: PeerId): boolean => !exact || id.equals(node.peerId) || written.has(id.toString())
  const get = store.get.bind(store)
  const has = store.has.bind(store)
  const del = store.delete.bind(store)
  const consume = store.consumePeerRecord.bind(store) as (...a: unknown[]) => Promise<boolean>
  for (const method of ['save', 'patch', 'merge'] as const) {
    const write = store[method].bind(store) as (id: PeerId, ...rest: unknown[]) => Promise<Peer>
    ;(store as unknown as Record<string, unknown>)[method] = async (id: PeerId, ...rest: unknown[]): Promise<Peer> => {
      written.add(id.toString())
      return await write(id, ...rest)
    }
  }
  store.consumePeerRecord = (async (...a: unknown[]) => {
    exact = false
    return await consume(...a)
  }) as PeerStore['consumePeerRecord']
  store.get = async (id, options) => {
    if (!known(id)) throw new NotFoundError('Not Found')
    return await get(id, options)
  }
  store.has = async (id, options) => known(id) ? await has(id, options) : false
  store.delete = async (id, options) => {
    if (!known(id)) return
    await del(id, options)
    written.delete(id.toString())
  }
}
