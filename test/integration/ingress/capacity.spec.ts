/**
 * The provider's funds and staging space, as boost tags them: an online proposal is refused when
 * the FundLedger's escrow (less its reserve and what accepted deals hold) cannot cover its
 * collateral, when the publish wallet cannot pay one more publish message, or when the staging
 * volume has no room for the transfer; proposals admitted at the same moment count against each
 * other; a deal that moves on (its publish confirmed) frees what it held.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { FundLedgers, StorageDeals, StorageLedgers, StorageProviders } from '../../../src/api/index.ts'
import { isNotFound, type KubeObject } from '../../../src/kube/rest.ts'
import { createClientNode, proposeDeal } from '../../../src/client/net.ts'
import { eventually } from '../../support/kube.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeDealResponse, encodeDealParams, PROTOCOL_IDS, readCborItem } from '../../../src/protocol/index.ts'
import { startEnv, FIL, type Env } from './env.ts'

const NO_FUNDS = 'server error: provider has insufficient funds to accept deal'
const NO_SPACE = 'server error: provider has no space left for storage deals'

describe('ingress: provider funds and staging space', () => {
  let env: Env
  before(async () => { env = await startEnv('ingress-capacity', { inboundConnectionRate: 1000 }) })
  after(async () => { await env?.close() })

  const spName = (): string => env.sp.metadata.name!
  const held = (): ReturnType<Env['ingress']['store']['held']> => env.ingress.store.held([spName()])

  /** Patches a ledger's spec and waits until the ingress's informer has the new version. */
  const patchLedger = async (kind: 'funds' | 'staging', spec: Record<string, unknown>): Promise<void> => {
    const r = kind === 'funds' ? FundLedgers : StorageLedgers
    const name = kind === 'funds' ? env.ledgers.funds : env.ledgers.staging
    const patched = await env.rest.mergePatch<KubeObject>(r, undefined, name, { spec })
    const informer = kind === 'funds' ? env.ingress.ledgers.funds : env.ingress.ledgers.staging
    await eventually(() => informer.getObject(undefined, name)?.metadata?.resourceVersion === patched.metadata?.resourceVersion, { what: `${name} in the ingress's cache` })
  }

  /** Proposals from separate client nodes, all written at once. */
  const proposeAtOnce = async (n: number): Promise<Array<{ accepted: boolean, message: string, dealUuid: string }>> => {
    const all = await Promise.all(Array.from({ length: n }, async () => await env.params()))
    const nodes = await Promise.all(all.map(async () => await createClientNode()))
    try {
      return await Promise.all(all.map(async (p, i) => ({ ...(await proposeDeal(nodes[i]!, env.addr, p)), dealUuid: p.dealUuid })))
    } finally {
      await Promise.all(nodes.map(async (n) => { await n.stop() }))
    }
  }

  it('refuses once the publish wallet cannot pay for one more publish message', async () => {
    assert.equal(held().publishes, 0)
    // 100 FIL in the publish wallet, 40 FIL per deal: two deals fit, the third does not.
    await patchLedger('funds', { publishBudgetPerDeal: (40n * FIL).toString() })
    try {
      const answers = []
      for (let i = 0; i < 3; i++) answers.push(await proposeDeal(env.node, env.addr, await env.params()))
      assert.deepEqual(answers.map((a) => [a.accepted, a.message]), [[true, ''], [true, ''], [false, NO_FUNDS]])
      assert.equal(held().publishes, 2)
    } finally {
      await patchLedger('funds', { publishBudgetPerDeal: null })
    }
  })

  it('refuses what escrow cannot cover, counting proposals admitted at the same moment, and frees what a deal held once its publish is confirmed', async () => {
    const before = held().collateral
    // Escrow is 100 FIL; leave room for exactly two more deals of 2000 attoFIL collateral.
    await patchLedger('funds', { reserve: (100n * FIL - before - 2n * 2000n - 1000n).toString() })
    try {
      const answers = await proposeAtOnce(5)
      const accepted = answers.filter((a) => a.accepted)
      assert.equal(accepted.length, 2, JSON.stringify(answers))
      for (const a of answers.filter((a) => !a.accepted)) assert.equal(a.message, NO_FUNDS)
      // Refusals wrote nothing.
      for (const a of answers.filter((a) => !a.accepted)) {
        await assert.rejects(env.rest.get(StorageDeals, env.namespace, a.dealUuid), isNotFound)
      }
      assert.deepEqual((await proposeDeal(env.node, env.addr, await env.params())).message, NO_FUNDS)

      // Published, its message not yet on chain: the escrow has not moved, the funds stay held.
      await env.rest.mergePatch(StorageDeals, env.namespace, accepted[0]!.dealUuid, { status: { checkpoint: 'Published' } }, 'status')
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal((await proposeDeal(env.node, env.addr, await env.params())).message, NO_FUNDS)
      // Confirmed on chain: its collateral is no longer held, and a deal fits again.
      await env.rest.mergePatch(StorageDeals, env.namespace, accepted[0]!.dealUuid, { status: { checkpoint: 'PublishConfirmed' } }, 'status')
      await eventually(() => held().collateral === before + 2000n, { what: 'the confirmed deal released' })
      const again = await proposeDeal(env.node, env.addr, await env.params())
      assert.deepEqual([again.accepted, again.message], [true, ''])
    } finally {
      await patchLedger('funds', { reserve: null })
    }
  })

  it('admits no more than the funds cover when two replicas take proposals at once', async () => {
    // Each replica counts its own proposals in flight; what the other admits meanwhile it learns
    // from the watch, after both have created. Without the check in commit order, 3-4 of 10 stood.
    const other = await env.startReplica()
    await eventually(() => other.ledgers.funds.getObject(undefined, env.ledgers.funds) !== undefined)
    const before = held().collateral
    await patchLedger('funds', { reserve: (100n * FIL - before - 2n * 2000n - 1000n).toString() })
    await eventually(() => other.ledgers.funds.getObject(undefined, env.ledgers.funds)?.spec.reserve === (100n * FIL - before - 2n * 2000n - 1000n).toString())
    try {
      const addrs = [env.addr, other.host.addresses()[0]!]
      // Both replicas' chain facts and balances cached, so neither waits on Lotus while the other creates.
      for (const to of addrs) {
        const warm = await createClientNode()
        try { assert.equal((await proposeDeal(warm, to, await env.params({ http: undefined }))).accepted, true) } finally { await warm.stop() }
      }
      const all = await Promise.all(Array.from({ length: 10 }, async () => await env.params()))
      const nodes = await Promise.all(all.map(async () => await createClientNode()))
      let answers
      try {
        // Streams negotiated first, then every proposal written in one go: both replicas admit
        // theirs before either's creates have returned.
        const streams = await Promise.all(nodes.map(async (n, i) => await n.dialProtocol(multiaddr(addrs[i % 2]!), PROTOCOL_IDS.dealProposal121)))
        streams.forEach((st, i) => { st.send(encodeDealParams(all[i]!)) })
        answers = await Promise.all(streams.map(async (st, i) => ({
          ...decodeDealResponse(await readCborItem(st, { path: 'DealResponse', signal: AbortSignal.timeout(20_000) })),
          dealUuid: all[i]!.dealUuid
        })))
      } finally {
        await Promise.all(nodes.map(async (n) => { await n.stop() }))
      }
      const accepted = answers.filter((a) => a.accepted)
      assert.equal(accepted.length, 2, JSON.stringify(answers.map((a) => [a.accepted, a.message])))
      for (const a of answers.filter((a) => !a.accepted)) assert.equal(a.message, NO_FUNDS)
      // What stands is what was answered.
      for (const a of answers) assert.equal(await env.rest.get(StorageDeals, env.namespace, a.dealUuid).then(() => true, () => false), a.accepted, a.dealUuid)
    } finally {
      await patchLedger('funds', { reserve: null })
    }
  })

  it('refuses a transfer the staging volume has no room for; offline deals need none', async () => {
    const before = held().stagingBytes
    // boost refuses when held + size >= the limit: room for exactly two 1900-byte transfers.
    await patchLedger('staging', { capacityBytes: before + 2 * 1900 + 1 })
    try {
      const answers = await proposeAtOnce(4)
      assert.equal(answers.filter((a) => a.accepted).length, 2, JSON.stringify(answers))
      for (const a of answers.filter((a) => !a.accepted)) assert.equal(a.message, NO_SPACE)
      assert.equal(held().stagingBytes, before + 2 * 1900)
      const offline = await proposeDeal(env.node, env.addr, await env.params({ http: undefined }))
      assert.deepEqual([offline.accepted, offline.message], [true, ''])
    } finally {
      await patchLedger('staging', { capacityBytes: 2 ** 40 })
    }
  })

  it('answers boost\'s "tag funds" server error when the provider\'s FundLedger does not exist', async () => {
    const patched = await env.rest.mergePatch<KubeObject>(StorageProviders, undefined, spName(), { spec: { fundLedger: 'no-such-ledger' } })
    await eventually(() => (env.ingress.providers.getObject(undefined, spName())?.metadata?.generation ?? 0) >= patched.metadata!.generation!)
    try {
      const res = await proposeDeal(env.node, env.addr, await env.params())
      assert.deepEqual([res.accepted, res.message], [false, 'server error: tag funds'])
    } finally {
      await env.rest.mergePatch(StorageProviders, undefined, spName(), { spec: { fundLedger: env.ledgers.funds } })
    }
  })
})
