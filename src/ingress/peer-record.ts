/**
 * Keeps the host's own signed peer record in its peer-store entry, where identify looks for it.
 *
 * Why: js-libp2p's identify answers every request with a signed peer record, and when the peer
 * store holds none for the host itself it makes and signs a new one for that answer: an Ed25519
 * signature and the record's encoding on every connection (boost's client identifies the provider
 * each time it connects, and `boost deal` connects for every deal). go-libp2p's identify signs
 * once and again only when the host's addresses change; so does this. The record is sealed again
 * whenever the addresses identify would announce differ from the ones it holds.
 */
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The p2p protocol's multiaddr code: identify announces addresses without it. */
const CODE_P2P = 421

export function keepSignedPeerRecord (node: Pick<Libp2p, 'peerId' | 'peerStore' | 'getMultiaddrs' | 'addEventListener'>, privateKey: PrivateKey, onError: (err: Error) => void): void {
  let sealedFor: string | undefined
  let running: Promise<void> | undefined
  let again = false
  const addresses = (): Multiaddr[] => node.getMultiaddrs().map((ma) => ma.decapsulateCode(CODE_P2P))
  const seal = async (): Promise<void> => {
    const multiaddrs = addresses()
    const key = multiaddrs.map(String).join(' ')
    if (key === sealedFor) return
    // No address, no record: identify then sends none, as it does itself.
    if (multiaddrs.length === 0) {
      sealedFor = key
      return
    }
    const envelope = await RecordEnvelope.seal(new PeerRecord({ peerId: node.peerId, multiaddrs }), privateKey)
    await node.peerStore.merge(node.peerId, { peerRecordEnvelope: envelope.marshal() })
    sealedFor = key
  }
  const update = (): void => {
    if (running !== undefined) { again = true; return }
    running = seal().catch(onError).finally(() => {
      running = undefined
      if (again) { again = false; update() }
    })
  }
  // The address manager writes the host's addresses to its own entry as they change.
  node.addEventListener('self:peer:update', update)
  update()
}
