/**
 * A relist after 410 Gone: objects the cache holds at the same resourceVersion stay as they are
 * (no event, no second copy held while the list runs), changed ones are updated as their page
 * comes (their old copy let go), new ones added in resourceVersion order and vanished ones deleted.
 */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { Informer } from '../../../src/kube/informer.ts'
import { KubeApiError, type KubeObject, type KubeRest } from '../../../src/kube/rest.ts'
import { Backoff } from '../../../src/kube/backoff.ts'

const obj = (name: string, rv: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name, resourceVersion: rv } })

/**
 * A client whose lists answer `lists` in turn (the last one again after that) and whose first
 * watch is refused with 410 Gone; `relisted` resolves when the watch after the relist starts.
 */
function goneThenListed (lists: Array<{ rv: string, items: KubeObject[] }>): { rest: KubeRest, relisted: Promise<void> } {
  let listed = 0
  let watches = 0
  let watching: () => void = () => {}
  const relisted = new Promise<void>((resolve) => { watching = resolve })
  const rest = {
    list: async () => {
      const l = lists[Math.min(listed++, lists.length - 1)]!
      return { items: structuredClone(l.items), metadata: { resourceVersion: l.rv, continue: '' } }
    },
    watch: async (_path: string, _q: unknown, _on: unknown, o: { signal: AbortSignal }) => {
      if (watches++ === 0) throw new KubeApiError(410, 'Expired', 'too old resource version')
      watching()
      await new Promise((resolve) => { o.signal.addEventListener('abort', resolve) })
    }
  } as unknown as KubeRest
  return { rest, relisted }
}

it('relists keeping unchanged objects as cached, announcing only what changed', async () => {
  const lists = [
    { rv: '4', items: [obj('a', '1'), obj('b', '2'), obj('d', '3')] },
    { rv: '9', items: [obj('a', '1'), obj('b', '5'), obj('c', '6')] }
  ]
  const { rest, relisted: gone } = goneThenListed(lists)
  let transformed = 0
  const informer = new Informer<KubeObject>(rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, backoff: new Backoff(1, 2), transform: (o) => { transformed++; return o } })
  const events: string[] = []
  informer.on('add', (o) => events.push(`add ${o.metadata!.name!}`))
  informer.on('update', (_old, o) => events.push(`update ${o.metadata!.name!}`))
  informer.on('delete', (o) => events.push(`delete ${o.metadata!.name!}`))
  await informer.start()
  const a = informer.getObject('ns', 'a')
  await gone
  await informer.stop()
  assert.deepEqual(events, ['add a', 'add b', 'add d', 'update b', 'add c', 'delete d'])
  assert.equal(informer.getObject('ns', 'a'), a, 'the unchanged object is the one cached before the relist')
  assert.equal(transformed, 5, 'the unchanged object was not transformed (nor kept) a second time')
  assert.deepEqual(informer.keys().sort(), ['ns/a', 'ns/b', 'ns/c'])
})

it('replaces a changed object as its page is listed, not after the last page', async () => {
  // Page 1 of the relist changes a; page 2 is listed only once the cache already has a's new copy.
  let phase = 0
  let seenDuringList: string | undefined
  let relisted: () => void = () => {}
  const done = new Promise<void>((resolve) => { relisted = resolve })
  let informer: Informer<KubeObject> | undefined
  const rest = {
    list: async (_r: unknown, _ns: unknown, q: { continue?: string }) => {
      if (phase === 0) return { items: [obj('a', '1'), obj('b', '2')], metadata: { resourceVersion: '3', continue: '' } }
      if (q.continue === undefined) return { items: [obj('a', '7')], metadata: { resourceVersion: '9', continue: 'page2' } }
      seenDuringList = informer!.getObject('ns', 'a')?.metadata?.resourceVersion
      return { items: [obj('b', '8')], metadata: { resourceVersion: '9', continue: '' } }
    },
    watch: async (_path: string, _q: unknown, _on: unknown, o: { signal: AbortSignal }) => {
      if (phase++ === 0) throw new KubeApiError(410, 'Expired', 'too old resource version')
      relisted()
      await new Promise((resolve) => { o.signal.addEventListener('abort', resolve) })
    }
  } as unknown as KubeRest
  informer = new Informer<KubeObject>(rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, backoff: new Backoff(1, 2) })
  const updates: string[] = []
  informer.on('update', (old, o) => updates.push(`${o.metadata!.name!} ${old.metadata!.resourceVersion!}->${o.metadata!.resourceVersion!}`))
  await informer.start()
  await done
  await informer.stop()
  assert.equal(seenDuringList, '7', 'a\'s new copy was cached while page 2 was listed')
  assert.deepEqual(updates, ['a 1->7', 'b 2->8'])
  assert.equal(informer.getObject('ns', 'a')?.apiVersion, 'v1')
})

it('ends its backoff wait at once when its client reports the apiserver answering again', async () => {
  let recovered: () => void = () => {}
  let watches = 0
  let watching: () => void = () => {}
  const second = new Promise<void>((resolve) => { watching = resolve })
  const rest = {
    onRecovered: (fn: () => void) => { recovered = fn; return () => { recovered = () => {} } },
    list: async () => ({ items: [], metadata: { resourceVersion: '1', continue: '' } }),
    watch: async (_path: string, _q: unknown, _on: unknown, o: { signal: AbortSignal }) => {
      if (watches++ === 0) throw new Error('connect ECONNREFUSED')
      watching()
      await new Promise((resolve) => { o.signal.addEventListener('abort', resolve) })
    }
  } as unknown as KubeRest
  // A backoff of a minute: only the wake-up can bring the second watch within the test.
  const informer = new Informer<KubeObject>(rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, backoff: new Backoff(60_000, 60_000) })
  await informer.start()
  try {
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(watches, 1, 'waiting out its backoff')
    recovered()
    await Promise.race([second, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('still waiting')) }, 2000))])
    assert.equal(watches, 2)
  } finally {
    await informer.stop()
  }
})

it('is woken by its client\'s recoveries at most once every 2 s while its own resource keeps failing, a recovery within that time deferred, not dropped', async () => {
  let recovered: () => void = () => {}
  let lists = 0
  const rest = {
    onRecovered: (fn: () => void) => { recovered = fn; return () => { recovered = () => {} } },
    list: async () => { lists++; throw new KubeApiError(429, 'TooManyRequests', 'the server has received too many requests') },
    watch: async () => { throw new Error('never watched') }
  } as unknown as KubeRest
  const informer = new Informer<KubeObject>(rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, backoff: new Backoff(60_000, 60_000) })
  void informer.start().catch(() => {})
  try {
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(lists, 1)
    // Other requests of the client succeed 100 times a second for half a second.
    for (let i = 0; i < 50; i++) { recovered(); await new Promise((resolve) => setTimeout(resolve, 10)) }
    assert.equal(lists, 2, 'one early retry, not one per recovery')
    // The recoveries after that early retry failed are not dropped: one more retry at the end of
    // the 2 s window (the apiserver answers others, this resource may be back by then).
    await new Promise((resolve) => setTimeout(resolve, 1700))
    assert.equal(lists, 3)
  } finally {
    await informer.stop()
  }
})

it('starts its backoff over when its client sees the apiserver again, so a resource still refusing is retried soon even with no further traffic', async () => {
  let recovered: () => void = () => {}
  const readyAt = Date.now() + 400
  let synced = 0
  const rest = {
    onRecovered: (fn: () => void) => { recovered = fn; return () => { recovered = () => {} } },
    list: async () => {
      if (Date.now() < readyAt) throw new KubeApiError(429, 'TooManyRequests', 'storage is (re)initializing')
      synced = Date.now()
      return { items: [], metadata: { resourceVersion: '1', continue: '' } }
    },
    watch: async (_path: string, _q: unknown, _on: unknown, o: { signal: AbortSignal }) => { await new Promise((resolve) => { o.signal.addEventListener('abort', resolve) }) }
  } as unknown as KubeRest
  // Where a long outage leaves it: the next wait is the 30 s cap.
  const backoff = new Backoff(100, 30_000)
  for (let i = 0; i < 20; i++) backoff.next()
  const informer = new Informer<KubeObject>(rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, backoff })
  const started = informer.start()
  try {
    await new Promise((resolve) => setTimeout(resolve, 50))
    // One recovery (another resource's list answered), then silence: the retry it brings fails
    // (still initializing), and the next one must not wait 30 s.
    recovered()
    await Promise.race([started, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('not synced within 3 s')) }, 3000))])
    assert.ok(synced - readyAt < 2000, `synced ${synced - readyAt} ms after the resource was ready`)
  } finally {
    await informer.stop()
  }
})

const withUid = (o: KubeObject, uid: string): KubeObject => ({ ...o, metadata: { ...o.metadata, uid } })

it('an object deleted and created again under its name while away is a delete and a listed add, then `relisted`', async () => {
  const lists = [
    { rv: '4', items: [withUid(obj('a', '1'), 'uid-1')] },
    { rv: '9', items: [withUid(obj('a', '7'), 'uid-2')] }
  ]
  const { rest, relisted: done } = goneThenListed(lists)
  const informer = new Informer<KubeObject>(rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, backoff: new Backoff(1, 2) })
  const events: string[] = []
  informer.on('add', (o, fromList) => events.push(`add ${o.metadata!.uid!}${fromList ? ' listed' : ''}`))
  informer.on('update', (_old, o) => events.push(`update ${o.metadata!.uid!}`))
  informer.on('delete', (o) => events.push(`delete ${o.metadata!.uid!}`))
  informer.on('relisted', () => events.push('relisted'))
  await informer.start()
  await done
  await informer.stop()
  assert.deepEqual(events, ['add uid-1 listed', 'relisted', 'delete uid-1', 'add uid-2 listed', 'relisted'])
})

/**
 * A watch fake: each watch() call runs the next script step (an error event, an immediate end, or
 * hold until aborted); the informer's lists and watches are counted.
 */
function scriptedWatches (steps: Array<'error-500' | 'error-429' | 'end' | 'too-large' | 'hold'>): { rest: KubeRest, counts: { lists: number, watches: number }, held: Promise<void> } {
  const counts = { lists: 0, watches: 0 }
  let holding: () => void = () => {}
  const held = new Promise<void>((resolve) => { holding = resolve })
  const rest = {
    list: async () => { counts.lists++; return { items: [], metadata: { resourceVersion: '5', continue: '' } } },
    watch: async (_path: string, _q: unknown, on: (ev: unknown) => void, o: { signal: AbortSignal }) => {
      const step = steps[Math.min(counts.watches++, steps.length - 1)]!
      if (step === 'too-large') throw new KubeApiError(504, 'Timeout', 'Timeout: Too large resource version: 9, current: 5', { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }] })
      if (step === 'error-500' || step === 'error-429') {
        on({ type: 'ERROR', object: { kind: 'Status', code: step === 'error-500' ? 500 : 429, reason: step === 'error-500' ? 'InternalError' : 'TooManyRequests', message: 'test' } })
        if (o.signal.aborted) return
        await new Promise((resolve) => { o.signal.addEventListener('abort', resolve) })
        return
      }
      if (step === 'end') return
      holding()
      await new Promise((resolve) => { o.signal.addEventListener('abort', resolve) })
    }
  } as unknown as KubeRest
  return { rest, counts, held }
}

for (const [step, lists] of [['error-500', 2], ['too-large', 2], ['error-429', 1]] as const) {
  it(`a watch ended by ${step === 'too-large' ? 'a too large resource version' : `an error event (${step.slice(6)})`} ${lists === 2 ? 'lists again, as client-go does' : 'is resumed without a list'}`, async () => {
    const w = scriptedWatches([step, 'hold'])
    const informer = new Informer<KubeObject>(w.rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, backoff: new Backoff(1, 2) })
    await informer.start()
    await w.held
    await informer.stop()
    assert.deepEqual(w.counts, { lists, watches: 2 })
    if (lists === 2) assert.equal(informer.stats.relists, 2)
  })
}

it('a watch that ends at once with nothing delivered is retried after a backoff, not in a tight loop', async () => {
  const w = scriptedWatches(['end'])
  const informer = new Informer<KubeObject>(w.rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, backoff: new Backoff(100, 100) })
  await informer.start()
  await new Promise((resolve) => setTimeout(resolve, 550))
  await informer.stop()
  // Equal jitter: each wait 50-100 ms. Without the backoff the loop never yields to a timer at all.
  assert.ok(w.counts.watches >= 3 && w.counts.watches <= 12, `${w.counts.watches} watches in 550 ms with a 50-100 ms backoff`)
  assert.equal(w.counts.lists, 1)
})

it('a list whose continue token expires goes on unpaged, as client-go\'s pager does, instead of starting over paged for ever', async () => {
  const requests: Array<{ limit?: number, continue?: string }> = []
  const rest = {
    list: async (_r: unknown, _ns: unknown, q: { limit?: number, continue?: string }) => {
      requests.push({ ...(q.limit !== undefined ? { limit: q.limit } : {}), ...(q.continue !== undefined ? { continue: q.continue } : {}) })
      if (q.limit === undefined) return { items: [obj('a', '1'), obj('b', '2'), obj('c', '3')], metadata: { resourceVersion: '9', continue: '' } }
      if (q.continue === undefined) return { items: [obj('a', '1')], metadata: { resourceVersion: '5', continue: 'page2' } }
      throw new KubeApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.')
    },
    watch: async (_path: string, _q: unknown, _on: unknown, o: { signal: AbortSignal }) => { await new Promise((resolve) => { o.signal.addEventListener('abort', resolve) }) }
  } as unknown as KubeRest
  const informer = new Informer<KubeObject>(rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, pageSize: 1, backoff: new Backoff(1, 2) })
  const added: string[] = []
  informer.on('add', (o) => added.push(o.metadata!.name!))
  await informer.start()
  await informer.stop()
  assert.deepEqual(requests, [{ limit: 1 }, { limit: 1, continue: 'page2' }, {}])
  assert.deepEqual(added, ['a', 'b', 'c'], 'each object announced once')
})

it('stop() during a relist ends it between pages: no more pages, no events after stop()', async () => {
  let pages = 0
  let informer: Informer<KubeObject> | undefined
  let stopping: Promise<void> | undefined
  const rest = {
    list: async (_r: unknown, _ns: unknown, q: { continue?: string }) => {
      pages++
      if (pages === 2) stopping = informer!.stop()
      await new Promise((resolve) => setTimeout(resolve, 5))
      return { items: [obj(`o${pages}`, String(pages))], metadata: { resourceVersion: '9', continue: `p${pages + 1}` } }
    },
    watch: async () => { throw new Error('no watch after stop()') }
  } as unknown as KubeRest
  informer = new Informer<KubeObject>(rest, { resource: { group: '', version: 'v1', plural: 'configmaps' }, resyncMs: 0, backoff: new Backoff(1, 2) })
  const events: string[] = []
  informer.on('add', (o) => events.push(o.metadata!.name!))
  // The first list never completes: start() resolves when stop() comes, with nothing synced.
  await Promise.race([informer.start(), new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('start() did not settle')) }, 2000))])
  await stopping
  assert.equal(informer.hasSynced, false)
  assert.equal(pages, 2)
  assert.deepEqual(events, [])
})
