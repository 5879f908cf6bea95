/**
 * The ingress end to end: real libp2p streams, the real apiserver, the Lotus peer for chain facts.
 * Accepted proposals become StorageDeals (+ an owned params Secret); rejections create nothing;
 * status and ask answer over their protocols.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { StorageDeals, StorageProviders } from '../../../src/api/index.ts'
import type { StorageDeal } from '../../../src/api/index.ts'
import { Core, isNotFound, type KubeObject } from '../../../src/kube/rest.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { sign, verifySignature } from '../../../src/filecoin/signature.ts'
import { decodeDealResponse, encodeDealParams, encodeDealProposal, encodeStorageAsk, PROTOCOL_IDS, readCborItem, signedProposalCid } from '../../../src/protocol/index.ts'
import { createClientNode, proposeDeal, dealStatus, storageAsk, queryTransports } from '../../../src/client/net.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { base16 as base16Encoder } from 'multiformats/bases/base16'
import { Address } from '../../../src/filecoin/address.ts'
import { lotusWorkerSigner } from '../../../src/ingress/ask.ts'
import { startEnv, FIL, SEAL_EPOCHS, type Env } from './env.ts'
import { eventually } from '../../support/kube.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { DEALYARD_VERSION } from '../../../src/version.ts'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { LOTUS_TOKEN_LABEL } from '../../../src/api/index.ts'
import { persistStepDuration, proposalsTotal } from '../../../src/ingress/metrics.ts'
import { ATTEMPT_ANNOTATION, attemptTime } from '../../../src/ingress/store.ts'
import { LABELS } from '../../../src/ingress/deal-object.ts'
import { goTime } from '../../../src/policy/checks.ts'

type Deal = StorageDeal & KubeObject

describe('ingress: proposals, status, ask, transports', () => {
  let env: Env
  // Dozens of test clients dial from 127.0.0.1 within a second: past libp2p's 20 a second per host.
  before(async () => { env = await startEnv('ingress-proposals', { inboundConnectionRate: 1000 }) })
  after(async () => { await env?.close() })

  const getDeal = async (uuid: string): Promise<Deal | undefined> => {
    try { return await env.rest.get<Deal>(StorageDeals, env.namespace, uuid) } catch (err) { if (isNotFound(err)) return undefined; throw err }
  }

  it('accepts an online deal on mk/1.2.1: StorageDeal + params Secret owned by it', async () => {
    const params = await env.params({ http: { url: 'http://127.0.0.1:9/data.car', headers: { Authorization: 'Bearer x' }, size: 1900 } })
    const res = await proposeDeal(env.node, env.addr, params)
    assert.deepEqual({ accepted: res.accepted, message: res.message, protocol: res.protocol }, { accepted: true, message: '', protocol: '/fil/storage/mk/1.2.1' })
    const deal = await getDeal(params.dealUuid)
    assert.ok(deal !== undefined)
    const p = params.clientDealProposal.proposal
    assert.equal(deal.spec.provider, env.sp.metadata.name)
    assert.equal(deal.spec.protocol, '/fil/storage/mk/1.2.1')
    assert.equal(deal.spec.clientPeerId, env.node.peerId.toString())
    assert.equal(deal.spec.proposal.pieceCid, p.pieceCid.toString())
    assert.equal(deal.spec.proposal.startEpoch, p.startEpoch)
    assert.equal(deal.spec.proposal.providerCollateral, '2000')
    assert.equal(deal.spec.signedProposalCid, signedProposalCid(params.clientDealProposal).toString())
    assert.equal(deal.metadata?.labels?.['dealyard.io/signed-proposal-cid'], deal.spec.signedProposalCid)
    assert.deepEqual(deal.spec.transfer, { type: 'http', size: 1900, paramsSecretRef: { name: `${params.dealUuid}-transfer` } })
    const secret = await env.rest.get<KubeObject & { data: Record<string, string> }>(Core.secrets, env.namespace, `${params.dealUuid}-transfer`)
    assert.deepEqual(JSON.parse(Buffer.from(secret.data['params.json']!, 'base64').toString()), { URL: 'http://127.0.0.1:9/data.car', Headers: { Authorization: 'Bearer x' } })
    const owner = secret.metadata?.ownerReferences?.[0]
    assert.equal(owner?.uid, deal.metadata?.uid)
    assert.equal(owner?.kind, 'StorageDeal')
    // The apiserver names the writer after the User-Agent: "unknown" without one.
    assert.deepEqual([deal.metadata?.managedFields?.map((m) => m.manager), secret.metadata?.managedFields?.map((m) => m.manager)], [['dealyard-ingress'], ['dealyard-ingress']])
  })

  it('accepts an offline deal from a 1.2.0 client (5-key DealParams): no Secret, the declared size kept', async () => {
    const signed = await env.params({ http: undefined, label: { kind: 'bytes', value: Uint8Array.of(0, 255, 1) } })
    // Singularity's offline deals declare the file's size (and boost reports it in the status).
    const params = { ...signed, transfer: { ...signed.transfer, size: 1900, clientId: 'prep-42' } }
    const res = await proposeDeal(env.node, env.addr, params, { v120: true })
    assert.equal(res.accepted, true, res.message)
    assert.equal(res.protocol, '/fil/storage/mk/1.2.0')
    const deal = await getDeal(params.dealUuid)
    assert.equal(deal?.spec.isOffline, true)
    assert.equal(deal?.spec.protocol, '/fil/storage/mk/1.2.0')
    assert.deepEqual(deal?.spec.transfer, { type: '', size: 1900, clientId: 'prep-42' })
    const st = await eventually(async () => { const r = await dealStatus(env.node, env.addr, params.dealUuid, env.client.key); return r.error === '' ? r : undefined })
    assert.deepEqual([st.isOffline, st.transferSize, st.nBytesReceived], [true, 1900, 0])
    assert.equal(deal?.spec.proposal.labelEncoding, 'bytes')
    await assert.rejects(env.rest.get(Core.secrets, env.namespace, `${params.dealUuid}-transfer`), isNotFound)
  })

  const rejections: Record<string, [() => Promise<Awaited<ReturnType<Env['params']>>>, RegExp]> = {
    'a wrong provider': [async () => await env.params({ provider: 'f099999' }), /^failed validation: incorrect provider for deal; proposal.Provider: t099999; provider.Address: t0\d+$/],
    'a non-power-of-two piece': [async () => await env.params({ pieceSize: 3000 }), /^failed validation: proposal piece size is invalid: padded piece size must be a power of 2$/],
    'a past start epoch': [async () => {
      const head = (await env.full.chainHead()).height
      return await env.params({ startEpoch: head - 5 })
    }, /^failed validation: deal start epoch \d+ has already elapsed \(current epoch: \d+\)$/],
    'a signature by a foreign key': [async () => {
      const p = await env.params()
      const other = await env.params({ key: generateKey('secp256k1'), client: env.client.address })
      return { ...p, clientDealProposal: { proposal: p.clientDealProposal.proposal, clientSignature: other.clientDealProposal.clientSignature } }
    }, /^failed validation: server error: validating signature$/],
    'a wrong provider with a foreign signature (boost checks the signature first)': [async () => {
      const p = await env.params({ provider: 'f099999' })
      const other = await env.params({ key: generateKey('secp256k1'), client: env.client.address })
      return { ...p, clientDealProposal: { proposal: p.clientDealProposal.proposal, clientSignature: other.clientDealProposal.clientSignature } }
    }, /^failed validation: server error: validating signature$/],
    'a start epoch inside the sealing time': [async () => {
      const head = (await env.full.chainHead()).height
      return await env.params({ startEpoch: head + SEAL_EPOCHS - 5 })
    }, /^cannot seal a sector before \d+$/],
    'a client without enough escrow': [async () => await env.params({ storagePrice: 10n ** 14n }), /^failed validation: client available funds in escrow \d+ not enough to meet storage cost for deal \d+$/]
  }
  for (const [name, [make, message]] of Object.entries(rejections)) {
    it(`rejects ${name} and creates nothing`, async () => {
      const params = await make()
      const res = await proposeDeal(env.node, env.addr, params)
      assert.equal(res.accepted, false)
      assert.match(res.message, message)
      assert.equal(await getDeal(params.dealUuid), undefined)
    })
  }

  it('answers a refusal quoting a very long URL within the string limit boost\'s client reads (8192 bytes), rather than resetting the stream', async () => {
    const url = `https://data.example.com/${'%zz'.repeat(70_000)}`
    const params = await env.params({ http: { url, size: 1900 } })
    const res = await proposeDeal(env.node, env.addr, params)
    assert.equal(res.accepted, false)
    assert.match(res.message, /^server error: get deal transfer host: cannot parse url 'https:\/\/data\.example\.com\/%zz%zz/)
    assert.ok(Buffer.byteLength(res.message) <= 8192 && res.message.endsWith('…'), `${Buffer.byteLength(res.message)} bytes`)
    assert.equal(await getDeal(params.dealUuid), undefined)
  })

  it('applies client lists naming the client\'s ID address to proposals from its key address (StateLookupID through Lotus)', async () => {
    const name = env.sp.metadata!.name!
    const setClients = async (clients: { allow?: string[] | null, deny?: string[] | null } | null): Promise<void> => {
      const patched = await env.rest.mergePatch<KubeObject>(StorageProviders, undefined, name, { spec: { dealPolicy: { clients } } })
      await eventually(() => (env.ingress.providers.getObject(undefined, name)?.metadata?.generation ?? 0) >= patched.metadata!.generation!)
    }
    assert.match(env.client.id, /^[ft]0\d+$/)
    try {
      await setClients({ deny: [env.client.id] })
      const denied = await proposeDeal(env.node, env.addr, await env.params())
      assert.deepEqual([denied.accepted, denied.message], [false, `client ${env.client.address} is not allowed to make deals with this miner`])
      await setClients({ allow: [env.client.id], deny: null })
      const allowed = await proposeDeal(env.node, env.addr, await env.params())
      assert.equal(allowed.accepted, true, allowed.message)
    } finally {
      await setClients(null)
    }
  })

  it('rejects a resent proposal as identical, and a reused UUID as a duplicate', async () => {
    const params = await env.params()
    assert.equal((await proposeDeal(env.node, env.addr, params)).accepted, true)
    const again = await proposeDeal(env.node, env.addr, params)
    // The time of the deal's create, to the millisecond (boost prints its CreatedAt with sub-second
    // digits; the creationTimestamp has whole seconds).
    const proposedAt = attemptTime((await getDeal(params.dealUuid))?.metadata?.annotations?.[ATTEMPT_ANNOTATION])
    assert.notEqual(proposedAt, undefined)
    assert.equal(again.message, `deal proposal is identical to deal ${params.dealUuid} (proposed at ${goTime(new Date(proposedAt!))})`)
    const sameUuid = await env.params({ dealUuid: params.dealUuid })
    const dup = await proposeDeal(env.node, env.addr, sameUuid)
    assert.equal(dup.accepted, false)
    assert.equal(dup.message, `deal has the same uuid as deal ${params.dealUuid} (proposed at ${goTime(new Date(proposedAt!))})`)
  })

  it('knows a deal by its spec\'s signed proposal CID, not by the label an operator may remove: a replica started after still refuses the proposal', async () => {
    const params = await env.params()
    assert.equal((await proposeDeal(env.node, env.addr, params)).accepted, true)
    await env.rest.mergePatch(StorageDeals, env.namespace, params.dealUuid, { metadata: { labels: { [LABELS.signedProposalCid]: null } } })
    const replica = await env.startReplica()
    // A client of its own: env.node's connection to the first replica (same peer ID) would carry it there.
    const fresh = await createClientNode()
    const again = await proposeDeal(fresh, replica.host.addresses()[0]!, { ...params, dealUuid: randomUUID() }).finally(async () => { await fresh.stop() })
    assert.equal(again.accepted, false)
    assert.match(again.message, new RegExp(`^deal proposal is identical to deal ${params.dealUuid} `))
  })

  it('accepts exactly one of 10 clients proposing the same UUID at once, across two replicas', async () => {
    const replica = await env.startReplica()
    assert.equal(replica.host.peerId, env.ingress.host.peerId, 'replicas share the identity')
    const uuid = randomUUID()
    const clients = await Promise.all(Array.from({ length: 10 }, async () => await createClientNode()))
    const proposals = await Promise.all(clients.map(async (_, i) => await env.params({ dealUuid: uuid, label: { kind: 'string', value: `attempt ${i}` } })))
    const all = await Promise.all(clients.map(async (c, i) => await proposeDeal(c, i % 2 === 0 ? env.addr : replica.host.addresses()[0]!, proposals[i]!)))
    await Promise.all(clients.map(async (c) => { await c.stop() }))
    assert.equal(all.filter((r) => r.accepted).length, 1, JSON.stringify(all))
    for (const r of all.filter((x) => !x.accepted)) assert.match(r.message, new RegExp(`^deal has the same uuid as deal ${uuid} `))
    const deal = await getDeal(uuid)
    assert.ok(deal !== undefined)
  })

  it('accepts one deal when the same signed proposal comes under 10 UUIDs at once', async () => {
    const params = await env.params()
    const clients = await Promise.all(Array.from({ length: 10 }, async () => await createClientNode()))
    const uuids = clients.map(() => randomUUID())
    const all = await Promise.all(clients.map(async (c, i) => await proposeDeal(c, env.addr, { ...params, dealUuid: uuids[i]! })))
    await Promise.all(clients.map(async (c) => { await c.stop() }))
    const accepted = uuids.filter((_, i) => all[i]!.accepted)
    assert.equal(accepted.length, 1, JSON.stringify(all))
    for (const r of all.filter((x) => !x.accepted)) assert.match(r.message, new RegExp(`^deal proposal is identical to deal ${accepted[0]} \\(proposed at `))
    for (const u of uuids) assert.equal(await getDeal(u) !== undefined, u === accepted[0], `deal ${u}`)
  })

  it('accepts one deal when the same signed proposal comes under 10 UUIDs at once to two replicas', async () => {
    const replica = await env.startReplica()
    // Both replicas' chain-fact caches warm, so neither waits on Lotus while the other creates.
    for (const to of [env.addr, replica.host.addresses()[0]!]) {
      const warm = await createClientNode()
      try { assert.equal((await proposeDeal(warm, to, await env.params())).accepted, true) } finally { await warm.stop() }
    }
    const params = await env.params()
    const clients = await Promise.all(Array.from({ length: 10 }, async () => await createClientNode()))
    const uuids = clients.map(() => randomUUID())
    const at = (i: number): string => i % 2 === 0 ? env.addr : replica.host.addresses()[0]!
    let all
    try {
      // Streams negotiated first, then every proposal written in one go: both replicas admit theirs
      // before either's create has returned, so neither can see the other's deal yet.
      const streams = await Promise.all(clients.map(async (c, i) => await c.dialProtocol(multiaddr(at(i)), PROTOCOL_IDS.dealProposal121)))
      streams.forEach((st, i) => { st.send(encodeDealParams({ ...params, dealUuid: uuids[i]! })) })
      all = await Promise.all(streams.map(async (st) => decodeDealResponse(await readCborItem(st, { path: 'DealResponse', signal: AbortSignal.timeout(20_000) }))))
    } finally {
      await Promise.all(clients.map(async (c) => { await c.stop() }))
    }
    const accepted = uuids.filter((_, i) => all[i]!.accepted)
    assert.equal(accepted.length, 1, JSON.stringify(all))
    for (const r of all.filter((x) => !x.accepted)) assert.match(r.message, new RegExp(`^deal proposal is identical to deal ${accepted[0]} \\(proposed at `))
    for (const u of uuids) assert.equal(await getDeal(u) !== undefined, u === accepted[0], `deal ${u}`)
    const secrets = (await env.rest.list(Core.secrets, env.namespace)).items.map((s) => s.metadata?.name)
    for (const u of uuids) assert.equal(secrets.includes(`${u}-transfer`), u === accepted[0], `params Secret of ${u}`)
  })

  it('answers status signed by the deal client; refuses other signers and unknown deals', async () => {
    const params = await env.params({ http: undefined })
    assert.equal((await proposeDeal(env.node, env.addr, params)).accepted, true)
    const st = await dealStatus(env.node, env.addr, params.dealUuid, env.client.key)
    assert.equal(st.error, '')
    assert.equal(st.dealUuid, params.dealUuid)
    assert.equal(st.isOffline, true)
    assert.equal(st.dealStatus?.status, 'Accepted')
    assert.equal(st.dealStatus?.publishCid, null)
    assert.deepEqual(encodeDealProposal(st.dealStatus!.proposal), encodeDealProposal(params.clientDealProposal.proposal))
    assert.equal(st.dealStatus?.signedProposalCid.toString(), signedProposalCid(params.clientDealProposal).toString())
    const foreign = await dealStatus(env.node, env.addr, params.dealUuid, generateKey('bls'))
    assert.deepEqual({ error: foreign.error, dealStatus: foreign.dealStatus }, { error: 'signature verification failed', dealStatus: null })
    const unknown = randomUUID()
    assert.equal((await dealStatus(env.node, env.addr, unknown, env.client.key)).error, `no storage deal found with deal UUID ${unknown}`)
  })

  it('accepts a deal from a BLS (f3) client and answers its status, both signatures checked by blst', async () => {
    const key = generateKey('bls')
    await env.peer.seed({ accounts: [{ address: key.address.toString('t'), balance: 100n * FIL, escrow: 10n * FIL }] })
    const params = await env.params({ key, http: undefined })
    const res = await proposeDeal(env.node, env.addr, params)
    assert.equal(res.accepted, true, res.message)
    assert.equal((await getDeal(params.dealUuid))?.spec.proposal.client, key.address.toString('t'), 'written with the chain\'s letter (the peer is a testnet)')
    const st = await dealStatus(env.node, env.addr, params.dealUuid, key)
    assert.deepEqual({ error: st.error, status: st.dealStatus?.status }, { error: '', status: 'Accepted' })
    const forged = await env.params({ key, http: undefined })
    forged.clientDealProposal.clientSignature.data[5]! ^= 1
    const bad = await proposeDeal(env.node, env.addr, forged)
    assert.equal(bad.accepted, false)
    assert.match(bad.message, /signature/)
    assert.equal(await getDeal(forged.dealUuid), undefined)
  })

  it('reports the controller\'s progress from the informer cache', async () => {
    const params = await env.params()
    assert.equal((await proposeDeal(env.node, env.addr, params)).accepted, true)
    const publishCid = 'bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4'
    await env.rest.mergePatch(StorageDeals, env.namespace, params.dealUuid, {
      status: { checkpoint: 'PublishConfirmed', publishCid, chainDealId: 77, sector: { number: 3, state: 'PreCommit1' } }
    }, 'status')
    let st
    for (let i = 0; i < 50; i++) {
      st = await dealStatus(env.node, env.addr, params.dealUuid, env.client.key)
      if (st.dealStatus?.status === 'PublishConfirmed') break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.equal(st?.dealStatus?.status, 'PublishConfirmed')
    assert.equal(st?.dealStatus?.publishCid?.toString(), publishCid)
    assert.equal(st?.dealStatus?.chainDealId, 77)
    assert.equal(st?.dealStatus?.sealingStatus, 'PreCommit1')
    assert.equal(st?.transferSize, 1900)
    // The longest error the CRD allows is 4096 characters, up to 16 KiB of UTF-8; cbor-gen's limit
    // is 8192 bytes. The answer carries the error cut to fit, rather than failing to encode.
    await env.rest.mergePatch(StorageDeals, env.namespace, params.dealUuid, { status: { error: '€'.repeat(4096) } }, 'status')
    for (let i = 0; i < 50; i++) {
      st = await dealStatus(env.node, env.addr, params.dealUuid, env.client.key)
      if (st.dealStatus?.error !== '') break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.match(st?.dealStatus?.error ?? '', /^€{2700,}…$/)
  })

  it('takes a UUID again after its deal was deleted with --cascade=orphan, removing the params Secret that deal left', async () => {
    const params = await env.params()
    assert.equal((await proposeDeal(env.node, env.addr, params)).accepted, true)
    // What `kubectl delete --cascade=orphan` leaves once the garbage collector has run (done here by
    // hand: the collector may not have discovered the CRD yet): the Secret without its owner, the
    // deal gone; nothing would ever delete that Secret.
    const secretPath = `/api/v1/namespaces/${env.namespace}/secrets/${params.dealUuid}-transfer`
    await env.rest.request('PATCH', secretPath, { body: { metadata: { ownerReferences: null } }, contentType: 'application/merge-patch+json' })
    await env.rest.delete(StorageDeals, env.namespace, params.dealUuid)
    await eventually(async () => await getDeal(params.dealUuid) === undefined ? true : undefined)
    // Every proposal of this UUID failed with "save to db" after that.
    const again = await proposeDeal(env.node, env.addr, params)
    assert.equal(again.accepted, true, again.message)
    const deal = await getDeal(params.dealUuid)
    const secret = await env.rest.request<KubeObject>('GET', secretPath)
    assert.deepEqual(secret.metadata?.ownerReferences?.map((o) => o.uid), [deal?.metadata?.uid])
  })

  it('answers status from records written by hand: CIDs in any multibase, a fatal failure with no error as a failure, an unreadable CID as an error, not a reset', async () => {
    const params = await env.params()
    assert.equal((await proposeDeal(env.node, env.addr, params)).accepted, true)
    const statusOnce = async (): Promise<Awaited<ReturnType<typeof dealStatus>>> => await dealStatus(env.node, env.addr, params.dealUuid, env.client.key)
    const until = async (status: Record<string, unknown>, done: (st: Awaited<ReturnType<typeof dealStatus>>) => boolean): Promise<Awaited<ReturnType<typeof dealStatus>>> => {
      await env.rest.mergePatch(StorageDeals, env.namespace, params.dealUuid, { status }, 'status')
      return await eventually(async () => { const st = await statusOnce(); return done(st) ? st : undefined })
    }
    // The publish CID in base16, which the schema takes and go-cid reads: answered (it reset the stream).
    const publish = 'bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4'
    const base16 = CID.parse(publish).toString(base16Encoder.encoder)
    const st = await until({ checkpoint: 'PublishConfirmed', publishCid: base16 }, (x) => x.dealStatus?.status === 'PublishConfirmed')
    assert.equal(st.dealStatus?.publishCid?.toString(), publish)
    // Failed for good, the error left empty: a failure, not a sealing deal.
    const failed = await until({ checkpoint: 'Complete', retry: 'fatal', error: '' }, (x) => x.dealStatus?.status === 'Complete' || x.dealStatus?.status === 'IndexedAndAnnounced')
    assert.deepEqual([failed.dealStatus?.status, failed.dealStatus?.error], ['Complete', 'deal failed (no error was recorded)'])
    // A CID no base reads: an error answer naming no deal state, the stream not reset.
    const junk = await until({ publishCid: 'abc' }, (x) => x.dealStatus === null)
    assert.deepEqual([junk.error, junk.dealStatus], ['failed to fetch deal status', null])
  })

  it('serves the signed ask for its miner and a null ask for others', async () => {
    const r = await storageAsk(env.node, env.addr, env.peer.minerAddress)
    const ask = r.ask?.ask
    assert.ok(ask != null)
    assert.equal(ask.miner.toString().slice(1), env.peer.minerAddress.slice(1))
    assert.deepEqual([ask.price, ask.minPieceSize, ask.maxPieceSize, ask.seqNo, ask.expiry - ask.timestamp], [0n, 256, 1 << 30, 3, 1000])
    assert.ok(r.ask?.signature != null && verifySignature(r.ask.signature, env.askKey.address, encodeStorageAsk(ask)))
    assert.deepEqual(await storageAsk(env.node, env.addr, 'f0424242'), { ask: null })
  })

  it('signs the ask once for a burst of requests, and after a failed signing answers unsigned without calling the signer per request', async () => {
    let calls = 0
    let fail = false
    const replica = await env.startReplica({
      askSigner: async (_e, m) => {
        calls++
        await new Promise((resolve) => setTimeout(resolve, 100))
        if (fail) throw new Error('worker key unavailable')
        return sign(env.askKey, m)
      }
    })
    const client = await createClientNode()
    try {
      const at = replica.host.addresses()[0]!
      await client.dial(multiaddr(at))
      const burst = await Promise.all(Array.from({ length: 10 }, async () => await storageAsk(client, at, env.peer.minerAddress)))
      assert.equal(calls, 1)
      for (const r of burst) assert.ok(r.ask?.signature != null && verifySignature(r.ask.signature, env.askKey.address, encodeStorageAsk(r.ask.ask!)))
      // A new generation of the StorageProvider makes a new ask; its signing fails.
      fail = true
      await env.rest.mergePatch(StorageProviders, undefined, env.sp.metadata!.name!, { spec: { ask: { seqNo: 4 } } })
      const until = Date.now() + 5000
      let r = await storageAsk(client, at, env.peer.minerAddress)
      while (r.ask?.ask?.seqNo !== 4 && Date.now() < until) { await new Promise((resolve) => setTimeout(resolve, 50)); r = await storageAsk(client, at, env.peer.minerAddress) }
      assert.equal(r.ask?.ask?.seqNo, 4)
      assert.equal(r.ask?.signature, null)
      const before = calls
      const more = await Promise.all(Array.from({ length: 5 }, async () => await storageAsk(client, at, env.peer.minerAddress)))
      for (const m of more) assert.equal(m.ask?.signature, null)
      assert.equal(calls, before, 'no signing per request while the failure is remembered')
    } finally {
      await client.stop()
      await env.rest.mergePatch(StorageProviders, undefined, env.sp.metadata!.name!, { spec: { ask: { seqNo: 3 } } })
    }
  })

  it('serves the ask it made last while the chain head cannot be read, as boost serves its stored ask', async () => {
    const replica = await env.startReplica({ chain: { headTtlMs: 50, callTimeoutMs: 1000 } })
    const client = await createClientNode()
    const fresh = await env.startReplica({ chain: { headTtlMs: 50, callTimeoutMs: 1000 } })
    const other = await createClientNode()
    try {
      const at = replica.host.addresses()[0]!
      const made = await storageAsk(client, at, env.peer.minerAddress)
      assert.ok(made.ask?.signature != null)
      await env.peer.faults({ target: 'full', outageMs: 10_000 })
      await new Promise((resolve) => setTimeout(resolve, 100))
      const during = await storageAsk(client, at, env.peer.minerAddress)
      assert.deepEqual(encodeStorageAsk(during.ask!.ask!), encodeStorageAsk(made.ask.ask!))
      assert.deepEqual(during.ask?.signature, made.ask.signature)
      // A replica that has made no ask yet has nothing to send: a null ask, not a reset stream.
      assert.deepEqual(await storageAsk(other, fresh.host.addresses()[0]!, env.peer.minerAddress), { ask: null })
    } finally {
      await env.peer.faults({ reset: true })
      await client.stop()
      await other.stop()
    }
  })

  it('signs the ask with the miner worker key through Lotus WalletSign, as boost does', async () => {
    const replica = await env.startReplica({ askSigner: lotusWorkerSigner })
    // A node of its own: env.node's connection to this peer ID goes to the first replica.
    const node = await createClientNode()
    const r = await storageAsk(node, replica.host.addresses()[0]!, env.peer.minerAddress).finally(async () => { await node.stop() })
    const ask = r.ask?.ask
    assert.ok(ask != null && r.ask?.signature != null)
    assert.ok(verifySignature(r.ask.signature, Address.fromString(env.peer.workerKey), encodeStorageAsk(ask)))
    assert.ok(!verifySignature(r.ask.signature, env.askKey.address, encodeStorageAsk(ask)))
  })

  it('sends a StorageProvider\'s URL no Secret but one marked as a Lotus token', async () => {
    // Whoever may write a StorageProvider names a Secret that is not a token and a URL of theirs.
    const seen: string[] = []
    const catcher = createServer((req, res) => { seen.push(req.headers.authorization ?? ''); res.writeHead(500).end() })
    await new Promise<void>((resolve) => catcher.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(catcher.address() as AddressInfo).port}/rpc/v1`
    const name = `${env.namespace}-thief`
    try {
      await env.rest.create(Core.secrets, env.namespace, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'not-a-token' }, stringData: { 'identity.key': 'the-private-key' } } as unknown as KubeObject)
      const created = await env.rest.create<KubeObject>(StorageProviders, undefined, {
        apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageProvider', metadata: { name, labels: env.sp.metadata!.labels },
        spec: { ...env.sp.spec, address: 'f09876', lotus: { fullNode: { url, tokenSecretRef: { namespace: env.namespace, name: 'not-a-token', key: 'identity.key' } }, miner: { url } } }
      } as unknown as KubeObject)
      await eventually(() => env.ingress.providers.getObject(undefined, name)?.metadata?.uid === created.metadata?.uid)
      assert.deepEqual(await storageAsk(env.node, env.addr, 'f09876'), { ask: null })
      const refused = await proposeDeal(env.node, env.addr, await env.params({ provider: 'f09876' }))
      assert.equal(refused.accepted, false)
      assert.ok(!seen.some((a) => a.includes('the-private-key')), `sent: ${JSON.stringify(seen)}`)
      // Counted against the StorageProvider to fix.
      const counted = (await proposalsTotal.get()).values.find((v) => v.labels.provider === name && v.labels.reason === 'ProviderConfig')
      assert.equal(counted?.value, 1)
      // Marked as a token, the same Secret is used.
      await env.rest.mergePatch(Core.secrets, env.namespace, 'not-a-token', { metadata: { labels: { [LOTUS_TOKEN_LABEL]: 'true' } } })
      await eventually(async () => { await storageAsk(env.node, env.addr, 'f09876'); return seen.includes('Bearer the-private-key') }, { timeoutMs: 15_000 })
    } finally {
      await env.rest.delete(StorageProviders, undefined, name).catch(() => {})
      await env.rest.delete(Core.secrets, env.namespace, 'not-a-token').catch(() => {})
      catcher.close()
    }
  })

  it('lists its libp2p addresses with the peer ID on the transports protocol', async () => {
    const r = await queryTransports(env.node, env.addr)
    assert.equal(r.protocols[0]?.name, 'libp2p')
    const a = multiaddr(r.protocols[0]!.addresses[0]!).toString()
    assert.ok(a.endsWith(`/p2p/${env.ingress.host.peerId}`), a)
    // identify tells peers what they talk to, as boost's host does (boost-<version>).
    const agent = async (): Promise<string | undefined> => {
      const peer = await env.node.peerStore.get(peerIdFromString(env.ingress.host.peerId))
      const v = peer.metadata.get('AgentVersion')
      return v === undefined ? undefined : new TextDecoder().decode(v)
    }
    assert.match(await eventually(agent), new RegExp(`^dealyard/${DEALYARD_VERSION.replaceAll('.', '\\.')} `))
  })

  it('listens on 0.0.0.0 and :: at one port, as the chart\'s ingress.ipFamilies [IPv4, IPv6] has it, and serves clients on ::1 and 127.0.0.1', async () => {
    // libp2p binds /ip6 addresses IPv6-only: [::] without that would take 0.0.0.0's port too, and
    // the second listen (fatal at start) would fail.
    const free = createServer()
    await new Promise<void>((resolve) => { free.listen(0, '::', resolve) })
    const port = (free.address() as AddressInfo).port
    await new Promise((resolve) => free.close(resolve))
    const replica = await env.startReplica({ listen: [`/ip4/0.0.0.0/tcp/${port}`, `/ip6/::/tcp/${port}`] })
    for (const ip of ['/ip6/::1', '/ip4/127.0.0.1']) {
      const client = await createClientNode()
      try {
        const r = await proposeDeal(client, `${ip}/tcp/${port}/p2p/${replica.host.peerId}`, await env.params())
        assert.equal(r.accepted, true, `${ip}: ${r.message}`)
      } finally {
        await client.stop()
      }
    }
  })

  it('does not wait on a slow Lotus once the chain facts are cached', async () => {
    assert.equal((await proposeDeal(env.node, env.addr, await env.params())).accepted, true)
    const params = await env.params()
    await env.peer.faults({ target: 'full', latencyMs: 3000 })
    try {
      await new Promise((resolve) => setTimeout(resolve, 2200)) // the cached head is now stale
      const t0 = Date.now()
      const res = await proposeDeal(env.node, env.addr, params)
      assert.equal(res.accepted, true, res.message)
      assert.ok(Date.now() - t0 < 1500, `answered in ${Date.now() - t0} ms with a 3 s Lotus`)
    } finally {
      await env.peer.faults({ reset: true })
    }
  })

  it('times each persistence step of an accepted deal: the deal\'s create, the watch, the params Secret\'s create (an offline deal has none)', async () => {
    const counts = async (): Promise<Record<string, number>> => Object.fromEntries((await persistStepDuration.get()).values
      .filter((v) => v.metricName === 'dealyard_ingress_persist_step_duration_seconds_count').map((v) => [String(v.labels.step), v.value]))
    const at0 = await counts()
    const online = await proposeDeal(env.node, env.addr, await env.params({ http: { url: 'http://127.0.0.1:9/data.car', headers: {}, size: 1900 } }))
    assert.equal(online.accepted, true, online.message)
    const at1 = await counts()
    const offline = await proposeDeal(env.node, env.addr, await env.params({ http: undefined }))
    assert.equal(offline.accepted, true, offline.message)
    const at2 = await counts()
    const delta = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => Object.fromEntries(['deal_create', 'watch', 'params_create'].map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]))
    assert.deepEqual([delta(at0, at1), delta(at1, at2)], [{ deal_create: 1, watch: 1, params_create: 1 }, { deal_create: 1, watch: 1, params_create: 0 }])
    const text = await (await fetch(env.ingress.metricsUrl!)).text()
    assert.match(text, /dealyard_ingress_persist_step_duration_seconds_bucket\{le="0.005",step="watch"\}/)
  })

  it('counts proposals by provider, result and reason on /metrics', async () => {
    const text = await (await fetch(env.ingress.metricsUrl!)).text()
    assert.match(text, new RegExp(`dealyard_proposals_total\\{provider="${env.sp.metadata.name}",result="accepted",reason=""\\} [1-9]`))
    assert.match(text, /dealyard_proposals_total\{provider="unknown",result="rejected",reason="IncorrectProvider"\} [1-9]/)
    // boost words a bad client signature as a "server error", but the fault is the client's.
    assert.match(text, new RegExp(`dealyard_proposals_total\\{provider="${env.sp.metadata.name}",result="rejected",reason="InvalidSignature"\\} [1-9]`))
    assert.doesNotMatch(text, /result="error",reason="InvalidSignature"/)
    assert.match(text, /dealyard_ingress_proposal_duration_seconds_bucket/)
    assert.match(text, /dealyard_ingress_open_connections [1-9]/)
  })

})
