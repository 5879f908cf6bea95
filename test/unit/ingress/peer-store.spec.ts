// The per-stream protocol merge skip (src/ingress/peer-store.ts) on a real libp2p peer store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { skipRemoteProtocolMerges } from '../../../src/ingress/peer-store.ts'
import { libp2pLogger } from '../../../src/ingress/libp2p-logger.ts'

test('protocol-only merges about other peers skip the store; anything else, and this host\'s own, reach it', async (t) => {
  const node = await createLibp2p({ addresses: { listen: [] }, logger: libp2pLogger({}) })
  t.after(async () => { await node.stop() })
  let underlying = 0
  const merge = node.peerStore.merge.bind(node.peerStore)
  node.peerStore.merge = async (...a: Parameters<typeof merge>) => { underlying++; return await merge(...a) }
  skipRemoteProtocolMerges(node)
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

  const answered = await node.peerStore.merge(peer, { protocols: ['/fil/storage/mk/1.2.1'] })
  assert.equal(underlying, 0)
  assert.ok(answered.id.equals(peer))
  assert.deepEqual(answered.protocols, ['/fil/storage/mk/1.2.1'])
  assert.equal(await node.peerStore.has(peer), false, 'nothing stored about the client')

  // Anything more than protocols goes through.
  await node.peerStore.merge(peer, { protocols: ['/x'], metadata: { a: new Uint8Array([1]) } })
  assert.equal(underlying, 1)
  assert.deepEqual((await node.peerStore.get(peer)).protocols, ['/x'])
  // This host's own protocols go through: identify announces them from the store.
  await node.peerStore.merge(node.peerId, { protocols: ['/fil/storage/status/1.2.0'] })
  assert.equal(underlying, 2)
  assert.ok((await node.peerStore.get(node.peerId)).protocols.includes('/fil/storage/status/1.2.0'))
})

test('libp2p loggers are one disabled logger unless DEBUG is set', () => {
  const quiet = libp2pLogger({})
  const a = quiet.forComponent('libp2p:yamux')
  assert.equal(a.enabled, false)
  assert.equal(a.newScope('stream'), a)
  assert.doesNotThrow(() => { a('x %s', 1); a.error('e'); a.trace('t') })
  const loud = libp2pLogger({ DEBUG: 'libp2p:*' }).forComponent('libp2p:yamux')
  assert.notEqual(loud, a)
  assert.equal(typeof loud.newScope, 'function')
})
