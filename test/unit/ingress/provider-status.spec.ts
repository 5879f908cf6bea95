/**
 * The status writer's pass without a cluster: what it writes through the status subresource, the
 * Events it records, and that it never stamps a newer generation on what it observed of an older spec.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ProviderStatusWriter, type ProviderStatusOptions } from '../../../src/ingress/provider-status.ts'
import { ProviderDirectory } from '../../../src/ingress/providers.ts'
import type { ChainReader } from '../../../src/ingress/chain.ts'
import type { EventRecorder } from '../../../src/kube/events.ts'
import type { KubeRest } from '../../../src/kube/rest.ts'
import { LotusRpcError } from '../../../src/lotus/errors.ts'
import type { StorageDeal, StorageProvider } from '../../../src/api/index.ts'
import { storageProvider } from '../../support/builders.ts'

const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'

function setup (stored: StorageProvider, observed: StorageProvider, o: { chain?: ChainReader, ledgers?: ProviderStatusOptions['ledgers'] } = {}): {
  writer: ProviderStatusWriter, writes: StorageProvider[], events: string[], notes: string[], ready: () => { status: string, reason: string, message: string }
} {
  const writes: StorageProvider[] = []
  const events: string[] = []
  const notes: string[] = []
  const rest = {
    get: async () => structuredClone(stored),
    replace: async (_r: unknown, _ns: unknown, _name: string, obj: StorageProvider, sub?: string) => {
      assert.equal(sub, 'status', 'only the status subresource')
      writes.push(obj)
      stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(writes.length + 10) } }
      return structuredClone(stored)
    }
  } as unknown as KubeRest
  const chain = o.chain ?? { head: async () => 500, minerInfo: async () => ({ worker: 'f01001', peerId: PEER }) } as unknown as ChainReader
  const writer = new ProviderStatusWriter({
    rest,
    namespace: 'ns',
    peerId: PEER,
    providers: () => [observed],
    directory: new ProviderDirectory({ list: () => [observed], chainFor: () => chain }),
    deals: () => [{ spec: { provider: 'sp1' } }, { spec: { provider: 'sp1' }, status: { checkpoint: 'Complete' } }] as unknown as StorageDeal[],
    events: { record: async (_o: unknown, type: string, reason: string, _action: string, note: string) => { events.push(`${type}/${reason}`); notes.push(note) } } as unknown as EventRecorder,
    ...(o.ledgers !== undefined ? { ledgers: o.ledgers } : {})
  })
  const ready = (): { status: string, reason: string, message: string } => stored.status!.conditions!.find((c) => c.type === 'Ready')! as never
  return { writer, writes, events, notes, ready }
}

describe('ProviderStatusWriter.syncAll', () => {
  it('writes the status of what it observed, and an Event per condition that changed', async () => {
    const sp = storageProvider('sp1')
    const { writer, writes, events } = setup(sp, sp)
    await writer.syncAll()
    assert.equal(writes.length, 1)
    const st = writes[0]!.status!
    assert.deepEqual([st.observedGeneration, st.chainHead, st.workerAddress, st.activeDeals, st.peerId], [1, 500, 'f01001', 1, PEER])
    assert.deepEqual(events, ['Normal/Serving', 'Normal/Matches'])
    await writer.syncAll()
    assert.equal(events.length, 2, 'nothing changed: no new Event')
  })

  it('does not stamp a newer generation on what it observed of an older spec', async () => {
    const observed = storageProvider('sp1')
    const stored = { ...storageProvider('sp1'), metadata: { ...observed.metadata, generation: 2 } }
    const { writer, writes } = setup(stored, observed)
    await writer.syncAll()
    assert.equal(writes.length, 0)
  })

  it('does not give a provider made again under the same name the verdict on the deleted one', async () => {
    const observed = storageProvider('sp1')
    const stored = { ...storageProvider('sp1'), metadata: { ...observed.metadata, uid: 'sp1-uid-2' } }
    const { writer, writes } = setup(stored, observed)
    await writer.syncAll()
    assert.equal(writes.length, 0)
  })

  it('reports a token Lotus refuses (401, or a proxy\'s 403) as TokenRefused, naming the Secret; a Lotus that does not answer as ChainUnreachable', async () => {
    const sp = storageProvider('sp1')
    sp.spec.lotus.fullNode.tokenSecretRef = { name: 'lotus-tokens', key: 'fullnode' }
    let fail: Error = new LotusRpcError('ERR_LOTUS_AUTH', 'lotus full: Filecoin.ChainHead: token refused (HTTP 401)', { httpStatus: 401 })
    const chain = { head: async () => { throw fail }, minerInfo: async () => { throw fail } } as unknown as ChainReader
    const { writer, ready } = setup(sp, sp, { chain })
    await writer.syncAll()
    assert.deepEqual([ready().status, ready().reason], ['False', 'TokenRefused'])
    assert.equal(ready().message, 'Lotus at http://127.0.0.1:9/rpc/v1 refused the API token from Secret ns/lotus-tokens key fullnode: put a token that node accepts there (lotus full: Filecoin.ChainHead: token refused (HTTP 401))')
    // The client takes a 403 for a failed transport and retries it: still the token.
    fail = new LotusRpcError('ERR_LOTUS_UNAVAILABLE', 'lotus full: Filecoin.ChainHead: HTTP 403: Forbidden (gave up after 2 attempts)', { httpStatus: 403 })
    await writer.syncAll()
    assert.deepEqual([ready().reason, ready().message.endsWith('(lotus full: Filecoin.ChainHead: HTTP 403: Forbidden (gave up after 2 attempts))')], ['TokenRefused', true])
    fail = new LotusRpcError('ERR_LOTUS_UNAVAILABLE', 'lotus full: Filecoin.ChainHead: connect ECONNREFUSED 127.0.0.1:9 (gave up after 2 attempts)')
    await writer.syncAll()
    assert.equal(ready().reason, 'ChainUnreachable')
  })

  it('reports what the ledgers say is unusable as LedgerUnusable, read through the provider\'s Lotus client', async () => {
    const sp = storageProvider('sp1')
    const asked: unknown[] = []
    const ledgers = {
      missing: () => undefined,
      unusable: async (s: StorageProvider, c: ChainReader) => { asked.push(s.metadata.name, c); return 'FundLedger f: spec.escrowAddress …: actor not found' },
      unparsable: () => undefined
    }
    const { writer, ready } = setup(sp, sp, { ledgers })
    await writer.syncAll()
    assert.deepEqual([ready().status, ready().reason, ready().message], ['False', 'LedgerUnusable', 'FundLedger f: spec.escrowAddress …: actor not found: online proposals are refused ("server error: tag funds")'])
    assert.equal(asked[0], 'sp1')
    assert.equal(typeof (asked[1] as ChainReader).head, 'function')
  })

  // Round 54: a fullNode URL of another API ("method not found" to every call) was reported as the
  // FundLedger's fault, sending the operator to a ledger other providers share without trouble.
  it('blames the ledger\'s chain reads only when the head was read; an address that does not parse always', async () => {
    const sp = storageProvider('sp1')
    const chain = { head: async () => { throw new LotusRpcError('ERR_LOTUS_RPC', "lotus full: Filecoin.ChainHead: method 'Filecoin.ChainHead' not found", { rpcCode: -32601 }) }, minerInfo: async () => ({ worker: 'f01001', peerId: PEER }) } as unknown as ChainReader
    let unparsable: string | undefined
    const ledgers = { missing: () => undefined, unusable: async () => 'FundLedger f: reading the market balance of spec.escrowAddress f01000 failed: method not found', unparsable: () => unparsable }
    const { writer, ready } = setup(sp, sp, { ledgers, chain })
    await writer.syncAll()
    assert.equal(ready().reason, 'ChainUnreachable')
    unparsable = 'FundLedger f: spec.publishWallet "t1x" is not a Filecoin address: invalid address checksum'
    await writer.syncAll()
    assert.deepEqual([ready().reason, ready().message], ['LedgerUnusable', `${unparsable}: online proposals are refused ("server error: tag funds")`])
  })

  it('records an Event for a failure whose cause changed under the same reason, a few at once and then at most one every few minutes', async () => {
    const sp = storageProvider('sp1')
    let cause = 'connect ECONNREFUSED 127.0.0.1:9'
    const chain = { head: async () => { throw new Error(cause) }, minerInfo: async () => ({ worker: 'f01001', peerId: PEER }) } as unknown as ChainReader
    const { writer, events, notes } = setup(sp, sp, { chain })
    await writer.syncAll()
    assert.deepEqual(events, ['Warning/ChainUnreachable', 'Normal/Matches'])
    await writer.syncAll()
    assert.equal(events.length, 2, 'the same cause: no Event')
    cause = 'no answer within 5000 ms'
    await writer.syncAll()
    assert.deepEqual(events.slice(2), ['Warning/ChainUnreachable'])
    assert.match(notes.at(-1)!, /no answer within 5000 ms$/)
    // A cause that differs on every sync (a proxy's error page with a request ID): bounded.
    for (let i = 0; i < 20; i++) {
      cause = `HTTP 502: request ${i}`
      await writer.syncAll()
    }
    assert.equal(events.length - 3, 4, 'the burst (5) is spent; the rest wait minutes')
  })
})
