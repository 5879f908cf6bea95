/** A proposal stored as a StorageDeal comes back byte for byte, and the spec passes the CRD schema. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import * as Digest from 'multiformats/hashes/digest'
import { Address, writeUvarint } from '../../../src/filecoin/address.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { decodeDealParams, encodeClientDealProposal, encodeDealParams, encodeDealProposal, signedProposalCid } from '../../../src/protocol/index.ts'
import type { DealLabel, DealParams } from '../../../src/protocol/index.ts'
import { MAX_BIGINT_BYTES, MAX_CID_BYTES, MAX_SIGNATURE_BYTES, MAX_STRING_LENGTH } from '../../../src/protocol/cbor/reader.ts'
import { DEAL_MAX_LABEL_SIZE } from '../../../src/policy/index.ts'
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

  it('writes addresses with the chain\'s letter, and round-trips them on a testnet too', () => {
    const key = generateKey('secp256k1')
    const params = buildDealParams({
      key, provider: 'f01000', pieceCid: pieceCidFromCommP(new Uint8Array(32)).toString(), pieceSize: 2048,
      payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', startEpoch: 5000, http: { url: 'https://x.example/a', size: 1000 }
    })
    const mainnet = dealObject(params, { ...ctx, network: 'f' })
    assert.deepEqual([mainnet.spec.proposal.client, mainnet.spec.proposal.provider], [key.address.toString('f'), 'f01000'])
    const testnet = dealObject(params, { ...ctx, network: 't' })
    assert.deepEqual([testnet.spec.proposal.client, testnet.spec.proposal.provider], [key.address.toString('t'), 't01000'])
    assert.deepEqual(validate(testnet.spec, schemas.storageDealSpec), [])
    assert.deepEqual(encodeDealProposal(proposalOf(testnet.spec)), encodeDealProposal(params.clientDealProposal.proposal))
  })

  it('keeps no transfer params in the spec, only the Secret reference', () => {
    const params = buildDealParams({
      key: generateKey('secp256k1'), provider: 'f01000', pieceCid: pieceCidFromCommP(new Uint8Array(32)).toString(), pieceSize: 2048,
      payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', startEpoch: 5000, http: { url: 'https://x.example/a', headers: { Authorization: 'secret-token' }, size: 1000 }
    })
    const d = dealObject(params, ctx)
    assert.doesNotMatch(JSON.stringify(d), /secret-token|x\.example/)
    assert.deepEqual(d.spec.transfer, { type: 'http', size: 1000, paramsSecretRef: { name: `${params.dealUuid}-transfer` } })
  })

  /*
   * Regression (round 45, F3): the CRD took a client signature of at most 192 bytes and CIDs of at
   * most 160 characters, while the decoder (and boost) take 199-byte signatures (200 with the type
   * byte) and 512-byte tag-42 CIDs; such a proposal passed admission and its create failed ("server
   * error: save to db"). Here every field the ingress copies from a proposal is at the most the
   * decoder takes, the label at the most admission takes (A5, boost's DealMaxLabelSize: the
   * decoder's 2 MiB never reach a create), and the proposal must still decode.
   */
  for (const label of [
    { kind: 'string', value: 'a'.repeat(DEAL_MAX_LABEL_SIZE) },
    { kind: 'bytes', value: new Uint8Array(DEAL_MAX_LABEL_SIZE).fill(0xff) }
  ] satisfies DealLabel[]) {
    it(`fits the CRD schema with every proposal field at its decoder maximum (a ${label.kind} label)`, () => {
      const params = decodeDealParams(encodeDealParams(largestParams(label)))
      const d = dealObject(params, { ...ctx, clientPeerId: LONGEST_PEER_ID })
      assert.deepEqual(validate(d.spec, schemas.storageDealSpec), [])
      // At the edge: each of these is as long as its decoder allows.
      assert.equal(d.spec.dealDataRoot?.length, 819)
      assert.equal(d.spec.proposal.pieceCid.length, 819)
      assert.equal(d.spec.clientSignature.data.length, 268)
      assert.equal(d.spec.proposal.clientCollateral.length, 306)
      assert.equal(d.spec.proposal.client.length, 115)
      assert.equal(d.spec.transfer.clientId?.length, 256)
    })
  }
})

/** The longest CID the decoder takes: MAX_CID_BYTES with the 0x00 multibase byte (raw, identity multihash). */
function longestCid (): CID {
  const header = 5 // version 1, codec 0x55, multihash code 0x00, a two-byte digest length
  const c = CID.createV1(0x55, Digest.create(0x00, new Uint8Array(MAX_CID_BYTES - 1 - header).fill(0x61)))
  assert.equal(c.bytes.length + 1, MAX_CID_BYTES)
  return c
}

/** The longest address: delegated, namespace 2^63 − 1 (nine varint bytes) and a 54-byte subaddress: 64 bytes. */
const LONGEST_ADDRESS = Address.fromBytes(Uint8Array.from([4, ...writeUvarint((1n << 63n) - 1n), ...new Array<number>(54).fill(0xff)]))

/** The largest amount: a big.Int of MAX_BIGINT_BYTES (a sign byte and 127 bytes of magnitude). */
const LARGEST_AMOUNT = (1n << BigInt(8 * (MAX_BIGINT_BYTES - 1))) - 1n

/** The longest peer ID text: an inlined (identity) key of 42 bytes, the most libp2p inlines. */
const LONGEST_PEER_ID = base58btc.baseEncode(Uint8Array.from([0x00, 42, ...new Array<number>(42).fill(0xff)]))

function largestParams (label: DealLabel): DealParams {
  return {
    dealUuid: '9f5c0a3e-6b1d-4e2f-8a7b-0c1d2e3f4a5b',
    transfer: { type: 'libp2p', clientId: 'c'.repeat(MAX_STRING_LENGTH), params: new TextEncoder().encode('{}'), size: Number.MAX_SAFE_INTEGER },
    isOffline: false,
    dealDataRoot: longestCid(),
    skipIpniAnnounce: true,
    removeUnsealedCopy: true,
    clientDealProposal: {
      proposal: {
        pieceCid: longestCid(),
        pieceSize: 2 ** 36,
        verifiedDeal: true,
        client: LONGEST_ADDRESS,
        provider: Address.fromBytes(Uint8Array.from([0, ...writeUvarint((1n << 63n) - 1n)])),
        label,
        startEpoch: Number.MAX_SAFE_INTEGER - 1,
        endEpoch: Number.MAX_SAFE_INTEGER,
        storagePricePerEpoch: LARGEST_AMOUNT,
        providerCollateral: LARGEST_AMOUNT,
        clientCollateral: LARGEST_AMOUNT
      },
      clientSignature: { type: 3, data: new Uint8Array(MAX_SIGNATURE_BYTES - 1).fill(7) }
    }
  }
}
