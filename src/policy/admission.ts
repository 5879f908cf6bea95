/**
 * The admission input and the chain that evaluates it. The ingress gathers everything a decision
 * needs first (chain facts from a TTL cache, the StorageProvider's terms, earlier deals from the
 * informer cache); the checks in checks.ts are pure functions of that input, run in boost's order,
 * and the first violation wins (cert-manager's policy chain shape).
 */
import type { Address, Network } from '../filecoin/address.ts'
import type { DealParams } from '../protocol/types.ts'
import type { CompiledPolicy } from './transfer-host.ts'

/** A chain read that may have failed: the failure only matters if a check reaches it, as in boost. */
export type Fact<T> = { ok: true, value: T } | { ok: false, error: string }

export const fact = <T>(value: T): Fact<T> => ({ ok: true, value })
export const failedFact = <T>(error: string): Fact<T> => ({ ok: false, error })

/** What the client actor answered AuthenticateMessage with (StateCall's receipt). */
export interface Authentication {
  /** 0: authenticated (boost looks at nothing else, not even the return value). */
  exitCode: number
  /** The actor's error text, for the operator's log. */
  error: string
  /** What the actor returned (CBOR; null for nothing): the market actor publishes only on `true`. */
  returned: Uint8Array | null
}

export interface ChainFacts {
  /** ChainHead height. */
  head: Fact<number>
  /** StateAccountKey(proposal.Client): the key address the signature must verify against. */
  clientKey: Fact<Address>
  /** StateDealProviderCollateralBounds(PieceSize, VerifiedDeal). */
  collateralBounds: Fact<{ min: bigint, max: bigint }>
  /** StateMarketBalance(proposal.Client). */
  clientBalance: Fact<{ escrow: bigint, locked: bigint }>
  /** StateVerifiedClientStatus(proposal.Client): null = not a verified client. Read for verified deals only. */
  datacap?: Fact<bigint | null>
  /**
   * StateLookupID(proposal.Client) for a client proposing with its key address: read only when the
   * provider's client lists name ID addresses, so an ID entry matches the same client's key address.
   */
  clientId?: Fact<Address>
  /**
   * Delegated (f4) account keys only: StateCall of AuthenticateMessage on the client's key address
   * with the signature's data and the proposal's CBOR, from f05 (boost's verifyContractSignature).
   */
  clientAuthentication?: Fact<Authentication>
  /**
   * The letter rejection texts print addresses with, as boost prints them on this chain (see
   * ChainReader.addressNetwork); 'f' when it could not be read (only the texts depend on it).
   */
  network?: Network
  /** Whether the proposal's miner is on chain (see ChainReader.minerExists); a failed read decides nothing. */
  minerExists?: Fact<boolean>
}

/** A StorageProvider's spec with every default filled in (see terms.ts). */
export interface ProviderTerms {
  /** StorageProvider resource name. */
  name: string
  address: Address
  paused: boolean
  ask: { price: bigint, verifiedPrice: bigint, minPieceSize: number, maxPieceSize: number }
  acceptOnline: boolean
  acceptOffline: boolean
  acceptVerified: boolean
  acceptUnverified: boolean
  expectedSealDurationEpochs: number
  maxStartDelayEpochs: number
  maxProviderCollateralMultiplier: number
  /** 0 = no limit beyond the ask's maximum piece size. */
  maxTransferSize: number
  transferTypes: readonly string[]
  /** Addresses without their network letter (f/t), so f0100 and t0100 match. */
  clientsAllow: ReadonlySet<string>
  clientsDeny: ReadonlySet<string>
  /** Some entry of the client lists is an ID address (f0…): a key-address client's ID is looked up. */
  clientListsNameIds: boolean
  pieceCidBlocklist: ReadonlySet<string>
  transferHosts: CompiledPolicy
}

/**
 * The provider's funds (boost's fund manager), read for online deals: the FundLedger's escrow and
 * publish wallet from the chain, and what accepted deals hold of them (holdings.ts).
 */
export interface FundsPosition {
  /** FundLedger name. */
  ledger: string
  /** StateMarketBalance(escrowAddress): escrow − locked. */
  escrowAvailable: bigint
  /** WalletBalance(publishWallet). */
  publishBalance: bigint
  /** Escrow never used for deals (spec.reserve). */
  reserve: bigint
  publishBudgetPerDeal: bigint
  held: { collateral: bigint, publishes: number }
}

/** The staging volume (boost's storage manager), read for online deals. */
export interface StagingPosition {
  /** StorageLedger name. */
  ledger: string
  /** 0 = no limit (boost's MaxStagingDealsBytes). */
  capacityBytes: number
  reserveBytes: number
  heldBytes: number
}

/** An earlier deal the proposal collides with. */
export interface PriorDeal { dealUuid: string, createdAt: Date }

export interface AdmissionInput {
  params: DealParams
  provider: ProviderTerms
  chain: ChainFacts
  /** An existing deal with the same signed proposal CID (boost's "identical" check). */
  identicalTo?: PriorDeal
  /** An existing deal with the same UUID (the create call is the atomic check; this is the fast path). */
  sameUuidAs?: PriorDeal
  /** Online deals: the provider's funds (boost tags them last, after the deal filter). */
  funds?: Fact<FundsPosition>
  /** Online deals: the staging volume. */
  staging?: Fact<StagingPosition>
}

/**
 * Why a proposal was refused. `message` is the exact text the client receives (boost's wording where
 * boost has the check); `reason` is a stable CamelCase word for metrics and logs.
 */
export interface Violation {
  stage: 'validation' | 'acceptance' | 'filter' | 'policy'
  reason: string
  message: string
  /** For the provider's operator (logs), where the client's text is deliberately terse, as boost's is. */
  detail?: string
}

export type Check = (input: AdmissionInput) => Violation | undefined

/** Runs checks in order; the first violation wins. */
export function evaluate (chain: readonly Check[], input: AdmissionInput): Violation | undefined {
  for (const check of chain) {
    const v = check(input)
    if (v !== undefined) return v
  }
  return undefined
}

const strings = new WeakMap<Address, string>()

/**
 * `a.toString(network)`, the f form computed once per Address object: the string carries a
 * checksum, so every conversion hashes, and one proposal's client and provider are converted
 * several times. Only the letter differs between networks.
 */
export function addressString (a: Address, network: Network = 'f'): string {
  let s = strings.get(a)
  if (s === undefined) {
    s = a.toString()
    strings.set(a, s)
  }
  return network === 'f' ? s : network + s.slice(1)
}

/** An address without its network letter: what allow/deny lists and provider matching compare. */
export function addressKey (a: Address | string): string {
  const s = typeof a === 'string' ? a : addressString(a)
  return s.slice(1)
}
