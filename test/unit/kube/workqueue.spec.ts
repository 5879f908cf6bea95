import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BucketLimiter, ExponentialLimiter, WorkQueue } from '../../../src/kube/workqueue.ts'
import { Controller } from '../../../src/kube/controller.ts'

test('a key added many times is handed out once', async () => {
  const q = new WorkQueue({ name: 'dedupe' })
  q.add('a'); q.add('a'); q.add('b'); q.add('a')
  assert.equal(q.length, 2)
  assert.equal(await q.get(), 'a')
  assert.equal(await q.get(), 'b')
  assert.equal(q.length, 0)
})

test('a key added while a worker holds it is queued again only after done()', async () => {
  const q = new WorkQueue({ name: 'processing' })
  q.add('a')
  const k = await q.get()
  q.add('a')
  assert.equal(q.length, 0, 'must not be handed to a second worker while held')
  q.done(k!)
  assert.equal(q.length, 1)
  assert.equal(await q.get(), 'a')
})

test('a waiting worker gets a key as soon as it is added', async () => {
  const q = new WorkQueue({ name: 'waiter' })
  const pending = q.get()
  q.add('x')
  assert.equal(await pending, 'x')
  q.add('x')
  assert.equal(q.length, 0, 'held by the waiter, so the re-add waits for done()')
})

test('addAfter: the earlier schedule wins and the key arrives once', async () => {
  const q = new WorkQueue({ name: 'after' })
  const t0 = Date.now()
  q.addAfter('k', 400)
  q.addAfter('k', 60)
  q.addAfter('k', 300)
  assert.equal(await q.get(), 'k')
  const waited = Date.now() - t0
  assert.ok(waited >= 55 && waited < 290, `waited ${waited} ms (the 60 ms schedule, not the 300 or 400 ms ones)`)
  q.done('k')
  await new Promise((resolve) => setTimeout(resolve, 450))
  assert.equal(q.length, 0, 'later schedules were superseded')
  q.shutdown()
})

test('per-key exponential backoff doubles per failure and forget() resets it', () => {
  const l = new ExponentialLimiter(5, 1000)
  assert.deepEqual([1, 2, 3, 4, 5].map(() => l.when('k')), [5, 10, 20, 40, 80])
  assert.equal(l.when('other'), 5, 'keys back off independently')
  assert.equal(l.numRequeues('k'), 5)
  for (let i = 0; i < 20; i++) l.when('k')
  assert.equal(l.when('k'), 1000, 'capped')
  l.forget('k')
  assert.equal(l.when('k'), 5)
})

test('the global bucket admits a burst, then spaces requests at the rate', () => {
  let now = 0
  const b = new BucketLimiter(10, 3, () => now)
  assert.deepEqual([b.when(), b.when(), b.when()], [0, 0, 0])
  assert.equal(b.when(), 100, 'fourth waits one token (100 ms at 10 qps)')
  assert.equal(b.when(), 200)
  now = 1000
  assert.equal(b.when(), 0, 'refilled after a second')
})

test('shutdown wakes waiting workers with undefined', async () => {
  const q = new WorkQueue({ name: 'shutdown' })
  const pending = q.get()
  q.shutdown()
  assert.equal(await pending, undefined)
  q.add('late')
  assert.equal(q.length, 0, 'adds after shutdown are ignored')
})

test('a key added while held, then shutdown: done() still queues it and get() hands it out before undefined (client-go)', async () => {
  const q = new WorkQueue({ name: 'done-after-shutdown' })
  q.add('a')
  q.add('b')
  const held = await q.get()
  q.add('a')
  q.shutdown()
  q.add('c')
  q.addAfter('d', 1)
  q.done(held!)
  assert.equal(q.length, 2, 'b, still queued, and a, changed while held')
  assert.equal(await q.get(), 'b')
  assert.equal(await q.get(), 'a')
  q.done('b')
  q.done('a')
  assert.equal(await q.get(), undefined, 'adds after shutdown (c, d) were ignored')
  q.done('a')
  assert.equal(q.length, 0, 'done for a key nobody holds queues nothing')
})

test('shutdownWithDrain waits until every held key is done; shutdown ends the wait', async () => {
  const q = new WorkQueue({ name: 'drain' })
  q.add('a')
  q.add('b')
  const [a, b] = [await q.get(), await q.get()]
  let drained = false
  const drain = q.shutdownWithDrain().then(() => { drained = true })
  q.add('c')
  assert.equal(q.length, 0, 'no adds while draining')
  q.done(a!)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(drained, false, 'b is still held')
  q.done(b!)
  await drain
  assert.equal(q.inFlight, 0)
  await q.shutdownWithDrain()

  const q2 = new WorkQueue({ name: 'drain-cut-short' })
  q2.add('x')
  await q2.get()
  const wait = q2.shutdownWithDrain()
  q2.shutdown()
  await wait
  assert.equal(q2.inFlight, 1, 'shutdown stopped waiting for x')
})

test('controller: failures back off per key, success forgets, one key never runs twice at once', async () => {
  const calls: number[] = []
  let running = 0
  let maxRunning = 0
  const c = new Controller({
    name: 'test-backoff',
    concurrency: 4,
    reconcile: async () => {
      running++
      maxRunning = Math.max(maxRunning, running)
      calls.push(Date.now())
      await new Promise((resolve) => setTimeout(resolve, 5))
      running--
      if (calls.length < 5) throw new Error('not yet')
    }
  })
  c.start()
  c.enqueue('k')
  c.enqueue('k')
  const deadline = Date.now() + 5000
  while (calls.length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  await new Promise((resolve) => setTimeout(resolve, 100))
  await c.stop()
  assert.equal(calls.length, 5, 'stops retrying after the first success')
  assert.equal(maxRunning, 1)
  const gaps = calls.slice(1).map((t, i) => t - calls[i]!)
  // Base 5 ms doubling: 5, 10, 20, 40 ms of backoff on top of the 5 ms reconcile.
  assert.ok(gaps[3]! > gaps[0]!, `gaps grow: ${gaps.join(',')}`)
  assert.ok(gaps[3]! >= 40, `fourth retry waited ≥ 40 ms: ${gaps.join(',')}`)
  assert.equal(c.queue.numRequeues('k'), 0, 'success forgot the failures')
})
