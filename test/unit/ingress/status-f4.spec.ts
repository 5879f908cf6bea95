/**
 * Status requests from an f410 client: boost's getDealStatus checks them with lotus's sigs.Verify
 * (storagemarket/lp2pimpl/net.go), which knows delegated signatures; no AuthenticateMessage here.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { StatusService } from '../../../src/ingress/status.ts'
import { ProviderDirectory } from '../../../src/ingress/providers.ts'
import type { DealStore } from '../../../src/ingress/store.ts'
import { dealObject } from '../../../src/ingress/deal-object.ts'
import { buildDealParams } from '../../../src/client/proposal.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { sign } from '../../../src/filecoin/signature.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { encodeDealProposal } from '../../../src/protocol/index.ts'
import { statusRequestMessage } from '../../../src/protocol/proposal.ts'
import { delegatedKey, signDelegated } from '../../support/delegated.ts'

describe('StatusService: f410 clients', () => {
  const f4 = delegatedKey()
  const params = buildDealParams({
    key: generateKey('secp256k1'), client: f4.address.toString(), provider: 'f01000', pieceCid: pieceCidFromCommP(new Uint8Array(32).fill(4)).toString(),
    pieceSize: 2048, payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', startEpoch: 5000, http: { url: 'https://example.com/a.car', size: 1900 }
  })
  params.clientDealProposal.clientSignature = signDelegated(f4, encodeDealProposal(params.clientDealProposal.proposal))
  const deal = dealObject(params, { namespace: 'ns', provider: 'sp1', protocol: '/fil/storage/mk/1.2.1', clientPeerId: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo' })
  // No StorageProvider: an f4 address is its own account key, so no chain is needed.
  const service = new StatusService(new ProviderDirectory({ list: () => [] }), { get: async () => deal } as unknown as DealStore)
  const uuid = params.dealUuid

  it('answers a request with the client\'s delegated signature over the UUID bytes', async () => {
    const res = await service.status({ dealUuid: uuid, signature: signDelegated(f4, statusRequestMessage(uuid)) })
    assert.deepEqual([res.error, res.dealStatus?.status], ['', 'Accepted'])
  })

  it('refuses another key\'s signature, and one over other bytes, with boost\'s text', async () => {
    for (const signature of [
      signDelegated(delegatedKey(), statusRequestMessage(uuid)),
      signDelegated(f4, statusRequestMessage('00000000-0000-4000-8000-000000000000')),
      sign(generateKey('secp256k1'), statusRequestMessage(uuid))
    ]) {
      const res = await service.status({ dealUuid: uuid, signature })
      assert.deepEqual([res.error, res.dealStatus], ['signature verification failed', null])
    }
  })
})
