/**
 * Clients whose account key is delegated (f410), end to end: the ingress asks the client actor
 * through the Lotus peer's StateCall (AuthenticateMessage, as boost's signatureVerifier does) and
 * answers with boost's texts; status requests are checked with the client's delegated signature.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { StorageDeals } from '../../../src/api/index.ts'
import type { StorageDeal } from '../../../src/api/index.ts'
import { isNotFound, type KubeObject } from '../../../src/kube/rest.ts'
import {
  decodeDealStatusResponse, encodeDealProposal, encodeDealStatusRequest, PROTOCOL_IDS, readCborItem
} from '../../../src/protocol/index.ts'
import type { DealStatusResponse } from '../../../src/protocol/index.ts'
import { statusRequestMessage } from '../../../src/protocol/proposal.ts'
import type { Signature } from '../../../src/filecoin/signature.ts'
import { proposeDeal } from '../../../src/client/net.ts'
import { delegatedKey, signDelegated, type DelegatedKey } from '../../support/delegated.ts'
import { startEnv, FIL, type Env } from './env.ts'

type Deal = StorageDeal & KubeObject

describe('ingress: f410 clients (AuthenticateMessage through StateCall)', () => {
  let env: Env
  const eth = delegatedKey()
  const accepts = delegatedKey()
  const refuses = delegatedKey()
  let acceptsId = ''
  before(async () => {
    env = await startEnv('ingress-f4-clients')
    const seeded = await env.peer.seed({
      accounts: [
        { address: eth.address.toString('t'), actor: 'ethaccount', balance: 10n * FIL, escrow: 10n * FIL },
        { address: accepts.address.toString('t'), actor: 'contract-accepts', escrow: 10n * FIL },
        { address: refuses.address.toString('t'), actor: 'contract-refuses', escrow: 10n * FIL }
      ]
    })
    acceptsId = seeded.accounts[1]!.id
  })
  after(async () => { await env?.close() })

  const getDeal = async (uuid: string): Promise<Deal | undefined> => {
    try { return await env.rest.get<Deal>(StorageDeals, env.namespace, uuid) } catch (err) { if (isNotFound(err)) return undefined; throw err }
  }
  /** An offline proposal naming `client`, signed as an f410 wallet signs (a delegated signature). */
  const proposal = async (key: DelegatedKey, client = key.address.toString()): Promise<Awaited<ReturnType<Env['params']>>> => {
    const params = await env.params({ client, http: undefined })
    params.clientDealProposal.clientSignature = signDelegated(key, encodeDealProposal(params.clientDealProposal.proposal))
    return params
  }
  const status = async (dealUuid: string, signature: Signature): Promise<DealStatusResponse> => {
    const st = await env.node.dialProtocol(multiaddr(env.addr), PROTOCOL_IDS.dealStatus)
    try {
      st.send(encodeDealStatusRequest({ dealUuid, signature }))
      return decodeDealStatusResponse(await readCborItem(st, { path: 'DealStatusResponse', signal: AbortSignal.timeout(10_000) }))
    } finally {
      await st.close().catch(() => {})
    }
  }
  const stateCalls = async (): Promise<number> => (await env.peer.introspect()).calls.StateCall ?? 0

  it('accepts a deal from a contract client whose AuthenticateMessage returns true, and answers its status', async () => {
    const before = await stateCalls()
    const params = await proposal(accepts)
    const res = await proposeDeal(env.node, env.addr, params)
    assert.deepEqual([res.accepted, res.message], [true, ''])
    assert.equal(await stateCalls(), before + 1, 'one StateCall for the proposal')
    const deal = await getDeal(params.dealUuid)
    assert.equal(deal?.spec.proposal.client, accepts.address.toString('t'))
    assert.equal(deal?.spec.clientSignature.type, 'delegated')
    const st = await status(params.dealUuid, signDelegated(accepts, statusRequestMessage(params.dealUuid)))
    assert.deepEqual([st.error, st.dealUuid, st.dealStatus?.status], ['', params.dealUuid, 'Accepted'])
    const foreign = await status(params.dealUuid, signDelegated(delegatedKey(), statusRequestMessage(params.dealUuid)))
    assert.deepEqual([foreign.error, foreign.dealStatus], ['signature verification failed', null])
    const metrics = await (await fetch(env.ingress.metricsUrl!)).text()
    assert.match(metrics, /dealyard_ingress_chain_reads_total\{method="StateCall",result="ok"\} [1-9]/)
  })

  it('authenticates a client proposing with its ID address on its f410 account key', async () => {
    assert.match(acceptsId, /^[ft]0\d+$/)
    const params = await proposal(accepts, acceptsId)
    const res = await proposeDeal(env.node, env.addr, params)
    assert.equal(res.accepted, true, res.message)
    assert.equal((await getDeal(params.dealUuid))?.spec.proposal.client, acceptsId)
  })

  it('refuses an EthAccount client by policy: AuthenticateMessage exits 0 (boost accepts) but returns no true, so the deal could never publish', async () => {
    const params = await proposal(eth)
    const res = await proposeDeal(env.node, env.addr, params)
    assert.deepEqual([res.accepted, res.message], [false,
      `client ${eth.address.toString('t')} did not authenticate the proposal (its actor's AuthenticateMessage returned nothing, not true): the market actor would refuse to publish it`])
    assert.equal(await getDeal(params.dealUuid), undefined)
    const metrics = await (await fetch(env.ingress.metricsUrl!)).text()
    assert.match(metrics, new RegExp(`dealyard_proposals_total\\{provider="${env.sp.metadata.name}",result="rejected",reason="ClientNotAuthenticated"\\} [1-9]`))
  })

  it('refuses a contract client whose AuthenticateMessage reverts with boost\'s "invalid signature", creating nothing', async () => {
    const params = await proposal(refuses)
    const res = await proposeDeal(env.node, env.addr, params)
    assert.deepEqual([res.accepted, res.message], [false, 'failed validation: invalid signature'])
    assert.equal(await getDeal(params.dealUuid), undefined)
    const metrics = await (await fetch(env.ingress.metricsUrl!)).text()
    assert.match(metrics, new RegExp(`dealyard_proposals_total\\{provider="${env.sp.metadata.name}",result="rejected",reason="InvalidSignature"\\} [1-9]`))
  })

  it('lets an f410 address with no actor past the signature, as Lotus does (a placeholder answers), and stops at its escrow', async () => {
    const nobody = delegatedKey()
    const before = await stateCalls()
    const params = await proposal(nobody)
    const res = await proposeDeal(env.node, env.addr, params)
    assert.deepEqual([res.accepted, res.message], [false, 'failed validation: server error: getting market balance'])
    assert.equal(await stateCalls(), before + 1)
    assert.equal(await getDeal(params.dealUuid), undefined)
  })

  it('answers boost\'s server error when StateCall fails', async () => {
    await env.peer.faults({ target: 'full', failMethod: { method: 'StateCall', times: 5, mode: 'rpc' } })
    try {
      const params = await proposal(eth)
      const res = await proposeDeal(env.node, env.addr, params)
      assert.deepEqual([res.accepted, res.message], [false, 'failed validation: server error: validating signature'])
      assert.equal(await getDeal(params.dealUuid), undefined)
      const metrics = await (await fetch(env.ingress.metricsUrl!)).text()
      assert.match(metrics, /dealyard_ingress_chain_reads_total\{method="StateCall",result="error"\} [1-9]/)
      assert.match(metrics, new RegExp(`dealyard_proposals_total\\{provider="${env.sp.metadata.name}",result="error",reason="AuthenticateMessageFailed"\\} [1-9]`))
    } finally {
      await env.peer.faults({ reset: true })
    }
  })
})
