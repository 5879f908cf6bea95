/**
 * Every check boost makes on a deal proposal, in boost's order and with boost's texts
 * (boost-protocol spec §7: storagemarket/deal_acceptance.go, provider_loop.go,
 * node/modules/dealfilter.go), then the StorageProvider's own policy. Pure functions of the
 * AdmissionInput; chain reads arrive as Facts so a failed read only matters when a check needs it.
 */
import { isPieceCid } from '../filecoin/cid.ts'
import { verifyProposalSignature } from '../protocol/proposal.ts'
import { addressKey, type AdmissionInput, type Check, type Fact, type PriorDeal, type Violation } from './admission.ts'
import { checkTransferAddress, parseIp } from './transfer-host.ts'
import { goHostname, goPort, parseGoUrl } from './go-url.ts'
import { httpRequestOf } from './http-request.ts'
import { goMaurlHost, parseGoMultiaddr } from './go-multiaddr.ts'

/** Actors v12 market.DealDurationBounds and miner.MaxSectorExpirationExtension (epochs). */
export const DEAL_MIN_DURATION = 518_400
export const DEAL_MAX_DURATION = 3_680_640
export const MAX_SECTOR_EXPIRATION_EXTENSION = 3_680_640
/** DealLabel business limit (market.DealMaxLabelSize). */
export const DEAL_MAX_LABEL_SIZE = 256
const GIB = 1n << 30n

/** Stage A: boost prefixes every reason with this (ExecuteDeal). */
export const VALIDATION_PREFIX = 'failed validation: '

const A = (reason: string, message: string, detail?: string): Violation => ({ stage: 'validation', reason, message: VALIDATION_PREFIX + message, ...(detail !== undefined ? { detail } : {}) })
/** The cause of a failed chain read, for the operator's log (the client hears boost's terse text). */
const cause = (what: string, f: Fact<unknown>): string | undefined => f.ok ? undefined : `${what}: ${f.error}`
const B = (reason: string, message: string): Violation => ({ stage: 'acceptance', reason, message })
const F = (reason: string, message: string): Violation => ({ stage: 'filter', reason, message })
const P = (reason: string, message: string, detail?: string): Violation => ({ stage: 'policy', reason, message, ...(detail !== undefined ? { detail } : {}) })

const prop = (i: AdmissionInput): AdmissionInput['params']['clientDealProposal']['proposal'] => i.params.clientDealProposal.proposal

// ---- Stage A: validateDealProposal -------------------------------------------------------------

/** A1: the chain head is needed by later checks. */
export const chainHead: Check = (i) => i.chain.head.ok ? undefined : A('ChainHeadUnavailable', 'server error: getting chain head', cause('ChainHead', i.chain.head))

/** A2: a CID that decoded is always defined; kept so the chain mirrors boost's list. */
export const pieceCidDefined: Check = (i) => prop(i).pieceCid == null ? A('PieceCidUndefined', 'proposal PieceCID undefined') : undefined

/**
 * A3: the client's signature over the re-encoded proposal, against StateAccountKey(Client). Boost's
 * verifier returns (err == nil, err), so a bad secp256k1/BLS signature takes the error branch:
 * clients see "server error: validating signature" for both a failed lookup and a bad signature.
 * A delegated (f4) key's signature is judged by the client actor (boost's verifyContractSignature):
 * AuthenticateMessage exiting 0 passes, another exit code is boost's "invalid signature", and a
 * StateCall that fails is the error branch again.
 */
export const clientSignature: Check = (i) => {
  const key = i.chain.clientKey
  if (!key.ok) return A('SignatureLookupFailed', 'server error: validating signature', cause('StateAccountKey', key))
  if (key.value.protocol === 4) {
    const auth = i.chain.clientAuthentication
    if (auth === undefined || !auth.ok) {
      return A('AuthenticateMessageFailed', 'server error: validating signature', auth === undefined ? 'AuthenticateMessage was not called' : cause('StateCall', auth))
    }
    if (auth.value.exitCode !== 0) {
      return A('InvalidSignature', 'invalid signature',
        `AuthenticateMessage on ${key.value.toString(i.chain.network)} exited ${auth.value.exitCode}${auth.value.error === '' ? '' : `: ${auth.value.error}`}`)
    }
    return undefined
  }
  if (!verifyProposalSignature(i.params.clientDealProposal, key.value)) return A('InvalidSignature', 'server error: validating signature')
  return undefined
}

/** A4 */
export const correctProvider: Check = (i) => {
  const p = prop(i).provider
  if (addressKey(p) === addressKey(i.provider.address)) return undefined
  const net = i.chain.network
  return A('IncorrectProvider', `incorrect provider for deal; proposal.Provider: ${p.toString(net)}; provider.Address: ${i.provider.address.toString(net)}`)
}

/** A5 */
export const labelSize: Check = (i) => {
  const l = prop(i).label
  const n = l.kind === 'string' ? Buffer.byteLength(l.value, 'utf8') : l.value.length
  return n > DEAL_MAX_LABEL_SIZE ? A('LabelTooLong', `deal label can be at most ${DEAL_MAX_LABEL_SIZE} bytes, is ${n}`) : undefined
}

/** A6: abi.PaddedPieceSize.Validate. */
export const pieceSizeValid: Check = (i) => {
  const s = prop(i).pieceSize
  if (s < 128) return A('InvalidPieceSize', 'proposal piece size is invalid: minimum padded piece size is 128 bytes')
  if (!isPowerOfTwo(s)) return A('InvalidPieceSize', 'proposal piece size is invalid: padded piece size must be a power of 2')
  return undefined
}

/** A7 */
export const pieceCidPrefix: Check = (i) => isPieceCid(prop(i).pieceCid) ? undefined : A('WrongPieceCidPrefix', 'proposal PieceCID had wrong prefix')

/** A8 */
export const endAfterStart: Check = (i) => {
  const p = prop(i)
  return p.endEpoch <= p.startEpoch ? A('EndBeforeStart', `proposal end ${p.endEpoch} before proposal start ${p.startEpoch}`) : undefined
}

/** A9 */
export const startNotElapsed: Check = (i) => {
  const head = headOf(i)
  const start = prop(i).startEpoch
  return head > start ? A('StartEpochElapsed', `deal start epoch ${start} has already elapsed (current epoch: ${head})`) : undefined
}

/** A10 */
export const durationBounds: Check = (i) => {
  const p = prop(i)
  const d = p.endEpoch - p.startEpoch
  if (d < DEAL_MIN_DURATION || d > DEAL_MAX_DURATION) {
    return A('DurationOutOfBounds', `deal duration out of bounds (min, max, provided): ${DEAL_MIN_DURATION}, ${DEAL_MAX_DURATION}, ${d}`)
  }
  return undefined
}

/** A11 */
export const endEpochLimit: Check = (i) => {
  const head = headOf(i)
  const end = prop(i).endEpoch
  if (end > head + MAX_SECTOR_EXPIRATION_EXTENSION) {
    return A('EndEpochTooFar', `invalid deal end epoch ${end}: cannot be more than ${MAX_SECTOR_EXPIRATION_EXTENSION} past current epoch ${head}`)
  }
  return undefined
}

/** A12: within [Min, Min × multiplier] (boost ignores the chain's Max). */
export const providerCollateral: Check = (i) => {
  const b = i.chain.collateralBounds
  if (!b.ok) return A('CollateralBoundsUnavailable', 'server error: getting collateral bounds', cause('StateDealProviderCollateralBounds', b))
  const c = prop(i).providerCollateral
  if (c < b.value.min) return A('CollateralTooLow', `proposed provider collateral ${c} below minimum ${b.value.min}`)
  const max = b.value.min * BigInt(i.provider.maxProviderCollateralMultiplier)
  if (c > max) return A('CollateralTooHigh', `proposed provider collateral ${c} above maximum ${max}`)
  return undefined
}

/** A13: askPrice × PieceSize / 2^30 (integer division); the verified price for verified deals. */
export const priceAtLeastAsk: Check = (i) => {
  const p = prop(i)
  const askPrice = p.verifiedDeal ? i.provider.ask.verifiedPrice : i.provider.ask.price
  const min = askPrice * BigInt(p.pieceSize) / GIB
  if (p.storagePricePerEpoch < min) return A('PriceBelowAsk', `storage price per epoch less than asking price: ${p.storagePricePerEpoch} < ${min}`)
  return undefined
}

/** A14 */
export const pieceSizeAtLeastMin: Check = (i) => {
  const s = prop(i).pieceSize
  const min = i.provider.ask.minPieceSize
  return s < min ? A('PieceTooSmall', `piece size less than minimum required size: ${s} < ${min}`) : undefined
}

/** A15 */
export const pieceSizeAtMostMax: Check = (i) => {
  const s = prop(i).pieceSize
  const max = i.provider.ask.maxPieceSize
  return s > max ? A('PieceTooLarge', `piece size more than maximum allowed size: ${s} > ${max}`) : undefined
}

/** A16: available escrow (escrow − locked) covers client collateral + total storage price. */
export const clientEscrow: Check = (i) => {
  const bal = i.chain.clientBalance
  if (!bal.ok) return A('MarketBalanceUnavailable', 'server error: getting market balance', cause('StateMarketBalance', bal))
  const p = prop(i)
  const available = bal.value.escrow - bal.value.locked
  const required = p.clientCollateral + p.storagePricePerEpoch * BigInt(p.endEpoch - p.startEpoch)
  if (available < required) {
    return A('InsufficientClientFunds', `client available funds in escrow ${available} not enough to meet storage cost for deal ${required}`)
  }
  return undefined
}

/** A17: verified deals need DataCap ≥ PieceSize. */
export const verifiedDatacap: Check = (i) => {
  const p = prop(i)
  if (!p.verifiedDeal) return undefined
  const dc = i.chain.datacap
  if (dc === undefined || !dc.ok) return A('DatacapUnavailable', 'server error: getting verified datacap', dc === undefined ? 'DataCap was not read' : cause('StateVerifiedClientStatus', dc))
  if (dc.value === null) return A('NotVerifiedClient', 'client is not a verified client')
  if (dc.value < BigInt(p.pieceSize)) return A('DatacapTooSmall', `verified deal DataCap ${dc.value} too small for proposed piece size ${p.pieceSize}`)
  return undefined
}

// ---- Stage B: provider run loop -----------------------------------------------------------------

/** B1 (online only): boost's Transfer.Host(): type, Params JSON, URL. */
export const transferHost: Check = (i) => {
  if (i.params.isOffline) return undefined
  const r = transferHostOf(i.params.transfer.type, i.params.transfer.params)
  return 'error' in r ? B('InvalidTransfer', `server error: get deal transfer host: ${r.error}`) : undefined
}

/** boost's B2 and B3 texts; the ingress also answers them when a create finds the deal exists. */
export const identicalProposalMessage = (d: PriorDeal): string => `deal proposal is identical to deal ${d.dealUuid} (proposed at ${goTime(d.createdAt)})`
export const duplicateUuidMessage = (d: PriorDeal): string => `deal has the same uuid as deal ${d.dealUuid} (proposed at ${goTime(d.createdAt)})`

/** B2 */
export const notIdentical: Check = (i) => i.identicalTo === undefined ? undefined : B('IdenticalProposal', identicalProposalMessage(i.identicalTo))

/** B3 */
export const uniqueUuid: Check = (i) => i.sameUuidAs === undefined ? undefined : B('DuplicateUuid', duplicateUuidMessage(i.sameUuidAs))

// ---- Deal filter (BasicDealFilter F1–F7) --------------------------------------------------------

export const onlineAccepted: Check = (i) => !i.params.isOffline && !i.provider.acceptOnline ? F('OnlineDealsOff', 'miner is not considering online storage deals') : undefined
export const offlineAccepted: Check = (i) => i.params.isOffline && !i.provider.acceptOffline ? F('OfflineDealsOff', 'miner is not accepting offline storage deals') : undefined
export const verifiedAccepted: Check = (i) => prop(i).verifiedDeal && !i.provider.acceptVerified ? F('VerifiedDealsOff', 'miner is not accepting verified storage deals') : undefined
export const unverifiedAccepted: Check = (i) => !prop(i).verifiedDeal && !i.provider.acceptUnverified ? F('UnverifiedDealsOff', 'miner is not accepting unverified storage deals') : undefined

export const pieceNotBlocklisted: Check = (i) => {
  const c = prop(i).pieceCid.toString()
  return i.provider.pieceCidBlocklist.has(c) ? F('PieceBlocklisted', `miner has blocklisted piece CID ${c}`) : undefined
}

/** F6: the sector cannot be sealed before head + expected seal duration. */
export const sealable: Check = (i) => {
  const start = prop(i).startEpoch
  return start < headOf(i) + i.provider.expectedSealDurationEpochs ? F('CannotSealInTime', `cannot seal a sector before ${start}`) : undefined
}

/** F7 (online only): start at most maxStartDelay after the earliest possible start. */
export const startDelay: Check = (i) => {
  if (i.params.isOffline) return undefined
  const start = prop(i).startEpoch
  const max = headOf(i) + i.provider.expectedSealDurationEpochs + i.provider.maxStartDelayEpochs
  return start > max ? F('StartTooFar', `deal start epoch is too far in the future: ${start} > ${max}`) : undefined
}

// ---- The StorageProvider's policy (dealyard's own texts) ----------------------------------------

export const notPaused: Check = (i) => i.provider.paused ? P('ProviderPaused', 'miner is paused and not accepting storage deals') : undefined

/**
 * The miner is on chain. boost never meets one that is not (it will not start for a miner that
 * StateMinerInfo cannot find); a StorageProvider with a mistyped address (no actor there, or one
 * that is not a miner) took deals no publish could ever land. A read that fails for another reason decides nothing: boost makes no such read.
 */
export const minerOnChain: Check = (i) => {
  const m = i.chain.minerExists
  if (m === undefined || !m.ok || m.value) return undefined
  return P('MinerNotOnChain', `server error: ${i.provider.address.toString(i.chain.network)} is not a miner on chain`, 'StateMinerInfo found no miner actor at this address (is the StorageProvider\'s spec.address right?)')
}

/**
 * The deny list always wins; a non-empty allow list admits only its clients. Both forms of the
 * client's address match: its ID address (the proposal's, or StateLookupID of its key address) and
 * its key address (the proposal's, or StateAccountKey of its ID address).
 */
export const clientAllowed: Check = (i) => {
  const keys = [addressKey(prop(i).client)]
  if (i.chain.clientKey.ok) keys.push(addressKey(i.chain.clientKey.value))
  const id = i.chain.clientId
  if (id !== undefined) {
    // Without the ID, an ID entry of either list cannot be matched: neither list can be applied.
    if (!id.ok) return P('ClientLookupFailed', 'server error: looking up client ID address', cause('StateLookupID', id))
    keys.push(addressKey(id.value))
  }
  if (keys.some((k) => i.provider.clientsDeny.has(k))) return P('ClientDenied', `client ${prop(i).client.toString(i.chain.network)} is not allowed to make deals with this miner`)
  if (i.provider.clientsAllow.size > 0 && !keys.some((k) => i.provider.clientsAllow.has(k))) {
    return P('ClientNotAllowed', `client ${prop(i).client.toString(i.chain.network)} is not allowed to make deals with this miner`)
  }
  return undefined
}

export const transferTypeAccepted: Check = (i) => {
  if (i.params.isOffline) return undefined
  const t = i.params.transfer.type
  return i.provider.transferTypes.includes(t) ? undefined : P('TransferTypeRefused', `transfer type '${t}' is not accepted by this miner`)
}

/**
 * B1 admits what Go's url.Parse reads, as boost does; what of that the transfer program cannot
 * fetch is refused here rather than accepted and failed later. It speaks HTTP(S) only (boost can
 * also fetch libp2p:// URLs, HTTP over libp2p to the client's peer), connects to a host and port,
 * and reads the URL with WHATWG's parser (undici's), which refuses some URLs Go takes (ports above
 * 65535, IPv6 zones, '<' in a host) and reads some others differently: "http:host/x" is opaque
 * with no host to Go, and host "host" to WHATWG.
 */
export const transferUrlSupported: Check = (i) => {
  if (i.params.isOffline) return undefined
  const { req } = paramsOf(i.params.transfer.params)
  if ('error' in req) return undefined // B1 refused it
  const go = goUrlOf(i.params.transfer.params, req.url)
  if ('error' in go) return undefined // B1 refused it
  const scheme = go.url.scheme
  if (scheme === 'libp2p') return P('TransferUrlUnsupported', 'transfer URLs over libp2p (libp2p://) are not supported by this miner: offer an http or https URL')
  if (scheme !== 'http' && scheme !== 'https') {
    return P('TransferUrlUnsupported', `transfer URL scheme '${scheme}' is not supported by this miner: offer an http or https URL`)
  }
  if (goHostname(go.url.host) === '') return P('TransferUrlInvalid', 'transfer URL has no host: offer an http or https URL of the form scheme://host/path')
  const port = goPort(go.url.host)
  if (port !== '' && !(Number(port) >= 1 && Number(port) <= 65535)) return P('TransferUrlInvalid', `transfer URL port ${port} is out of range (1-65535)`)
  if (whatwgUrlOf(i.params.transfer.params) === undefined) {
    return P('TransferUrlInvalid', "transfer URL cannot be read by this miner's HTTP client (a WHATWG URL parser): Invalid URL")
  }
  return undefined
}

/**
 * A Kubernetes Secret holds at most 1 MiB of data, and an accepted online deal's transfer params
 * go into one: bigger params would pass every check, create the StorageDeal, fail on the Secret
 * and come back as a server error. boost has no such limit (its params go to SQLite); a real URL
 * with its headers is a few KiB.
 */
export const MAX_TRANSFER_PARAMS_BYTES = 1 << 20

export const transferParamsSize: Check = (i) => {
  if (i.params.isOffline) return undefined
  const n = i.params.transfer.params.length
  return n > MAX_TRANSFER_PARAMS_BYTES ? P('TransferParamsTooLarge', `transfer params of ${n} bytes exceed the limit of ${MAX_TRANSFER_PARAMS_BYTES} bytes`) : undefined
}

/**
 * Literal IP hosts are checked against the SSRF policy now; names are checked by the transfer at
 * connect time. Both readings of the host are checked: boost's (Go) and the one the transfer
 * connects to (WHATWG), which also reads "0x7f.1" or "127.1" as 127.0.0.1.
 */
export const transferHostAllowed: Check = (i) => {
  if (i.params.isOffline) return undefined
  const r = transferHostOf(i.params.transfer.type, i.params.transfer.params)
  if ('error' in r) return undefined
  const hostname = whatwgUrlOf(i.params.transfer.params)?.hostname.replace(/^\[|\]$/g, '')
  for (const ip of new Set([r.ip, hostname === undefined ? undefined : literalIp(hostname)])) {
    // A reading that only looks numeric ("8.8.8.8.", "1.2.3", "0177.0.0.1": Go keeps them as
    // written) is judged by the other, WHATWG's, which the transfer connects to: 8.8.8.8, 1.2.0.3,
    // 127.0.0.1 (round 30: such public hosts were refused as "not an IP address").
    if (ip === undefined || parseIp(ip) === undefined) continue
    const v = checkTransferAddress(ip, i.provider.transferHosts)
    if (v !== undefined) return P(v.reason, `transfer host refused: ${v.message}`)
  }
  return undefined
}

/** The data must fit the piece (unpadded size) and the provider's transfer limit. */
export const transferSize: Check = (i) => {
  if (i.params.isOffline) return undefined
  const size = i.params.transfer.size
  const unpadded = prop(i).pieceSize - prop(i).pieceSize / 128
  if (size > unpadded) return P('TransferLargerThanPiece', `transfer size ${size} is larger than the unpadded piece size ${unpadded}`)
  const max = i.provider.maxTransferSize
  if (max > 0 && size > max) return P('TransferTooLarge', `transfer size ${size} exceeds this miner's limit of ${max} bytes`)
  return undefined
}

/**
 * Boost does not check signs at proposal time (the market actor does at publish); a negative
 * client collateral would pass the escrow check and could never publish, so refuse it now.
 */
export const nonNegativeAmounts: Check = (i) => {
  const p = prop(i)
  for (const [name, v] of [['storage price per epoch', p.storagePricePerEpoch], ['provider collateral', p.providerCollateral], ['client collateral', p.clientCollateral]] as const) {
    if (v < 0n) return P('NegativeAmount', `proposal ${name} is negative: ${v}`)
  }
  return undefined
}

/** CBOR `true`, the only answer to AuthenticateMessage the market actor takes. */
const CBOR_TRUE = 0xf5

/**
 * A delegated (f4) client's actor must answer AuthenticateMessage with `true` for the market actor
 * to publish the deal (builtin-actors market: the send's result decoded as a bool). boost looks only
 * at the exit code, and an EthAccount exits 0 for any method past the FRC-0042 cutoff, signature or
 * not: such a deal would hold the provider's funds and staging space and then fail to publish, so
 * it is refused here.
 */
export const clientAuthenticated: Check = (i) => {
  const auth = i.chain.clientAuthentication
  if (auth === undefined || !auth.ok || auth.value.exitCode !== 0) return undefined
  const r = auth.value.returned
  if (r !== null && r.length === 1 && r[0] === CBOR_TRUE) return undefined
  return P('ClientNotAuthenticated', `client ${prop(i).client.toString(i.chain.network)} did not authenticate the proposal (its actor's AuthenticateMessage returned ${r === null || r.length === 0 ? 'nothing' : `0x${Buffer.from(r).toString('hex')}`}, not true): the market actor would refuse to publish it`)
}

// ---- Tagging funds and staging space (boost's processOnlineDealProposal, after the filter) ------

const T = (reason: string, message: string, detail?: string): Violation =>
  detail === undefined ? { stage: 'acceptance', reason, message } : { stage: 'acceptance', reason, message, detail }

/**
 * The provider can cover the deal's collateral from escrow and one more publish message from its
 * publish wallet, after what accepted deals hold (boost's FundManager.TagFunds; offline deals are
 * tagged at import, as in boost). Clients hear boost's terse reason; the numbers go to the logs.
 */
export const fundsAvailable: Check = (i) => {
  if (i.params.isOffline || i.funds === undefined) return undefined
  if (!i.funds.ok) return T('FundsUnavailable', 'server error: tag funds', i.funds.error)
  const f = i.funds.value
  const need = prop(i).providerCollateral
  const forCollateral = f.escrowAvailable - f.reserve - f.held.collateral
  if (forCollateral < need) {
    return T('InsufficientFunds', 'server error: provider has insufficient funds to accept deal',
      `FundLedger ${f.ledger}: available funds ${forCollateral} is less than collateral needed for deal ${need}: ` +
      `available = funds in escrow ${f.escrowAvailable} - reserve ${f.reserve} - amount reserved for other deals ${f.held.collateral}`)
  }
  const heldPublish = f.publishBudgetPerDeal * BigInt(f.held.publishes)
  const forPublish = f.publishBalance - heldPublish
  if (forPublish < f.publishBudgetPerDeal) {
    return T('InsufficientPublishFunds', 'server error: provider has insufficient funds to accept deal',
      `FundLedger ${f.ledger}: available funds ${forPublish} is less than needed for publish deals message ${f.publishBudgetPerDeal}: ` +
      `available = funds in publish deals wallet ${f.publishBalance} - amount reserved for other deals ${heldPublish}`)
  }
  return undefined
}

/** The staging volume has room for the transfer (boost's StorageManager.Tag, `>=` as boost has it). */
export const stagingAvailable: Check = (i) => {
  if (i.params.isOffline || i.staging === undefined) return undefined
  if (!i.staging.ok) return T('StagingUnavailable', 'server error: tag storage', i.staging.error)
  const s = i.staging.value
  if (s.capacityBytes === 0) return undefined
  const size = i.params.transfer.size
  const limit = Math.max(0, s.capacityBytes - s.reserveBytes)
  if (s.heldBytes + size >= limit) {
    return T('NoStagingSpace', 'server error: provider has no space left for storage deals',
      `StorageLedger ${s.ledger}: cannot accept piece of size ${size}, on top of already allocated ${s.heldBytes} bytes, ` +
      `because it would exceed max staging area size ${limit} (capacity ${s.capacityBytes} - reserve ${s.reserveBytes})`)
  }
  return undefined
}

/** The whole chain, in order: a checklist to review on one screen. */
export const ADMISSION_CHECKS: readonly Check[] = [
  // stage A — validateDealProposal
  chainHead, // A1 the head is readable
  pieceCidDefined, // A2
  clientSignature, // A3 the client signed this proposal
  correctProvider, // A4 it is for this miner
  labelSize, // A5 label ≤ 256 bytes
  pieceSizeValid, // A6 power of two, ≥ 128
  pieceCidPrefix, // A7 a CommP CID
  endAfterStart, // A8
  startNotElapsed, // A9
  durationBounds, // A10 180–1278 days
  endEpochLimit, // A11
  providerCollateral, // A12 within the chain's bounds
  priceAtLeastAsk, // A13
  pieceSizeAtLeastMin, // A14
  pieceSizeAtMostMax, // A15
  clientEscrow, // A16 the client can pay
  verifiedDatacap, // A17 the client has DataCap
  // stage B — accept in the run loop
  transferHost, // B1 transfer type, params, URL parse
  notIdentical, // B2 same signed proposal
  uniqueUuid, // B3 same UUID
  // deal filter
  onlineAccepted, // F1
  offlineAccepted, // F2
  verifiedAccepted, // F3
  unverifiedAccepted, // F4
  pieceNotBlocklisted, // F5
  sealable, // F6
  startDelay, // F7
  // the StorageProvider's policy
  notPaused,
  minerOnChain,
  nonNegativeAmounts,
  clientAuthenticated,
  clientAllowed,
  transferTypeAccepted,
  transferUrlSupported,
  transferParamsSize,
  transferHostAllowed,
  transferSize,
  // tagging
  fundsAvailable,
  stagingAvailable
]

// ---- helpers ------------------------------------------------------------------------------------

/** boost's checks that come before the provider's (A1–A3): a proposal for no provider served here is answered by them first. */
export const CHECKS_BEFORE_PROVIDER: readonly Check[] = ADMISSION_CHECKS.slice(0, ADMISSION_CHECKS.indexOf(correctProvider))

/** One decoder for every proposal: building a TextDecoder per call cost more than the decoding. */
const utf8 = new TextDecoder()

interface ParamsRead {
  text: string
  req: ReturnType<typeof httpRequestOf>
  /** The URL as Go's url.Parse reads it (boost), once asked for. */
  go?: ReturnType<typeof parseGoUrl>
  /** The URL as WHATWG's parser reads it (the transfer program), null when it cannot; once asked for. */
  whatwg?: URL | null
}

/** The transfer params read once per proposal, though several checks look at them. */
const paramsRead = new WeakMap<Uint8Array, ParamsRead>()
function paramsOf (params: Uint8Array): ParamsRead {
  let r = paramsRead.get(params)
  if (r === undefined) {
    // Read from the bytes, as Go reads them (a text decoder would drop a BOM Go refuses); the text
    // is only for quoting them in boost's error.
    r = { text: utf8.decode(params), req: httpRequestOf(params) }
    paramsRead.set(params, r)
  }
  return r
}

/** Go's url.Parse of the params' URL (`url`, read from them by paramsOf). */
function goUrlOf (params: Uint8Array, url: string): ReturnType<typeof parseGoUrl> {
  const r = paramsOf(params)
  r.go ??= parseGoUrl(url)
  return r.go
}

function whatwgUrlOf (params: Uint8Array): URL | undefined {
  const r = paramsOf(params)
  if (r.whatwg === undefined) r.whatwg = 'url' in r.req ? (URL.parse(r.req.url) ?? null) : null
  return r.whatwg ?? undefined
}

function headOf (i: AdmissionInput): number {
  // chainHead runs first and stops the chain when the head is missing.
  return i.chain.head.ok ? i.chain.head.value : Number.MAX_SAFE_INTEGER
}

export function isPowerOfTwo (n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (BigInt(n) & (BigInt(n) - 1n)) === 0n
}

/**
 * boost's Transfer.Host(): the host the provider will download from, or the error text boost
 * reports, for an http(s) URL and for a libp2p multiaddr alike. `ip` is set when the host's name
 * is a literal IP address (or localhost): Go's Hostname() of it, brackets off and any zone kept.
 * Any scheme passes, as in boost; what dealyard cannot fetch is refused later by its own policy
 * (transferUrlSupported).
 */
export function transferHostOf (type: string, params: Uint8Array): { host: string, ip?: string } | { error: string } {
  if (type !== 'http' && type !== 'libp2p') return { error: `cannot parse params for unrecognized transfer type '${type}'` }
  const { text, req } = paramsOf(params)
  if ('error' in req) return { error: `failed to de-serialize transport params bytes '${text}': ${req.error}` }
  const url = req.url
  // boost's util.ParseUrl: url.Parse, then a scheme is required, then libp2p by scheme.
  const go = goUrlOf(params, url)
  if ('error' in go) return { error: `cannot parse url '${url}': parsing url '${url}': ${go.error}` }
  if (go.url.scheme === '') return { error: `cannot parse url '${url}': parsing url '${url}': could not parse scheme` }
  let host = go.url.host
  if (go.url.scheme === 'libp2p') {
    if (!url.startsWith('libp2p://')) return { error: `cannot parse url '${url}': libp2p URL '${url}' must start with prefix 'libp2p://'` }
    const r = libp2pHost(url)
    if ('error' in r) return r
    host = r.host
  }
  // boost parses an http URL a second time ("cannot parse url '%s' from '%s'"): the same string
  // again, so that parse cannot fail.
  const ip = literalIp(goHostname(host))
  return ip === undefined ? { host } : { host, ip }
}

/**
 * The address a host name stands for without DNS: itself when it is (or looks like, for the SSRF
 * policy to refuse) an IP address, loopback for localhost.
 */
function literalIp (hostname: string): string | undefined {
  if (/^[0-9.]+$/.test(hostname) || hostname.includes(':')) return hostname
  return hostname.toLowerCase() === 'localhost' ? '127.0.0.1' : undefined
}

/**
 * boost's util.ParseUrl for a libp2p URL (peer.AddrInfoFromString: a multiaddr ending in /p2p/<id>,
 * the rest being its one address) and then maurl.ToURL's host. Any address DialArgs reads has a
 * host (QUIC, WebTransport, no port, a DNS name alone): boost only refuses what parses to no
 * address or to one that is not a "thin waist" (/dnsaddr, /p2p-circuit first), and the errors
 * ToURL returns are not wrapped in "cannot parse url".
 */
function libp2pHost (url: string): { host: string } | { error: string } {
  const parsed = parseGoMultiaddr(url.slice('libp2p://'.length))
  if ('error' in parsed) return { error: `cannot parse url '${url}': parsing address info from url '${url}': ${parsed.error}` }
  const last = parsed.components.at(-1)!
  if (last.name !== 'p2p') return { error: `cannot parse url '${url}': parsing address info from url '${url}': invalid p2p multiaddr` }
  const transport = parsed.components.slice(0, -1)
  if (transport.length === 0) return { error: `cannot parse url '${url}': expected only one address in url '${url}'` }
  return goMaurlHost(transport)
}

/** Go's time.Time.String() for a UTC time: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function goTime (d: Date): string {
  const iso = d.toISOString()
  const ms = iso.slice(20, 23).replace(/0+$/, '')
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms === '' ? '' : '.' + ms} +0000 UTC`
}
