import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { TtlCache } from '../../../src/ingress/ttl-cache.ts'

function clock (): { now: () => number, advance: (ms: number) => void } {
  let t = 1000
  return { now: () => t, advance: (ms) => { t += ms } }
}

describe('TtlCache', () => {
  it('shares one in-flight load among concurrent callers', async () => {
    const c = clock()
    const cache = new TtlCache<number>({ ttlMs: 100, now: c.now })
    let calls = 0
    let release!: (v: number) => void
    const load = async (): Promise<number> => { calls++; return await new Promise<number>((resolve) => { release = resolve }) }
    const all = Promise.all(Array.from({ length: 50 }, async () => await cache.get('head', load)))
    await Promise.resolve()
    release(7)
    assert.deepEqual(new Set(await all), new Set([7]))
    assert.equal(calls, 1)
  })

  it('serves a fresh value without calling, a stale one at once while refreshing in the background', async () => {
    const c = clock()
    const cache = new TtlCache<number>({ ttlMs: 100, maxStaleMs: 1000, now: c.now })
    let n = 0
    let gate: Promise<void> = Promise.resolve()
    const load = async (): Promise<number> => { await gate; return ++n }
    assert.equal(await cache.get('k', load), 1)
    c.advance(99)
    assert.equal(await cache.get('k', load), 1)
    c.advance(2)
    let open!: () => void
    gate = new Promise((resolve) => { open = resolve })
    // Stale: answered at once with the old value even though the refresh is blocked (a slow Lotus).
    assert.equal(await cache.get('k', load), 1)
    assert.equal(await cache.get('k', load), 1)
    open()
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(await cache.get('k', load), 2)
    assert.equal(n, 2)
  })

  it('stops serving a stale value once a refresh failed (Lotus gone): each caller asks again, so one dropped call fails only those that shared it', async () => {
    const c = clock()
    const cache = new TtlCache<number>({ ttlMs: 100, maxStaleMs: 1000, errorTtlMs: 1000, now: c.now })
    assert.equal(await cache.get('k', async () => 1), 1)
    c.advance(150)
    let calls = 0
    const dead = async (): Promise<number> => { calls++; throw new Error('ECONNREFUSED') }
    // The first stale read is answered while the refresh runs; the refresh fails.
    assert.equal(await cache.get('k', dead), 1)
    await new Promise((resolve) => setImmediate(resolve))
    // No stale value after that: the next caller asks Lotus itself (and hears its error).
    await assert.rejects(cache.get('k', dead), /ECONNREFUSED/)
    assert.equal(calls, 2)
    // A blip: Lotus answers the very next call, within errorTtl of the failure.
    c.advance(10)
    assert.equal(await cache.get('k', async () => 2), 2)
    c.advance(150)
    assert.equal(await cache.get('k', async () => 3), 2, 'stale while refreshing again')
  })

  it('waits again when the value is older than maxStale', async () => {
    const c = clock()
    const cache = new TtlCache<number>({ ttlMs: 100, maxStaleMs: 500, now: c.now })
    let n = 0
    await cache.get('k', async () => ++n)
    c.advance(501)
    assert.equal(await cache.get('k', async () => ++n), 2)
  })

  it('remembers a failure for errorTtl, then tries again', async () => {
    const c = clock()
    const cache = new TtlCache<number>({ ttlMs: 100, errorTtlMs: 1000, now: c.now })
    let calls = 0
    const failing = async (): Promise<number> => { calls++; throw new Error('lotus down') }
    await assert.rejects(cache.get('k', failing), /lotus down/)
    await assert.rejects(cache.get('k', failing), /lotus down/)
    assert.equal(calls, 1)
    c.advance(1001)
    assert.equal(await cache.get('k', async () => 5), 5)
  })

  it('keeps at most maxEntries keys', async () => {
    const cache = new TtlCache<number>({ ttlMs: 1000, maxEntries: 3 })
    for (let i = 0; i < 10; i++) await cache.get(`k${i}`, async () => i)
    assert.equal(cache.size, 3)
  })
})
