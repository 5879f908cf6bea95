/**
 * A deal the ingress created but never finished (no params Secret: the process died between its two
 * writes) is deleted once it is older than the grace period, and its client can then propose the
 * same signed proposal again. Left alone: deals that are complete, offline, taken on by a
 * controller, not written by the ingress (restored from a backup, made by another tool), past
 * their start epoch, or with a Secret of their params' name whoever owns it.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { StorageDeals } from '../../../src/api/index.ts'
import type { StorageDeal } from '../../../src/api/index.ts'
import { Core, isNotFound, KubeApiError, KubeRest, type KubeObject } from '../../../src/kube/rest.ts'
import { proposeDeal } from '../../../src/client/net.ts'
import { dealObject, paramsSecretName } from '../../../src/ingress/deal-object.ts'
import { ATTEMPT_ANNOTATION, newAttempt } from '../../../src/ingress/store.ts'
import { eventually } from '../../support/kube.ts'
import { startEnv, type Env } from './env.ts'

const GRACE_MS = 400

describe('ingress: deals left without their params Secret', () => {
  let env: Env
  // Sweeps are run by the test (the timer's interval is an hour).
  before(async () => { env = await startEnv('ingress-orphans', { orphanSweep: { graceMs: GRACE_MS, intervalMs: 3_600_000 } }) })
  after(async () => { await env?.close() })

  /**
   * The StorageDeal the ingress writes first for these params (create-attempt annotation and all),
   * written alone; `other`: made by another tool (no annotation); `copiedFrom`: a copy, made now, of
   * a deal the ingress wrote at that time (a restore from a backup keeps the annotation).
   */
  const writeDealOnly = async (params: Awaited<ReturnType<Env['params']>>, o: { other?: boolean, copiedFrom?: number } = {}): Promise<StorageDeal & KubeObject> => {
    const deal = dealObject(params, {
      namespace: env.namespace, provider: env.sp.metadata.name!, protocol: '/fil/storage/mk/1.2.1', clientPeerId: env.node.peerId.toString()
    }) as StorageDeal & KubeObject
    if (o.other !== true) deal.metadata.annotations = { [ATTEMPT_ANNOTATION]: newAttempt(o.copiedFrom) }
    return await env.rest.create<StorageDeal & KubeObject>(StorageDeals, env.namespace, deal)
  }

  const exists = async (name: string): Promise<boolean> =>
    await env.rest.get(StorageDeals, env.namespace, name).then(() => true, (e: unknown) => { if (isNotFound(e)) return false; throw e })

  it('deletes only the ingress\'s online deals with no params Secret, untouched by a controller, not started, past the grace; the proposal can then be made again', async () => {
    const complete = await env.params()
    assert.equal((await proposeDeal(env.node, env.addr, complete)).accepted, true)
    const offline = await env.params({ http: undefined })
    assert.equal((await proposeDeal(env.node, env.addr, offline)).accepted, true)

    const orphanParams = await env.params()
    const orphan = await writeDealOnly(orphanParams)
    const taken = await writeDealOnly(await env.params())
    await env.rest.mergePatch(StorageDeals, env.namespace, taken.metadata!.name!, { status: { checkpoint: 'Accepted' } }, 'status')
    // A Secret of the params' name not owned by the deal (made by hand or by another tool): the
    // deal is not touched. (One owned by a uid that no longer exists would be removed by the
    // garbage collector, which the shared test control plane runs.)
    const foreign = await writeDealOnly(await env.params())
    await env.rest.create(Core.secrets, env.namespace, {
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: paramsSecretName(foreign.metadata!.name!) },
      stringData: { 'params.json': '{}' }
    } as unknown as KubeObject)
    // Made by another tool (no create-attempt annotation); restored from a backup a day after the
    // ingress wrote it (annotation kept, status dropped, its Secret gone with the old uid); and one
    // whose start epoch has passed (well past: the ingress's chain head may be two seconds, five of
    // the test chain's epochs, old).
    const other = await writeDealOnly(await env.params(), { other: true })
    const restored = await writeDealOnly(await env.params(), { copiedFrom: Date.now() - 86_400_000 })
    const started = await writeDealOnly(await env.params({ startEpoch: (await env.full.chainHead()).height - 100 }))
    await eventually(() => env.ingress.store.informer.getObject(env.namespace, started.metadata!.name!) !== undefined, { what: 'the deals in the ingress\'s cache' })

    // The client retrying its proposal under a new UUID is refused: the half-written deal stands in its way.
    const retry = { ...orphanParams, dealUuid: randomUUID() }
    const refused = await proposeDeal(env.node, env.addr, retry)
    assert.equal(refused.accepted, false)
    assert.match(refused.message, new RegExp(`identical to deal ${orphan.metadata!.name!}`))

    // Nothing is deleted before the grace has passed.
    assert.deepEqual((await env.ingress.sweeper.sweep()).deleted, [])
    assert.equal(await exists(orphan.metadata!.name!), true)
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 100))
    const swept = await env.ingress.sweeper.sweep()
    assert.deepEqual(swept.deleted, [orphan.metadata!.name!])
    for (const d of [complete.dealUuid, offline.dealUuid, taken.metadata!.name!, foreign.metadata!.name!, other.metadata!.name!, restored.metadata!.name!, started.metadata!.name!]) assert.equal(await exists(d), true, d)
    assert.equal(await exists(orphan.metadata!.name!), false)

    // Looked at once: the next sweep looks up nothing.
    assert.equal((await env.ingress.sweeper.sweep()).looked, 0)

    // The operator is told why.
    const events = await env.rest.request<{ items: Array<{ reason: string, regarding: { name: string } }> }>('GET', `/apis/events.k8s.io/v1/namespaces/${env.namespace}/events`)
    assert.ok(events.items.some((e) => e.reason === 'OrphanDeleted' && e.regarding.name === orphan.metadata!.name!), JSON.stringify(events.items.map((e) => e.reason)))

    // And the client's retry goes through.
    await eventually(() => env.ingress.store.bySignedProposalCid(orphan.spec.signedProposalCid) === undefined, { what: 'the orphan gone from the ingress\'s cache' })
    const again = await proposeDeal(env.node, env.addr, { ...orphanParams, dealUuid: randomUUID() })
    assert.equal(again.accepted, true, again.message)
  })
  it('does not take a Secret of the deal\'s name owned by another deal for its own when the Secret write\'s answer is lost', async () => {
    const params = await env.params()
    // Left by an earlier deal of this UUID (the garbage collector not done yet), or made by hand.
    await env.rest.create(Core.secrets, env.namespace, {
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: paramsSecretName(params.dealUuid), ownerReferences: [{ apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageDeal', name: params.dealUuid, uid: randomUUID(), controller: true }] },
      stringData: { 'params.json': '{}' }
    } as unknown as KubeObject)
    // The apiserver answers the params Secret's create with a 503: it may or may not have written it.
    const request = KubeRest.prototype.request
    KubeRest.prototype.request = async function (this: KubeRest, method, path, opts) {
      if (method === 'POST' && path === `/api/v1/namespaces/${env.namespace}/secrets`) throw new KubeApiError(503, 'ServiceUnavailable', 'injected')
      return await request.call(this, method, path, opts) as never
    } as typeof request
    let res
    try {
      res = await proposeDeal(env.node, env.addr, params)
    } finally {
      KubeRest.prototype.request = request
    }
    assert.deepEqual([res.accepted, res.message], [false, 'server error: save to db'])
    assert.equal(await exists(params.dealUuid), false)
  })
  it('undoes a deal the watch did not deliver in time, its params Secret with it at once', async () => {
    // The ingress's StorageDeal watch stopped: no new deal can be decided in commit order.
    await env.ingress.store.informer.stop()
    try {
      const params = await env.params()
      const res = await proposeDeal(env.node, env.addr, params)
      assert.deepEqual([res.accepted, res.message], [false, 'server error: save to db'])
      assert.equal(await exists(params.dealUuid), false)
      // Deleted by the ingress (its uid named), not left to the garbage collector.
      await assert.rejects(env.rest.get(Core.secrets, env.namespace, paramsSecretName(params.dealUuid)), isNotFound)
    } finally {
      await env.ingress.store.informer.start()
    }
  })
})
