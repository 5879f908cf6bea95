/**
 * The informer against the real apiserver: list + watch, events, resync, and a real 410 Gone —
 * provoked by compacting etcd while the informer is away (ConfigMaps run without a watch cache in
 * the test plane, so the apiserver forwards the stale watch to etcd, which refuses it).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Informer, type KubeObject } from '../../../src/kube/index.ts'
import { stripManagedFields } from '../../../src/kube/informer.ts'
import { testKube, eventually, type TestKube } from '../../support/kube.ts'

const configmaps = { group: '', version: 'v1', plural: 'configmaps' }
let k: TestKube
before(async () => { k = await testKube(import.meta.filename) })
after(async () => { await k.cleanup() })

const cm = (name: string, data: Record<string, string> = {}): KubeObject & { data: Record<string, string> } =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { suite: 'informer' } }, data })

async function etcdCompact (etcd: string): Promise<number> {
  const range = await fetch(`${etcd}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })
  const revision = Number((await range.json() as { header: { revision: string } }).header.revision)
  const res = await fetch(`${etcd}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: String(revision), physical: true }) })
  assert.equal(res.status, 200, await res.text())
  return revision
}

test('list + watch deliver add, update and delete, and the cache follows', async () => {
  const inf = new Informer<KubeObject>(k.rest, { resource: configmaps, namespace: k.namespace, labelSelector: 'suite=informer', resyncMs: 0 })
  const seen: string[] = []
  inf.on('add', (o) => seen.push(`add:${o.metadata!.name}`))
  inf.on('update', (_o, n) => seen.push(`update:${n.metadata!.name}`))
  inf.on('delete', (o) => seen.push(`delete:${o.metadata!.name}`))
  await k.rest.create(configmaps, k.namespace, cm('pre'))
  await inf.start()
  assert.ok(inf.hasSynced)
  assert.deepEqual(seen, ['add:pre'])
  await k.rest.create(configmaps, k.namespace, cm('a'))
  await k.rest.mergePatch(configmaps, k.namespace, 'a', { data: { x: '1' } })
  await k.rest.delete(configmaps, k.namespace, 'pre')
  await eventually(() => seen.length === 4, { what: 'watch events' })
  assert.deepEqual(seen, ['add:pre', 'add:a', 'update:a', 'delete:pre'])
  assert.deepEqual(inf.keys(), [`${k.namespace}/a`])
  assert.equal((inf.getObject(k.namespace, 'a') as { data?: Record<string, string> }).data?.x, '1')
  inf.resync()
  assert.equal(seen.at(-1), 'update:a', 'resync re-delivers cached objects as updates')
  await inf.stop()
})

test('a transform shapes what is cached and what handlers get, listed or watched', async () => {
  const tcm = (name: string, data: Record<string, string> = {}): KubeObject => ({ ...cm(name, data), metadata: { name, labels: { suite: 'transform' } } })
  await k.rest.create(configmaps, k.namespace, tcm('t-listed', { v: '1' }))
  const raw = await k.rest.get<KubeObject>(configmaps, k.namespace, 't-listed')
  assert.ok((raw.metadata?.managedFields?.length ?? 0) > 0, 'the apiserver records managed fields')
  const inf = new Informer<KubeObject>(k.rest, { resource: configmaps, namespace: k.namespace, labelSelector: 'suite=transform', resyncMs: 0, transform: stripManagedFields })
  const handed: KubeObject[] = []
  inf.on('add', (o) => handed.push(o))
  inf.on('update', (_o, n) => handed.push(n))
  await inf.start()
  await k.rest.create(configmaps, k.namespace, tcm('t-watched'))
  await k.rest.mergePatch(configmaps, k.namespace, 't-listed', { data: { v: '2' } })
  await eventually(() => handed.length === 3, { what: 'add, add, update' })
  for (const o of [...handed, ...inf.list()]) assert.equal(o.metadata?.managedFields, undefined, `${o.metadata?.name} without managedFields`)
  assert.equal((inf.getObject(k.namespace, 't-listed') as { data?: Record<string, string> }).data?.v, '2')
  await inf.stop()
})

test('a watch resumed from a compacted resourceVersion gets 410 Gone, relists and reports what vanished', async () => {
  const inf = new Informer<KubeObject>(k.rest, { resource: configmaps, namespace: k.namespace, labelSelector: 'suite=gone', resyncMs: 0 })
  const mk = (n: string): KubeObject => ({ ...cm(n), metadata: { name: n, labels: { suite: 'gone' } } }) as KubeObject
  await k.rest.create(configmaps, k.namespace, mk('keep'))
  await k.rest.create(configmaps, k.namespace, mk('doomed'))
  await inf.start()
  assert.equal(inf.keys().length, 2)
  await inf.stop()
  const staleRv = inf.lastResourceVersion!
  // While the informer is away: one object goes, one arrives, one changes; then history is compacted.
  await k.rest.delete(configmaps, k.namespace, 'doomed')
  await k.rest.create(configmaps, k.namespace, mk('newcomer'))
  await k.rest.mergePatch(configmaps, k.namespace, 'keep', { data: { v: '2' } })
  const compactedAt = await etcdCompact(k.plane.etcd)
  assert.ok(compactedAt > Number(staleRv))
  const deleted: string[] = []
  const added: string[] = []
  inf.on('delete', (o) => deleted.push(o.metadata!.name!))
  inf.on('add', (o) => added.push(o.metadata!.name!))
  const before = { ...inf.stats }
  await inf.start()
  await eventually(() => inf.stats.goneRelists > before.goneRelists, { what: 'a relist after 410 Gone' })
  await eventually(() => inf.keys().length === 2 && deleted.length === 1, { what: 'cache to converge' })
  assert.deepEqual(deleted, ['doomed'])
  assert.deepEqual(added, ['newcomer'])
  assert.deepEqual(inf.keys().sort(), [`${k.namespace}/keep`, `${k.namespace}/newcomer`])
  assert.equal((inf.getObject(k.namespace, 'keep') as { data?: Record<string, string> }).data?.v, '2')
  assert.equal(inf.stats.relists, before.relists + 1)
  await inf.stop()
})

test('the watch reconnects after the server closes it and misses nothing', async () => {
  const inf = new Informer<KubeObject>(k.rest, { resource: configmaps, namespace: k.namespace, labelSelector: 'suite=reconnect', resyncMs: 0, watchTimeoutSeconds: 1 })
  await inf.start()
  const connects = inf.stats.reconnects
  const mk = (n: string): KubeObject => ({ ...cm(n), metadata: { name: n, labels: { suite: 'reconnect' } } }) as KubeObject
  for (let i = 0; i < 5; i++) {
    await k.rest.create(configmaps, k.namespace, mk(`r${i}`))
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  await eventually(() => inf.keys().length === 5, { what: 'all five objects' })
  assert.ok(inf.stats.reconnects >= connects + 2, `watch re-established after server timeouts (${inf.stats.reconnects - connects})`)
  assert.equal(inf.stats.relists, 1, 'reconnecting from the last resourceVersion needs no relist')
  await inf.stop()
})

test('a list announces new objects in the order they were written, not by name', async () => {
  // Names that sort against their order of creation: consumers that decide by the order of
  // announcement (the ingress's funds re-check) must see what a watch would have shown.
  const names = ['order-z', 'order-m', 'order-a', 'order-q']
  for (const n of names) await k.rest.create(configmaps, k.namespace, { ...cm(n), metadata: { name: n, labels: { suite: 'order' } } })
  const inf = new Informer<KubeObject>(k.rest, { resource: configmaps, namespace: k.namespace, labelSelector: 'suite=order', resyncMs: 0 })
  const seen: string[] = []
  inf.on('add', (o) => seen.push(o.metadata!.name!))
  await inf.start()
  await inf.stop()
  assert.deepEqual(seen, names)
})
