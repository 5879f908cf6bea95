/** Small builders for test objects (cert-manager's `gen` style): valid by default, tweak per test. */
import { randomUUID } from 'node:crypto'
import type { StorageDeal, StorageDealSpec, StorageProvider } from '../../src/api/index.ts'

export function dealSpec (overrides: Partial<StorageDealSpec> = {}): StorageDealSpec {
  const uuid = overrides.dealUuid ?? randomUUID()
  return {
    provider: 'f01000',
    dealUuid: uuid,
    protocol: '/fil/storage/mk/1.2.1',
    clientPeerId: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN',
    proposal: {
      pieceCid: 'baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq',
      pieceSize: 2048,
      verifiedDeal: false,
      client: 'f1xcbgdhkgkwht3hrrnui3jdopeejsoas2rujnkdi',
      provider: 'f01000',
      label: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
      labelEncoding: 'string',
      startEpoch: 10000,
      endEpoch: 600000,
      storagePricePerEpoch: '0',
      providerCollateral: '0',
      clientCollateral: '0'
    },
    clientSignature: { type: 'secp256k1', data: Buffer.alloc(65, 1).toString('base64') },
    signedProposalCid: 'bafyreib6cjw3cnvq4hrfn7itbmw5ymuxdbqwdkpo6jzwxo2l7u2yr3cqmu',
    proposalCid: 'bafy2bzacecpi4kpm6ex3ajxqv5wm3tzmvgclxusc6w7hfobfa6fpmfaaz7ive',
    dealDataRoot: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
    isOffline: false,
    skipIpniAnnounce: false,
    removeUnsealedCopy: false,
    transfer: { type: 'http', size: 1900, paramsSecretRef: { name: `${uuid}-transfer` } },
    ...overrides
  }
}

export function storageDeal (namespace: string, overrides: Partial<StorageDealSpec> = {}): StorageDeal {
  const spec = dealSpec(overrides)
  return { apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageDeal', metadata: { name: spec.dealUuid, namespace }, spec }
}

/** A StorageProvider for miner f01000 with Lotus endpoints that need not answer, and its allowed transfer CIDRs. */
export function storageProvider (name: string, allowCidrs: string[] = []): StorageProvider {
  return {
    apiVersion: 'dealyard.io/v1alpha1',
    kind: 'StorageProvider',
    metadata: { name, uid: `${name}-uid`, generation: 1 },
    spec: {
      address: 'f01000',
      lotus: { fullNode: { url: 'http://127.0.0.1:9/rpc/v1' }, miner: { url: 'http://127.0.0.1:9/rpc/v0' } },
      dealPolicy: { transferHosts: { allowCidrs } },
      fundLedger: 'f',
      storageLedger: 's'
    }
  } as StorageProvider
}
