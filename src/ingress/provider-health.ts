/**
 * What a StorageProvider's status says, from what the ingress observed of it: its config usable
 * (token Secret, terms), its chain readable, its miner on chain, and whether clients that look the
 * miner up on chain (`boost deal` without a multiaddr) reach this ingress. Pure: the writer
 * (provider-status.ts) gathers the observation and writes the result through the status
 * subresource; the Events to record are the conditions that changed.
 */
import type { StorageProvider, StorageProviderStatus } from '../api/types.generated.ts'
import { providerTerms } from '../policy/terms.ts'
import { getCondition, setCondition, type Condition, type ConditionInput } from '../kube/conditions.ts'

/**
 * A condition's message at most (the CRD allows 32,768): a Lotus error can be any length, and a
 * status the apiserver refuses would freeze at what was written before.
 */
export const MAX_MESSAGE = 2048

export const READY = 'Ready'
export const PEER_ID_ON_CHAIN = 'PeerIdOnChain'

export interface ProviderObservation {
  /** The ingress's libp2p peer ID: the one every provider is served as. */
  peerId: string
  /** metadata.deletionTimestamp is set (a finalizer holds it): it serves no more. */
  deleting?: boolean
  /** Another StorageProvider with the same address is the one served (the oldest), named. */
  shadowedBy?: string
  /** Why the provider's config cannot be used (ProviderConfigError's message), if it cannot. */
  configError?: string
  /** configError is a read that failed for a reason that passes (the apiserver unavailable), tried again soon. */
  configRetrying?: boolean
  /** The FundLedger or StorageLedger the spec names that does not exist (online proposals fail without it). */
  ledgerError?: string
  /** Why the FundLedger cannot tag funds (a field that does not parse, or Lotus refuses): online proposals fail. */
  ledgerUnusable?: string
  /** Why the token Secret could not be read again; the token read before is still in use. */
  staleTokenError?: string
  /** A chain read Lotus answered with HTTP 401 or 403 (the error): the token is wrong, not the node down. */
  tokenRefused?: string
  /** The namespace a tokenSecretRef without one points to (the ingress's), to name the Secret to fix. */
  secretNamespace?: string
  head?: { epoch: number } | { error: string }
  miner?: { worker: string, peerId: string | null } | { error: string }
  /** Deals of this provider in the namespace that are not Complete. */
  activeDeals: number
  now: Date
}

type Observed<T> = T | { error: string }
const failed = <T extends object>(v: Observed<T> | undefined): v is { error: string } => v !== undefined && 'error' in v

/** The status to write: conditions stamped with the spec's generation; chain fields kept from before when unreadable now. */
export function providerStatus (sp: StorageProvider, o: ProviderObservation): StorageProviderStatus {
  const prev = sp.status ?? {}
  const generation = sp.metadata?.generation
  const headOk = o.head !== undefined && !failed(o.head) ? o.head : undefined
  const minerOk = o.miner !== undefined && !failed(o.miner) ? o.miner : undefined
  let conditions = setCondition(prev.conditions as Condition[] | undefined, clipped(readiness(sp, o)), generation, o.now)
  conditions = setCondition(conditions, clipped(peerIdOnChain(sp, o)), generation, o.now)
  const chainHead = headOk?.epoch ?? prev.chainHead
  const workerAddress = minerOk?.worker ?? prev.workerAddress
  const lastSyncTime = headOk !== undefined ? o.now.toISOString().replace(/\.\d{3}Z$/, 'Z') : prev.lastSyncTime
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    peerId: o.peerId,
    ...(chainHead !== undefined ? { chainHead } : {}),
    ...(lastSyncTime !== undefined ? { lastSyncTime } : {}),
    activeDeals: o.activeDeals,
    ...(workerAddress !== undefined ? { workerAddress } : {}),
    conditions
  }
}

function clipped (c: ConditionInput): ConditionInput {
  return c.message.length <= MAX_MESSAGE ? c : { ...c, message: `${c.message.slice(0, MAX_MESSAGE - 1)}…` }
}

function readiness (sp: StorageProvider, o: ProviderObservation): ConditionInput {
  const miner = sp.spec.address
  if (o.deleting === true) return { type: READY, status: 'False', reason: 'Deleting', message: `being deleted (metadata.deletionTimestamp is set): proposals for ${miner} are refused` }
  if (sp.spec.paused === true) return { type: READY, status: 'False', reason: 'Paused', message: 'spec.paused is set: proposals are refused' }
  if (o.shadowedBy !== undefined) {
    return { type: READY, status: 'False', reason: 'DuplicateAddress', message: `StorageProvider ${o.shadowedBy} has the same address ${miner} and is older: it is the one served (its terms, its ask); delete or readdress one of them` }
  }
  if (o.configError !== undefined) {
    return o.configRetrying === true
      ? { type: READY, status: 'False', reason: 'ConfigUnreadable', message: `${o.configError} (tried again shortly)` }
      : { type: READY, status: 'False', reason: 'InvalidConfig', message: o.configError }
  }
  const refused = policyRefusals(sp)
  if (refused.all !== undefined) {
    // Not Ready, as a paused provider is not: every proposal gets a rejection, whatever the chain.
    return { type: READY, status: 'False', reason: 'PolicyRefusesAll', message: `no proposal for ${miner} can be accepted: ${refused.all}` }
  }
  if (o.ledgerError !== undefined) {
    return { type: READY, status: 'False', reason: 'LedgerMissing', message: `${o.ledgerError}: online proposals are refused ("server error: tag funds" / "tag storage")` }
  }
  if (o.ledgerUnusable !== undefined) {
    return { type: READY, status: 'False', reason: 'LedgerUnusable', message: `${o.ledgerUnusable}: online proposals are refused ("server error: tag funds")` }
  }
  if (o.tokenRefused !== undefined) return { type: READY, status: 'False', reason: 'TokenRefused', message: tokenRefusedMessage(sp, o, o.tokenRefused) }
  if (o.head === undefined || failed(o.head)) {
    return { type: READY, status: 'False', reason: 'ChainUnreachable', message: `reading the chain head from ${sp.spec.lotus.fullNode.url} failed: ${o.head?.error ?? 'not tried'}` }
  }
  if (o.miner === undefined || failed(o.miner)) {
    return { type: READY, status: 'False', reason: 'MinerInfoUnavailable', message: `StateMinerInfo(${miner}) failed: ${o.miner?.error ?? 'not tried'}` }
  }
  if (o.staleTokenError !== undefined) {
    // Serving, but only until this replica restarts or the entry is rebuilt: fix it now.
    return { type: READY, status: 'True', reason: 'StaleToken', message: `accepting proposals for ${miner} with the Lotus token read before; reading it again failed: ${o.staleTokenError}` }
  }
  const only = refused.online !== undefined ? `; offline ones only: online ones are refused (${refused.online})` : refused.offline !== undefined ? `; online ones only: offline ones are refused (${refused.offline})` : ''
  return { type: READY, status: 'True', reason: 'Serving', message: `accepting proposals for ${miner} (chain head ${o.head.epoch})${only}` }
}

/**
 * Which proposals the deal policy refuses whatever they say (its terms, the CRD's defaults filled
 * in by terms.ts): online ones, offline ones, and `all` when that leaves none, with the fields that
 * say so.
 */
export function policyRefusals (sp: StorageProvider): { online?: string, offline?: string, all?: string } {
  const t = providerTerms(sp)
  const online = !t.acceptOnline
    ? 'dealPolicy.acceptOnline is false'
    : t.transferTypes.length === 0 ? 'dealPolicy.transferTypes is empty' : undefined
  const offline = !t.acceptOffline ? 'dealPolicy.acceptOffline is false' : undefined
  // Every deal is verified or not.
  const kinds = !t.acceptVerified && !t.acceptUnverified
    ? 'dealPolicy.acceptVerified and dealPolicy.acceptUnverified are both false'
    : undefined
  const all = kinds ?? (online !== undefined && offline !== undefined ? `online ones are refused (${online}), offline ones too (${offline})` : undefined)
  return { ...(online !== undefined ? { online } : {}), ...(offline !== undefined ? { offline } : {}), ...(all !== undefined ? { all } : {}) }
}

function tokenRefusedMessage (sp: StorageProvider, o: ProviderObservation, error: string): string {
  const ep = sp.spec.lotus.fullNode
  const ref = ep.tokenSecretRef
  if (ref === undefined) return `Lotus at ${ep.url} refused the request without an API token: name a Secret key holding one in spec.lotus.fullNode.tokenSecretRef (${error})`
  const ns = ref.namespace ?? o.secretNamespace
  const secret = `Secret ${ns !== undefined ? `${ns}/` : ''}${ref.name} key ${ref.key}`
  // The Secret itself may be what changed: then the token sent is not the one in it.
  const stale = o.staleTokenError !== undefined ? `; the token sent is the one read before, as reading the Secret again failed: ${o.staleTokenError}` : ''
  return `Lotus at ${ep.url} refused the API token from ${secret}: put a token that node accepts there (${error})${stale}`
}

function peerIdOnChain (sp: StorageProvider, o: ProviderObservation): ConditionInput {
  const miner = sp.spec.address
  if (o.miner === undefined || failed(o.miner)) {
    return { type: PEER_ID_ON_CHAIN, status: 'Unknown', reason: 'MinerInfoUnavailable', message: `the miner's on-chain info for ${miner} could not be read` }
  }
  if (o.miner.peerId === o.peerId) {
    return { type: PEER_ID_ON_CHAIN, status: 'True', reason: 'Matches', message: `${miner}'s peer ID on chain is this ingress's (${o.peerId})` }
  }
  const onChain = o.miner.peerId === null ? 'is not set' : `is ${o.miner.peerId}`
  return {
    type: PEER_ID_ON_CHAIN,
    status: 'False',
    reason: o.miner.peerId === null ? 'NotSet' : 'Mismatch',
    message: `${miner}'s peer ID on chain ${onChain}, not this ingress's ${o.peerId}: clients that find the provider on chain cannot reach it (lotus-miner actor set-peer-id ${o.peerId})`
  }
}

export interface ProviderEvent {
  type: 'Normal' | 'Warning'
  /** The condition's type (Ready, PeerIdOnChain). */
  condition: string
  reason: string
  note: string
  /** Only the message changed: the same failure with another cause. */
  newCause?: boolean
}

/**
 * One Event per condition whose status or reason changed (an Unknown one says nothing new): the
 * provider becoming ready or not, its peer ID on chain starting or ceasing to match. A Warning for
 * what the operator must fix, including a token that works only until the next restart. A Warning
 * whose message alone changed is one too: its message is the cause (a Secret now found but not
 * labelled, Lotus now timing out rather than refusing connections), and the Event before it
 * names the old one. A Normal one's message changes on every sync (the chain head): no Event.
 */
export function conditionEvents (before: StorageProviderStatus | undefined, after: StorageProviderStatus): ProviderEvent[] {
  const events: ProviderEvent[] = []
  for (const type of [READY, PEER_ID_ON_CHAIN]) {
    const a = getCondition(before?.conditions as Condition[] | undefined, type)
    const b = getCondition(after.conditions as Condition[] | undefined, type)
    if (b === undefined || b.status === 'Unknown') continue
    const kind = b.status === 'True' && b.reason !== 'StaleToken' ? 'Normal' : 'Warning'
    const same = a?.status === b.status && a.reason === b.reason
    if (same && (kind === 'Normal' || a.message === b.message)) continue
    events.push({ type: kind, condition: type, reason: b.reason, note: b.message, ...(same ? { newCause: true } : {}) })
  }
  return events
}
