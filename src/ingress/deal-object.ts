/**
 * An accepted proposal as a StorageDeal resource, and back: the spec keeps the proposal field for
 * field (label kind included) so the status protocol can send the exact DealProposal again.
 */
import { parseCidAnyBase } from '../filecoin/cid.ts'
import { API_VERSION } from '../api/common.ts'
import type { StorageDeal, StorageDealSpec } from '../api/types.generated.ts'
import { Address, type Network } from '../filecoin/address.ts'
import type { Signature } from '../filecoin/signature.ts'
import { proposalCid, signedProposalCid } from '../protocol/proposal.ts'
import { addressString } from '../policy/admission.ts'
import type { DealParams, DealProposal } from '../protocol/types.ts'

export const LABELS = {
  signedProposalCid: 'dealyard.io/signed-proposal-cid',
  provider: 'dealyard.io/provider',
  deal: 'dealyard.io/deal-uuid'
} as const

/** The key of the transfer params JSON in the deal's Secret. */
export const PARAMS_KEY = 'params.json'

export const paramsSecretName = (dealUuid: string): string => `${dealUuid}-transfer`

/**
 * A deal's params Secret, owned by the deal (by uid): the only Secret the ingress writes. The
 * chart's admission policy (ingress.writeGuard) lets the ingress create nothing else, by this
 * shape (Opaque, the name, the deal label, the StorageDeal owner); its test builds the Secret here.
 */
export interface ParamsSecret {
  apiVersion: 'v1'
  kind: 'Secret'
  type: 'Opaque'
  metadata: { name: string, namespace: string, labels: Record<string, string>, ownerReferences: Array<{ apiVersion: string, kind: string, name: string, uid: string, controller: boolean }> }
  data: Record<string, string>
}

export function paramsSecret (deal: { apiVersion: string, name: string, uid: string }, namespace: string, params: Uint8Array): ParamsSecret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: paramsSecretName(deal.name),
      namespace,
      labels: { [LABELS.deal]: deal.name },
      ownerReferences: [{ apiVersion: deal.apiVersion, kind: 'StorageDeal', name: deal.name, uid: deal.uid, controller: true }]
    },
    data: { [PARAMS_KEY]: Buffer.from(params).toString('base64') }
  }
}

const SIG_TYPES = { 1: 'secp256k1', 2: 'bls', 3: 'delegated' } as const
const SIG_CODES = { secp256k1: 1, bls: 2, delegated: 3 } as const

export interface DealContext {
  namespace: string
  /** StorageProvider resource name. */
  provider: string
  protocol: '/fil/storage/mk/1.2.0' | '/fil/storage/mk/1.2.1'
  clientPeerId: string
  /** The signed proposal CID when the caller has it already (it costs an encode and a hash). */
  signedProposalCid?: string
  /** The letter the chain prints addresses with (default f): a testnet's deals read t…, as its StorageProviders and Lotus do. */
  network?: Network
}

export function dealObject (params: DealParams, ctx: DealContext): StorageDeal {
  const cdp = params.clientDealProposal
  const p = cdp.proposal
  const spc = ctx.signedProposalCid ?? signedProposalCid(cdp).toString()
  const spec: StorageDealSpec = {
    provider: ctx.provider,
    dealUuid: params.dealUuid,
    protocol: ctx.protocol,
    clientPeerId: ctx.clientPeerId,
    proposal: {
      pieceCid: p.pieceCid.toString(),
      pieceSize: p.pieceSize,
      verifiedDeal: p.verifiedDeal,
      client: addressString(p.client, ctx.network),
      provider: addressString(p.provider, ctx.network),
      label: p.label.kind === 'string' ? p.label.value : Buffer.from(p.label.value).toString('base64'),
      labelEncoding: p.label.kind,
      startEpoch: p.startEpoch,
      endEpoch: p.endEpoch,
      storagePricePerEpoch: p.storagePricePerEpoch.toString(),
      providerCollateral: p.providerCollateral.toString(),
      clientCollateral: p.clientCollateral.toString()
    },
    clientSignature: { type: SIG_TYPES[cdp.clientSignature.type], data: Buffer.from(cdp.clientSignature.data).toString('base64') },
    signedProposalCid: spc,
    proposalCid: proposalCid(p).toString(),
    dealDataRoot: params.dealDataRoot.toString(),
    isOffline: params.isOffline,
    skipIpniAnnounce: params.skipIpniAnnounce,
    removeUnsealedCopy: params.removeUnsealedCopy,
    // An offline deal keeps the size and ID its client declared (Singularity sends the file's size;
    // boost stores the transfer as sent and reports its size in the status protocol), but no type
    // or params: nothing is downloaded.
    transfer: params.isOffline
      ? { type: '', size: params.transfer.size, ...clientIdOf(params) }
      : {
          type: params.transfer.type as 'http' | 'libp2p',
          size: params.transfer.size,
          ...clientIdOf(params),
          paramsSecretRef: { name: paramsSecretName(params.dealUuid) }
        }
  }
  return {
    apiVersion: API_VERSION,
    kind: 'StorageDeal',
    metadata: {
      name: params.dealUuid,
      namespace: ctx.namespace,
      labels: { [LABELS.signedProposalCid]: spc, [LABELS.provider]: ctx.provider }
    },
    spec
  }
}

const clientIdOf = (params: DealParams): { clientId?: string } =>
  params.transfer.clientId !== '' ? { clientId: params.transfer.clientId.slice(0, 256) } : {}

/** The DealProposal a StorageDeal was made from (byte-identical when re-encoded). */
export function proposalOf (spec: StorageDealSpec): DealProposal {
  const p = spec.proposal
  return {
    pieceCid: parseCidAnyBase(p.pieceCid),
    pieceSize: p.pieceSize,
    verifiedDeal: p.verifiedDeal,
    client: Address.fromString(p.client),
    provider: Address.fromString(p.provider),
    label: p.labelEncoding === 'bytes' ? { kind: 'bytes', value: Uint8Array.from(Buffer.from(p.label, 'base64')) } : { kind: 'string', value: p.label },
    startEpoch: p.startEpoch,
    endEpoch: p.endEpoch,
    storagePricePerEpoch: BigInt(p.storagePricePerEpoch),
    providerCollateral: BigInt(p.providerCollateral),
    clientCollateral: BigInt(p.clientCollateral)
  }
}

export function signatureOf (spec: StorageDealSpec): Signature {
  return { type: SIG_CODES[spec.clientSignature.type], data: Uint8Array.from(Buffer.from(spec.clientSignature.data, 'base64')) }
}
