/**
 * Skips libp2p's per-stream peer-store merge when it would change nothing.
 *
 * Why: for every inbound stream libp2p merges the negotiated protocol into the remote peer's
 * record (`connection.js`: "the peer store should ensure that the peer is registered with that
 * protocol"): a write lock, a datastore read, protobuf decode, compare, maybe encode and write —
 * ~0.1 CPU-ms per proposal in the ingress profile, and the same protocol every time, since a deal
 * client opens one stream per proposal on a long-lived connection. A merge whose only content is
 * protocols this process already merged for that peer returns the record that merge returned;
 * anything else (addresses, metadata, tags, a protocol not seen yet, a delete or a save) goes
 * through and forgets what was remembered for the peer.
 */
import type { Libp2p, PeerId, PeerStore, Peer, PeerData } from '@libp2p/interface'

export function skipRepeatedProtocolMerges (node: Pick<Libp2p, 'peerStore' | 'addEventListener'>): void {
  const store = node.peerStore as PeerStore
  const known = new Map<string, { protocols: Set<string>, peer: Peer }>()
  const merge = store.merge.bind(store)
  const forget = (id: PeerId): void => { known.delete(id.toString()) }
  store.merge = async (id: PeerId, data: PeerData, options?: Parameters<PeerStore['merge']>[2]): Promise<Peer> => {
    const keys = Object.keys(data)
    const onlyProtocols = keys.length === 1 && keys[0] === 'protocols' && data.protocols !== undefined
    const k = known.get(id.toString())
    if (onlyProtocols && k !== undefined && data.protocols!.every((p) => k.protocols.has(p))) return k.peer
    const peer = await merge(id, data, options)
    if (onlyProtocols) known.set(id.toString(), { protocols: new Set(peer.protocols), peer })
    else forget(id)
    return peer
  }
  for (const m of ['patch', 'save', 'delete'] as const) {
    const original = (store[m] as (...a: unknown[]) => Promise<unknown>).bind(store)
    ;(store as unknown as Record<string, unknown>)[m] = async (id: PeerId, ...rest: unknown[]) => {
      forget(id)
      return await original(id, ...rest)
    }
  }
  node.addEventListener('peer:disconnect', (evt) => { forget(evt.detail) })
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
