/**
 * The CRDs as the real apiserver enforces them: CEL immutability of a StorageDeal's spec (except
 * dataSource, settable once), the name rule, the status subresource, and kubectl's columns.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { StorageDeals, StorageProviders, type StorageDeal, type StorageProvider } from '../../../src/api/index.ts'
import { KubeApiError } from '../../../src/kube/index.ts'
import { storageDeal, storageProvider } from '../../support/builders.ts'
import { testKube, type TestKube } from '../../support/kube.ts'

let k: TestKube
before(async () => { k = await testKube(import.meta.filename) })
after(async () => { await k.cleanup() })

async function rejected (p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KubeApiError, String(err))
    assert.equal(err.status, 422, err.message)
    assert.match(err.message, message)
    return true
  })
}

test('a StorageDeal is created and its spec cannot change afterwards', async () => {
  const deal = storageDeal(k.namespace)
  const created = await k.rest.create<StorageDeal>(StorageDeals, k.namespace, deal)
  assert.equal(created.metadata.name, deal.spec.dealUuid)
  const changed = structuredClone(created)
  changed.spec.proposal.storagePricePerEpoch = '1'
  await rejected(k.rest.replace(StorageDeals, k.namespace, deal.metadata.name!, changed), /spec is immutable except dataSource/)
  const labelled = structuredClone(created)
  labelled.spec.clientPeerId = undefined as unknown as string
  delete labelled.spec.clientPeerId
  await rejected(k.rest.replace(StorageDeals, k.namespace, deal.metadata.name!, labelled), /spec is immutable/)
})

test('a write with a field the installed schema does not know is refused, not pruned', async () => {
  // what a CRD older than the code writing to it looks like to the writer
  const deal = storageDeal(k.namespace) as StorageDeal & { spec: { newerField?: string } }
  deal.spec.newerField = 'x'
  await assert.rejects(k.rest.create(StorageDeals, k.namespace, deal), (err: unknown) => {
    assert.ok(err instanceof KubeApiError, String(err))
    assert.equal(err.status, 400, err.message)
    assert.match(err.message, /unknown field "spec.newerField"/)
    return true
  })
  await assert.rejects(k.rest.get(StorageDeals, k.namespace, deal.metadata.name!), (err: unknown) => err instanceof KubeApiError && err.status === 404)
  const created = await k.rest.create<StorageDeal>(StorageDeals, k.namespace, storageDeal(k.namespace))
  await assert.rejects(k.rest.mergePatch(StorageDeals, k.namespace, created.metadata.name!, { status: { newerStatus: 1 } }, 'status'), /unknown field "status.newerStatus"/)
})

test('metadata.name must be the deal UUID', async () => {
  const deal = storageDeal(k.namespace)
  deal.metadata.name = 'something-else'
  await rejected(k.rest.create(StorageDeals, k.namespace, deal), /metadata.name must equal spec.dealUuid/)
})

test('an offline deal takes dataSource once; changing or removing it is refused', async () => {
  const deal = storageDeal(k.namespace, { isOffline: true, transfer: { type: '', size: 0 } })
  const name = deal.metadata.name!
  await k.rest.create(StorageDeals, k.namespace, deal)
  await k.rest.mergePatch(StorageDeals, k.namespace, name, { spec: { dataSource: { path: 'imports/a.car' } } })
  const got = await k.rest.get<StorageDeal>(StorageDeals, k.namespace, name)
  assert.equal(got.spec.dataSource?.path, 'imports/a.car')
  await rejected(k.rest.mergePatch(StorageDeals, k.namespace, name, { spec: { dataSource: { path: 'imports/b.car' } } }), /dataSource may be set once/)
  await rejected(k.rest.mergePatch(StorageDeals, k.namespace, name, { spec: { dataSource: null } }), /dataSource may not be removed/)
})

test('an online deal cannot take a dataSource', async () => {
  const deal = storageDeal(k.namespace)
  await k.rest.create(StorageDeals, k.namespace, deal)
  await rejected(k.rest.mergePatch(StorageDeals, k.namespace, deal.metadata.name!, { spec: { dataSource: { path: 'x.car' } } }), /only for offline deals/)
})

test('bounds and enums are enforced by the apiserver too', async () => {
  const deal = storageDeal(k.namespace)
  deal.spec.proposal.pieceSize = 64
  await rejected(k.rest.create(StorageDeals, k.namespace, deal), /pieceSize/)
  const offline = storageDeal(k.namespace, { isOffline: true })
  await rejected(k.rest.create(StorageDeals, k.namespace, offline), /offline deals have no transfer type/)
})

test('a piece size that is not a power of two, and a data source outside the staging volume, are refused', async () => {
  const deal = storageDeal(k.namespace)
  deal.spec.proposal.pieceSize = 1000
  await rejected(k.rest.create(StorageDeals, k.namespace, deal), /spec.proposal.pieceSize: Invalid value: 1000: must be a power of two/)
  for (const path of ['/etc/passwd', '../other/deal.car', 'imports/../../x', '..']) {
    const offline = storageDeal(k.namespace, { isOffline: true })
    offline.spec.transfer = { type: '', size: 0 }
    offline.spec.dataSource = { path }
    await rejected(k.rest.create(StorageDeals, k.namespace, offline), /must be a path inside the staging volume/)
  }
})

test('a StorageProvider CIDR must be a CIDR, not only look like one', async () => {
  // Created, so the apiserver assigns uid and generation.
  const sp = (allowCidrs: string[]): StorageProvider => {
    const o = storageProvider(`${k.namespace}-cidr`, allowCidrs)
    return { ...o, metadata: { name: o.metadata.name } }
  }
  for (const bad of ['10.0.0.0/40', '999.1.1.1/8', 'fd00::/129']) {
    await rejected(k.rest.create(StorageProviders, undefined, sp([bad])), /must be a CIDR such as 10.0.0.0\/8/)
  }
  await k.rest.create(StorageProviders, undefined, sp(['10.0.0.0/8', 'fd00::/8']))
  await k.rest.delete(StorageProviders, undefined, `${k.namespace}-cidr`)
})

test('a StorageProvider\'s ask and address are refused by the apiserver when no deal could use them', async () => {
  const name = `${k.namespace}-ask`
  const sp = (spec: Partial<StorageProvider['spec']>): StorageProvider => {
    const o = storageProvider(name)
    return { ...o, metadata: { name }, spec: { ...o.spec, ...spec } }
  }
  await rejected(k.rest.create(StorageProviders, undefined, sp({ ask: { minPieceSize: 1 << 30, maxPieceSize: 256 } })), /minPieceSize must not be larger than maxPieceSize/)
  await rejected(k.rest.create(StorageProviders, undefined, sp({ ask: { minPieceSize: 300 } })), /spec.ask.minPieceSize: Invalid value: 300: must be a power of two/)
  // Past 2^53 a JavaScript number cannot hold it (such an ask could not even be encoded).
  await rejected(k.rest.create(StorageProviders, undefined, sp({ ask: { maxPieceSize: 2 ** 60 } })), /spec.ask.maxPieceSize/)
  await rejected(k.rest.create(StorageProviders, undefined, sp({ ask: { seqNo: 2 ** 60 } })), /spec.ask.seqNo/)
  // Past 2^31 - 1 ms a Node timer fires at once: a 30-day deadline failed every transfer at its start.
  await rejected(k.rest.create(StorageProviders, undefined, sp({ transfer: { deadlineSeconds: 30 * 86400 } })), /spec.transfer.deadlineSeconds/)
  for (const address of ['t0abc', 't001234', 'f1abcdefghijklmnopqrstuvwxyz']) {
    await rejected(k.rest.create(StorageProviders, undefined, sp({ address })), /spec.address/)
  }
  await k.rest.create(StorageProviders, undefined, sp({ address: 't01234', ask: { minPieceSize: 256, maxPieceSize: 32 * 2 ** 30 } }))
  await k.rest.delete(StorageProviders, undefined, name)
})

test('a StorageProvider\'s name fits the label it puts on its deals', async () => {
  const named = (name: string): StorageProvider => ({ ...storageProvider(name), metadata: { name } })
  const long = `${k.namespace}-`.padEnd(64, 'x')
  await rejected(k.rest.create(StorageProviders, undefined, named(long)), /metadata.name must be at most 63 characters: it labels every deal of the provider/)
  await k.rest.create(StorageProviders, undefined, named(long.slice(0, 63)))
  await k.rest.delete(StorageProviders, undefined, long.slice(0, 63))
})

test('status is written through the status subresource only', async () => {
  const deal = storageDeal(k.namespace)
  const name = deal.metadata.name!
  const created = await k.rest.create<StorageDeal>(StorageDeals, k.namespace, deal)
  // A status in the main resource is dropped by the apiserver (status subresource semantics).
  const viaMain = await k.rest.mergePatch<StorageDeal>(StorageDeals, k.namespace, name, { status: { checkpoint: 'Published' } })
  assert.equal(viaMain.status?.checkpoint, undefined)
  const viaStatus = await k.rest.mergePatch<StorageDeal>(StorageDeals, k.namespace, name, {
    status: { checkpoint: 'Transferred', progress: '100%' }
  }, 'status')
  assert.equal(viaStatus.status?.checkpoint, 'Transferred')
  assert.equal(viaStatus.metadata.generation, created.metadata.generation, 'status writes do not bump generation')
  // …and a spec change sent to the status subresource is ignored, not applied.
  const sneaky = await k.rest.mergePatch<StorageDeal>(StorageDeals, k.namespace, name, { spec: { provider: 'other' } }, 'status')
  assert.equal(sneaky.spec.provider, deal.spec.provider)
  await rejected(k.rest.mergePatch(StorageDeals, k.namespace, name, { status: { checkpoint: 'Sealed' } }, 'status'), /checkpoint/)
  // The status protocol encodes deal IDs from JS numbers: one it could not send is refused here.
  await rejected(k.rest.mergePatch(StorageDeals, k.namespace, name, { status: { chainDealId: 2 ** 53 } }, 'status'), /chainDealId/)
  const safe = await k.rest.mergePatch<StorageDeal>(StorageDeals, k.namespace, name, { status: { chainDealId: 2 ** 53 - 1 } }, 'status')
  assert.equal(safe.status?.chainDealId, 2 ** 53 - 1)
})

test('kubectl get storagedeals shows the printer columns and the row', async () => {
  const deal = storageDeal(k.namespace)
  const name = deal.metadata.name!
  await k.rest.create(StorageDeals, k.namespace, deal)
  await k.rest.mergePatch(StorageDeals, k.namespace, name, {
    status: {
      checkpoint: 'Accepted', progress: '42%', chainDealId: 77, retry: 'auto', message: 'downloading',
      transfer: { bytesReceived: 1, totalBytes: 2, rateBytesPerSecond: 0, attempt: 1, lastUpdate: '2026-01-01T00:00:00Z', error: 'too slow', errorCode: 'TRANSFER_TOO_SLOW' },
      conditions: [{ type: 'Ready', status: 'False', reason: 'Transferring', message: 'downloading', lastTransitionTime: '2026-01-01T00:00:00Z' }]
    }
  }, 'status')
  const out = await k.kubectl('get', 'storagedeals', '-n', k.namespace, '--field-selector', `metadata.name=${name}`)
  const [header, row] = out.trim().split('\n')
  assert.deepEqual(header!.split(/\s+/), ['NAME', 'PROVIDER', 'CLIENT', 'SIZE', 'CHECKPOINT', 'PROGRESS', 'STATUS', 'AGE'])
  const cells = row!.split(/\s+/)
  assert.deepEqual(cells.slice(0, 7), [name, 'f01000', deal.spec.proposal.client, '2048', 'Accepted', '42%', 'Transferring'])
  const wide = await k.kubectl('get', 'sd', '-n', k.namespace, '-o', 'wide', '--field-selector', `metadata.name=${name}`)
  const wideHeader = wide.split('\n')[0]!.split(/\s+/)
  assert.deepEqual(wideHeader.slice(8), ['PIECECID', 'DEALID', 'SECTOR', 'RETRY', 'TRANSFERERROR', 'MESSAGE'])
  assert.match(wide, /\b77\b/)
  // a transfer's failure shows without -o yaml (the Message column is the controller's)
  assert.match(wide, /\bTRANSFER_TOO_SLOW\b/)
  const byCategory = await k.kubectl('get', 'dealyard', '-n', k.namespace, '-o', 'name')
  assert.match(byCategory, new RegExp(`storagedeal.dealyard.io/${name}`))
})
