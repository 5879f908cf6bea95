/**
 * Chain facts for admission and status, read through a TTL cache per Lotus endpoint. Every read
 * comes back as a Fact (value or error text) so admission decides, in boost's order, whether a failed
 * read matters.
 */
import { Address, type Network } from '../filecoin/address.ts'
import { authenticateMessageCall, FullNodeClient, noActorOfKind, type RpcEndpoint } from '../lotus/index.ts'
import { addressString, fact, failedFact, type Authentication, type ChainFacts, type Fact } from '../policy/admission.ts'
import { encodeDealProposal } from '../protocol/market.ts'
import type { ClientDealProposal } from '../protocol/types.ts'
import { chainFactReads } from './metrics.ts'
import { TtlCache } from './ttl-cache.ts'

/** What admission and status need from the chain; the Lotus-backed one is LotusChain. */
export interface ChainReader {
  /** fresh: read now, not from the cache (which serves a stale head while a refresh is slow). */
  head (o?: { fresh?: boolean }): Promise<number>
  accountKey (addr: string): Promise<string>
  /** StateLookupID: the ID address of an actor. */
  lookupId (addr: string): Promise<string>
  collateralBounds (pieceSize: number, verified: boolean): Promise<{ min: bigint, max: bigint }>
  marketBalance (addr: string): Promise<{ escrow: bigint, locked: bigint }>
  datacap (addr: string): Promise<bigint | null>
  walletBalance (addr: string): Promise<bigint>
  /** StateMinerInfo's worker and peer ID, read now (the provider's status reports them). */
  minerInfo (miner: string): Promise<{ worker: string, peerId: string | null }>
  /**
   * StateCall of AuthenticateMessage(signature data, message) on a delegated (f4) key address, as
   * boost's verifier sends it; read now (never cached: a proposal's signature is checked once).
   */
  authenticateMessage (keyAddr: string, signatureData: Uint8Array, message: Uint8Array): Promise<Authentication>
  /**
   * The letter addresses are printed with on this chain: 'f' on mainnet, 't' on every other network
   * (what boost's builds set as go-address's CurrentNetwork: f in the mainnet build only).
   */
  addressNetwork? (): Network | Promise<Network>
  /**
   * Whether the address is a miner actor on chain: false only when Lotus says there is no actor
   * there or it is not a miner (a StorageProvider with a mistyped address), an error when the read
   * fails otherwise.
   */
  minerExists? (miner: string): Promise<boolean>
}

export interface LotusChainOptions {
  /** Head freshness (default 2 s; an epoch is 30 s on mainnet). */
  headTtlMs?: number
  /** Balances, bounds and DataCap (default 10 s). */
  stateTtlMs?: number
  /** Account keys never change for an ID address (default 10 min). */
  accountTtlMs?: number
  /** Per-attempt timeout (default 5 s; a read is tried twice, so up to 10 s): past it the proposal is answered with boost's "server error". */
  callTimeoutMs?: number
  /** Default NETWORK_RETRY_MS. */
  networkRetryMs?: number
}

/**
 * StateNetworkName on mainnet: "testnetnet", the name in mainnet's state (Lotus's non-devnet builds
 * answer it without reading state; "Yes, mainnet is called testnetnet in state", lotus chain/lf3).
 * "mainnet" is taken too, should a node ever answer it. Every other network (calibrationnet,
 * butterflynet, a devnet's) prints t.
 */
const MAINNET_NAMES: ReadonlySet<string> = new Set(['testnetnet', 'mainnet'])

/** How long past the head read a proposal waits for a StateNetworkName read still under way. */
export const NETWORK_GRACE_MS = 500

/** How long a failed StateNetworkName read is answered with its error before it is read again. */
export const NETWORK_RETRY_MS = 60_000

export class LotusChain implements ChainReader {
  readonly client: FullNodeClient
  private readonly heads: TtlCache<number>
  private readonly state: TtlCache<unknown>
  private readonly accounts: TtlCache<string>
  private readonly timeoutMs: number
  private network: Promise<Network> | undefined
  private letter: Network | undefined
  private readonly networkRetryMs: number

  constructor (ep: RpcEndpoint, o: LotusChainOptions = {}) {
    this.timeoutMs = o.callTimeoutMs ?? 5000
    this.networkRetryMs = o.networkRetryMs ?? NETWORK_RETRY_MS
    this.client = new FullNodeClient({ ...ep, timeoutMs: ep.timeoutMs ?? this.timeoutMs }, { retry: { attempts: 2 } })
    this.heads = new TtlCache({ ttlMs: o.headTtlMs ?? 2000 })
    this.state = new TtlCache({ ttlMs: o.stateTtlMs ?? 10_000 })
    this.accounts = new TtlCache({ ttlMs: o.accountTtlMs ?? 600_000 })
  }

  async head (o: { fresh?: boolean } = {}): Promise<number> {
    const read = async (): Promise<number> => (await counted('ChainHead', this.client.chainHead())).height
    return o.fresh === true ? await read() : await this.heads.get('head', read)
  }

  async accountKey (addr: string): Promise<string> {
    const a = Address.fromString(addr)
    // Key and delegated addresses are their own account key: no call (Lotus's StateAccountKey
    // returns them as they are, without looking at the chain).
    if (a.isKey || a.protocol === 4) return addr
    return await this.accounts.get(addr.slice(1), async () => await counted('StateAccountKey', this.client.stateAccountKey(addr)))
  }

  async lookupId (addr: string): Promise<string> {
    const a = Address.fromString(addr)
    if (a.protocol === 0) return addr
    // An actor's ID never changes once assigned; one that has none yet (not on chain) is not cached.
    return await this.accounts.get(`id/${addr.slice(1)}`, async () => await counted('StateLookupID', this.client.stateLookupID(addr)))
  }

  async collateralBounds (pieceSize: number, verified: boolean): Promise<{ min: bigint, max: bigint }> {
    return await this.state.get(`bounds/${pieceSize}/${verified}`, async () =>
      await counted('StateDealProviderCollateralBounds', this.client.stateDealProviderCollateralBounds(pieceSize, verified))) as { min: bigint, max: bigint }
  }

  async marketBalance (addr: string): Promise<{ escrow: bigint, locked: bigint }> {
    return await this.state.get(`balance/${addr.slice(1)}`, async () =>
      await counted('StateMarketBalance', this.client.stateMarketBalance(addr))) as { escrow: bigint, locked: bigint }
  }

  async walletBalance (addr: string): Promise<bigint> {
    return await this.state.get(`wallet/${addr.slice(1)}`, async () =>
      await counted('WalletBalance', this.client.walletBalance(addr))) as bigint
  }

  async minerInfo (miner: string): Promise<{ worker: string, peerId: string | null }> {
    const info = await counted('StateMinerInfo', this.client.stateMinerInfo(miner))
    return { worker: info.worker, peerId: info.peerId }
  }

  async minerExists (miner: string): Promise<boolean> {
    try {
      // An actor never leaves the chain: a found one is kept as long as account keys are.
      return await this.accounts.get(`miner/${miner.slice(1)}`, async () => { await counted('StateMinerInfo', this.client.stateMinerInfo(miner)); return 'found' }) === 'found'
    } catch (err) {
      // No actor at the ID, or one that is no miner (an account, multisig, evm…): a transposed
      // digit of a mainnet miner's ID more likely lands on one of those than on a free ID.
      if (noActorOfKind((err as Error).message, 'miner')) return false
      throw err
    }
  }

  async authenticateMessage (keyAddr: string, signatureData: Uint8Array, message: Uint8Array): Promise<Authentication> {
    const r = await counted('StateCall', this.client.stateCall(authenticateMessageCall(keyAddr, signatureData, message)))
    return { exitCode: r.receipt.exitCode, error: r.error, returned: r.receipt.return }
  }

  /** The letter itself once read, so a proposal waits on nothing; until then the read. */
  addressNetwork (): Network | Promise<Network> {
    if (this.letter !== undefined) return this.letter
    // A node's network never changes: read until one read succeeds, then never again. A failed
    // read is not tried again for a minute, so a node without the method is not asked again
    // beside every proposal's head read.
    this.network ??= counted('StateNetworkName', this.client.stateNetworkName())
      .then((name): Network => { this.letter = MAINNET_NAMES.has(name) ? 'f' : 't'; return this.letter })
      .catch((err: unknown) => {
        setTimeout(() => { this.network = undefined }, this.networkRetryMs).unref()
        throw err
      })
    return this.network
  }

  async datacap (addr: string): Promise<bigint | null> {
    return await this.state.get(`datacap/${addr.slice(1)}`, async () =>
      await counted('StateVerifiedClientStatus', this.client.stateVerifiedClientStatus(addr))) as bigint | null
  }
}

async function counted<T> (method: string, p: Promise<T>): Promise<T> {
  try {
    const v = await p
    chainFactReads.inc({ method, result: 'ok' })
    return v
  } catch (err) {
    chainFactReads.inc({ method, result: 'error' })
    throw err
  }
}

async function settle<T> (p: Promise<T>): Promise<Fact<T>> {
  try { return fact(await p) } catch (err) { return failedFact((err as Error).message) }
}

/**
 * The network letter while it is being read: waited for until the head is read and NETWORK_GRACE_MS
 * more at most, so a node that is slow to name its network (or never answers) delays proposals by
 * that much at worst; their texts and deals then print f.
 */
async function letterWithin (read: Promise<Network>, head: unknown): Promise<Network | undefined> {
  const letter = read.catch(() => undefined)
  const late = Promise.resolve(head).then(async () => await new Promise<undefined>((resolve) => { setTimeout(() => { resolve(undefined) }, NETWORK_GRACE_MS).unref() }))
  return await Promise.race([letter, late])
}

/** Parsed account keys by string, bounded: parsing checks a checksum (a hash) every time. */
const parsed = new Map<string, Address>()
function parsedAddress (s: string): Address {
  let a = parsed.get(s)
  if (a === undefined) {
    if (parsed.size >= 10_000) parsed.clear()
    a = Address.fromString(s)
    parsed.set(s, a)
  }
  return a
}

/**
 * Reads every fact a proposal may need, in parallel (each from the cache when fresh). `o.clientId`:
 * the provider's client lists name ID addresses, so a key-address client's ID is needed too. A
 * client whose account key is delegated (f4) is authenticated on chain once its key is known.
 * `o.signatureOnly`: only what boost's checks before the provider's need (the head, the client's
 * key and signature); the rest is reported as not read. `o.have`: those facts, read already by a
 * signatureOnly call for the same proposal (boost reads nothing else before the signature is
 * checked, so a proposal signed by no one costs no balance or DataCap reads).
 */
export async function gatherChainFacts (chain: ChainReader, cdp: ClientDealProposal, o: { clientId?: boolean, signatureOnly?: boolean, have?: ChainFacts } = {}): Promise<ChainFacts> {
  const p = cdp.proposal
  const client = addressString(p.client)
  const have = o.have
  // A key or delegated address is its own account key (StateAccountKey returns it as is): no call, no parse.
  const key: Promise<Fact<Address>> = have !== undefined
    ? Promise.resolve(have.clientKey)
    : p.client.isKey || p.client.protocol === 4
      ? Promise.resolve(fact(p.client))
      : settle(chain.accountKey(client).then(parsedAddress))
  // boost's signatureVerifier: an f4 key's signature is the client actor's to judge (AuthenticateMessage
  // over the proposal's CBOR, the signature's data without its type); others are verified here.
  const clientAuthentication = have !== undefined
    ? Promise.resolve(have.clientAuthentication)
    : key.then((k) => k.ok && k.value.protocol === 4
      ? settle(chain.authenticateMessage(addressString(k.value), cdp.clientSignature.data, encodeDealProposal(p)))
      : undefined)
  const notRead = Promise.resolve(failedFact<never>('not read'))
  const all = o.signatureOnly !== true
  const headRead = have !== undefined ? have.head : settle(chain.head())
  const known = have !== undefined ? have.network : chain.addressNetwork?.()
  const network = typeof known === 'object' ? letterWithin(known, headRead) : known
  const [head, clientKey, collateralBounds, clientBalance, datacap, clientId, authentication, letter, minerExists] = await Promise.all([
    headRead,
    key,
    all ? settle(chain.collateralBounds(p.pieceSize, p.verifiedDeal)) : notRead,
    all ? settle(chain.marketBalance(client)) : notRead,
    all && p.verifiedDeal ? settle(chain.datacap(client)) : Promise.resolve(undefined),
    all && o.clientId === true && p.client.protocol !== 0 ? settle(chain.lookupId(client).then(parsedAddress)) : Promise.resolve(undefined),
    clientAuthentication,
    network,
    all && chain.minerExists !== undefined ? settle(chain.minerExists(addressString(p.provider))) : Promise.resolve(undefined)
  ])
  return {
    head, clientKey, collateralBounds, clientBalance,
    ...(letter !== undefined ? { network: letter } : {}),
    ...(minerExists !== undefined ? { minerExists } : {}),
    ...(datacap !== undefined ? { datacap } : {}),
    ...(clientId !== undefined ? { clientId } : {}),
    ...(authentication !== undefined ? { clientAuthentication: authentication } : {})
  }
}
