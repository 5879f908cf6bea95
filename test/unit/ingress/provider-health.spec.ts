/**
 * A StorageProvider's status from what the ingress observed: each reason Ready can be False for, in
 * the order an operator must fix them; the peer ID on chain against the ingress's; chain fields kept
 * while Lotus is unreachable; Events only when a condition changes.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { conditionEvents, MAX_MESSAGE, PEER_ID_ON_CHAIN, providerStatus, READY, type ProviderObservation } from '../../../src/ingress/provider-health.ts'
import { activeDealsByProvider } from '../../../src/ingress/provider-status.ts'
import type { StorageDeal, StorageProvider } from '../../../src/api/index.ts'
import { storageProvider } from '../../support/builders.ts'

const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const OTHER = '12D3KooWEM4p5Q1ceGiFkPCyAe6mqBmKxWwBW31cm44p7NXXsyKC'
const T1 = new Date('2026-11-26T10:00:00.123Z')
const T2 = new Date('2026-11-26T10:00:30.456Z')

const healthy = (o: Partial<ProviderObservation> = {}): ProviderObservation =>
  ({ peerId: PEER, head: { epoch: 1200 }, miner: { worker: 'f01001', peerId: PEER }, activeDeals: 3, now: T1, ...o })

const condition = (sp: StorageProvider['status'], type: string): { status: string, reason: string, message: string, observedGeneration?: number, lastTransitionTime: string } =>
  sp!.conditions!.find((c) => c.type === type)! as never

describe('providerStatus', () => {
  it('a provider Lotus serves and whose peer ID on chain is the ingress\'s is Ready, with its chain facts', () => {
    const sp = storageProvider('sp1')
    sp.metadata.generation = 4
    const st = providerStatus(sp, healthy())
    assert.equal(st.observedGeneration, 4)
    assert.equal(st.peerId, PEER)
    assert.equal(st.chainHead, 1200)
    assert.equal(st.workerAddress, 'f01001')
    assert.equal(st.activeDeals, 3)
    assert.equal(st.lastSyncTime, '2026-11-26T10:00:00Z')
    const ready = condition(st, READY)
    assert.deepEqual([ready.status, ready.reason, ready.observedGeneration], ['True', 'Serving', 4])
    assert.match(ready.message, /f01000 \(chain head 1200\)/)
    assert.deepEqual([condition(st, PEER_ID_ON_CHAIN).status, condition(st, PEER_ID_ON_CHAIN).reason], ['True', 'Matches'])
  })

  it('says why a provider is not ready: paused first, then its config, then the chain, then the miner', () => {
    const sp = storageProvider('sp1')
    const reason = (s: StorageProvider, o: Partial<ProviderObservation>): [string, string, string] => {
      const c = condition(providerStatus(s, healthy(o)), READY)
      return [c.status, c.reason, c.message]
    }
    const configError = 'StorageProvider sp1: Secret ns/lotus is not labelled dealyard.io/lotus-token=true: …'
    const paused = { ...sp, spec: { ...sp.spec, paused: true } }
    assert.deepEqual(reason(paused, { configError }).slice(0, 2), ['False', 'Paused'])
    assert.deepEqual(reason(sp, { configError, head: { error: 'connect ECONNREFUSED' } }), ['False', 'InvalidConfig', configError])
    assert.deepEqual(reason(sp, { configError, ledgerError: 'FundLedger f not found' }).slice(0, 2), ['False', 'InvalidConfig'])
    assert.deepEqual(reason(sp, { ledgerError: 'FundLedger f and StorageLedger s not found', head: { error: 'connect ECONNREFUSED' } }),
      ['False', 'LedgerMissing', 'FundLedger f and StorageLedger s not found: online proposals are refused ("server error: tag funds" / "tag storage")'])
    const [s, r, m] = reason(sp, { head: { error: 'connect ECONNREFUSED' } })
    assert.deepEqual([s, r], ['False', 'ChainUnreachable'])
    assert.match(m, /http:\/\/127\.0\.0\.1:9\/rpc\/v1 failed: connect ECONNREFUSED/)
    const [s2, r2, m2] = reason(sp, { miner: { error: 'actor not found' } })
    assert.deepEqual([s2, r2], ['False', 'MinerInfoUnavailable'])
    assert.match(m2, /StateMinerInfo\(f01000\) failed: actor not found/)
    // Serving with the token read before: ready, but with what to fix before the next restart.
    const [s3, r3, m3] = reason(sp, { staleTokenError: 'StorageProvider sp1: secrets "lotus" not found' })
    assert.deepEqual([s3, r3], ['True', 'StaleToken'])
    assert.match(m3, /token read before; reading it again failed: StorageProvider sp1: secrets "lotus" not found/)
  })

  it('says a FundLedger that cannot tag funds makes online proposals fail, after a missing ledger and before the chain', () => {
    const sp = storageProvider('sp1')
    const ready = (o: Partial<ProviderObservation>): [string, string, string] => {
      const c = condition(providerStatus(sp, healthy(o)), READY)
      return [c.status, c.reason, c.message]
    }
    const ledgerUnusable = 'FundLedger f: spec.publishWallet "t1x" is not a Filecoin address: invalid address checksum: t1x'
    assert.deepEqual(ready({ ledgerUnusable, head: { error: 'connect ECONNREFUSED' } }),
      ['False', 'LedgerUnusable', `${ledgerUnusable}: online proposals are refused ("server error: tag funds")`])
    assert.equal(ready({ ledgerUnusable, ledgerError: 'StorageLedger s not found' })[1], 'LedgerMissing')
  })

  it('says Lotus refused the token, naming the URL and the Secret key to fix, not that the chain is unreachable', () => {
    const sp = storageProvider('sp1')
    sp.spec.lotus.fullNode.tokenSecretRef = { namespace: 'lotus', name: 'tokens', key: 'fullnode' }
    const refused = 'lotus full: Filecoin.ChainHead: token refused (HTTP 401)'
    const c = condition(providerStatus(sp, healthy({ head: { error: refused }, miner: { error: refused }, tokenRefused: refused })), READY)
    assert.deepEqual([c.status, c.reason], ['False', 'TokenRefused'])
    assert.equal(c.message, `Lotus at http://127.0.0.1:9/rpc/v1 refused the API token from Secret lotus/tokens key fullnode: put a token that node accepts there (${refused})`)
    // A ref without a namespace: the ingress's, which the writer passes.
    sp.spec.lotus.fullNode.tokenSecretRef = { name: 'tokens', key: 'fullnode' }
    assert.match(condition(providerStatus(sp, healthy({ tokenRefused: refused, secretNamespace: 'dealyard' })), READY).message, /from Secret dealyard\/tokens key fullnode:/)
    // The token sent may not be the Secret's: say so.
    assert.match(condition(providerStatus(sp, healthy({ tokenRefused: refused, staleTokenError: 'StorageProvider sp1: … 404 NotFound' })), READY).message,
      /the token sent is the one read before, as reading the Secret again failed: StorageProvider sp1: … 404 NotFound$/)
    delete sp.spec.lotus.fullNode.tokenSecretRef
    assert.match(condition(providerStatus(sp, healthy({ tokenRefused: refused })), READY).message, /refused the request without an API token: .*spec\.lotus\.fullNode\.tokenSecretRef/)
  })

  it('says when the deal policy leaves no proposal it can accept, and why; and which kind alone it accepts', () => {
    const ready = (dealPolicy: NonNullable<StorageProvider['spec']['dealPolicy']>, o: Partial<ProviderObservation> = {}): [string, string, string] => {
      const sp = storageProvider('sp1')
      sp.spec.dealPolicy = dealPolicy
      const c = condition(providerStatus(sp, healthy(o)), READY)
      return [c.status, c.reason, c.message]
    }
    assert.deepEqual(ready({ transferTypes: [], acceptOffline: false }), ['False', 'PolicyRefusesAll',
      'no proposal for f01000 can be accepted: online ones are refused (dealPolicy.transferTypes is empty), offline ones too (dealPolicy.acceptOffline is false)'])
    assert.deepEqual(ready({ acceptOnline: false, acceptOffline: false }), ['False', 'PolicyRefusesAll',
      'no proposal for f01000 can be accepted: online ones are refused (dealPolicy.acceptOnline is false), offline ones too (dealPolicy.acceptOffline is false)'])
    assert.deepEqual(ready({ acceptVerified: false, acceptUnverified: false }), ['False', 'PolicyRefusesAll',
      'no proposal for f01000 can be accepted: dealPolicy.acceptVerified and dealPolicy.acceptUnverified are both false'])
    // Whatever the chain says: no proposal gets that far.
    assert.equal(ready({ transferTypes: [], acceptOffline: false }, { head: { error: 'timeout' } })[1], 'PolicyRefusesAll')
    // One kind left: Serving, saying which.
    assert.deepEqual(ready({ transferTypes: [] }), ['True', 'Serving',
      'accepting proposals for f01000 (chain head 1200); offline ones only: online ones are refused (dealPolicy.transferTypes is empty)'])
    assert.deepEqual(ready({ acceptOffline: false }), ['True', 'Serving', 'accepting proposals for f01000 (chain head 1200); online ones only: offline ones are refused (dealPolicy.acceptOffline is false)'])
    assert.deepEqual(ready({ transferTypes: ['http'] }), ['True', 'Serving', 'accepting proposals for f01000 (chain head 1200)'])
  })

  it('a provider being deleted, or shadowed by an older one of the same address, is not Ready, whatever else holds', () => {
    const sp = storageProvider('sp1')
    const ready = (o: Partial<ProviderObservation>): [string, string, string] => {
      const c = condition(providerStatus(sp, healthy(o)), READY)
      return [c.status, c.reason, c.message]
    }
    assert.deepEqual(ready({ deleting: true }), ['False', 'Deleting', 'being deleted (metadata.deletionTimestamp is set): proposals for f01000 are refused'])
    assert.deepEqual(ready({ shadowedBy: 'sp0' }).slice(0, 2), ['False', 'DuplicateAddress'])
    assert.match(ready({ shadowedBy: 'sp0' })[2], /^StorageProvider sp0 has the same address f01000 and is older: it is the one served/)
    // A config read that failed for a reason that passes is not a config to fix.
    assert.deepEqual(ready({ configError: 'StorageProvider sp1: GET …: 503', configRetrying: true }), ['False', 'ConfigUnreadable', 'StorageProvider sp1: GET …: 503 (tried again shortly)'])
  })

  it('cuts a long error (a Lotus error can be any length; the apiserver refuses a message past 32,768)', () => {
    const sp = storageProvider('sp1')
    const c = condition(providerStatus(sp, healthy({ head: { error: 'x'.repeat(40_000) } })), READY)
    assert.equal(c.reason, 'ChainUnreachable')
    assert.equal(c.message.length, MAX_MESSAGE)
    assert.ok(c.message.endsWith('x…'))
  })

  it('tells the operator the command that puts the ingress\'s peer ID on chain', () => {
    const sp = storageProvider('sp1')
    const unset = condition(providerStatus(sp, healthy({ miner: { worker: 'f01001', peerId: null } })), PEER_ID_ON_CHAIN)
    assert.deepEqual([unset.status, unset.reason], ['False', 'NotSet'])
    assert.match(unset.message, new RegExp(`is not set, not this ingress's ${PEER}: .*lotus-miner actor set-peer-id ${PEER}`))
    const other = condition(providerStatus(sp, healthy({ miner: { worker: 'f01001', peerId: OTHER } })), PEER_ID_ON_CHAIN)
    assert.deepEqual([other.status, other.reason], ['False', 'Mismatch'])
    assert.match(other.message, new RegExp(`is ${OTHER}, not`))
    // Ready still: clients that dial the provider's multiaddr reach it.
    assert.equal(condition(providerStatus(sp, healthy({ miner: { worker: 'f01001', peerId: OTHER } })), READY).status, 'True')
  })

  it('keeps the last chain head, worker and sync time while Lotus cannot be read, and the transition time while nothing changes', () => {
    const sp = storageProvider('sp1')
    sp.status = providerStatus(sp, healthy())
    const down = providerStatus(sp, healthy({ head: { error: 'timeout' }, miner: { error: 'timeout' }, now: T2 }))
    assert.equal(down.chainHead, 1200)
    assert.equal(down.workerAddress, 'f01001')
    assert.equal(down.lastSyncTime, '2026-11-26T10:00:00Z')
    assert.equal(condition(down, READY).lastTransitionTime, '2026-11-26T10:00:30Z')
    assert.equal(condition(down, PEER_ID_ON_CHAIN).status, 'Unknown')
    const again = providerStatus(sp, healthy({ head: { epoch: 1201 }, now: T2 }))
    assert.equal(condition(again, READY).lastTransitionTime, '2026-11-26T10:00:00Z', 'still True: the transition time stays')
    assert.equal(again.chainHead, 1201)
  })
})

describe('conditionEvents', () => {
  const sp = storageProvider('sp1')
  it('is one Event per condition whose status or reason changed, a Warning when it went False', () => {
    const first = providerStatus(sp, healthy({ miner: { worker: 'f01001', peerId: null } }))
    assert.deepEqual(conditionEvents(undefined, first).map((e) => [e.type, e.reason]), [['Normal', 'Serving'], ['Warning', 'NotSet']])
    const same = providerStatus({ ...sp, status: first }, healthy({ miner: { worker: 'f01001', peerId: null }, head: { epoch: 1300 }, now: T2 }))
    assert.deepEqual(conditionEvents(first, same), [], 'a new head is no news')
    const broken = providerStatus({ ...sp, status: same }, healthy({ configError: 'StorageProvider sp1: bad', miner: { worker: 'f01001', peerId: null } }))
    assert.deepEqual(conditionEvents(same, broken).map((e) => [e.type, e.reason, e.note]), [['Warning', 'InvalidConfig', 'StorageProvider sp1: bad']])
    const unknown = providerStatus({ ...sp, status: broken }, healthy({ configError: 'StorageProvider sp1: bad', miner: { error: 'x' } }))
    assert.deepEqual(conditionEvents(broken, unknown), [], 'Unknown says nothing new')
    const stale = providerStatus({ ...sp, status: first }, healthy({ staleTokenError: 'gone', miner: { worker: 'f01001', peerId: null } }))
    assert.deepEqual(conditionEvents(first, stale).map((e) => [e.type, e.reason]), [['Warning', 'StaleToken']], 'still True, but to be fixed')
  })

  it('is an Event too when a Warning condition\'s cause changes under the same reason; not when a Normal one\'s figures do', () => {
    const at = (before: StorageProvider['status'], o: Partial<ProviderObservation>): ReturnType<typeof providerStatus> => providerStatus({ ...sp, status: before }, healthy(o))
    const missing = at(undefined, { configError: 'StorageProvider sp1: GET …: 404 NotFound: secrets "lotus" not found' })
    const unlabelled = at(missing, { configError: 'StorageProvider sp1: Secret ns/lotus is not labelled dealyard.io/lotus-token=true: …' })
    assert.deepEqual(conditionEvents(missing, unlabelled), [{ type: 'Warning', condition: READY, reason: 'InvalidConfig', note: 'StorageProvider sp1: Secret ns/lotus is not labelled dealyard.io/lotus-token=true: …', newCause: true }])
    assert.deepEqual(conditionEvents(unlabelled, at(unlabelled, { configError: 'StorageProvider sp1: Secret ns/lotus is not labelled dealyard.io/lotus-token=true: …' })), [], 'the same cause: no Event')
    const refusing = at(undefined, { head: { error: 'lotus full: Filecoin.ChainHead: connect ECONNREFUSED 127.0.0.1:9 (gave up after 2 attempts)' } })
    const hanging = at(refusing, { head: { error: 'lotus full: Filecoin.ChainHead: no answer within 5000 ms' } })
    assert.deepEqual(conditionEvents(refusing, hanging).map((e) => [e.type, e.reason, e.newCause]), [['Warning', 'ChainUnreachable', true]])
    const stale = at(undefined, { staleTokenError: 'StorageProvider sp1: … 404 NotFound' })
    assert.deepEqual(conditionEvents(stale, at(stale, { staleTokenError: 'StorageProvider sp1: … 403 Forbidden', head: { epoch: 1300 } })).map((e) => [e.type, e.reason]), [['Warning', 'StaleToken']])
    // Serving's and Matches' messages carry the head and peer IDs: news only when the reason changes.
    const serving = at(undefined, {})
    assert.deepEqual(conditionEvents(serving, at(serving, { head: { epoch: 1300 } })), [])
    const otherPeer = at(undefined, { miner: { worker: 'f01001', peerId: OTHER } })
    assert.deepEqual(conditionEvents(otherPeer, at(otherPeer, { miner: { worker: 'f01001', peerId: PEER.replace('DpJ', 'Xyz') } })).map((e) => [e.condition, e.reason, e.newCause]),
      [[PEER_ID_ON_CHAIN, 'Mismatch', true]], 'another peer ID on chain, still not this one')
  })
})

describe('activeDealsByProvider', () => {
  it('counts the deals of each provider that are not Complete', () => {
    const d = (provider: string, checkpoint?: string): StorageDeal => ({ spec: { provider }, ...(checkpoint !== undefined ? { status: { checkpoint } } : {}) }) as unknown as StorageDeal
    const n = activeDealsByProvider([d('a'), d('a', 'Accepted'), d('a', 'Complete'), d('b', 'Published'), d('c', 'Complete')])
    assert.deepEqual([...n.entries()].sort(), [['a', 2], ['b', 1]])
  })
})
