// The peer-store shortcuts (src/ingress/peer-store.ts) on a real libp2p peer store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { answerUnknownPeers, skipRemoteProtocolMerges } from '../../../src/ingress/peer-store.ts'
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

test('reads and deletes about peers nothing was written for skip the store; written peers, this host and anything after a peer record reach it', async (t) => {
  const node = await createLibp2p({ addresses: { listen: [] }, logger: libp2pLogger({}) })
  t.after(async () => { await node.stop() })
  const store = node.peerStore
  const reached: string[] = []
  for (const m of ['get', 'has', 'delete'] as const) {
    const orig = (store[m] as (...a: unknown[]) => Promise<unknown>).bind(store)
    ;(store as unknown as Record<string, unknown>)[m] = async (...a: unknown[]) => { reached.push(m); return await orig(...a) }
  }
  answerUnknownPeers(node)
  skipRemoteProtocolMerges(node)
  const client = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

  // what a disconnect does: two reads and a delete, none reaching the store
  await assert.rejects(store.get(client), { name: 'NotFoundError' })
  assert.equal(await store.has(client), false)
  await store.delete(client)
  assert.deepEqual(reached, [])
  // a protocol-only merge (skipped) stores nothing, so the client stays unknown
  await store.merge(client, { protocols: ['/fil/storage/mk/1.2.1'] })
  await assert.rejects(store.get(client), { name: 'NotFoundError' })
  assert.deepEqual(reached, [])

  // an RSA client's key is patched in: its record is read from the store, and deleted there
  const rsa = peerIdFromPrivateKey(await generateKeyPair('RSA', 1024))
  await store.patch(rsa, { publicKey: rsa.publicKey })
  assert.ok((await store.get(rsa)).id.equals(rsa))
  await store.delete(rsa)
  assert.deepEqual(reached, ['get', 'delete'])
  reached.length = 0
  await assert.rejects(store.get(rsa), { name: 'NotFoundError' })
  assert.deepEqual(reached, [], 'gone again once deleted')

  // this host's own record always comes from the store
  await store.get(node.peerId).catch(() => undefined)
  assert.deepEqual(reached, ['get'])
  reached.length = 0

  // a signed peer record names its peer only inside it: from then on every read goes to the store
  await store.consumePeerRecord(new Uint8Array(0)).catch(() => false)
  await assert.rejects(store.get(client), { name: 'NotFoundError' })
  assert.deepEqual(reached, ['get'])
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
