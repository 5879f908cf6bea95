/**
 * Status writes and Events on the real apiserver: optimistic-lock transactions survive concurrent
 * writers, two field managers own distinct status fields under server-side apply, and repeated
 * Events collapse into one series.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { StorageDeals, StorageLedgers, type StorageDeal } from '../../../src/api/index.ts'
import { applyStatus, Core, EventRecorder, KubeApiError, setCondition, updateStatus, type KubeObject } from '../../../src/kube/index.ts'
import { storageDeal } from '../../support/builders.ts'
import { testKube, eventually, type TestKube } from '../../support/kube.ts'

let k: TestKube
before(async () => { k = await testKube(import.meta.filename) })
after(async () => { await k.cleanup() })

test('concurrent transactions on one status all land (conflicts are retried on fresh reads)', async () => {
  const deal = storageDeal(k.namespace)
  const name = deal.metadata.name!
  await k.rest.create(StorageDeals, k.namespace, deal)
  const types = ['Accepted', 'Transferred', 'Published', 'PublishConfirmed', 'AddedPiece', 'Paused']
  const results = await Promise.all(types.map((type) => updateStatus<StorageDeal>(k.rest, StorageDeals, k.namespace, name, [
    (d) => {
      d.status ??= {}
      d.status.conditions = setCondition(d.status.conditions as never, { type, status: 'True', reason: 'Test', message: type }, d.metadata.generation, new Date())
    }
  ], { attempts: 10 })))
  assert.ok(results.every((r) => r.written))
  const got = await k.rest.get<StorageDeal>(StorageDeals, k.namespace, name)
  assert.deepEqual(got.status?.conditions?.map((c) => c.type).sort(), [...types].sort())
  assert.ok(got.status!.conditions!.every((c) => c.observedGeneration === 1))
})

test('a transaction that changes nothing writes nothing', async () => {
  const deal = storageDeal(k.namespace)
  const name = deal.metadata.name!
  await k.rest.create(StorageDeals, k.namespace, deal)
  const first = await updateStatus<StorageDeal>(k.rest, StorageDeals, k.namespace, name, [(d) => { d.status = { checkpoint: 'Accepted' } }])
  const again = await updateStatus<StorageDeal>(k.rest, StorageDeals, k.namespace, name, [(d) => { d.status = { checkpoint: 'Accepted' } }])
  assert.equal(first.written, true)
  assert.equal(again.written, false)
  assert.equal(again.object.metadata.resourceVersion, first.object.metadata.resourceVersion)
})

test('server-side apply: the transfer manager and the controller own separate status fields', async () => {
  const deal = storageDeal(k.namespace)
  const name = deal.metadata.name!
  await k.rest.create(StorageDeals, k.namespace, deal)
  const ref = { ...StorageDeals }
  await applyStatus(k.rest, ref, k.namespace, name, { checkpoint: 'Accepted', message: 'waiting for data' }, 'dealyard-controller')
  await applyStatus(k.rest, ref, k.namespace, name, { transfer: { bytesReceived: 10, totalBytes: 100 }, progress: '10%' }, 'dealyard-transfer')
  // A second apply by the transfer manager must not remove the controller's fields…
  const got = await applyStatus<StorageDeal>(k.rest, ref, k.namespace, name, { transfer: { bytesReceived: 100, totalBytes: 100 }, progress: '100%' }, 'dealyard-transfer')
  assert.equal(got.status?.checkpoint, 'Accepted')
  assert.equal(got.status?.message, 'waiting for data')
  assert.equal(got.status?.transfer?.bytesReceived, 100)
  // …and the controller re-applying its fields without transfer keeps the transfer manager's.
  const again = await applyStatus<StorageDeal>(k.rest, ref, k.namespace, name, { checkpoint: 'Transferred', message: 'transferred' }, 'dealyard-controller')
  assert.equal(again.status?.transfer?.bytesReceived, 100)
  const managers = (again.metadata.managedFields ?? []).filter((m: { subresource?: string }) => m.subresource === 'status').map((m: { manager?: string }) => m.manager).sort()
  assert.deepEqual(managers, ['dealyard-controller', 'dealyard-transfer'])
})

test('events: a transition is recorded with MicroTime, repeats collapse into one series', async () => {
  const deal = storageDeal(k.namespace)
  const created = await k.rest.create<StorageDeal>(StorageDeals, k.namespace, deal)
  const rec = new EventRecorder(k.rest, 'dealyard.io/controller', 'test-instance')
  await rec.record(created as KubeObject, 'Normal', 'Accepted', 'Accept', 'deal accepted')
  for (let i = 0; i < 3; i++) await rec.record(created as KubeObject, 'Warning', 'PublishFailed', 'Publish', 'mpool push: insufficient funds')
  const events = await eventually(async () => {
    const list = await k.rest.list<KubeObject & { reason: string, type: string, note: string, eventTime: string, series?: { count: number }, regarding: { uid: string } }>(Core.events, k.namespace)
    return list.items.length === 2 ? list.items : undefined
  }, { what: 'two events' })
  const byReason = Object.fromEntries(events.map((e) => [e.reason, e]))
  assert.equal(byReason.Accepted!.type, 'Normal')
  assert.equal(byReason.Accepted!.regarding.uid, created.metadata.uid)
  assert.match(byReason.Accepted!.eventTime, /\.\d{6}Z$/)
  assert.equal(byReason.PublishFailed!.type, 'Warning')
  assert.equal(byReason.PublishFailed!.series?.count, 3)
  const described = await k.kubectl('events', '-n', k.namespace, '--for', `storagedeal/${created.metadata.name}`)
  assert.match(described, /PublishFailed/)
})

test('server-side apply of a whole object: created by a named manager, conflicts refused unless forced', async () => {
  const name = `${k.namespace}-ssa`
  const body = {
    apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageLedger', metadata: { name },
    spec: { capacityBytes: 1000, stagingPath: '/staging' }
  }
  const created = await k.rest.apply<KubeObject & { spec: { capacityBytes: number } }>(StorageLedgers, undefined, name, body, 'gitops', { force: false })
  assert.equal(created.spec.capacityBytes, 1000)
  assert.deepEqual(created.metadata?.managedFields?.map((m) => m.manager), ['gitops'])
  // Another manager changing a field gitops owns is a conflict…
  const changed = { ...body, spec: { capacityBytes: 2000 } }
  await assert.rejects(k.rest.apply(StorageLedgers, undefined, name, changed, 'someone-else', { force: false }),
    (err: unknown) => err instanceof KubeApiError && err.status === 409 && /conflict/i.test(err.message))
  // …unless it forces, which moves ownership.
  const forced = await k.rest.apply<KubeObject & { spec: { capacityBytes: number } }>(StorageLedgers, undefined, name, changed, 'someone-else', { force: true })
  assert.equal(forced.spec.capacityBytes, 2000)
  await k.rest.delete(StorageLedgers, undefined, name)
})
