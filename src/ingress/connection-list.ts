/**
 * js-libp2p's connection manager lists its connections by concatenating each peer's connections
 * onto the list so far (`conns = conns.concat(c)` in `getConnections()`), which copies the list
 * once per peer: quadratic in connected peers, in time and in garbage. It lists them twice for
 * every inbound connection (the maxConnections check at accept, the pruner after open). With 200
 * clients connected that was ~160 KB of short-lived arrays per list, 4.5 % of everything the
 * ingress allocated in the bench's kept-connection runs (sampling allocation profile), and per
 * proposal when every proposal brings its own connection, as `boost deal` sends them; at
 * thousands of connected peers, megabytes and milliseconds per connection.
 *
 * Here the same list (same connections, same order: peers in insertion order, each peer's in
 * its own order) is built in one pass.
 */
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

interface ConnectionManagerShape {
  connections: { values: () => Iterable<Connection[]> }
  getConnections: (peerId?: PeerId) => Connection[]
}

/** Returns false (and leaves the manager alone) when it does not have the shape this relies on. */
export function linearConnectionList (node: Libp2p): boolean {
  const cm = (node as unknown as { components?: { connectionManager?: Partial<ConnectionManagerShape> } }).components?.connectionManager
  if (typeof cm?.getConnections !== 'function' || typeof cm.connections?.values !== 'function') return false
  const manager = cm as ConnectionManagerShape
  const perPeer = manager.getConnections.bind(manager)
  manager.getConnections = (peerId?: PeerId): Connection[] => {
    if (peerId != null) return perPeer(peerId)
    const all: Connection[] = []
    for (const conns of manager.connections.values()) for (const c of conns) all.push(c)
    return all
  }
  return true
}
