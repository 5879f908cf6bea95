/**
 * Building a deal proposal the way `boost deal` does: DealProposal from the flags, signed by the
 * client's wallet key over its CBOR, wrapped into DealParams with the transfer. Pure.
 */
import { randomUUID } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { Address } from '../filecoin/address.ts'
import type { PrivateKey } from '../filecoin/keys.ts'
import { signProposal } from '../protocol/proposal.ts'
import type { DealLabel, DealParams, DealProposal, Transfer } from '../protocol/types.ts'

export interface ProposalOptions {
  key: PrivateKey
  /** Miner address (f0…). */
  provider: string
  pieceCid: string
  /** Padded piece size. */
  pieceSize: number
  /** Payload root CID; also the default label, as boost deal does. */
  payloadCid: string
  startEpoch: number
  /** Default 518400 (180 days, the minimum). */
  duration?: number
  /** attoFIL per epoch for the whole piece. */
  storagePrice?: bigint
  providerCollateral?: bigint
  clientCollateral?: bigint
  verified?: boolean
  label?: DealLabel
  /** Client address to put in the proposal (default the key's address; an ID address also works). */
  client?: string
  dealUuid?: string
  /** Online: the HTTP URL (and headers) the provider downloads from, and the CAR size. */
  http?: { url: string, headers?: Record<string, string>, size: number }
  skipIpniAnnounce?: boolean
  removeUnsealedCopy?: boolean
  clientId?: string
}

/** The zero Transfer boost's client sends for offline deals. */
export const OFFLINE_TRANSFER: Transfer = { type: '', clientId: '', params: new Uint8Array(0), size: 0 }

export function buildProposal (o: ProposalOptions): DealProposal {
  return {
    pieceCid: CID.parse(o.pieceCid),
    pieceSize: o.pieceSize,
    verifiedDeal: o.verified ?? false,
    client: Address.fromString(o.client ?? o.key.address.toString()),
    provider: Address.fromString(o.provider),
    label: o.label ?? { kind: 'string', value: o.payloadCid },
    startEpoch: o.startEpoch,
    endEpoch: o.startEpoch + (o.duration ?? 518_400),
    storagePricePerEpoch: o.storagePrice ?? 0n,
    providerCollateral: o.providerCollateral ?? 0n,
    clientCollateral: o.clientCollateral ?? 0n
  }
}

/** Signed DealParams ready for mk/1.2.x. */
export function buildDealParams (o: ProposalOptions): DealParams {
  const transfer: Transfer = o.http === undefined
    ? OFFLINE_TRANSFER
    : {
        type: 'http',
        clientId: o.clientId ?? '',
        // Go's json.Marshal of transport types.HttpRequest: {"URL":…,"Headers":…}.
        params: new TextEncoder().encode(JSON.stringify({ URL: o.http.url, Headers: o.http.headers ?? null })),
        size: o.http.size
      }
  return {
    dealUuid: o.dealUuid ?? randomUUID(),
    transfer,
    isOffline: o.http === undefined,
    dealDataRoot: CID.parse(o.payloadCid),
    skipIpniAnnounce: o.skipIpniAnnounce ?? false,
    clientDealProposal: signProposal(buildProposal(o), o.key),
    removeUnsealedCopy: o.removeUnsealedCopy ?? false
  }
}
