/**
 * The deal store's decisions across replicas when one replica's watch was away long enough for a
 * 410 Gone, and when writes fail or their answers are lost: two KubeDealStores on one real apiserver stand in
 * for two ingress replicas. The plane runs without a watch cache, so compacting etcd while a
 * store's informer is stopped gives it a real 410 and a full relist.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startControlPlane, type ControlPlane } from '../../support/controlplane.ts'
import { applyCrds } from '../../support/crds.ts'
import { storageDeal } from '../../support/builders.ts'
import { eventually } from '../../support/kube.ts'
import { Core, KubeApiError, KubeRest, loadKubeConfig, type KubeObject } from '../../../src/kube/index.ts'
import { StorageDeals, type StorageDeal } from '../../../src/api/index.ts'
import { KubeDealStore, type Recheck } from '../../../src/ingress/store.ts'
import { OrphanSweeper } from '../../../src/ingress/orphans.ts'
import { DealyardError } from '../../../src/errors.ts'
import { paramsSecretName } from '../../../src/ingress/deal-object.ts'

let plane: ControlPlane
let rest: KubeRest
let ns: string
const clients: KubeRest[] = []
before(async () => {
  plane = await startControlPlane({ apiserverArgs: ['--watch-cache=false'] })
  await applyCrds(plane)
  rest = new KubeRest(loadKubeConfig(plane.kubeconfig))
  ns = `store-${randomBytes(3).toString('hex')}`
  await rest.create(Core.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })
})
after(async () => {
  for (const c of [rest, ...clients]) await c.close().catch(() => {})
  await plane.stop()
})

const params = new Uint8Array([1, 2, 3])
const spcRandom = (): string => 'bafyrei' + randomBytes(20).toString('hex')

function deal (o: { uuid?: string, spc?: string, offline?: boolean } = {}): StorageDeal {
  const d = storageDeal(ns, { provider: 'sp', signedProposalCid: o.spc ?? spcRandom(), ...(o.uuid !== undefined ? { dealUuid: o.uuid } : {}), ...(o.offline === true ? { isOffline: true } : {}) })
  d.spec.proposal.providerCollateral = '1000'
  if (o.offline === true) d.spec.transfer = { type: '', size: 0 } as never
  return d
}

/** A store with its own apiserver client: another replica. */
async function replica (client = new KubeRest(loadKubeConfig(plane.kubeconfig))): Promise<KubeDealStore> {
  if (client !== rest) clients.push(client)
  const s = new KubeDealStore(client, ns)
  await s.start()
  return s
}

async function etcdCompact (): Promise<void> {
  const range = await fetch(`${plane.etcd}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })
  const revision = (await range.json() as { header: { revision: string } }).header.revision
  const res = await fetch(`${plane.etcd}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision, physical: true }) })
  assert.equal(res.status, 200, await res.text())
}

const exists = async (uuid: string): Promise<boolean> => await rest.get(StorageDeals, ns, uuid).then(() => true, () => false)
const written = async (uuid: string): Promise<void> => { await eventually(async () => await exists(uuid), { what: `deal ${uuid} written`, intervalMs: 10 }) }
const withSpc = async (spc: string): Promise<string[]> =>
  (await rest.list<StorageDeal & KubeObject>(StorageDeals, ns)).items.filter((d) => d.spec.signedProposalCid === spc).map((d) => d.metadata.name!)

/** Funds for one deal of the two (1000 each). */
const oneDealOfFunds: Recheck = (heldBefore) => {
  const h = heldBefore(['sp'])
  return h.collateral + 1000n > 1000n ? { stage: 'acceptance', reason: 'InsufficientFunds', message: `held before: ${h.collateral}` } as never : undefined
}

/**
 * Replica 2 accepts A; replica 1, whose watch is away, creates B; A is then changed (a controller's
 * first status write), so its resourceVersion passes B's, and history is compacted: replica 1's
 * list announces B before A, though A was written first.
 */
async function raceAcrossRelist (identical: boolean): Promise<{ a: StorageDeal, b: StorageDeal, ra: object, rb: object }> {
  const r1 = await replica()
  const r2 = await replica()
  try {
    await r1.informer.stop()
    const a = deal()
    const ra = await r2.create(a, params, identical ? {} : { recheck: oneDealOfFunds })
    assert.deepEqual(ra, { created: true })
    const b = deal(identical ? { spc: a.spec.signedProposalCid } : {})
    const pb = r1.create(b, params, identical ? {} : { recheck: oneDealOfFunds })
    await written(b.metadata.name!)
    await rest.mergePatch(StorageDeals, ns, a.metadata.name!, { status: { checkpoint: 'Accepted' } }, 'status')
    const [ga, gb] = await Promise.all([rest.get(StorageDeals, ns, a.metadata.name!), rest.get(StorageDeals, ns, b.metadata.name!)])
    assert.ok(Number(ga.metadata!.resourceVersion) > Number(gb.metadata!.resourceVersion), 'A changed after B was written')
    const gone = r1.informer.stats.goneRelists
    await etcdCompact()
    void r1.informer.start()
    const rb = await pb
    assert.ok(r1.informer.stats.goneRelists > gone, 'replica 1 relisted after a 410')
    return { a, b, ra, rb }
  } finally {
    await r1.stop()
    await r2.stop()
  }
}

test('a deal a relist delivers is decided as if every listed deal came first: funds are not spent twice', async () => {
  const { a, b, rb } = await raceAcrossRelist(false)
  assert.deepEqual(rb, { refused: { stage: 'acceptance', reason: 'InsufficientFunds', message: 'held before: 1000' } })
  assert.equal(await exists(a.metadata.name!), true)
  assert.equal(await exists(b.metadata.name!), false)
})

test('a deal a relist delivers is refused as identical to a listed deal of the same signed proposal', async () => {
  const { a, rb } = await raceAcrossRelist(true)
  assert.ok('identical' in rb, JSON.stringify(rb))
  assert.equal((rb as { identical: { dealUuid: string } }).identical.dealUuid, a.metadata.name)
  assert.deepEqual(await withSpc(a.spec.signedProposalCid!), [a.metadata.name])
})

test('a deal deleted and created again under its UUID while the watch was away: its old proposal is free, and a re-create of ours is decided', async () => {
  const r1 = await replica()
  try {
    // Another writer replaces U (proposal X) by U (proposal Y).
    const X = spcRandom()
    const u = deal({ spc: X })
    const uuid = u.metadata.name!
    await rest.create(StorageDeals, ns, u as never)
    await eventually(() => r1.informer.getObject(ns, uuid) !== undefined, { what: 'U cached' })
    await r1.informer.stop()
    await rest.delete(StorageDeals, ns, uuid)
    const u2 = await rest.create<StorageDeal & KubeObject>(StorageDeals, ns, deal({ uuid, spc: spcRandom() }) as never)
    await etcdCompact()
    void r1.informer.start()
    await eventually(() => r1.informer.getObject(ns, uuid)?.metadata?.uid === u2.metadata.uid, { what: 'the new U listed' })
    assert.equal(r1.bySignedProposalCid(X), undefined, 'no deal carries X any more')
    const v = deal({ spc: X })
    assert.deepEqual(await r1.create(v, params), { created: true })

    // This replica's own create of a UUID whose earlier deal went while the watch was away.
    const Z = spcRandom()
    const w = deal({ spc: Z })
    assert.deepEqual(await r1.create(w, params), { created: true })
    await r1.informer.stop()
    await rest.delete(StorageDeals, ns, w.metadata.name!)
    const again = r1.create(deal({ uuid: w.metadata.name!, spc: Z }), params)
    await written(w.metadata.name!)
    await etcdCompact()
    void r1.informer.start()
    assert.deepEqual(await again, { created: true })
    assert.deepEqual(await withSpc(Z), [w.metadata.name])
  } finally {
    await r1.stop()
  }
})

/**
 * A client whose first `count` deal creates are answered with a timeout, each write landing later:
 * the first after 600 ms, each next one once the one before it has landed and its deal is gone.
 */
function losingCreates (real: KubeRest, count: number): { client: KubeRest, landed: Array<Promise<unknown>> } {
  const landed: Array<Promise<unknown>> = []
  const client = Object.create(real) as KubeRest
  client.request = (async (method: string, path: string, o: { body?: { metadata?: { name?: string } } } = {}) => {
    if (method === 'POST' && path.endsWith('/storagedeals') && landed.length < count) {
      const previous = landed.at(-1)
      const name = o.body?.metadata?.name ?? ''
      landed.push((async () => {
        if (previous === undefined) await new Promise((resolve) => setTimeout(resolve, 600))
        else {
          await previous
          await eventually(async () => !await exists(name), { timeoutMs: 8000, what: 'the earlier late write deleted' })
        }
        return await real.request(method, path, o as never)
      })())
      throw new DealyardError('ERR_KUBE_TRANSPORT', `${method} ${path}: timed out (test)`, { retry: 'auto' })
    }
    return await real.request(method as never, path, o as never)
  }) as KubeRest['request']
  return { client, landed }
}

test('two creates of one UUID whose answers were lost: whichever lands, the deal is deleted (its client heard two failures)', async () => {
  const lossy = losingCreates(rest, 2)
  const store = await replica(lossy.client)
  try {
    const u = deal({ offline: true })
    for (let i = 0; i < 2; i++) await assert.rejects(store.create(u, undefined), /if it was written after all, it is deleted once the watch shows it/)
    // Both land, one after the other.
    const landed = await Promise.allSettled(lossy.landed)
    assert.deepEqual(landed.map((l) => l.status), ['fulfilled', 'fulfilled'])
    await eventually(async () => !await exists(u.metadata.name!), { timeoutMs: 8000, what: 'the late writes deleted' })
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.equal(await exists(u.metadata.name!), false)
  } finally {
    await store.stop()
  }
})

test('a refused deal never had a params Secret: left behind by a process that stopped while the apiserver was away, the orphan sweep removes it', async () => {
  let down = false
  const flaky = Object.create(rest) as KubeRest
  flaky.request = (async (method: string, path: string, o: unknown) => {
    if (down) throw new DealyardError('ERR_KUBE_TRANSPORT', `${method} ${path}: connect ECONNREFUSED (test)`, { retry: 'auto' })
    return await rest.request(method as never, path, o as never)
  }) as KubeRest['request']
  const store = await replica(flaky)
  const d = deal()
  const uuid = d.metadata.name!
  const r = await store.create(d, params, { recheck: () => { down = true; return { stage: 'acceptance', reason: 'InsufficientFunds', message: 'insufficient funds' } as never } })
  assert.ok('refused' in r)
  await store.stop()
  down = false
  assert.equal(await exists(uuid), true, 'the undo could not delete it')
  assert.equal(await rest.get(Core.secrets, ns, paramsSecretName(uuid)).then(() => true, () => false), false, 'no params Secret was written')
  const fresh = await replica()
  try {
    const sweep = await new OrphanSweeper(rest, ns, () => fresh.informer.list(), undefined, { graceMs: 0 }).sweep()
    assert.ok(sweep.deleted.includes(uuid), JSON.stringify(sweep))
    assert.equal(await exists(uuid), false)
  } finally {
    await fresh.stop()
  }
})

test('an identical deal another replica created and deleted again leaves the accepted one findable by its signed proposal', async () => {
  const store = await replica()
  try {
    const X = spcRandom()
    const b = deal({ spc: X })
    assert.deepEqual(await store.create(b, params), { created: true })
    const c = deal({ spc: X })
    await rest.create(StorageDeals, ns, c as never)
    await eventually(() => store.informer.getObject(ns, c.metadata.name!) !== undefined, { what: 'C delivered' })
    await rest.delete(StorageDeals, ns, c.metadata.name!)
    await eventually(() => store.informer.getObject(ns, c.metadata.name!) === undefined, { what: 'C gone' })
    assert.equal(store.bySignedProposalCid(X)?.dealUuid, b.metadata.name)
  } finally {
    await store.stop()
  }
})

/** A client whose params Secret creates fail: refused outright, or answered with a timeout while the write lands. */
function failingSecrets (real: KubeRest, how: 'refused' | 'lost'): KubeRest {
  const client = Object.create(real) as KubeRest
  client.request = (async (method: string, path: string, o: unknown) => {
    if (method === 'POST' && path.endsWith('/secrets')) {
      if (how === 'refused') throw new KubeApiError(403, 'Forbidden', `${method} ${path}: 403 Forbidden: secrets is forbidden (test)`)
      await real.request(method, path, o as never)
      throw new DealyardError('ERR_KUBE_TRANSPORT', `${method} ${path}: timed out (test)`, { retry: 'auto' })
    }
    return await real.request(method as never, path, o as never)
  }) as KubeRest['request']
  return client
}

test('a params Secret that cannot be written: the deal is deleted again and the client hears the failure', async () => {
  const store = await replica(failingSecrets(rest, 'refused'))
  try {
    const d = deal()
    await assert.rejects(store.create(d, params), { message: /^deal [0-9a-f-]+: create params Secret: POST .*403 Forbidden/ })
    assert.equal(await exists(d.metadata.name!), false)
    assert.equal(store.bySignedProposalCid(d.spec.signedProposalCid!), undefined)
  } finally {
    await store.stop()
  }
})

test('a params Secret written although its answer was lost: found by its owner, the deal stands', async () => {
  const store = await replica(failingSecrets(rest, 'lost'))
  try {
    const d = deal()
    assert.deepEqual(await store.create(d, params), { created: true })
    assert.equal(await exists(d.metadata.name!), true)
    const secret = await rest.get(Core.secrets, ns, paramsSecretName(d.metadata.name!))
    const deal2 = await rest.get(StorageDeals, ns, d.metadata.name!)
    assert.equal(secret.metadata?.ownerReferences?.[0]?.uid, deal2.metadata?.uid)
  } finally {
    await store.stop()
  }
})

test('while stopping, a UUID whose earlier deal left its params Secret is not cleaned up (three more requests past the drain): the deal goes, the client hears the failure', async () => {
  const store = await replica()
  try {
    const d = deal()
    const uuid = d.metadata.name!
    // What `kubectl delete --cascade=orphan` of an earlier deal of this UUID leaves.
    await rest.create(Core.secrets, ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name: paramsSecretName(uuid), labels: { 'dealyard.io/deal-uuid': uuid } }, data: {} } as KubeObject)
    store.drain(30_000)
    await assert.rejects(store.create(d, params), { message: new RegExp(`^deal ${uuid}: create params Secret: .*409`) })
    assert.equal(await exists(uuid), false)
    assert.equal(await rest.get(Core.secrets, ns, paramsSecretName(uuid)).then(() => true, () => false), true, 'the earlier Secret is left for a later proposal of the UUID')
  } finally {
    await store.stop()
  }
})
