/**
 * The apiserver stalls while a proposal is being persisted: its writes go through, its answers do
 * not come back (a proxy holds them). A deal whose create answer comes back late, but while the
 * ingress looks it up, is accepted; one whose answer stays away past the lookup is answered as a
 * failure, and the deal, written after all, is deleted once the watch shows it — a client told
 * "server error" must not have a deal. A deal the ingress's own watch does not deliver cannot be
 * decided against other replicas' deals: it goes, and its client hears a server error.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { StorageDeals } from '../../../src/api/index.ts'
import { Core, isNotFound, resourcePath, type KubeObject } from '../../../src/kube/rest.ts'
import { createClientNode, proposeDeal } from '../../../src/client/net.ts'
import { signedProposalCid } from '../../../src/protocol/index.ts'
import type { Ingress } from '../../../src/ingress/index.ts'
import { eventually } from '../../support/kube.ts'
import { startStallProxy, type StallProxy } from '../../support/stall-proxy.ts'
import { startEnv, type Env } from './env.ts'

describe('ingress: the apiserver stalls while a proposal is persisted', () => {
  let env: Env
  let proxy: StallProxy
  let replica: Ingress
  before(async () => {
    env = await startEnv('ingress-apiserver-stall')
    proxy = await startStallProxy(env.kc)
    replica = await env.startReplica({ kubeConfig: proxy.kubeConfig })
  })
  after(async () => {
    proxy?.resume()
    await env?.close()
    await proxy?.close()
  })

  /** Starting late enough to stay sealable through the stalls (the test chain makes a block every 400 ms). */
  const params = async (): ReturnType<Env['params']> => await env.params({ startEpoch: (await env.full.chainHead()).height + 500 })

  const exists = async (r: typeof StorageDeals | typeof Core.secrets, name: string): Promise<boolean> =>
    await env.rest.get(r, env.namespace, name).then(() => true, (err: unknown) => { if (isNotFound(err)) return false; throw err })

  it('accepts a deal whose create answer comes back while the ingress looks the deal up', async () => {
    const node = await createClientNode()
    try {
      // A proposal first, so the replica has a live connection to the apiserver (a new one would
      // wait in its TLS handshake, which the stall holds too, not in the create).
      const warm = await proposeDeal(node, replica.host.addresses()[0]!, await params())
      assert.equal(warm.accepted, true, warm.message)
      const p = await params()
      proxy.stall()
      const answer = proposeDeal(node, replica.host.addresses()[0]!, p)
      // Past the create's 4 s timeout (undici's timers fire up to a second late), while the lookup waits.
      await new Promise((resolve) => setTimeout(resolve, 6500))
      proxy.resume()
      const res = await answer
      assert.deepEqual([res.accepted, res.message], [true, ''])
      assert.equal(await exists(StorageDeals, p.dealUuid), true)
      assert.equal(await exists(Core.secrets, `${p.dealUuid}-transfer`), true)
    } finally {
      proxy.resume()
      await node.stop()
    }
  })

  it('answers a failure when no answer comes, and deletes the deal written meanwhile once the watch shows it', async () => {
    const node = await createClientNode()
    try {
      const p = await params()
      proxy.stall()
      const res = await proposeDeal(node, replica.host.addresses()[0]!, p)
      assert.deepEqual([res.accepted, res.message], [false, 'server error: save to db'])
      // The write went through: the apiserver has the deal the client was told failed.
      assert.equal(await exists(StorageDeals, p.dealUuid), true)
      proxy.resume()
      await eventually(async () => !(await exists(StorageDeals, p.dealUuid)), { timeoutMs: 20_000, what: 'the abandoned deal deleted' })
      // ...and the replica's watch has seen it go (until then it would call the retry identical).
      await eventually(() => replica.store.byUuid(p.dealUuid) === undefined, { what: 'the deletion in the replica\'s cache' })
      assert.equal(await exists(Core.secrets, `${p.dealUuid}-transfer`), false)
      // The client can propose it again, and it is accepted.
      const again = await proposeDeal(node, replica.host.addresses()[0]!, p)
      assert.deepEqual([again.accepted, again.message], [true, ''])
    } finally {
      proxy.resume()
      await node.stop()
    }
  })

  it('refuses, and deletes, a deal its own watch does not deliver: it cannot be checked against other replicas\' deals', async () => {
    // With the StorageDeal watch down (here: stopped), a deal created now could overspend funds
    // another replica has just spent, or be a second deal for one signed proposal.
    const node = await createClientNode()
    await env.ingress.store.informer.stop()
    try {
      const p = await params()
      const res = await proposeDeal(node, env.addr, p)
      assert.deepEqual([res.accepted, res.message], [false, 'server error: save to db'])
      assert.equal(await exists(StorageDeals, p.dealUuid), false)
      assert.equal(await exists(Core.secrets, `${p.dealUuid}-transfer`), false)
      // Forgotten at once: a watch that comes back by relisting never shows the deleted deal, and
      // a retry must not be refused as identical to it.
      assert.equal(env.ingress.store.bySignedProposalCid(signedProposalCid(p.clientDealProposal).toString()), undefined)
    } finally {
      await env.ingress.store.informer.start()
      await node.stop()
    }
    // Back in step: accepted again.
    const again = await proposeDeal(env.node, env.addr, await params())
    assert.deepEqual([again.accepted, again.message], [true, ''])
  })

  it('waits for a relist that runs (after a 410 Gone) instead of refusing the deal after 2 s', async () => {
    // The watch stopped as in a relist, and the informer saying it lists: every replica does so
    // at once after an apiserver restart, ~20 s at 60,000 deals.
    const node = await createClientNode()
    const informer = env.ingress.store.informer
    try {
      // The relist ends 4 s in (past the 2 s a create waits for the watch otherwise) and the watch
      // resumes; then one that ends 1.5 s in, its watch back only 3 s in (it catches up after the list).
      for (const [listedMs, watchMs] of [[4000, 4000], [1500, 3000]] as const) {
        informer.listing = true
        await informer.stop()
        const p = await params()
        const t0 = Date.now()
        const answer = proposeDeal(node, env.addr, p)
        setTimeout(() => { informer.listing = false; informer.listedAt = Date.now() }, listedMs)
        setTimeout(() => { void informer.start() }, watchMs)
        const res = await answer
        assert.deepEqual([res.accepted, res.message], [true, ''], `relist over at ${listedMs} ms, watch back at ${watchMs} ms`)
        assert.ok(Date.now() - t0 >= watchMs, `answered after ${Date.now() - t0} ms`)
        assert.equal(await exists(StorageDeals, p.dealUuid), true)
      }
    } finally {
      informer.listing = false
      await informer.start()
      await node.stop()
    }
  })

  it('stops waiting for a relist when the ingress drains, in time to undo the deal before it stops', async () => {
    // Waiting out a 40 s relist would outlast the 30 s drain: the process would stop with its deal
    // written and never decided against other replicas' (nor answered).
    const node = await createClientNode()
    const informer = env.ingress.store.informer
    informer.listing = true
    await informer.stop()
    try {
      const p = await params()
      const t0 = Date.now()
      const answer = proposeDeal(node, env.addr, p)
      await eventually(async () => await exists(StorageDeals, p.dealUuid), { what: 'the deal written' })
      // The drain of a stop that has 10.5 s: 1.5 s left to wait once the undo's time is kept.
      env.ingress.store.drain(10_500)
      const res = await answer
      assert.deepEqual([res.accepted, res.message], [false, 'server error: save to db'])
      assert.ok(Date.now() - t0 < 8000, `answered after ${Date.now() - t0} ms`)
      assert.equal(await exists(StorageDeals, p.dealUuid), false)
      // A proposal that reaches its writes this late is not written at all (not written and
      // undone): a watch of our own sees no deal of its UUID.
      const late = await params()
      const watching = new AbortController()
      const added: string[] = []
      const rv = (await env.rest.list<KubeObject>(StorageDeals, env.namespace)).metadata.resourceVersion
      const watch = env.rest.watch<{ type: string, object: KubeObject }>(resourcePath(StorageDeals, env.namespace), { resourceVersion: rv }, (e) => { added.push(`${e.type} ${e.object.metadata?.name ?? ''}`) }, { signal: watching.signal, idleMs: 60_000 })
      const refused = await proposeDeal(node, env.addr, late)
      assert.deepEqual([refused.accepted, refused.message], [false, 'server error: save to db'])
      await new Promise((resolve) => setTimeout(resolve, 500))
      watching.abort()
      await watch
      assert.deepEqual(added.filter((e) => e.endsWith(late.dealUuid)), [])
      assert.equal(await exists(StorageDeals, late.dealUuid), false)
    } finally {
      informer.listing = false
      await informer.start()
      await node.stop()
    }
  })
})
