// identify answered from a message encoded once (src/ingress/identify-answer.ts): the bytes
// js-libp2p's own codec reads, the signed peer record sealed once and again only when the
// addresses change, and what real clients then know about the host.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLibp2p } from 'libp2p'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { answerIdentify, encodeIdentifyFields, identifyAnswer, MAX_IDENTIFY_BYTES } from '../../../src/ingress/identify-answer.ts'
import { withCachedSigner } from '../../../src/ingress/identity.ts'
import { libp2pLogger } from '../../../src/ingress/libp2p-logger.ts'
import { createClientNode } from '../../../src/client/net.ts'
import { noise } from '../../../src/ingress/noise.ts'
import { coalescingTcp } from '../../../src/ingress/tcp.ts'
// js-libp2p's own protobuf codec for identify (not exported by the package)
import { Identify } from '../../../node_modules/@libp2p/identify/dist/src/pb/message.js'

const openRecord = async (env: Uint8Array): Promise<PeerRecord> => PeerRecord.createFromProtobuf((await RecordEnvelope.openAndCertify(env, PeerRecord.DOMAIN)).payload)

test('the answer is what js-libp2p\'s codec encodes and decodes, the observed address added per answer', () => {
  const fields = {
    protocolVersion: 'ipfs/0.1.0',
    agentVersion: 'dealyard/1.2.3 node/v24',
    publicKey: Uint8Array.from([8, 1, 18, 32, ...new Uint8Array(32).fill(7)]),
    listenAddrs: [multiaddr('/ip4/192.0.2.1/tcp/24001').bytes, multiaddr('/dns4/sp.example.com/tcp/24001').bytes],
    protocols: ['/ipfs/id/1.0.0', '/fil/storage/mk/1.2.1'],
    signedPeerRecord: new Uint8Array(300).fill(9)
  }
  const observedAddr = multiaddr('/ip4/198.51.100.4/tcp/40000').bytes
  const answer = identifyAnswer(encodeIdentifyFields(fields), observedAddr)
  const reference = Identify.encode({ ...fields, observedAddr })
  // the length prefix, then the message
  assert.equal(answer[0]! | ((answer[1]! & 0x7f) << 7), reference.byteLength)
  assert.equal(answer.byteLength, reference.byteLength + 2)
  const plain = (m: object): unknown => JSON.parse(JSON.stringify(m, (_k, v: unknown) => v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))
  assert.deepEqual(plain(Identify.decode(Uint8Array.from(answer.subarray(2)))), plain(Identify.decode(reference)))
  const bare = identifyAnswer(encodeIdentifyFields({ publicKey: fields.publicKey, listenAddrs: [], protocols: [] }), undefined)
  assert.deepEqual(Buffer.from(bare.subarray(1)), Buffer.from(Identify.encode({ publicKey: fields.publicKey, listenAddrs: [], protocols: [] })))
})

test('sealed once for the addresses, again only when they change', async (t) => {
  const key = await generateKeyPair('Ed25519')
  let signatures = 0
  const counted = Object.create(key)
  counted.sign = (m: Uint8Array) => { signatures++; return key.sign(m) }
  const node = await createLibp2p({ privateKey: key, addresses: { listen: [] }, logger: libp2pLogger({}) })
  t.after(async () => { await node.stop() })
  let addrs: Multiaddr[] = [multiaddr(`/ip4/192.0.2.7/tcp/24001/p2p/${node.peerId.toString()}`)]
  const events = new EventTarget()
  const view = {
    peerId: node.peerId,
    peerStore: node.peerStore,
    getMultiaddrs: () => addrs,
    addEventListener: events.addEventListener.bind(events),
    handle: node.handle.bind(node),
    unhandle: node.unhandle.bind(node)
  } as unknown as Parameters<typeof answerIdentify>[0]
  await answerIdentify(view, counted, { error: (err) => { throw err }, trimmed: () => {} })
  const stored = async (): Promise<string[]> => (await openRecord((await node.peerStore.get(node.peerId)).peerRecordEnvelope!)).multiaddrs.map(String)
  assert.deepEqual(await stored(), ['/ip4/192.0.2.7/tcp/24001'], 'announced without /p2p, as identify does')
  assert.equal(signatures, 1)

  for (let i = 0; i < 5; i++) events.dispatchEvent(new Event('self:peer:update'))
  await sleep(50)
  assert.equal(signatures, 1, 'the same addresses: not sealed again')

  addrs = [multiaddr('/dns4/sp.example.com/tcp/24001')]
  events.dispatchEvent(new Event('self:peer:update'))
  for (let i = 0; i < 100 && signatures < 2; i++) await sleep(10)
  await sleep(20)
  assert.equal(signatures, 2)
  assert.deepEqual(await stored(), ['/dns4/sp.example.com/tcp/24001'])
})

test('an answer that would not fit what go-libp2p reads announces only the first addresses, and says so', async (t) => {
  const key = await generateKeyPair('Ed25519')
  const node = await createLibp2p({ privateKey: key, addresses: { listen: [] }, logger: libp2pLogger({}) })
  t.after(async () => { await node.stop() })
  const many = Array.from({ length: 120 }, (_, i) => multiaddr(`/dns4/sp-${i}.storage-provider.example.com/tcp/24001`))
  const events = new EventTarget()
  let handler: ((s: unknown, c: unknown) => void) | undefined
  const view = {
    peerId: node.peerId,
    peerStore: node.peerStore,
    getMultiaddrs: () => many,
    addEventListener: events.addEventListener.bind(events),
    handle: async (_p: string, h: typeof handler) => { handler = h },
    unhandle: async () => {}
  } as unknown as Parameters<typeof answerIdentify>[0]
  const trims: Array<[number, number]> = []
  await answerIdentify(view, key, { error: (err) => { throw err }, trimmed: (kept, of) => { trims.push([kept, of]) } })
  const sent: Uint8Array[] = []
  const stream = {
    send: (b: Uint8Array) => { sent.push(b); return true },
    close: async () => {},
    abort: (err: Error) => { throw err },
    status: 'closed',
    // The client sends nothing on it and closes.
    [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true, value: undefined }) })
  }
  handler!(stream, { remoteAddr: multiaddr('/ip6/2001:db8::1234/tcp/40000') })
  await sleep(10)
  const answer = sent[0]!
  assert.ok(answer.byteLength <= MAX_IDENTIFY_BYTES, `${answer.byteLength} bytes`)
  // A protocol registered later changes how many fit, not the warning: said once per address list.
  await node.handle('/fil/storage/mk/1.2.1/with-a-long-protocol-name-that-takes-room', () => {})
  events.dispatchEvent(new Event('self:peer:update'))
  await sleep(50)
  assert.equal(trims.length, 1)
  const [kept, of] = trims[0]!
  assert.equal(of, 120)
  assert.ok(kept > 10 && kept < 120, `kept ${kept}`)
  const message = Identify.decode(answer.subarray(2))
  assert.deepEqual(message.listenAddrs.map((a) => multiaddr(a).toString()), many.slice(0, kept).map(String))
  assert.deepEqual((await openRecord(message.signedPeerRecord!)).multiaddrs.map(String), many.slice(0, kept).map(String))
})

test('clients learn the host from the answer on every connection, which signs nothing more', async (t) => {
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
    nodeInfo: { name: 'dealyard', version: '9.9.9' },
    services: { identify: identify({ runOnConnectionOpen: false }) }
  })
  t.after(async () => { await server.stop() })
  await answerIdentify(server, counted, { error: (err) => { throw err }, trimmed: () => {} })
  // A protocol handled later is in the next answer.
  await server.handle('/fil/storage/mk/1.2.1', (s) => { s.abort(new Error('not here')) })
  await sleep(50)
  const sealed = signatures
  for (let i = 0; i < 3; i++) {
    const client = await createClientNode()
    try {
      const conn = await client.dial(server.getMultiaddrs()[0]!)
      let peer
      for (let k = 0; k < 200; k++) {
        peer = await client.peerStore.get(server.peerId).catch(() => undefined)
        if (peer?.peerRecordEnvelope !== undefined) break
        await sleep(10)
      }
      assert.ok(peer?.peerRecordEnvelope !== undefined, 'the client took a signed peer record')
      const record = await openRecord(peer.peerRecordEnvelope)
      assert.ok(record.peerId.equals(server.peerId))
      assert.deepEqual(record.multiaddrs.map(String), server.getMultiaddrs().map((a) => a.decapsulateCode(421).toString()))
      assert.deepEqual([...peer.protocols].sort(), ['/fil/storage/mk/1.2.1', '/ipfs/id/1.0.0'])
      assert.match(new TextDecoder().decode(peer.metadata.get('AgentVersion')), /^dealyard\/9\.9\.9 /)
      assert.equal(new TextDecoder().decode(peer.metadata.get('ProtocolVersion')), 'ipfs/0.1.0')
      assert.deepEqual(Buffer.from(publicKeyToProtobuf(peer.id.publicKey!)), Buffer.from(publicKeyToProtobuf(key.publicKey)))
      assert.ok(conn.remoteAddr.toString().startsWith('/ip4/127.0.0.1/tcp/'))
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
  // the signature kept for the last message is never handed out for another one, nor shared
  const other = new TextEncoder().encode('another handshake payload')
  assert.deepEqual(Buffer.from(await cached.sign(other)), Buffer.from(await key.sign(other)))
  const again = await cached.sign(msg)
  assert.deepEqual(Buffer.from(again), Buffer.from(await key.sign(msg)))
  again.fill(0)
  assert.deepEqual(Buffer.from(await cached.sign(msg)), Buffer.from(await key.sign(msg)), 'a caller scribbling on a signature changes nothing kept')
  assert.ok(cached.equals(key))
  assert.equal(cached.type, 'Ed25519')
  const secp = await generateKeyPair('secp256k1')
  assert.equal(withCachedSigner(secp), secp, 'other key types are left alone')
})
