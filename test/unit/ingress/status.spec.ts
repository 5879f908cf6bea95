import { describe, it, test } from 'node:test'
import assert from 'node:assert/strict'
import { StatusService } from '../../../src/ingress/status.ts'
import { fitText } from '../../../src/protocol/cbor/writer.ts'
import { ProviderDirectory } from '../../../src/ingress/providers.ts'
import type { DealStore } from '../../../src/ingress/store.ts'
import { dealObject } from '../../../src/ingress/deal-object.ts'
import { buildDealParams } from '../../../src/client/proposal.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { sign } from '../../../src/filecoin/signature.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { statusRequestMessage } from '../../../src/protocol/proposal.ts'
import type { DealStatusRequest } from '../../../src/protocol/types.ts'
import type { StorageDeal, StorageProvider } from '../../../src/api/index.ts'
import type { ChainReader } from '../../../src/ingress/chain.ts'
import { storageProvider } from '../../support/builders.ts'

test('fitText keeps text within the byte limit, cut on a character boundary and marked', () => {
  assert.equal(fitText('short', 8192), 'short')
  const euros = '€'.repeat(4096) // 12,288 bytes of UTF-8
  const fitted = fitText(euros)
  assert.ok(Buffer.byteLength(fitted) <= 8192)
  assert.ok(Buffer.byteLength(fitted) >= 8192 - 5)
  assert.match(fitted, /^€+…$/)
  // A 4-byte character straddling the cut is dropped whole, never split.
  const s = 'a'.repeat(10) + '😀'.repeat(10)
  for (let max = 8; max < 40; max++) {
    const f = fitText(s, max)
    assert.ok(Buffer.byteLength(f) <= max, `${max}: ${Buffer.byteLength(f)}`)
    assert.equal(Buffer.from(f, 'utf8').toString('utf8'), f)
    assert.ok(!f.includes('\ufffd'))
  }
})

describe('StatusService', () => {
  const key = generateKey('secp256k1')
  const PIECE = pieceCidFromCommP(new Uint8Array(32).fill(3)).toString()
  const ROOT = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'

  /** A deal as the ingress stores it, with `status`, and a status request signed by its client. */
  function dealAndRequest (status: StorageDeal['status'], client?: string): { deal: StorageDeal, req: DealStatusRequest } {
    const params = buildDealParams({
      key, provider: 'f01000', pieceCid: PIECE, pieceSize: 2048, payloadCid: ROOT, startEpoch: 5000, storagePrice: 0n,
      http: { url: 'https://example.com/a.car', size: 1900 }, ...(client !== undefined ? { client } : {})
    })
    const deal = dealObject(params, { namespace: 'ns', provider: 'sp1', protocol: '/fil/storage/mk/1.2.1', clientPeerId: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo' })
    if (status !== undefined) deal.status = status
    return { deal, req: { dealUuid: params.dealUuid, signature: sign(key, statusRequestMessage(params.dealUuid)) } }
  }
  const serviceFor = (deal: StorageDeal, providers: StorageProvider[] = []): StatusService =>
    new StatusService(new ProviderDirectory({ list: () => providers }), { get: async () => deal } as unknown as DealStore)

  it('sends a sealed deal (Complete, no error) as boost sends one: IndexedAndAnnounced with its sealing state', async () => {
    const { deal, req } = dealAndRequest({ checkpoint: 'Complete', sector: { state: 'Proving' } } as StorageDeal['status'])
    const res = await serviceFor(deal).status(req)
    assert.equal(res.error, '')
    assert.deepEqual([res.dealStatus?.status, res.dealStatus?.sealingStatus, res.dealStatus?.error], ['IndexedAndAnnounced', 'Proving', ''])
    const failed = dealAndRequest({ checkpoint: 'Complete', error: 'publish: out of gas' } as StorageDeal['status'])
    const f = await serviceFor(failed.deal).status(failed.req)
    assert.deepEqual([f.dealStatus?.status, f.dealStatus?.error], ['Complete', 'publish: out of gas'])
  })

  it('reports bytes received only while the transfer runs, not while it waits to be retried', async () => {
    const running = dealAndRequest({ checkpoint: 'Accepted', transfer: { jobName: 'j', bytesReceived: 1000 } } as StorageDeal['status'])
    assert.equal((await serviceFor(running.deal).status(running.req)).nBytesReceived, 1000)
    const paused = dealAndRequest({ checkpoint: 'Accepted', error: 'transfer stalled', retry: 'auto', transfer: { jobName: 'j', bytesReceived: 1000 } } as StorageDeal['status'])
    const res = await serviceFor(paused.deal).status(paused.req)
    assert.deepEqual([res.nBytesReceived, res.dealStatus?.error], [0, 'transfer stalled'])
  })

  it('answers a key-address client without its StorageProvider (deleted); an ID-address client needs the provider\'s chain', async () => {
    const { deal, req } = dealAndRequest(undefined)
    const res = await serviceFor(deal).status(req)
    assert.equal(res.error, '')
    assert.equal(res.dealStatus?.status, 'Accepted')
    const byId = dealAndRequest(undefined, 'f01236')
    assert.equal((await serviceFor(byId.deal).status(byId.req)).error, 'failed to get account key for client addr f01236')
  })

  it('reads an ID-address client\'s key through another provider\'s chain when the deal\'s own provider\'s config is unusable', async () => {
    const byId = dealAndRequest(undefined, 'f01236')
    const broken = storageProvider('sp1')
    broken.spec.ask = { price: 'not a number' } as never
    const other = storageProvider('sp2')
    other.spec.address = 'f02000'
    const chain = { accountKey: async () => key.address.toString() } as unknown as ChainReader
    const dir = new ProviderDirectory({ list: () => [broken, other], chainFor: () => chain })
    await assert.rejects(dir.find('f01000'), /StorageProvider sp1/)
    const res = await new StatusService(dir, { get: async () => byId.deal } as unknown as DealStore).status(byId.req)
    assert.equal(res.error, '')
    assert.equal(res.dealStatus?.status, 'Accepted')
  })
})
