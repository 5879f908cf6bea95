/**
 * Lotus clients for the deal engine: the full node (v1) and lotus-miner (v0) over JSON-RPC/HTTP,
 * with bearer tokens, per-call timeouts, retries of transport failures for reads only, per-method
 * metrics, and streamed io.Reader params for SectorAddPieceToAny.
 *
 * @example
 * const full = new FullNodeClient({ url: 'http://127.0.0.1:1234/rpc/v1', token })
 * const head = await full.chainHead()
 * const sm = await full.mpoolPushMessage(publishStorageDealsMessage(worker, publishStorageDealsParams(items)),
 *   { maxFee: 50_000_000_000_000_000n, msgUuid })   // same msgUuid on every retry
 * const lookup = await full.stateWaitMsg(sm.cid, 10)
 */
export { LotusRpcError, RpcCode, noActorOfKind, type LotusErrorCode } from './errors.ts'
export { RpcClient, DEFAULT_TIMEOUT_MS, type RpcEndpoint, type ClientOptions, type CallOptions } from './rpc.ts'
export { DEFAULT_RETRY, backoffDelay, type RetryPolicy } from './backoff.ts'
export { FullNodeClient, type WaitOptions, type SearchOptions } from './fullnode.ts'
export { MinerClient, isUnpaddedPieceSize, type StreamCallOptions } from './miner.ts'
export { padTo, pushBaseUrl, type PieceData } from './push.ts'
export {
  publishStorageDealsParams, publishStorageDealsMessage, decodePublishStorageDealsReturn,
  publishResultFromReturnDec, dealIdAt, STORAGE_MARKET_ACTOR, METHOD_PUBLISH_STORAGE_DEALS, METHOD_ADD_BALANCE,
  type PublishResult
} from './psd.ts'
export { decodeRlePlus, bitsFromRuns } from './rleplus.ts'
export { authenticateMessageCall, authenticateMessageParams, METHOD_AUTHENTICATE_MESSAGE } from './authenticate.ts'
export type * from './types.ts'
