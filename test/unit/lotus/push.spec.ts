import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { backoffDelay, isUnpaddedPieceSize, padTo, pushBaseUrl } from '../../../src/lotus/index.ts'

async function collect (it: AsyncIterable<Uint8Array>): Promise<{ bytes: Uint8Array, chunks: number, maxChunk: number }> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(Uint8Array.from(c))
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let pos = 0
  for (const p of parts) { bytes.set(p, pos); pos += p.length }
  return { bytes, chunks: parts.length, maxChunk: Math.max(0, ...parts.map((p) => p.length)) }
}

describe('padTo', () => {
  it('appends zeros up to the size, in bounded chunks', async () => {
    const size = 3 * (1 << 20) + 5
    const r = await collect(padTo(Readable.from([Buffer.from([1, 2, 3]), Buffer.from([4])]), size))
    assert.equal(r.bytes.length, size)
    assert.deepEqual([...r.bytes.subarray(0, 5)], [1, 2, 3, 4, 0])
    assert.ok(r.bytes.subarray(4).every((b) => b === 0))
    assert.ok(r.maxChunk <= 1 << 20)
  })

  it('passes data of exactly the size through unchanged', async () => {
    const data = Uint8Array.from({ length: 2032 }, (_, i) => i & 0xff)
    assert.deepEqual((await collect(padTo([data], 2032))).bytes, data)
  })

  it('fails on data longer than the size', async () => {
    await assert.rejects(collect(padTo([new Uint8Array(128)], 127)), { code: 'ERR_LOTUS_STREAM', retry: 'fatal' })
  })
})

describe('stream helpers', () => {
  it('derives the push endpoint like lotus getPushUrl', () => {
    assert.equal(pushBaseUrl('http://10.0.0.1:2345/rpc/v0'), 'http://10.0.0.1:2345/rpc/streams/v0/push')
    assert.equal(pushBaseUrl('https://m.example/lotus/rpc/v0?x=1'), 'https://m.example/lotus/rpc/streams/v0/push')
    assert.equal(pushBaseUrl('wss://m.example/rpc/v0'), 'https://m.example/rpc/streams/v0/push')
  })

  it('recognises unpadded piece sizes 127·2^k', () => {
    for (const ok of [127, 254, 2032, 1040384, 34091302912, 68182605824]) assert.equal(isUnpaddedPieceSize(ok), true, String(ok))
    for (const bad of [0, 126, 128, 381, 2048, 34359738368, 1.5 * 127]) assert.equal(isUnpaddedPieceSize(bad), false, String(bad))
  })

  it('draws backoff delays within the doubling, capped window', () => {
    const p = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 }
    assert.equal(backoffDelay(p, 1, () => 0.999), 99)
    assert.equal(backoffDelay(p, 3, () => 0.5), 200)
    assert.equal(backoffDelay(p, 10, () => 0.999), 999)
    assert.equal(backoffDelay(p, 2, () => 0), 0)
  })
})
