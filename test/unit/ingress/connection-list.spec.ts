import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerId } from '@libp2p/interface'
import { linearConnectionList } from '../../../src/ingress/connection-list.ts'
import { libp2pLogger } from '../../../src/ingress/libp2p-logger.ts'

interface Manager {
  connections: { set: (p: PeerId, c: Connection[]) => void, delete: (p: PeerId) => void }
  getConnections: (p?: PeerId) => Connection[]
  acceptIncomingConnection: (maConn: { remoteAddr: ReturnType<typeof multiaddr> }) => boolean
}

test('the connection list is built in one pass: the same connections in the same order, and the maxConnections check still counts them', async (t) => {
  const node = await createLibp2p({ addresses: { listen: [] }, logger: libp2pLogger({}), connectionManager: { maxConnections: 5 } })
  t.after(async () => { await node.stop() })
  const cm = (node as unknown as { components: { connectionManager: Manager } }).components.connectionManager
  const original = cm.getConnections.bind(cm)
  const peers = await Promise.all([1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  // three peers, the second with two connections: what the manager's map holds
  const fake = (peer: PeerId, id: string): Connection => ({ id, remotePeer: peer }) as unknown as Connection
  cm.connections.set(peers[0]!, [fake(peers[0]!, 'a')])
  cm.connections.set(peers[1]!, [fake(peers[1]!, 'b1'), fake(peers[1]!, 'b2')])
  cm.connections.set(peers[2]!, [fake(peers[2]!, 'c')])
  const want = original().map((c) => c.id)
  assert.deepEqual(want, ['a', 'b1', 'b2', 'c'])

  assert.equal(linearConnectionList(node), true)
  assert.ok(Object.hasOwn(cm, 'getConnections'), 'the manager lists through the one-pass list')
  assert.deepEqual(cm.getConnections().map((c) => c.id), want)
  assert.deepEqual(cm.getConnections(peers[1]).map((c) => c.id), ['b1', 'b2'])
  assert.deepEqual(cm.getConnections(peerIdFromPrivateKey(await generateKeyPair('Ed25519'))), [])

  // libp2p's own accept check goes through it: 4 < 5 admits, 5 refuses
  const inbound = { remoteAddr: multiaddr('/ip4/203.0.113.7/tcp/4001') }
  assert.equal(cm.acceptIncomingConnection(inbound), true)
  cm.connections.set(peers[2]!, [fake(peers[2]!, 'c'), fake(peers[2]!, 'c2')])
  assert.equal(cm.acceptIncomingConnection(inbound), false)
  for (const p of peers) cm.connections.delete(p)
})

test('a connection manager without the expected shape is left alone', () => {
  const getConnections = (): Connection[] => []
  const node = { components: { connectionManager: { getConnections } } }
  assert.equal(linearConnectionList(node as never), false)
  assert.equal(node.components.connectionManager.getConnections, getConnections)
})
