/**
 * The clients under the peer's fault knobs: transient errors are retried for reads, a push is never
 * retried blindly (its safe repeat is by MsgUuid), outages and timeouts surface as typed errors.
 */
import { describe, it, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { FullNodeClient, LotusRpcError, MinerClient } from '../../../src/lotus/index.ts'
import { registry } from '../../../src/metrics.ts'
import { startLotusPeer, type LotusPeer } from '../../support/lotus-peer.ts'
import { FIL, fundedClient } from './deals.ts'

const fast = { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 }

async function metric (name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name)
  const v = (m?.values as Array<{ labels: Record<string, string>, value: number }> | undefined)
    ?.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val))
  return v?.value ?? 0
}

describe('Lotus clients under injected faults', () => {
  let peer: LotusPeer
  let full: FullNodeClient

  before(async () => {
    peer = await startLotusPeer({ blockTimeMs: 150 })
    full = new FullNodeClient(peer.fullNode, { retry: fast })
  })
  after(async () => { await peer.stop() })
  beforeEach(async () => { await peer.faults({ reset: true }) })

  it('retries a read through transient 503s and dropped connections', async () => {
    // Labelled with the node's host:port as well (an installation may use several Lotus nodes).
    const node = new URL(peer.fullNode.url).host
    const before = await metric('dealyard_lotus_rpc_attempts_total', { endpoint: 'full', node, method: 'ChainHead' })
    await peer.faults({ failMethod: { method: 'ChainHead', times: 2, mode: 'transport' } })
    const h = await full.chainHead()
    assert.ok(h.height > 0)
    await peer.faults({ failMethod: { method: 'StateNetworkVersion', times: 1, mode: 'drop' } })
    assert.equal(await full.stateNetworkVersion(), 27)
    const intro = await peer.introspect()
    assert.equal(intro.injected['full:ChainHead:transport'], 2)
    assert.equal(intro.injected['full:StateNetworkVersion:drop'], 1)
    assert.equal(await metric('dealyard_lotus_rpc_attempts_total', { endpoint: 'full', node, method: 'ChainHead' }) - before, 3)
  })

  it('survives a random 30% error rate on reads', async () => {
    await peer.faults({ errorRate: 0.3 })
    const tolerant = new FullNodeClient(peer.fullNode, { retry: { attempts: 10, baseDelayMs: 5, maxDelayMs: 20 } })
    for (let i = 0; i < 20; i++) assert.ok((await tolerant.chainHead()).height > 0)
    const intro = await peer.introspect()
    assert.ok((intro.injected['full:ChainHead:transport'] ?? 0) > 0, 'faults were injected')
  })

  it('does not retry a push whose reply was lost; the MsgUuid repeat returns the same message', async () => {
    const client = await fundedClient(peer, 'secp256k1')
    await peer.faults({ failMethod: { method: 'MpoolPushMessage', times: 1, mode: 'after' } })
    const msgUuid = randomUUID()
    const msg = { to: client.address, from: peer.workerAddress, method: 0, value: FIL }
    const before = (await peer.introspect()).calls.MpoolPushMessage ?? 0
    await assert.rejects(full.mpoolPushMessage(msg, { msgUuid }), (err: unknown) => {
      assert.ok(err instanceof LotusRpcError)
      assert.equal(err.code, 'ERR_LOTUS_TRANSPORT')
      assert.equal(err.retry, 'auto')
      assert.equal(err.attempts, 1)
      return true
    })
    let intro = await peer.introspect()
    assert.equal(intro.calls.MpoolPushMessage, before + 1, 'the client sent the push exactly once')
    const pushed = intro.messages.filter((m) => m.msgUuid === msgUuid)
    assert.equal(pushed.length, 1, 'the node did take the message')

    const again = await full.mpoolPushMessage(msg, { msgUuid })
    assert.equal(again.cid, pushed[0]!.signedCid)
    intro = await peer.introspect()
    assert.equal(intro.messages.filter((m) => m.msgUuid === msgUuid).length, 1, 'still one message')
    await full.stateWaitMsg(again.cid, 0)
    assert.equal(await full.walletBalance(client.address), 101n * FIL, 'the value moved once')
  })

  it('does not retry a push refused with a 503 either', async () => {
    await peer.faults({ failMethod: { method: 'MpoolPushMessage', times: 1, mode: 'transport' } })
    const before = (await peer.introspect()).messages.length
    await assert.rejects(full.mpoolPushMessage({ to: peer.workerAddress, from: peer.workerAddress, method: 0 }, { msgUuid: randomUUID() }),
      { name: 'LotusRpcError', code: 'ERR_LOTUS_TRANSPORT', httpStatus: 503 })
    assert.equal((await peer.introspect()).messages.length, before)
  })

  it('does not retry a JSON-RPC error', async () => {
    await peer.faults({ failMethod: { method: 'ChainHead', times: 1, mode: 'rpc' } })
    await assert.rejects(full.chainHead(), { code: 'ERR_LOTUS_RPC', rpcCode: 1 })
    assert.ok((await full.chainHead()).height > 0)
  })

  it('reports an outage that outlasts the retries as ERR_LOTUS_UNAVAILABLE, and recovers after it', async () => {
    await peer.faults({ target: 'full', outageMs: 1500 })
    const t0 = Date.now()
    await assert.rejects(full.chainHead(), (err: unknown) => {
      assert.ok(err instanceof LotusRpcError)
      assert.equal(err.code, 'ERR_LOTUS_UNAVAILABLE')
      assert.equal(err.retry, 'auto')
      assert.equal(err.attempts, 4)
      assert.equal((err.cause as LotusRpcError).code, 'ERR_LOTUS_TRANSPORT')
      return true
    })
    assert.ok(Date.now() - t0 < 1500)
    const patient = new FullNodeClient(peer.fullNode, { retry: { attempts: 20, baseDelayMs: 100, maxDelayMs: 400 } })
    assert.ok((await patient.chainHead()).height > 0, 'retries outlast the outage')
  })

  it('times out a slow call with ERR_LOTUS_TIMEOUT', async () => {
    await peer.faults({ target: 'full', latencyMs: 400 })
    const impatient = new FullNodeClient({ ...peer.fullNode, timeoutMs: 100 }, { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } })
    await assert.rejects(impatient.chainHead(), { name: 'LotusRpcError', code: 'ERR_LOTUS_TIMEOUT' })
    assert.ok((await full.chainHead()).height > 0, 'the default 30 s timeout tolerates the latency')
  })

  it('reports a dead endpoint as unavailable', async () => {
    const dead = new MinerClient({ url: 'http://127.0.0.1:1/rpc/v0' }, { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } })
    await assert.rejects(dead.actorAddress(), { code: 'ERR_LOTUS_UNAVAILABLE' })
  })
})
