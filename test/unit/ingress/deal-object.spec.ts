/** A proposal stored as a StorageDeal comes back byte for byte, and the spec passes the CRD schema. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { encodeClientDealProposal, encodeDealProposal, signedProposalCid } from '../../../src/protocol/index.ts'
import { validate, schemas } from '../../../src/api/index.ts'
import { buildDealParams } from '../../../src/client/proposal.ts'
import { dealObject, proposalOf, signatureOf } from '../../../src/ingress/deal-object.ts'

const ctx = { namespace: 'deals', provider: 'sp1', protocol: '/fil/storage/mk/1.2.1' as const, clientPeerId: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN' }
const labels = {
  'a text label': { kind: 'string' as const, value: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi' },
  'a bytes label': { kind: 'bytes' as const, value: Uint8Array.of(0, 1, 255, 254) },
  'an empty text label': { kind: 'string' as const, value: '' },
  'a 256-byte multibyte label': { kind: 'string' as const, value: 'é'.repeat(128) }
}

describe('deal object', () => {
  for (const [name, label] of Object.entries(labels)) {
    for (const type of ['secp256k1', 'bls'] as const) {
      it(`round-trips ${name} signed with ${type}`, () => {
        const params = buildDealParams({
          key: generateKey(type), provider: 'f01000', pieceCid: pieceCidFromCommP(new Uint8Array(32).fill(3)).toString(), pieceSize: 1 << 20,
          payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', startEpoch: 5000, storagePrice: 123n, providerCollateral: 10n ** 18n, clientCollateral: 7n, label,
          http: { url: 'https://x.example/a', size: 1000 }
        })
        const d = dealObject(params, ctx)
        assert.deepEqual(validate(d.spec, schemas.storageDealSpec), [])
        assert.deepEqual(encodeDealProposal(proposalOf(d.spec)), encodeDealProposal(params.clientDealProposal.proposal))
        const back = { proposal: proposalOf(d.spec), clientSignature: signatureOf(d.spec) }
        assert.deepEqual(encodeClientDealProposal(back), encodeClientDealProposal(params.clientDealProposal))
        assert.equal(d.spec.signedProposalCid, signedProposalCid(params.clientDealProposal).toString())
        assert.equal(d.metadata.name, params.dealUuid)
        assert.equal(d.metadata.labels?.['dealyard.io/signed-proposal-cid'], d.spec.signedProposalCid)
      })
    }
  }

  it('keeps no transfer params in the spec, only the Secret reference', () => {
    const params = buildDealParams({
      key: generateKey('secp256k1'), provider: 'f01000', pieceCid: pieceCidFromCommP(new Uint8Array(32)).toString(), pieceSize: 2048,
      payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', startEpoch: 5000, http: { url: 'https://x.example/a', headers: { Authorization: 'secret-token' }, size: 1000 }
    })
    const d = dealObject(params, ctx)
    assert.doesNotMatch(JSON.stringify(d), /secret-token|x\.example/)
    assert.deepEqual(d.spec.transfer, { type: 'http', size: 1000, paramsSecretRef: { name: `${params.dealUuid}-transfer` } })
  })
})
