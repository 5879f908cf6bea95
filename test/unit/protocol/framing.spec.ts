import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DealyardError } from '../../../src/errors.ts'
import { cborItemEnd, decodeDealParams, readCborItem } from '../../../src/protocol/index.ts'
import { CborItemScanner } from '../../../src/protocol/framing.ts'
import { loadVectors, unhex } from './golden.ts'

const online = unhex(loadVectors().vectors.find((v) => v.name === 'deal-params/online-http-secp')!.hex)

async function * chunks (b: Uint8Array, size: number, thenStall = false): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size)
  if (thenStall) await new Promise(() => {})
}

const isCode = (code: string) => (err: unknown): boolean => err instanceof DealyardError && err.code === code

describe('framing: one CBOR item per stream direction', () => {
  it('reads one item split across many chunks and stops there, leaving trailing bytes unread', async () => {
    const withTrailer = Uint8Array.from([...online, 0xa0, 0xff, 0xff])
    const item = await readCborItem(chunks(withTrailer, 7), { path: 'DealParams' })
    assert.equal(item.length, online.length)
    assert.deepEqual(decodeDealParams(item).dealUuid, '9f5c0a3e-6b1d-4e2f-8a7b-0c1d2e3f4a5b')
  })

  it('returns without waiting for the stream to end (the client does not half-close)', async () => {
    const item = await readCborItem(chunks(online, 64, true))
    assert.equal(item.length, online.length)
  })

  it('fails with ERR_CBOR_DECODE when the stream ends mid-message', async () => {
    await assert.rejects(readCborItem(chunks(online.subarray(0, 100), 10)), isCode('ERR_CBOR_DECODE'))
  })

  it('fails with ERR_STREAM_ABORTED when half a message arrives and the sender stalls', async () => {
    const started = Date.now()
    const stalled = (async function * () { yield online.subarray(0, 50); await new Promise(() => {}) })()
    await assert.rejects(readCborItem(stalled, { signal: AbortSignal.timeout(100) }), isCode('ERR_STREAM_ABORTED'))
    assert.ok(Date.now() - started < 5_000)
  })

  it('cuts off a 10 MB flood at the size limit without reading it all', async () => {
    let sent = 0
    const flood = (async function * () {
      yield Uint8Array.from([0x5a, 0x00, 0x98, 0x96, 0x80]) // byte string of 10,000,000 bytes
      while (sent < 10_000_000) { sent += 65536; yield new Uint8Array(65536) }
    })()
    await assert.rejects(readCborItem(flood, { maxBytes: 1 << 20 }), isCode('ERR_CBOR_DECODE'))
    assert.ok(sent < 2 << 20, `read ${sent} bytes before giving up`)
  })

  it('refuses a flood at the header that declares it, before any of its body arrives', async () => {
    let sent = 0
    const flood = (async function * () {
      yield Uint8Array.from([0xa1, 0x65, ...Buffer.from('Label'), 0x5a, 0x00, 0x98, 0x96, 0x80]) // { Label: bytes(10,000,000) }
      while (sent < 10_000_000) { sent += 65536; yield new Uint8Array(65536) }
    })()
    await assert.rejects(readCborItem(flood, { maxBytes: 1 << 20, path: 'DealParams' }), (err: unknown) =>
      isCode('ERR_CBOR_DECODE')(err) && /DealParams: message of at least 10000012 bytes exceeds the 1048576-byte limit/.test((err as Error).message))
    assert.equal(sent, 0)
    // An array counts a byte per item, a map two per entry.
    assert.throws(() => new CborItemScanner(0, 'm', 100).scan(Uint8Array.from([0x98, 0xff])), /at least 257 bytes/)
    assert.throws(() => new CborItemScanner(0, 'm', 100).scan(Uint8Array.from([0xb8, 0x40])), /at least 130 bytes/)
    assert.equal(new CborItemScanner(0, 'm', online.length).scan(online), online.length, 'exactly at the limit is fine')
  })

  it('resumes a scan where it stopped: the same end whatever the cuts', async () => {
    const nested = Uint8Array.from([0x83, 0x82, 0x19, 0x01, 0x00, 0x43, 0x61, 0x62, 0x63, 0xa1, 0x61, 0x6b, 0xd8, 0x2a, 0x42, 0x00, 0x01, 0x40])
    for (const item of [online, nested]) {
      for (const size of [1, 2, 3, 5, 7, 13, 64]) {
        const scanner = new CborItemScanner()
        let end = -1
        for (let held = Math.min(size, item.length); ; held = Math.min(held + size, item.length)) {
          end = scanner.scan(item.subarray(0, held))
          if (held === item.length) break
          assert.equal(end, -1, `complete after ${held} of ${item.length} bytes?`)
        }
        assert.equal(end, item.length, `cut every ${size} bytes`)
        assert.deepEqual(await readCborItem(chunks(Uint8Array.from([...item, 0x00]), size)), item)
      }
    }
  })

  it('takes what its buffer grows by from a shared budget, gives it all back, and fails with ERR_RESOURCE when none is left', async () => {
    let free = 1 << 20
    const budget = { take: (n: number) => { if (n > free) return false; free -= n; return true }, give: (n: number) => { free += n } }
    assert.deepEqual(await readCborItem(chunks(online, 100), { budget }), online)
    assert.equal(free, 1 << 20, 'given back after a read')
    await assert.rejects(readCborItem(chunks(online.subarray(0, 300), 100), { budget }), isCode('ERR_CBOR_DECODE'))
    assert.equal(free, 1 << 20, 'given back after a failure')
    free = 5000
    const big = Uint8Array.from([0x59, 0x27, 0x10, ...new Uint8Array(10_000)]) // bytes(10,000)
    await assert.rejects(readCborItem(chunks(big, 3000), { budget }), (err: unknown) => isCode('ERR_RESOURCE')(err) && /no memory left for requests/.test((err as Error).message))
    assert.equal(free, 5000)
  })

  it('finds item ends from headers alone', () => {
    assert.equal(cborItemEnd(online), online.length)
    assert.equal(cborItemEnd(online.subarray(0, 40)), -1)
    assert.equal(cborItemEnd(Uint8Array.from([0x82, 0x01, 0x02, 0x03])), 3)
    assert.throws(() => cborItemEnd(Uint8Array.from([0x9f])), isCode('ERR_CBOR_DECODE'))
    assert.throws(() => cborItemEnd(Uint8Array.from([0x18, 0x01])), isCode('ERR_CBOR_DECODE'))
  })
})
