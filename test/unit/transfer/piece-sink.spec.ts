/**
 * The piece sink's worker dying (out of memory, here under a small heap limit while indexing a CAR
 * of tiny blocks) fails the calls waiting on it with its reason, and close() still ends: a transfer
 * must report the failure, not hang or leave Node exiting on an unsettled await.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { encode as encodeCbor } from '@ipld/dag-cbor'
import { PieceSink, sharedBuffer } from '../../../src/transfer/piece-sink.ts'

/** `n` sections of a CARv1: a CIDv1 (raw, sha2-256, a counter as digest) and 4 bytes of data each. */
function tinyBlocks (n: number, first: number): Buffer {
  const section = 1 + 36 + 4
  const out = Buffer.alloc(n * section)
  for (let i = 0; i < n; i++) {
    const at = i * section
    out[at] = 40 // varint of 36 + 4
    out.set([0x01, 0x55, 0x12, 0x20], at + 1)
    out.writeUInt32BE(first + i, at + 5)
    out.writeUInt32BE(i, at + 37)
  }
  return out
}

describe('PieceSink', () => {
  it('fails with the thread\'s reason and still closes when its worker runs out of memory', { timeout: 60_000 }, async () => {
    const sink = new PieceSink({ workers: 1 }, { index: true, resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 4 } })
    const header = encodeCbor({ roots: [], version: 1 })
    await sink.update(Uint8Array.of(header.length, ...header))
    const chunk = 100_000
    const buf = sharedBuffer(chunk * 41)
    let failure: Error | undefined
    // The index of 2^24 blocks is ~650 MiB in any representation: far past a 48 MiB heap.
    for (let i = 0; i < 1 << 24 && failure === undefined; i += chunk) {
      tinyBlocks(chunk, i).copy(buf)
      await sink.update(buf).catch((err: Error) => { failure = err })
    }
    assert.ok(failure !== undefined, 'the worker never failed')
    assert.match(failure.message, /piece hasher thread (failed|exited)/)
    await assert.rejects(sink.finish(undefined), /piece hasher thread/)
    const closed = await Promise.race([sink.close().then(() => true), new Promise((resolve) => setTimeout(resolve, 5000, false))])
    assert.equal(closed, true, 'close() did not end after the worker died')
  })
})
