/**
 * The Lotus API types the deal engine uses, in TypeScript form: token amounts are bigint, epochs
 * and sizes number, CIDs and addresses string, byte slices Uint8Array.
 */
import type { TipSetKey } from './json.ts'
import type { Signature } from '../filecoin/signature.ts'

export type { TipSetKey }

export interface TipSet {
  key: TipSetKey
  height: number
  /** Unix seconds of the first block. */
  timestamp: number
  /** Miner address of each block. */
  miners: string[]
}

export interface MinerInfo {
  owner: string
  worker: string
  newWorker: string | null
  controlAddresses: string[]
  workerChangeEpoch: number
  peerId: string | null
  /** Binary multiaddrs, as stored on chain. */
  multiaddrs: Uint8Array[]
  windowPoStProofType: number
  sectorSize: number
  beneficiary: string | null
}

export interface MarketBalance { escrow: bigint, locked: bigint }

export interface CollateralBounds { min: bigint, max: bigint }

/** crypto.Signature, as Lotus's JSON carries it (Type 1 secp256k1, 2 BLS, 3 delegated). */
export type { Signature }

/** types.Message. Nonce 0 and zero gas fields are filled by MpoolPushMessage. */
export interface Message {
  version: number
  to: string
  from: string
  nonce: number
  value: bigint
  gasLimit: number
  gasFeeCap: bigint
  gasPremium: bigint
  method: number
  params: Uint8Array | null
}

/** What a caller gives MpoolPushMessage: the rest defaults to 0 / empty. */
export type UnsignedMessage = Pick<Message, 'to' | 'from' | 'method'> & Partial<Message>

export interface SignedMessage {
  message: Message
  signature: Signature
  /** The chain CID (differs from the message CID for secp256k1 senders): wait on this one. */
  cid: string
}

export interface MessageSendSpec {
  maxFee?: bigint
  /** Persist before the call and reuse on every retry: Lotus then returns the same message. */
  msgUuid?: string
  maximizeFeeCap?: boolean
}

export interface MessageReceipt {
  exitCode: number
  return: Uint8Array | null
  gasUsed: number
  eventsRoot: string | null
}

/**
 * api.InvocResult, what StateCall answers: the message applied to the tipset's parent state and not
 * sent. An actor's failure is a non-zero exit code with its text in `error`, not an RPC error.
 */
export interface InvocResult {
  msgCid: string | null
  receipt: MessageReceipt
  /** The actor error's text ("" when the exit code is 0). */
  error: string
}

export interface MsgLookup {
  /** The executed message's CID (a replacement's, if the message was repriced). */
  message: string
  receipt: MessageReceipt
  /** The decoded return value (StateWaitMsg only), as Lotus's JSON. */
  returnDec: unknown
  tipSet: TipSetKey
  height: number
}

export interface DealProposal {
  pieceCid: string
  /** Padded piece size. */
  pieceSize: number
  verifiedDeal: boolean
  client: string
  provider: string
  /** Lotus JSON carries labels as strings only (a bytes label reads back as ""). */
  label: string
  startEpoch: number
  endEpoch: number
  storagePricePerEpoch: bigint
  providerCollateral: bigint
  clientCollateral: bigint
}

export interface MarketDealState {
  sectorNumber: number
  /** -1 until the deal's sector is proven. */
  sectorStartEpoch: number
  lastUpdatedEpoch: number
  slashEpoch: number
}

export interface MarketDeal { proposal: DealProposal, state: MarketDealState }

export interface ApiVersion { version: string, apiVersion: number, blockDelay: number }

// --- miner ---

export interface VerifiedAllocationKey { client: number, id: number }
export interface DataActivationNotification { address: string, payload: Uint8Array }

/** Direct data onboarding (DDO) piece description. */
export interface PieceActivationManifest {
  cid: string
  size: number
  verifiedAllocationKey: VerifiedAllocationKey | null
  notify: DataActivationNotification[] | null
}

/**
 * piece.PieceDealInfo: either a published market deal (publishCid + dealId + dealProposal) or a
 * DDO manifest, never both; dealSchedule always.
 */
export interface PieceDealInfo {
  publishCid: string | null
  dealId: number
  dealProposal: DealProposal | null
  dealSchedule: { startEpoch: number, endEpoch: number }
  pieceActivationManifest?: PieceActivationManifest | null
  keepUnsealed: boolean
}

export interface SectorOffset {
  sector: number
  /** Padded byte offset of the piece in the sector. */
  offset: number
}

export interface SectorPiece {
  pieceCid: string
  size: number
  dealId: number | null
  publishCid: string | null
}

export interface SectorLog { kind: string, timestamp: number, trace: string, message: string }

export interface SectorInfo {
  sectorId: number
  /** lotus sector state name: WaitDeals, Packing, ..., Proving, or a *Failed state. */
  state: string
  deals: number[]
  pieces: SectorPiece[]
  commD: string | null
  commR: string | null
  lastErr: string
  activation: number
  expiration: number
  log: SectorLog[]
}

export interface PieceInfo { size: number, pieceCid: string }
