import type { CID } from 'multiformats/cid'
import type { Address } from '../filecoin/address.ts'
import type { Signature } from '../filecoin/signature.ts'

/*
 * Boost's deal-protocol messages as TypeScript values. Names are camelCase versions of the Go
 * fields; error paths use the Go names. Number choices (documented once, here):
 *  - sizes, epochs, deal IDs, sequence numbers are `number`: every real value fits in 2^53-1 and
 *    the decoders reject larger ones with a field-named error (boost would accept up to 2^64-1);
 *  - token amounts (attoFIL) are `bigint`;
 *  - a UUID is its canonical lowercase 8-4-4-4-12 string.
 */

/** market.DealLabel: the kind (text vs bytes) is part of the signed bytes, so it is kept. */
export type DealLabel = { kind: 'string', value: string } | { kind: 'bytes', value: Uint8Array }

/** go-state-types builtin/v9/market.DealProposal (11-tuple). */
export interface DealProposal {
  pieceCid: CID
  /** Padded piece size in bytes. */
  pieceSize: number
  verifiedDeal: boolean
  client: Address
  provider: Address
  label: DealLabel
  startEpoch: number
  endEpoch: number
  storagePricePerEpoch: bigint
  providerCollateral: bigint
  clientCollateral: bigint
}

/** market.ClientDealProposal (2-tuple): the client signs the CBOR of `proposal`. */
export interface ClientDealProposal { proposal: DealProposal, clientSignature: Signature }

/** boost types.Transfer. Offline deals carry the zero value (size 0, empty strings and params). */
export interface Transfer {
  /** "http" or "libp2p" for online deals, "" for offline. */
  type: string
  clientId: string
  /** JSON {"URL": …, "Headers": {…}} for online deals. */
  params: Uint8Array
  /** Bytes to download (the CAR size), not the padded piece size. */
  size: number
}

/** boost types.DealParams (mk/1.2.1; mk/1.2.0 lacks the last two booleans, which decode as false). */
export interface DealParams {
  dealUuid: string
  transfer: Transfer
  isOffline: boolean
  dealDataRoot: CID
  skipIpniAnnounce: boolean
  clientDealProposal: ClientDealProposal
  removeUnsealedCopy: boolean
}

export interface DealResponse { accepted: boolean, message: string }

/** The client signs the 16 raw UUID bytes. */
export interface DealStatusRequest { dealUuid: string, signature: Signature }

export interface DealStatus {
  error: string
  /** Checkpoint name: Accepted, Transferred, Published, PublishConfirmed, AddedPiece, IndexedAndAnnounced, Complete. */
  status: string
  sealingStatus: string
  proposal: DealProposal
  signedProposalCid: CID
  publishCid: CID | null
  chainDealId: number
}

export interface DealStatusResponse {
  dealUuid: string
  error: string
  dealStatus: DealStatus | null
  isOffline: boolean
  transferSize: number
  nBytesReceived: number
}

/** legacytypes.StorageAsk (the 8-field ask served on /fil/storage/ask/1.1.0). */
export interface StorageAsk {
  /** attoFIL per GiB per epoch. */
  price: bigint
  verifiedPrice: bigint
  minPieceSize: number
  maxPieceSize: number
  miner: Address
  timestamp: number
  expiry: number
  seqNo: number
}

export interface SignedStorageAsk { ask: StorageAsk | null, signature: Signature | null }
export interface AskRequest { miner: Address }
export interface AskResponse { ask: SignedStorageAsk | null }

/** retrievalmarket/types QueryResponse: addresses are binary multiaddrs. */
export interface TransportProtocol { name: string, addresses: Uint8Array[] }
export interface TransportsQueryResponse { protocols: TransportProtocol[] }

export interface DecodeOptions {
  /** Largest accepted input; defaults to DEFAULT_MAX_MESSAGE_BYTES. */
  maxBytes?: number
}
