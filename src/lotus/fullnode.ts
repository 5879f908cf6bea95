/**
 * Typed client of the Lotus full node's v1 API, limited to what the deal engine calls. Reads retry
 * transport failures; MpoolPushMessage and MarketAddBalance never do (see rpc.ts).
 */
import {
  decodeInvocResult, decodeMarketDeal, decodeMessage, decodeMinerInfo, decodeMsgLookup, decodeSignedMessage, decodeTipSet,
  decodeVersion, encodeMessage, encodeSendSpec
} from './codec.ts'
import { bigFromJson, bigToJson, cidFromJson, cidToJson, num, obj, str, tskToJson, type TipSetKey } from './json.ts'
import { RpcClient, type CallOptions, type ClientOptions, type RpcEndpoint } from './rpc.ts'
import type {
  ApiVersion, CollateralBounds, InvocResult, MarketBalance, MarketDeal, Message, MessageSendSpec, MinerInfo, MsgLookup,
  SignedMessage, TipSet, UnsignedMessage
} from './types.ts'

/** Per-call options of long or cancellable calls. */
export interface WaitOptions { signal?: AbortSignal, timeoutMs?: number | null }

export interface SearchOptions {
  /** Tipset to search back from; [] = head. */
  from?: TipSetKey
  /** Epochs to look back; -1 = no limit. */
  lookbackLimit?: number
  allowReplaced?: boolean
}

export class FullNodeClient {
  readonly rpc: RpcClient

  constructor (ep: RpcEndpoint, opts: ClientOptions = {}) {
    this.rpc = new RpcClient(ep, 'full', opts)
  }

  async version (): Promise<ApiVersion> {
    return decodeVersion(await this.rpc.call('Version', []))
  }

  async chainHead (): Promise<TipSet> {
    return decodeTipSet(await this.rpc.call('ChainHead', []), 'ChainHead')
  }

  async chainGetMessage (cid: string): Promise<Message> {
    // A message carries its params: a PublishStorageDeals of 256 deals is a few hundred KB of JSON.
    return decodeMessage(await this.rpc.call('ChainGetMessage', [cidToJson(cid)], { maxResponseBytes: 8 << 20 }), 'ChainGetMessage')
  }

  async stateMinerInfo (miner: string, tsk?: TipSetKey): Promise<MinerInfo> {
    return decodeMinerInfo(await this.rpc.call('StateMinerInfo', [miner, tskToJson(tsk)]), 'StateMinerInfo')
  }

  /** The key address (f1/f3/f4) behind an ID address; key addresses come back unchanged. */
  async stateAccountKey (addr: string, tsk?: TipSetKey): Promise<string> {
    return str(await this.rpc.call('StateAccountKey', [addr, tskToJson(tsk)]), 'StateAccountKey')
  }

  /** The ID address of an actor; an unknown one is ERR_LOTUS_RPC with rpcCode 11 (actor not found). */
  async stateLookupID (addr: string, tsk?: TipSetKey): Promise<string> {
    return str(await this.rpc.call('StateLookupID', [addr, tskToJson(tsk)]), 'StateLookupID')
  }

  async stateMarketBalance (addr: string, tsk?: TipSetKey): Promise<MarketBalance> {
    const o = obj(await this.rpc.call('StateMarketBalance', [addr, tskToJson(tsk)]), 'StateMarketBalance')
    return { escrow: bigFromJson(o.Escrow, 'StateMarketBalance.Escrow'), locked: bigFromJson(o.Locked, 'StateMarketBalance.Locked') }
  }

  async stateDealProviderCollateralBounds (paddedPieceSize: number, verified: boolean, tsk?: TipSetKey): Promise<CollateralBounds> {
    const o = obj(await this.rpc.call('StateDealProviderCollateralBounds', [paddedPieceSize, verified, tskToJson(tsk)]), 'StateDealProviderCollateralBounds')
    return { min: bigFromJson(o.Min, 'StateDealProviderCollateralBounds.Min'), max: bigFromJson(o.Max, 'StateDealProviderCollateralBounds.Max') }
  }

  /** Remaining DataCap in bytes, or null for a client that is not verified. */
  async stateVerifiedClientStatus (addr: string, tsk?: TipSetKey): Promise<bigint | null> {
    const r = await this.rpc.call('StateVerifiedClientStatus', [addr, tskToJson(tsk)])
    return r === null ? null : bigFromJson(r, 'StateVerifiedClientStatus')
  }

  /**
   * Applies `msg` to the parent state of `tsk` (the head when left out) without sending it. An
   * actor's failure comes back as the receipt's exit code, not as an error. The answer carries the
   * execution trace, so it is allowed more than the default response size.
   */
  async stateCall (msg: UnsignedMessage, tsk?: TipSetKey): Promise<InvocResult> {
    return decodeInvocResult(await this.rpc.call('StateCall', [encodeMessage(msg), tskToJson(tsk)], { maxResponseBytes: 8 << 20 }), 'StateCall')
  }

  /** The chain's name ("mainnet", "calibrationnet", a devnet's), as Lotus's StateNetworkName gives it. */
  async stateNetworkName (): Promise<string> {
    return str(await this.rpc.call('StateNetworkName', []), 'StateNetworkName')
  }

  async stateNetworkVersion (tsk?: TipSetKey): Promise<number> {
    return num(await this.rpc.call('StateNetworkVersion', [tskToJson(tsk)]), 'StateNetworkVersion')
  }

  /**
   * Signs with the node's wallet and pushes. Sent exactly once per call: on ERR_LOTUS_TRANSPORT
   * the message may or may not be in the pool, so repeat with the same spec.msgUuid (Lotus then
   * returns the message it signed the first time instead of sending a second one).
   */
  async mpoolPushMessage (msg: UnsignedMessage, spec?: MessageSendSpec, opts: CallOptions = {}): Promise<SignedMessage> {
    const r = await this.rpc.call('MpoolPushMessage', [encodeMessage(msg), encodeSendSpec(spec)], { ...opts, idempotent: false })
    return decodeSignedMessage(r, 'MpoolPushMessage')
  }

  /** Moves `amount` from `wallet` into `addr`'s market escrow; returns the pushed message's CID. Not retried. */
  async marketAddBalance (wallet: string, addr: string, amount: bigint, opts: CallOptions = {}): Promise<string> {
    const r = await this.rpc.call('MarketAddBalance', [wallet, addr, bigToJson(amount)], { ...opts, idempotent: false })
    return cidFromJson(r, 'MarketAddBalance')
  }

  /**
   * Blocks until the message is executed and `confidence` epochs deep (≤ 900). No timeout unless
   * given: pass a signal to stop waiting.
   */
  async stateWaitMsg (cid: string, confidence: number, lookbackLimit = -1, allowReplaced = true, opts: WaitOptions = {}): Promise<MsgLookup> {
    const r = await this.rpc.call('StateWaitMsg', [cidToJson(cid), confidence, lookbackLimit, allowReplaced],
      { timeoutMs: opts.timeoutMs ?? null, signal: opts.signal })
    return decodeMsgLookup(r, 'StateWaitMsg')
  }

  /** The executed message, or null when it is not on chain (yet). ReturnDec is not filled. */
  async stateSearchMsg (cid: string, opts: SearchOptions = {}): Promise<MsgLookup | null> {
    const r = await this.rpc.call('StateSearchMsg', [tskToJson(opts.from), cidToJson(cid), opts.lookbackLimit ?? -1, opts.allowReplaced ?? true])
    return r === null ? null : decodeMsgLookup(r, 'StateSearchMsg')
  }

  async stateMarketStorageDeal (dealId: number, tsk?: TipSetKey): Promise<MarketDeal> {
    return decodeMarketDeal(await this.rpc.call('StateMarketStorageDeal', [dealId, tskToJson(tsk)]), 'StateMarketStorageDeal')
  }

  async walletBalance (addr: string): Promise<bigint> {
    return bigFromJson(await this.rpc.call('WalletBalance', [addr]), 'WalletBalance')
  }
}
