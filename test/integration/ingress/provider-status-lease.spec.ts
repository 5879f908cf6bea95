/**
 * Two provider status writers on one Lease (two ingress replicas): a sync begun while leading
 * whose Lotus call ends after leadership did (stopped, or the Lease taken by another holder)
 * writes nothing and records no Event; the replica leading now writes alone.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { StorageProviders, type StorageProvider } from '../../../src/api/index.ts'
import { Core, type KubeObject } from '../../../src/kube/rest.ts'
import { Informer, stripManagedFields } from '../../../src/kube/informer.ts'
import { EventRecorder } from '../../../src/kube/events.ts'
import { ProviderDirectory } from '../../../src/ingress/providers.ts'
import { ProviderStatusWriter } from '../../../src/ingress/provider-status.ts'
import type { ChainReader } from '../../../src/ingress/chain.ts'
import { eventually, testKube, type TestKube } from '../../support/kube.ts'

let k: TestKube
before(async () => { k = await testKube(import.meta.filename) })
after(async () => { await k.cleanup() })

const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 }

/** A provider of its own, writer A whose StateMinerInfo hangs until `answer`, and a healthy writer B. */
async function setup (name: string): Promise<{
  a: ProviderStatusWriter, b: () => ProviderStatusWriter, answer: () => void, inSync: Promise<void>,
  ready: () => Promise<{ peerId?: string, chainHead?: number, reason?: string }>, eventsBy: (who: string) => Promise<string[]>, stop: () => Promise<void>
}> {
  await k.rest.create(StorageProviders, undefined, {
    apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageProvider', metadata: { name },
    spec: { address: 'f01234', lotus: { fullNode: { url: 'http://127.0.0.1:9/rpc/v1' }, miner: { url: 'http://127.0.0.1:9/rpc/v0' } }, fundLedger: 'x', storageLedger: 'y' }
  } as unknown as KubeObject)
  const informer = new Informer<StorageProvider & KubeObject>(k.rest, { resource: StorageProviders, transform: stripManagedFields })
  await informer.start()
  const providers = (): StorageProvider[] => informer.list().filter((s) => s.metadata.name === name)
  let answer: () => void = () => {}
  let calling: () => void = () => {}
  const inSync = new Promise<void>((resolve) => { calling = resolve })
  const hung = new Promise<never>((_resolve, reject) => { answer = () => { reject(new Error('StateMinerInfo: no answer within 5000 ms')) } })
  const chainA = { head: async () => 100, minerInfo: async () => { calling(); return await hung } } as unknown as ChainReader
  const chainB = { head: async () => 200, minerInfo: async () => ({ worker: 'f0100', peerId: 'peerB' }) } as unknown as ChainReader
  const writer = (chain: ChainReader, who: string): ProviderStatusWriter => new ProviderStatusWriter({
    rest: k.rest, namespace: k.namespace, peerId: `peer${who}`, providers,
    directory: new ProviderDirectory({ list: providers, chainFor: () => chain }),
    deals: () => [], events: new EventRecorder(k.rest, 'dealyard-test', who), intervalMs: 1_000, leaseName: `${name}-lease`, lease: timings
  })
  const ready = async (): Promise<{ peerId?: string, chainHead?: number, reason?: string }> => {
    const sp = await k.rest.get<StorageProvider>(StorageProviders, undefined, name)
    const c = sp.status?.conditions?.find((x) => x.type === 'Ready')
    return { ...(sp.status?.peerId !== undefined ? { peerId: sp.status.peerId } : {}), ...(sp.status?.chainHead !== undefined ? { chainHead: sp.status.chainHead } : {}), ...(c !== undefined ? { reason: c.reason } : {}) }
  }
  const eventsBy = async (who: string): Promise<string[]> =>
    (await k.rest.list<KubeObject & { reason: string, reportingInstance: string, regarding: { name: string } }>(Core.events, 'default')).items
      .filter((e) => e.regarding.name === name && e.reportingInstance === who).map((e) => e.reason)
  return {
    a: writer(chainA, 'A'), b: () => writer(chainB, 'B'), answer: () => { answer() }, inSync, ready, eventsBy,
    stop: async () => { await informer.stop(); await k.rest.delete(StorageProviders, undefined, name).catch(() => {}) }
  }
}

test('a writer stopped in the middle of a sync writes nothing when its Lotus call ends; the next leader\'s status stands', async () => {
  const s = await setup(`${k.namespace}-stop`)
  try {
    s.a.start()
    await s.inSync
    await s.a.stop()
    const b = s.b()
    b.start()
    await eventually(async () => (await s.ready()).peerId === 'peerB', { what: 'B\'s status' })
    s.answer()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.deepEqual(await s.ready(), { peerId: 'peerB', chainHead: 200, reason: 'Serving' })
    assert.deepEqual(await s.eventsBy('A'), [])
    await b.stop()
  } finally {
    await s.stop()
  }
})

test('a writer whose Lease another holder took writes nothing when its Lotus call ends', async () => {
  const s = await setup(`${k.namespace}-taken`)
  try {
    s.a.start()
    await s.inSync
    const lease = `${k.namespace}-taken-lease`
    const l = await k.rest.get<KubeObject & { spec: Record<string, unknown> }>(Core.leases, k.namespace, lease)
    await k.rest.replace(Core.leases, k.namespace, lease, { ...l, spec: { ...l.spec, holderIdentity: 'someone-else', leaseDurationSeconds: 3600 } })
    await eventually(() => !s.a.leading, { what: 'A to stop leading' })
    s.answer()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.deepEqual(await s.ready(), {}, 'no status written by a writer that no longer leads')
    assert.deepEqual(await s.eventsBy('A'), [])
    await s.a.stop()
  } finally {
    await s.stop()
  }
})
