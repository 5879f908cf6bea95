/**
 * Events against the real apiserver: what it refuses (a note over 1,024 bytes, a name over 253
 * characters) is cut to fit, and a repeat whose series Event is gone records a new one.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Core, type KubeObject } from '../../../src/kube/index.ts'
import { EventRecorder } from '../../../src/kube/events.ts'
import { utf8Prefix } from '../../../src/utf8.ts'
import { testKube, eventually, type TestKube } from '../../support/kube.ts'

let k: TestKube
before(async () => { k = await testKube(import.meta.filename) })
after(async () => { await k.cleanup() })

type Ev = KubeObject & { note?: string, regarding: { name: string }, series?: { count: number } }
const eventsOf = async (name: string): Promise<Ev[]> => (await k.rest.list<Ev>(Core.events, k.namespace)).items.filter((e) => e.regarding.name === name)

test('a note is cut to 1,024 bytes at a character boundary, and a long object name still makes a valid Event name', async () => {
  assert.equal(utf8Prefix('ab', 1024), 'ab')
  assert.equal(utf8Prefix('жжж', 5), 'жж')
  const name = 'x'.repeat(240)
  const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: k.namespace, uid: 'u-1' } } as KubeObject
  const recorder = new EventRecorder(k.rest, 'dealyard-test', 'test')
  await recorder.record(obj, 'Warning', 'Failed', 'Sync', 'ж'.repeat(675))
  const [e] = await eventually(async () => { const l = await eventsOf(name); return l.length === 1 ? l : undefined }, { what: 'the Event' })
  assert.equal(Buffer.byteLength(e!.note!, 'utf8'), 1024)
  assert.ok(e!.metadata!.name!.length <= 253)
})

test('a repeat whose series Event was deleted records a new Event', async () => {
  const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'repeated', namespace: k.namespace, uid: 'u-2' } } as KubeObject
  const recorder = new EventRecorder(k.rest, 'dealyard-test', 'test')
  await recorder.record(obj, 'Normal', 'Synced', 'Sync', 'the same note')
  const [first] = await eventsOf('repeated')
  await k.rest.delete(Core.events, k.namespace, first!.metadata!.name!)
  await recorder.record(obj, 'Normal', 'Synced', 'Sync', 'the same note')
  await recorder.record(obj, 'Normal', 'Synced', 'Sync', 'the same note')
  const l = await eventsOf('repeated')
  assert.equal(l.length, 1, 'one new Event')
  assert.equal(l[0]!.series?.count, 2, 'the second repeat counted on it')
})
