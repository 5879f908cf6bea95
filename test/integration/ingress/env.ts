/**
 * One ingress test environment: a namespace on the shared control plane, the Lotus peer, a
 * StorageProvider for its miner (token in a Secret), a funded client, the ingress, and a libp2p
 * client node. Tests create deals through the real protocols and read the cluster back.
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey as Libp2pKey } from '@libp2p/interface'
import { KubeConfig } from '@kubernetes/client-node'
import { FundLedgers, LOTUS_TOKEN_LABEL, StorageLedgers, StorageProviders } from '../../../src/api/index.ts'
import type { StorageProvider } from '../../../src/api/index.ts'
import { Core, KubeRest, type KubeObject } from '../../../src/kube/rest.ts'
import { generateKey, type PrivateKey } from '../../../src/filecoin/keys.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { startIngress, type Ingress, type IngressOptions } from '../../../src/ingress/index.ts'
import { keySigner } from '../../../src/ingress/ask.ts'
import { buildDealParams, type ProposalOptions } from '../../../src/client/proposal.ts'
import { createClientNode, type DealClientNode } from '../../../src/client/net.ts'
import { FullNodeClient } from '../../../src/lotus/index.ts'
import { testKube } from '../../support/kube.ts'
import { startLotusPeer, type LotusPeer } from '../../support/lotus-peer.ts'

export const FIL = 10n ** 18n
export const ROOT = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
export const SEAL_EPOCHS = 20

export interface Env {
  rest: KubeRest
  kc: KubeConfig
  namespace: string
  peer: LotusPeer
  full: FullNodeClient
  sp: StorageProvider
  /** The provider's FundLedger and StorageLedger (names), and the publish wallet. */
  ledgers: { funds: string, staging: string, publishWallet: string }
  client: { key: PrivateKey, address: string, id: string }
  askKey: PrivateKey
  identity: Libp2pKey
  ingress: Ingress
  node: DealClientNode
  addr: string
  /** A valid signed proposal (online unless http: undefined) starting SEAL_EPOCHS + 10 after the head. */
  params (o?: Partial<ProposalOptions>): Promise<ReturnType<typeof buildDealParams>>
  startReplica (o?: Partial<IngressOptions>): Promise<Ingress>
  close (): Promise<void>
}

/** The label of a test file's StorageProviders; its ingress serves only those. */
export const ENV_LABEL = 'dealyard.io/test-env'

export const randomPiece = (): string => pieceCidFromCommP(new Uint8Array(randomBytes(32))).toString()

export async function startEnv (file: string, o: Partial<IngressOptions> = {}): Promise<Env> {
  const k = await testKube(file)
  const { rest, namespace } = k
  const kc = rest.kc
  // StorageProviders are cluster-scoped and every ingress sees them all: a miner ID of its own per file.
  const peer = await startLotusPeer({ blockTimeMs: 400, minerId: 10_000 + Math.floor(Math.random() * 1_000_000) })
  const full = new FullNodeClient(peer.fullNode)
  const key = generateKey('secp256k1')
  const publishWallet = generateKey('secp256k1').address.toString('t')
  const seeded = await peer.seed({
    accounts: [{ address: key.address.toString('t'), balance: 100n * FIL, escrow: 10n * FIL }, { address: publishWallet, balance: 100n * FIL }],
    minerEscrow: 100n * FIL
  })
  const client = { key, address: key.address.toString('t'), id: seeded.accounts[0]!.id }
  await rest.create(Core.secrets, namespace, {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lotus-token', labels: { [LOTUS_TOKEN_LABEL]: 'true' } }, stringData: { token: peer.fullNode.token ?? '' }
  } as unknown as KubeObject)
  const spName = `${namespace}-sp`
  const sp = await rest.create<StorageProvider & KubeObject>(StorageProviders, undefined, {
    apiVersion: 'dealyard.io/v1alpha1',
    kind: 'StorageProvider',
    metadata: { name: spName, labels: { [ENV_LABEL]: namespace } },
    spec: {
      address: peer.minerAddress,
      lotus: {
        fullNode: { url: peer.fullNode.url, tokenSecretRef: { namespace, name: 'lotus-token', key: 'token' } },
        miner: { url: peer.miner.url }
      },
      ask: { price: '0', verifiedPrice: '0', minPieceSize: 256, maxPieceSize: 1 << 30, seqNo: 3, expiryEpochs: 1000 },
      dealPolicy: { expectedSealDurationEpochs: SEAL_EPOCHS, transferTypes: ['http'] },
      fundLedger: `${spName}-funds`,
      storageLedger: `${spName}-staging`
    }
  } as StorageProvider & KubeObject)
  // Cluster-scoped like the provider; generous, so only the tests that mean to run out do.
  const ledgers = { funds: `${spName}-funds`, staging: `${spName}-staging`, publishWallet }
  await rest.create(FundLedgers, undefined, {
    apiVersion: 'dealyard.io/v1alpha1', kind: 'FundLedger', metadata: { name: ledgers.funds },
    spec: { escrowAddress: peer.minerAddress, publishWallet }
  } as unknown as KubeObject)
  await rest.create(StorageLedgers, undefined, {
    apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageLedger', metadata: { name: ledgers.staging },
    spec: { capacityBytes: 2 ** 40 }
  } as unknown as KubeObject)
  const askKey = generateKey('secp256k1')
  const identity = await generateKeyPair('Ed25519')
  const start = async (extra: Partial<IngressOptions> = {}): Promise<Ingress> => await startIngress({
    kubeConfig: kc,
    namespace,
    privateKey: identity,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    askSigner: keySigner(askKey),
    allowCidrs: ['127.0.0.0/8'],
    metricsAddr: '127.0.0.1:0',
    // Every test file's ingress runs on the shared control plane, and would otherwise serve (and
    // write the status of) every file's StorageProviders.
    providerSelector: `${ENV_LABEL}=${namespace}`,
    providerStatus: { intervalMs: 2_000, lease: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 } },
    ...o,
    ...extra
  })
  const ingress = await start()
  const node = await createClientNode()
  const replicas: Ingress[] = []
  return {
    rest, kc, namespace, peer, full, sp, ledgers, client, askKey, identity, ingress, node,
    addr: ingress.host.addresses()[0]!,
    params: async (p = {}) => {
      const head = (await full.chainHead()).height
      return buildDealParams({
        key,
        provider: peer.minerAddress,
        pieceCid: randomPiece(),
        pieceSize: 2048,
        payloadCid: ROOT,
        startEpoch: head + SEAL_EPOCHS + 10,
        storagePrice: 10n,
        providerCollateral: 2000n,
        http: { url: 'http://127.0.0.1:9/data.car', size: 1900 },
        ...p
      })
    },
    startReplica: async (extra = {}) => {
      const r = await start(extra)
      replicas.push(r)
      return r
    },
    close: async () => {
      await node.stop()
      for (const r of replicas) await r.stop()
      await ingress.stop()
      await peer.stop()
      await rest.delete(StorageProviders, undefined, spName).catch(() => {})
      await rest.delete(FundLedgers, undefined, ledgers.funds).catch(() => {})
      await rest.delete(StorageLedgers, undefined, ledgers.staging).catch(() => {})
      await k.cleanup()
    }
  }
}
