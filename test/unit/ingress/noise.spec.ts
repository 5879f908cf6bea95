// Batched noise decryption (src/ingress/noise.ts): the complete messages of one read are cut out
// with subarrays, decrypted in order and handed on as one buffer; a message cut by a read boundary
// waits for its end; a bad message still delivers what came before it, then fails the stream.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { noise as stockNoise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MAX_UNSENT_BYTES } from '../../../src/ingress/write-bounds.ts'
import { defaultLogger } from '@libp2p/logger'
import { multiaddrConnectionPair } from '@libp2p/utils'
import type { MultiaddrConnection } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { defaultCrypto, pureJsCrypto } from '@chainsafe/libp2p-noise/crypto'
import { batchDecryption, handshakeCrypto, nativeNoiseCrypto, noise, NoiseBatchDecoder } from '../../../src/ingress/noise.ts'
import { loadNative } from '../../../src/filecoin/commp/native.ts'

const frame = (payload: Uint8Array): Uint8Array => Buffer.concat([Buffer.from([payload.length >> 8, payload.length & 0xff]), payload])

/** Splits bytes at the given offsets. */
function cut (bytes: Uint8Array, at: number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let from = 0
  for (const a of [...at, bytes.length]) { out.push(bytes.subarray(from, a)); from = a }
  return out
}

test('whole messages come out in order, one batch per read, however the reads cut them', () => {
  const messages = Array.from({ length: 40 }, (_, i) => randomBytes(i % 7 === 0 ? 300 : 17 + i))
  const wire = Buffer.concat(messages.map(frame))
  for (let seed = 0; seed < 200; seed++) {
    const points = [...new Set(Array.from({ length: seed % 12 }, (_, k) => (seed * 7919 + k * 104729) % wire.length))].sort((a, b) => a - b)
    const d = new NoiseBatchDecoder()
    const got: Uint8Array[] = []
    for (const chunk of cut(wire, points)) {
      const batches = [...d.decode(chunk)]
      assert.ok(batches.length <= 1, 'at most one batch per read')
      for (const b of batches) got.push(...(b as unknown as { messages: Uint8Array[] }).messages)
    }
    assert.deepEqual(got.map((m) => Buffer.from(m).toString('hex')), messages.map((m) => m.toString('hex')), `cut at ${points.join(',')}`)
  }
})

test('a one-byte read of a length prefix, empty messages and a Uint8ArrayList read', () => {
  const d = new NoiseBatchDecoder()
  const m = randomBytes(20)
  assert.deepEqual([...d.decode(Uint8Array.of(0))], [])
  const list = new Uint8ArrayList(Uint8Array.of(20), m.subarray(0, 5), m.subarray(5), Uint8Array.of(0, 0))
  const [batch] = [...d.decode(list)] as unknown as Array<{ messages: Uint8Array[] }>
  assert.deepEqual(batch!.messages.map((x) => Buffer.from(x)), [m], 'the empty message is skipped, as noise skips it')
})

test('bytes the stock decoder already held are decoded first', () => {
  const a = randomBytes(10)
  const b = randomBytes(12)
  const wire = Buffer.concat([frame(a), frame(b)])
  const d = new NoiseBatchDecoder(wire.subarray(0, 7))
  const [batch] = [...d.decode(wire.subarray(7))] as unknown as Array<{ messages: Uint8Array[] }>
  assert.deepEqual(batch!.messages.map((x) => Buffer.from(x)), [a, b])
})

test('more than 16 MiB held at once is an error, as in noise\'s own decoder', () => {
  const d = new NoiseBatchDecoder()
  assert.deepEqual([...d.decode(Uint8Array.of(0xff))], [])
  assert.throws(() => [...d.decode(new Uint8Array(17 * 1024 * 1024))], /Buffer length limit exceeded/)
})

/** A stand-in for noise's encrypted stream: "encryption" appends a tag of 16 copies of the sum of the bytes. */
function fakeStream (): { s: Record<string, unknown>, delivered: Uint8Array[], read: (chunk: Uint8Array) => void } {
  const tagOf = (p: Uint8Array): Uint8Array => new Uint8Array(16).fill(p.reduce((x, y) => (x + y) & 0xff, 0))
  const delivered: Uint8Array[] = []
  const s: Record<string, unknown> = {
    decoder: { buffer: new Uint8ArrayList(), decode: () => { throw new Error('stock decoder used') } },
    decrypt: () => { throw new Error('stock decrypt used') },
    handshake: {
      decrypt: (ct: Uint8Array, dst: Uint8Array) => {
        const body = ct.subarray(0, ct.length - 16)
        if (!Buffer.from(ct.subarray(ct.length - 16)).equals(tagOf(body))) throw new Error('bad tag')
        dst.set(body.map((x) => x ^ 0x5a))
        return dst
      }
    },
    onData: (d: Uint8Array) => { delivered.push(Uint8Array.from(d)) }
  }
  assert.equal(batchDecryption(s), true)
  // noise's own message listener, verbatim in effect
  const read = (chunk: Uint8Array): void => {
    const st = s as { decoder: { decode: (c: Uint8Array) => Iterable<unknown> }, decrypt: (b: unknown) => Uint8Array, onData: (d: Uint8Array) => void }
    for (const b of st.decoder.decode(chunk)) st.onData(st.decrypt(b))
  }
  return { s, delivered, read }
}

const seal = (plain: Uint8Array): Uint8Array => {
  const body = plain.map((x) => x ^ 0x5a)
  return frame(Buffer.concat([body, new Uint8Array(16).fill(body.reduce((x, y) => (x + y) & 0xff, 0))]))
}

test('the plaintexts of one read reach the stream as one buffer', () => {
  const { delivered, read } = fakeStream()
  const plains = Array.from({ length: 65 }, (_, i) => randomBytes(1 + (i % 30)))
  const wire = Buffer.concat(plains.map(seal))
  read(wire.subarray(0, 1000))
  read(wire.subarray(1000))
  assert.equal(delivered.length, 2, 'two reads, two deliveries (not 65)')
  assert.deepEqual(Buffer.concat(delivered), Buffer.concat(plains))
})

test('a bad message delivers the messages before it, then fails', () => {
  const { delivered, read } = fakeStream()
  const good = [randomBytes(10), randomBytes(11)]
  const bad = Buffer.from(seal(randomBytes(12)))
  bad[bad.length - 1]! ^= 1
  assert.throws(() => { read(Buffer.concat([...good.map(seal), bad, seal(randomBytes(5))])) }, /bad tag/)
  assert.deepEqual(Buffer.concat(delivered), Buffer.concat(good))
})

test('a message shorter than a tag is an error', () => {
  const { read } = fakeStream()
  assert.throws(() => { read(frame(randomBytes(15))) }, /Invalid chunk/)
})

test('an object without the encrypted stream\'s shape is left alone', () => {
  const s = { decrypt: () => new Uint8Array(), onData: () => {} }
  assert.equal(batchDecryption(s), false)
  assert.equal(typeof (s as { decoder?: unknown }).decoder, 'undefined')
})

test('real noise: this side batched, the stock side unchanged, bytes intact both ways', async () => {
  const [outboundConn, inboundConn] = multiaddrConnectionPair()
  const components = async (): Promise<Parameters<ReturnType<typeof stockNoise>>[0]> => ({
    privateKey: await generateKeyPair('Ed25519'),
    logger: defaultLogger(),
    upgrader: { getStreamMuxers: () => new Map() }
  }) as unknown as Parameters<ReturnType<typeof stockNoise>>[0]
  const server = noise()(await components())
  const client = stockNoise()(await components())
  const [inbound, outbound] = await Promise.all([
    server.secureInbound(inboundConn as MultiaddrConnection, { skipStreamMuxerNegotiation: true }),
    client.secureOutbound(outboundConn as MultiaddrConnection, { skipStreamMuxerNegotiation: true })
  ])
  assert.ok((inbound.connection as unknown as { decoder: unknown }).decoder instanceof NoiseBatchDecoder, 'the secured connection was switched')
  const received: Uint8Array[] = []
  inbound.connection.addEventListener('message', (e) => { received.push(Uint8Array.from((e as unknown as { data: Uint8Array | Uint8ArrayList }).data.subarray())) })
  const echoed: Uint8Array[] = []
  outbound.connection.addEventListener('message', (e) => { echoed.push(Uint8Array.from((e as unknown as { data: Uint8Array | Uint8ArrayList }).data.subarray())) })
  const sent = Array.from({ length: 300 }, (_, i) => randomBytes(1 + (i * 37) % 2000))
  for (const b of sent) outbound.connection.send(b)
  const big = randomBytes(200_000) // several noise messages, larger than the as-chacha threshold
  outbound.connection.send(big)
  const total = sent.reduce((n, b) => n + b.length, 0) + big.length
  for (let i = 0; i < 200 && received.reduce((n, b) => n + b.length, 0) < total; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.deepEqual(Buffer.concat(received), Buffer.concat([...sent, big]))
  inbound.connection.send(Buffer.from('answer'))
  for (let i = 0; i < 100 && echoed.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(Buffer.concat(echoed).toString(), 'answer')
  // What this side queues while the connection under it takes nothing is bounded (write-bounds.ts):
  // past MAX_UNSENT_BYTES the connection is aborted, where stock noise queues without limit.
  const secured = inbound.connection as unknown as { writableNeedsDrain: boolean, status: string, send: (b: Uint8Array) => boolean }
  secured.writableNeedsDrain = true
  for (let i = 0; i * 64 * 1024 <= MAX_UNSENT_BYTES && secured.status === 'open'; i++) secured.send(new Uint8Array(64 * 1024))
  assert.equal(secured.status, 'aborted')
})

test('native ChaCha20-Poly1305 matches noise\'s default crypto, in place and from lists', () => {
  const crypto = nativeNoiseCrypto()
  assert.notEqual(crypto.chaCha20Poly1305Encrypt, defaultCrypto.chaCha20Poly1305Encrypt, 'the native addon provides ChaCha20-Poly1305')
  for (const size of [0, 1, 15, 16, 100, 1199, 1200, 5000, 65519]) {
    const k = randomBytes(32)
    const nonce = randomBytes(12)
    const ad = size % 2 === 0 ? new Uint8Array(0) : randomBytes(32)
    const plain = randomBytes(size)
    const sealed: Buffer = Buffer.from(crypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k).subarray())
    assert.deepEqual(sealed, Buffer.from(defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k).subarray()), `seal ${size}`)
    const list = new Uint8ArrayList(sealed.subarray(0, Math.floor(size / 2)), sealed.subarray(Math.floor(size / 2)))
    assert.deepEqual(Buffer.from(crypto.chaCha20Poly1305Decrypt(list as unknown as Uint8Array, nonce, ad, k).subarray()), plain, `open a list ${size}`)
    const inPlace = Buffer.from(sealed)
    const out = crypto.chaCha20Poly1305Decrypt(inPlace, nonce, ad, k, inPlace.subarray(0, size))
    assert.deepEqual(Buffer.from(out.subarray()), plain, `open in place ${size}`)
    const bad = Buffer.from(sealed)
    bad[bad.length - 1 - (size % 16)]! ^= 0x80
    assert.throws(() => crypto.chaCha20Poly1305Decrypt(bad, nonce, ad, k), /Invalid chacha20poly1305 decryption/, `tampered ${size}`)
    assert.throws(() => crypto.chaCha20Poly1305Decrypt(sealed, randomBytes(12), ad, k), /Invalid chacha20poly1305 decryption/, `wrong nonce ${size}`)
  }
  assert.throws(() => crypto.chaCha20Poly1305Decrypt(randomBytes(15), randomBytes(12), new Uint8Array(0), randomBytes(32)), /Invalid chacha20poly1305 decryption/)
})

test('the native cipher refuses a partly overlapping output and wrong lengths', () => {
  const addon = loadNative().addon!
  const k = randomBytes(32)
  const nonce = randomBytes(12)
  const none = new Uint8Array(0)
  const plain = randomBytes(40)
  const sealed = Buffer.alloc(56)
  addon.chachaSeal!(k, nonce, none, plain, sealed)
  assert.throws(() => addon.chachaOpen!(k, nonce, none, sealed, sealed.subarray(1, 41)), /overlaps/)
  assert.throws(() => addon.chachaOpen!(k, nonce, none, sealed, new Uint8Array(39)), /plaintext length/)
  assert.throws(() => addon.chachaSeal!(k, nonce, none, plain, new Uint8Array(55)), /plaintext and a tag/)
  assert.throws(() => addon.chachaSeal!(k.subarray(1), nonce, none, plain, sealed), /key: 32 bytes/)
  const buf = Buffer.concat([plain, Buffer.alloc(16)])
  addon.chachaSeal!(k, nonce, none, buf.subarray(0, 40), buf)
  assert.deepEqual(buf, sealed, 'sealing in place gives the same bytes')
})

test('the handshake\'s X25519 and HKDF give what noise\'s pure-JS crypto gives', () => {
  for (let i = 0; i < 20; i++) {
    const ours = handshakeCrypto.generateX25519KeyPair()
    const theirs = pureJsCrypto.generateX25519KeyPair()
    assert.deepEqual(Buffer.from(ours.publicKey), Buffer.from(pureJsCrypto.generateX25519KeyPairFromSeed(ours.privateKey).publicKey), 'the public key is the private key\'s')
    const shared = Buffer.from(handshakeCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey))
    assert.deepEqual(shared, Buffer.from(pureJsCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey)), 'both sides agree')
    assert.deepEqual(Buffer.from(handshakeCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey)), shared, 'the same again, from the keys found again')
    // noise hands over a remote key as a list; a private key it did not get from here (a seed) works too
    const list = new Uint8ArrayList(theirs.publicKey.subarray(0, 9), theirs.publicKey.subarray(9))
    assert.deepEqual(Buffer.from(handshakeCrypto.generateX25519SharedKey(Uint8Array.from(ours.privateKey), list as unknown as Uint8Array)), shared)
    const seeded = pureJsCrypto.generateX25519KeyPairFromSeed(randomBytes(32))
    assert.deepEqual(Buffer.from(handshakeCrypto.generateX25519SharedKey(seeded.privateKey, theirs.publicKey)),
      Buffer.from(pureJsCrypto.generateX25519SharedKey(seeded.privateKey, theirs.publicKey)))
    const ck = randomBytes(32)
    for (const ikm of [randomBytes(32), new Uint8Array(0)]) {
      assert.deepEqual(handshakeCrypto.getHKDF(ck, ikm).map((k) => Buffer.from(k)), pureJsCrypto.getHKDF(ck, ikm).map((k) => Buffer.from(k)), `HKDF, ${ikm.length}-byte input`)
    }
  }
})
