/**
 * What the ingress keeps of each StorageDeal in its cache: every field its decisions and status
 * answers read, and nothing of the rest (signature, data root, managed fields, conditions).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { encodeDealProposal } from '../../../src/protocol/index.ts'
import { buildDealParams } from '../../../src/client/proposal.ts'
import { dealObject, proposalOf } from '../../../src/ingress/deal-object.ts'
import { ATTEMPT_ANNOTATION, cachedDeal } from '../../../src/ingress/store.ts'
import { holdingOf } from '../../../src/policy/index.ts'
import type { KubeObject } from '../../../src/kube/rest.ts'
import type { StorageDeal } from '../../../src/api/index.ts'

test('the cached deal keeps what status and admission read, and drops the rest', () => {
  const params = buildDealParams({
    key: generateKey('bls'), provider: 'f01000', pieceCid: pieceCidFromCommP(new Uint8Array(32).fill(3)).toString(), pieceSize: 1 << 20,
    payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', startEpoch: 5000, storagePrice: 123n, providerCollateral: 10n ** 18n,
    label: { kind: 'bytes', value: Uint8Array.of(0, 255) }, http: { url: 'https://x.example/a', size: 1000 }
  })
  const full = dealObject(params, { namespace: 'deals', provider: 'sp1', protocol: '/fil/storage/mk/1.2.1', clientPeerId: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN' }) as StorageDeal & KubeObject
  full.metadata = { ...full.metadata, uid: 'u-1', resourceVersion: '42', creationTimestamp: '2026-11-26T00:00:00Z', annotations: { [ATTEMPT_ANNOTATION]: 'abcd', 'other/x': 'y' }, managedFields: [{ manager: 'm' }] } as unknown as StorageDeal['metadata']
  full.status = {
    checkpoint: 'Published', error: 'e', retry: 'auto', publishCid: 'bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4', chainDealId: 7,
    sector: { number: 3, state: 'PreCommit1' }, transfer: { jobName: 'j', bytesReceived: 10 },
    conditions: [{ type: 'Ready', status: 'False', reason: 'R', message: 'm', lastTransitionTime: '2026-11-26T00:00:00Z', observedGeneration: 1 }]
  } as unknown as StorageDeal['status']
  const c = cachedDeal(full)
  assert.deepEqual(encodeDealProposal(proposalOf(c.spec)), encodeDealProposal(params.clientDealProposal.proposal))
  assert.deepEqual(holdingOf(c), holdingOf(full))
  assert.equal(c.spec.signedProposalCid, full.spec.signedProposalCid)
  assert.deepEqual(c.spec.transfer, full.spec.transfer)
  assert.deepEqual(c.status, { checkpoint: 'Published', error: 'e', retry: 'auto', publishCid: full.status!.publishCid, chainDealId: 7, sector: { state: 'PreCommit1' }, transfer: { jobName: 'j', bytesReceived: 10 } })
  assert.deepEqual(c.metadata, { name: full.metadata.name, namespace: 'deals', uid: 'u-1', resourceVersion: '42', creationTimestamp: '2026-11-26T00:00:00Z', labels: full.metadata.labels, annotations: { [ATTEMPT_ANNOTATION]: 'abcd' } })
  assert.equal('clientSignature' in c.spec, false)
  assert.equal('dealDataRoot' in c.spec, false)
  assert.ok(JSON.stringify(c).length < JSON.stringify(full).length * 0.8)
})
