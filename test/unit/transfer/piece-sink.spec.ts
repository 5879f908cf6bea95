/**
 * The piece sink's worker dying (out of memory while indexing a CAR of tiny blocks, in the case
 * that was found) fails the calls waiting on it with its reason, and close() still ends: a transfer
 * must report the failure, not hang or leave Node exiting on an unsettled await.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PieceSink } from '../../../src/transfer/piece-sink.ts'

describe('PieceSink', () => {
  it('fails with the thread\'s reason and still closes when its worker dies', { timeout: 30_000 }, async () => {
    const sink = new PieceSink({ workers: 1 }, { index: true, thread: new URL('./dying-worker.ts', import.meta.url) })
    await assert.rejects(sink.update(new Uint8Array(100)), { code: 'ERR_TRANSFER_HASH', message: /^piece hasher thread failed: simulated: JS heap out of memory/ })
    await assert.rejects(sink.finish(undefined), /piece hasher thread/)
    // The thread has ended well before close() is called (as after an out-of-memory death).
    await new Promise((resolve) => setTimeout(resolve, 500))
    const closed = await Promise.race([sink.close().then(() => true), new Promise((resolve) => setTimeout(resolve, 5000, false))])
    assert.equal(closed, true, 'close() did not end after the worker died')
  })
})
