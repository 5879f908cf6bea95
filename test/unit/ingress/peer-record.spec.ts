// The host's signed peer record kept in its own peer-store entry (src/ingress/peer-record.ts):
// sealed once, again only when the addresses change, and what identify then sends to clients.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLibp2p } from 'libp2p'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { keepSignedPeerRecord } from '../../../src/ingress/peer-record.ts'
import { withCachedSigner } from '../../../src/ingress/identity.ts'
import { libp2pLogger } from '../../../src/ingress/libp2p-logger.ts'
import { createClientNode } from '../../../src/client/net.ts'
import { noise } from '../../../src/ingress/noise.ts'
import { yamux } from '@chainsafe/libp2p-yamux'
import { coalescingTcp } from '../../../src/ingress/tcp.ts'

async function storedRecord (node: { peerStore: { get: (id: never) => Promise<{ peerRecordEnvelope?: Uint8Array }> }, peerId: unknown }): Promise<PeerRecord | undefined> {
  const env = await node.peerStore.get(node.peerId as never).then((p) => p.peerRecordEnvelope, () => undefined)
  if (env === undefined) return undefined
  const opened = await RecordEnvelope.openAndCertify(env, PeerRecord.DOMAIN)
  return PeerRecord.createFromProtobuf(opened.payload)
}

test('sealed once for the addresses, again only when they change', async (t) => {
  const key = await generateKeyPair('Ed25519')
  let signatures = 0
  const counted = Object.create(key)
  counted.sign = (m: Uint8Array) => { signatures++; return key.sign(m) }
  const node = await createLibp2p({ privateKey: key, addresses: { listen: [] }, logger: libp2pLogger({}) })
  t.after(async () => { await node.stop() })
  let addrs: Multiaddr[] = [multiaddr(`/ip4/192.0.2.7/tcp/24001/p2p/${node.peerId.toString()}`)]
  const events = new EventTarget()
  const view = { peerId: node.peerId, peerStore: node.peerStore, getMultiaddrs: () => addrs, addEventListener: events.addEventListener.bind(events) } as unknown as Parameters<typeof keepSignedPeerRecord>[0]
  keepSignedPeerRecord(view, counted, (err) => { throw err })
  for (let i = 0; i < 100 && (await storedRecord(node)) === undefined; i++) await sleep(10)
  assert.deepEqual((await storedRecord(node))?.multiaddrs.map(String), ['/ip4/192.0.2.7/tcp/24001'], 'announced without /p2p, as identify does')
  assert.equal(signatures, 1)

  for (let i = 0; i < 5; i++) events.dispatchEvent(new Event('self:peer:update'))
  await sleep(50)
  assert.equal(signatures, 1, 'the same addresses: not sealed again')

  addrs = [multiaddr('/dns4/sp.example.com/tcp/24001')]
  events.dispatchEvent(new Event('self:peer:update'))
  for (let i = 0; i < 100 && signatures < 2; i++) await sleep(10)
  await sleep(20)
  assert.equal(signatures, 2)
  assert.deepEqual((await storedRecord(node))?.multiaddrs.map(String), ['/dns4/sp.example.com/tcp/24001'])
})

test('identify sends the kept record on every connection without signing again', async (t) => {
  const key = await generateKeyPair('Ed25519')
  let signatures = 0
  const signer = withCachedSigner(key)
  const counted = Object.create(signer)
  counted.sign = (m: Uint8Array) => { signatures++; return signer.sign(m) }
  const server = await createLibp2p({
    privateKey: counted,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [coalescingTcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    logger: libp2pLogger({}),
    services: { identify: identify({ runOnConnectionOpen: false }) }
  })
  t.after(async () => { await server.stop() })
  keepSignedPeerRecord(server, counted, (err) => { throw err })
  for (let i = 0; i < 100 && (await storedRecord(server)) === undefined; i++) await sleep(10)
  const sealed = signatures
  for (let i = 0; i < 3; i++) {
    const client = await createClientNode()
    try {
      await client.dial(server.getMultiaddrs()[0]!)
      let env: Uint8Array | undefined
      for (let k = 0; k < 200 && env === undefined; k++) {
        env = await client.peerStore.get(server.peerId).then((p) => p.peerRecordEnvelope, () => undefined)
        if (env === undefined) await sleep(10)
      }
      assert.ok(env !== undefined, 'the client got a signed peer record')
      const record = PeerRecord.createFromProtobuf((await RecordEnvelope.openAndCertify(env, PeerRecord.DOMAIN)).payload)
      assert.ok(record.peerId.equals(server.peerId))
      assert.deepEqual(record.multiaddrs.map(String), server.getMultiaddrs().map((a) => a.decapsulateCode(421).toString()))
    } finally {
      await client.stop()
    }
  }
  // Each connection signs its noise handshake once; identify adds nothing.
  assert.equal(signatures - sealed, 3)
})

test('the cached signer signs what the key signs', async () => {
  const key = await generateKeyPair('Ed25519')
  const cached = withCachedSigner(key)
  const msg = new TextEncoder().encode('a handshake payload')
  assert.deepEqual(Buffer.from(await cached.sign(msg)), Buffer.from(await key.sign(msg)), 'Ed25519 signatures are deterministic')
  assert.equal(await key.publicKey.verify(msg, await cached.sign(msg)), true)
  assert.ok(cached.equals(key))
  assert.equal(cached.type, 'Ed25519')
  const secp = await generateKeyPair('secp256k1')
  assert.equal(withCachedSigner(secp), secp, 'other key types are left alone')
})
