/**
 * The status writer's pass without a cluster: what it writes through the status subresource, the
 * Events it records, and that it never stamps a newer generation on what it observed of an older spec.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ProviderStatusWriter } from '../../../src/ingress/provider-status.ts'
import { ProviderDirectory } from '../../../src/ingress/providers.ts'
import type { ChainReader } from '../../../src/ingress/chain.ts'
import type { EventRecorder } from '../../../src/kube/events.ts'
import type { KubeRest } from '../../../src/kube/rest.ts'
import type { StorageDeal, StorageProvider } from '../../../src/api/index.ts'
import { storageProvider } from '../../support/builders.ts'

const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'

function setup (stored: StorageProvider, observed: StorageProvider): { writer: ProviderStatusWriter, writes: StorageProvider[], events: string[] } {
  const writes: StorageProvider[] = []
  const events: string[] = []
  const rest = {
    get: async () => structuredClone(stored),
    replace: async (_r: unknown, _ns: unknown, _name: string, obj: StorageProvider, sub?: string) => {
      assert.equal(sub, 'status', 'only the status subresource')
      writes.push(obj)
      stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(writes.length + 10) } }
      return structuredClone(stored)
    }
  } as unknown as KubeRest
  const chain = { head: async () => 500, minerInfo: async () => ({ worker: 'f01001', peerId: PEER }) } as unknown as ChainReader
  const writer = new ProviderStatusWriter({
    rest,
    namespace: 'ns',
    peerId: PEER,
    providers: () => [observed],
    directory: new ProviderDirectory({ list: () => [observed], chainFor: () => chain }),
    deals: () => [{ spec: { provider: 'sp1' } }, { spec: { provider: 'sp1' }, status: { checkpoint: 'Complete' } }] as unknown as StorageDeal[],
    events: { record: async (_o: unknown, type: string, reason: string) => { events.push(`${type}/${reason}`) } } as unknown as EventRecorder
  })
  return { writer, writes, events }
}

describe('ProviderStatusWriter.syncAll', () => {
  it('writes the status of what it observed, and an Event per condition that changed', async () => {
    const sp = storageProvider('sp1')
    const { writer, writes, events } = setup(sp, sp)
    await writer.syncAll()
    assert.equal(writes.length, 1)
    const st = writes[0]!.status!
    assert.deepEqual([st.observedGeneration, st.chainHead, st.workerAddress, st.activeDeals, st.peerId], [1, 500, 'f01001', 1, PEER])
    assert.deepEqual(events, ['Normal/Serving', 'Normal/Matches'])
    await writer.syncAll()
    assert.equal(events.length, 2, 'nothing changed: no new Event')
  })

  it('does not stamp a newer generation on what it observed of an older spec', async () => {
    const observed = storageProvider('sp1')
    const stored = { ...storageProvider('sp1'), metadata: { ...observed.metadata, generation: 2 } }
    const { writer, writes } = setup(stored, observed)
    await writer.syncAll()
    assert.equal(writes.length, 0)
  })

  it('does not give a provider made again under the same name the verdict on the deleted one', async () => {
    const observed = storageProvider('sp1')
    const stored = { ...storageProvider('sp1'), metadata: { ...observed.metadata, uid: 'sp1-uid-2' } }
    const { writer, writes } = setup(stored, observed)
    await writer.syncAll()
    assert.equal(writes.length, 0)
  })
})
