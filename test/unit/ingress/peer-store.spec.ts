// The per-stream protocol merge shortcut (src/ingress/peer-store.ts) on a real libp2p peer store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { skipRepeatedProtocolMerges } from '../../../src/ingress/peer-store.ts'
import { libp2pLogger } from '../../../src/ingress/libp2p-logger.ts'

test('a repeated protocol-only merge is answered from memory; anything else reaches the store', async (t) => {
  const node = await createLibp2p({ addresses: { listen: [] }, logger: libp2pLogger({}) })
  t.after(async () => { await node.stop() })
  let underlying = 0
  const merge = node.peerStore.merge.bind(node.peerStore)
  node.peerStore.merge = async (...a: Parameters<typeof merge>) => { underlying++; return await merge(...a) }
  skipRepeatedProtocolMerges(node)
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

  const first = await node.peerStore.merge(peer, { protocols: ['/fil/storage/mk/1.2.1'] })
  const again = await node.peerStore.merge(peer, { protocols: ['/fil/storage/mk/1.2.1'] })
  assert.equal(underlying, 1)
  assert.equal(again, first)
  assert.deepEqual(again.protocols, ['/fil/storage/mk/1.2.1'])

  // A protocol not merged before goes through, and is remembered with the others.
  const both = await node.peerStore.merge(peer, { protocols: ['/fil/storage/status/1.2.0'] })
  assert.equal(underlying, 2)
  assert.deepEqual([...both.protocols].sort(), ['/fil/storage/mk/1.2.1', '/fil/storage/status/1.2.0'])
  await node.peerStore.merge(peer, { protocols: ['/fil/storage/status/1.2.0'] })
  assert.equal(underlying, 2)

  // Other writes make the next merge go to the store again (the record may have changed).
  await node.peerStore.patch(peer, { protocols: ['/other/1'] })
  const afterPatch = await node.peerStore.merge(peer, { protocols: ['/fil/storage/mk/1.2.1'] })
  assert.equal(underlying, 3)
  assert.deepEqual([...afterPatch.protocols].sort(), ['/fil/storage/mk/1.2.1', '/other/1'])
  await node.peerStore.merge(peer, { protocols: ['/x'], metadata: { a: new Uint8Array([1]) } })
  await node.peerStore.merge(peer, { protocols: ['/x'] })
  assert.equal(underlying, 5, 'a merge with more than protocols is not remembered')
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
