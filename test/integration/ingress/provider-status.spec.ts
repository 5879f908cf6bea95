/**
 * The served StorageProviders' status, written by the ingress through the status subresource:
 * Ready with the reason an operator must act on (an unmarked token Secret, a paused provider,
 * Lotus down), whether the miner's peer ID on chain is the ingress's, the chain head, worker and
 * active deals; Events on each change; one replica writing at a time.
 */
import { describe, it, before, after } from 'node:test'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import assert from 'node:assert/strict'
import { FundLedgers, LOTUS_TOKEN_LABEL, StorageProviders } from '../../../src/api/index.ts'
import type { StorageProvider } from '../../../src/api/index.ts'
import { Core, type KubeObject } from '../../../src/kube/rest.ts'
import { proposeDeal } from '../../../src/client/net.ts'
import { registry } from '../../../src/metrics.ts'
import { eventually } from '../../support/kube.ts'
import { startEnv, type Env } from './env.ts'

type Cond = { type: string, status: string, reason: string, message: string, observedGeneration?: number }

describe('ingress: StorageProvider status', () => {
  let env: Env
  before(async () => { env = await startEnv('ingress-provider-status') })
  after(async () => { await env?.close() })

  const name = (): string => env.sp.metadata!.name!
  const read = async (): Promise<StorageProvider & KubeObject> => await env.rest.get<StorageProvider & KubeObject>(StorageProviders, undefined, name())
  const cond = (sp: StorageProvider, type: string): Cond | undefined => sp.status?.conditions?.find((c) => c.type === type) as Cond | undefined
  const until = async (what: string, ok: (sp: StorageProvider & KubeObject) => boolean): Promise<StorageProvider & KubeObject> =>
    await eventually(async () => { const sp = await read(); return ok(sp) ? sp : undefined }, { timeoutMs: 20_000, what })
  const events = async (): Promise<Array<{ reason: string, type: string, note: string }>> =>
    ((await env.rest.list<KubeObject & { reason: string, type: string, note: string, regarding: { name: string, kind: string } }>(Core.events, 'default')).items)
      .filter((e) => e.regarding.kind === 'StorageProvider' && e.regarding.name === name())
  /**
   * The provider's dealyard_provider_ready once it is `want`, or what it last was after the wait:
   * the writer sets it when its status write returns, which may be just after a reader sees the
   * status it wrote.
   */
  const readyMetric = async (want: number): Promise<number | undefined> => {
    const value = async (): Promise<number | undefined> => (await registry.getSingleMetric('dealyard_provider_ready')!.get()).values.find((v) => v.labels.provider === name())?.value
    for (let i = 0; i < 50 && await value() !== want; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    return await value()
  }

  it('reports a working provider Ready, with the ingress\'s peer ID, the head, the worker and its active deals', async () => {
    const sp = await until('Ready=True', (s) => cond(s, 'Ready')?.status === 'True')
    assert.equal(sp.status?.peerId, env.ingress.host.peerId)
    assert.equal(sp.status?.observedGeneration, sp.metadata?.generation)
    assert.ok((sp.status?.chainHead ?? 0) > 0)
    assert.match(sp.status?.workerAddress ?? '', /^[ft]0\d+$/)
    assert.equal(cond(sp, 'Ready')?.observedGeneration, sp.metadata?.generation)
    // The Lotus peer starts with another peer ID for the miner.
    assert.deepEqual([cond(sp, 'PeerIdOnChain')?.status, cond(sp, 'PeerIdOnChain')?.reason], ['False', 'Mismatch'])
    assert.match(cond(sp, 'PeerIdOnChain')!.message, new RegExp(`set-peer-id ${env.ingress.host.peerId}`))
    assert.equal(await readyMetric(1), 1)

    const r = await proposeDeal(env.node, env.addr, await env.params())
    assert.equal(r.accepted, true, r.message)
    await until('activeDeals=1', (s) => s.status?.activeDeals === 1)

    await env.peer.seed({ peerId: env.ingress.host.peerId })
    await until('PeerIdOnChain=True', (s) => cond(s, 'PeerIdOnChain')?.status === 'True')
    await eventually(async () => (await events()).some((e) => e.type === 'Normal' && e.reason === 'Matches'), { what: 'a Matches Event' })
  })

  it('says at once that a spec change paused the provider, and that an unmarked token Secret must be labelled', async () => {
    const patched = await env.rest.mergePatch<StorageProvider & KubeObject>(StorageProviders, undefined, name(), { spec: { paused: true } })
    // The writer syncs on a spec change, not only at its interval.
    const paused = await until('Ready=False Paused', (s) => cond(s, 'Ready')?.reason === 'Paused' && s.status?.observedGeneration === patched.metadata?.generation)
    assert.equal(cond(paused, 'Ready')?.status, 'False')
    await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { paused: false } })
    await until('Ready=True again', (s) => cond(s, 'Ready')?.status === 'True')

    // Pointed at a Secret not marked as a Lotus token.
    await env.rest.create(Core.secrets, env.namespace, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unmarked' }, stringData: { token: env.peer.fullNode.token ?? '' } } as unknown as KubeObject)
    const ref = env.sp.spec.lotus.fullNode.tokenSecretRef!
    await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { lotus: { fullNode: { tokenSecretRef: { ...ref, name: 'unmarked' } } } } })
    try {
      const broken = await until('Ready=False InvalidConfig', (s) => cond(s, 'Ready')?.reason === 'InvalidConfig')
      assert.match(cond(broken, 'Ready')!.message, /is not labelled dealyard\.io\/lotus-token=true: .*kubectl -n \S+ label secret unmarked dealyard\.io\/lotus-token=true/)
      assert.equal(await readyMetric(0), 0)
      await eventually(async () => (await events()).some((e) => e.type === 'Warning' && e.reason === 'InvalidConfig'), { what: 'a Warning Event (in "default", as for every cluster-scoped object)' })
    } finally {
      await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { lotus: { fullNode: { tokenSecretRef: ref } } } })
    }
    await until('Ready=True with the marked Secret', (s) => cond(s, 'Ready')?.status === 'True')
  })

  it('says a provider is not ready while the FundLedger it names does not exist, and ready once it does', async () => {
    const fl = await env.rest.get<KubeObject>(FundLedgers, undefined, env.ledgers.funds)
    await env.rest.delete(FundLedgers, undefined, env.ledgers.funds)
    try {
      const missing = await until('Ready=False LedgerMissing', (s) => cond(s, 'Ready')?.reason === 'LedgerMissing')
      assert.match(cond(missing, 'Ready')!.message, new RegExp(`^FundLedger ${env.ledgers.funds} not found: online proposals are refused`))
      assert.equal(await readyMetric(0), 0)
    } finally {
      await env.rest.create(FundLedgers, undefined, { apiVersion: fl.apiVersion, kind: fl.kind, metadata: { name: env.ledgers.funds }, spec: (fl as KubeObject & { spec: unknown }).spec } as KubeObject)
    }
    await until('Ready=True with the FundLedger back', (s) => cond(s, 'Ready')?.status === 'True')
  })

  it('keeps serving with the token read before when the token Secret is gone and the spec is edited (StaleToken, not InvalidConfig)', async () => {
    const secret = await env.rest.get<KubeObject>(Core.secrets, env.namespace, 'lotus-token')
    const price = env.sp.spec.ask?.price ?? '0'
    await env.rest.delete(Core.secrets, env.namespace, 'lotus-token')
    try {
      const patched = await env.rest.mergePatch<StorageProvider & KubeObject>(StorageProviders, undefined, name(), { spec: { ask: { price: '7' } } })
      const stale = await until('Ready=True StaleToken for the edited spec', (s) => s.status?.observedGeneration === patched.metadata?.generation && cond(s, 'Ready')?.reason !== 'Serving')
      assert.deepEqual([cond(stale, 'Ready')?.status, cond(stale, 'Ready')?.reason], ['True', 'StaleToken'], cond(stale, 'Ready')?.message)
      assert.match(cond(stale, 'Ready')!.message, /reading it again failed: StorageProvider \S+: GET .*lotus-token: 404 NotFound/)
      // Still serving: a proposal is taken on the new terms.
      const r = await proposeDeal(env.node, env.addr, await env.params())
      assert.equal(r.accepted, true, r.message)
    } finally {
      await env.rest.create(Core.secrets, env.namespace, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lotus-token', labels: secret.metadata?.labels }, data: (secret as KubeObject & { data: unknown }).data } as unknown as KubeObject)
      await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { ask: { price } } })
    }
    await until('Ready=True Serving with the Secret back', (s) => cond(s, 'Ready')?.reason === 'Serving')
  })

  it('says Lotus refused the token, naming the Secret to fix, rather than that the chain is unreachable', async () => {
    await env.rest.create(Core.secrets, env.namespace, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wrong-token', labels: { [LOTUS_TOKEN_LABEL]: 'true' } }, stringData: { token: 'eyJhbGciOiJIUzI1NiJ9.e30.wrongsig' }
    } as unknown as KubeObject)
    const ref = env.sp.spec.lotus.fullNode.tokenSecretRef!
    await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { lotus: { fullNode: { tokenSecretRef: { ...ref, name: 'wrong-token' } } } } })
    try {
      const refused = await until('Ready=False TokenRefused', (s) => cond(s, 'Ready')?.reason === 'TokenRefused')
      assert.equal(cond(refused, 'Ready')?.status, 'False')
      assert.match(cond(refused, 'Ready')!.message, new RegExp(`^Lotus at ${env.sp.spec.lotus.fullNode.url} refused the API token from Secret ${env.namespace}/wrong-token key token: .*HTTP 401`))
    } finally {
      await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { lotus: { fullNode: { tokenSecretRef: ref } } } })
      await env.rest.delete(Core.secrets, env.namespace, 'wrong-token').catch(() => {})
    }
    await until('Ready=True with the right token', (s) => cond(s, 'Ready')?.status === 'True')
  })

  it('records an Event when a failure\'s cause changes under the same reason (the Secret found, but not labelled)', async () => {
    const ref = env.sp.spec.lotus.fullNode.tokenSecretRef!
    await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { lotus: { fullNode: { tokenSecretRef: { ...ref, name: 'later' } } } } })
    try {
      await until('Ready=False InvalidConfig: not found', (s) => cond(s, 'Ready')?.reason === 'InvalidConfig' && /404 NotFound/.test(cond(s, 'Ready')!.message))
      await eventually(async () => (await events()).some((e) => e.type === 'Warning' && e.reason === 'InvalidConfig' && /later.*404 NotFound/.test(e.note)), { what: 'the Event for the missing Secret' })
      await env.rest.create(Core.secrets, env.namespace, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'later' }, stringData: { token: env.peer.fullNode.token ?? '' } } as unknown as KubeObject)
      await until('Ready=False InvalidConfig: not labelled', (s) => cond(s, 'Ready')?.reason === 'InvalidConfig' && /later is not labelled/.test(cond(s, 'Ready')!.message))
      await eventually(async () => (await events()).some((e) => e.type === 'Warning' && e.reason === 'InvalidConfig' && /Secret \S+\/later is not labelled/.test(e.note)), { what: 'an Event with the new cause' })
    } finally {
      await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { lotus: { fullNode: { tokenSecretRef: ref } } } })
      await env.rest.delete(Core.secrets, env.namespace, 'later').catch(() => {})
    }
    await until('Ready=True again', (s) => cond(s, 'Ready')?.status === 'True')
  })

  it('says a FundLedger that cannot tag funds makes the provider not ready, naming the field', async () => {
    const fl = await env.rest.get<KubeObject & { spec: { escrowAddress: string, publishWallet: string } }>(FundLedgers, undefined, env.ledgers.funds)
    const { escrowAddress, publishWallet } = fl.spec
    // Accepted by the CRD's pattern; refused by every address parser.
    const bad = publishWallet.slice(0, 5) + (publishWallet[5] === 'a' ? 'b' : 'a') + publishWallet.slice(6)
    try {
      await env.rest.mergePatch(FundLedgers, undefined, env.ledgers.funds, { spec: { publishWallet: bad } })
      const unparsed = await until('Ready=False LedgerUnusable: publishWallet', (s) => cond(s, 'Ready')?.reason === 'LedgerUnusable')
      assert.equal(cond(unparsed, 'Ready')?.status, 'False')
      assert.match(cond(unparsed, 'Ready')!.message, new RegExp(`^FundLedger ${env.ledgers.funds}: spec\\.publishWallet "${bad}" is not a Filecoin address: invalid address checksum`))
      assert.equal(await readyMetric(0), 0)
      await env.rest.mergePatch(FundLedgers, undefined, env.ledgers.funds, { spec: { publishWallet, escrowAddress: 't0999999999' } })
      const noActor = await until('Ready=False LedgerUnusable: escrowAddress', (s) => cond(s, 'Ready')?.reason === 'LedgerUnusable' && /escrowAddress/.test(cond(s, 'Ready')!.message))
      assert.match(cond(noActor, 'Ready')!.message, /spec\.escrowAddress t0999999999 failed: .*actor not found.*: online proposals are refused/)
    } finally {
      await env.rest.mergePatch(FundLedgers, undefined, env.ledgers.funds, { spec: { publishWallet, escrowAddress } })
    }
    await until('Ready=True with the FundLedger fixed', (s) => cond(s, 'Ready')?.status === 'True')
  })

  it('says when the deal policy refuses every proposal', async () => {
    await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { dealPolicy: { transferTypes: [], acceptOffline: false } } })
    try {
      const none = await until('Ready=False PolicyRefusesAll', (s) => cond(s, 'Ready')?.reason === 'PolicyRefusesAll')
      assert.match(cond(none, 'Ready')!.message, /no proposal for \S+ can be accepted: online ones are refused \(dealPolicy\.transferTypes is empty\), offline ones too \(dealPolicy\.acceptOffline is false\)/)
    } finally {
      await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { dealPolicy: { transferTypes: ['http'], acceptOffline: true } } })
    }
    await until('Ready=True again', (s) => cond(s, 'Ready')?.status === 'True')
  })

  it('keeps the last head while Lotus is down, and says so', async () => {
    const before = await read()
    await env.peer.faults({ target: 'full', outageMs: 8_000 })
    try {
      const down = await until('Ready=False ChainUnreachable', (s) => cond(s, 'Ready')?.reason === 'ChainUnreachable')
      assert.ok((down.status?.chainHead ?? 0) >= (before.status?.chainHead ?? 1))
      assert.equal(cond(down, 'PeerIdOnChain')?.status, 'Unknown')
    } finally {
      await env.peer.faults({ reset: true })
    }
    await until('Ready=True after the outage', (s) => cond(s, 'Ready')?.status === 'True')
  })

  it('keeps each provider\'s status current while others\' Lotus never answers', async () => {
    // Lotus endpoints that accept and never answer: each sync of theirs waits out its call timeouts.
    const sockets = new Set<Socket>()
    const hanging = createServer((sock) => { sockets.add(sock); sock.on('error', () => {}) })
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/rpc/v1`
    const names = Array.from({ length: 8 }, (_, i) => `${env.namespace}-hang-${i}`)
    try {
      for (const [i, n] of names.entries()) {
        await env.rest.create(StorageProviders, undefined, {
          apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageProvider', metadata: { name: n, labels: env.sp.metadata!.labels },
          spec: { ...env.sp.spec, address: `f0${9_000_000 + i}`, lotus: { fullNode: { url }, miner: { url } } }
        } as unknown as KubeObject)
      }
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      const t0 = Date.now()
      const patched = await env.rest.mergePatch<StorageProvider & KubeObject>(StorageProviders, undefined, name(), { spec: { paused: true } })
      await eventually(async () => { const s = await read(); return s.status?.observedGeneration === patched.metadata?.generation && cond(s, 'Ready')?.reason === 'Paused' }, { timeoutMs: 6_000, what: 'Paused within seconds' })
      assert.ok(Date.now() - t0 < 6_000)
      await env.rest.mergePatch(StorageProviders, undefined, name(), { spec: { paused: false } })
      await until('Ready=True again', (s) => cond(s, 'Ready')?.status === 'True')
    } finally {
      for (const n of names) await env.rest.delete(StorageProviders, undefined, n).catch(() => {})
      for (const sock of sockets) sock.destroy()
      hanging.close()
    }
  })

  it('lets one replica write: a second one started with the same identity waits for the Lease', async () => {
    const replica = await env.startReplica()
    const lease = await env.rest.get<KubeObject & { spec: { holderIdentity: string } }>(Core.leases, env.namespace, 'dealyard-ingress-provider-status')
    const writers = [env.ingress, replica].filter((i) => i.providerStatus?.leading === true)
    assert.equal(writers.length, 1)
    assert.ok(lease.spec.holderIdentity !== '')
  })
})
