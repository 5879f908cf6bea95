/**
 * Typed client of lotus-miner's v0 API: the actor address, handing pieces to the sealer with a
 * streamed io.Reader (push.ts), and sector status.
 */
import { randomUUID } from 'node:crypto'
import { decodeSectorInfo, encodePieceDealInfo, decodeVersion } from './codec.ts'
import { LotusRpcError } from './errors.ts'
import { arr, cidFromJson, num, obj, str } from './json.ts'
import { padTo, pushBaseUrl, pushStream, type PieceData, type ReaderStream } from './push.ts'
import { RpcClient, type ClientOptions, type RpcEndpoint } from './rpc.ts'
import type { ApiVersion, PieceDealInfo, PieceInfo, SectorInfo, SectorOffset } from './types.ts'

export interface StreamCallOptions {
  signal?: AbortSignal
  /** Default: none (AddPiece waits for a sector, possibly for hours). */
  timeoutMs?: number | null
}

/** 127·2^k, k ≥ 0: the unpadded sizes of pieces (padded 128·2^k). */
export function isUnpaddedPieceSize (n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 127 || n % 127 !== 0) return false
  const p = n / 127
  return Number.isInteger(Math.log2(p)) && 2 ** Math.log2(p) === p
}

export class MinerClient {
  readonly rpc: RpcClient

  constructor (ep: RpcEndpoint, opts: ClientOptions = {}) {
    this.rpc = new RpcClient(ep, 'miner', opts)
  }

  async version (): Promise<ApiVersion> {
    return decodeVersion(await this.rpc.call('Version', []))
  }

  async actorAddress (): Promise<string> {
    return str(await this.rpc.call('ActorAddress', []), 'ActorAddress')
  }

  /**
   * Hands a piece to the sealer. `size` is the UNPADDED piece size (PieceSize.Unpadded()); `data` is
   * the staged payload (e.g. a CAR file stream), zero-padded here to `size`; null sends Lotus's
   * null reader (an all-zero piece, nothing uploaded). Not retried: a repeat for the same deal is
   * safe (lotus-miner waits for the pending add of the same deal key) but needs a fresh stream.
   */
  async sectorAddPieceToAny (size: number, data: PieceData | null, dealInfo: PieceDealInfo, opts: StreamCallOptions = {}): Promise<SectorOffset> {
    const r = await this.#withReader('SectorAddPieceToAny', size, data, (reader) => [size, reader, encodePieceDealInfo(dealInfo)], opts)
    const o = obj(r, 'SectorAddPieceToAny')
    return { sector: num(o.Sector, 'SectorAddPieceToAny.Sector'), offset: num(o.Offset, 'SectorAddPieceToAny.Offset') }
  }

  /** The miner computes the piece CID of `size` bytes of (zero-padded) data ("remote commP"). */
  async computeDataCid (size: number, data: PieceData | null, opts: StreamCallOptions = {}): Promise<PieceInfo> {
    const r = obj(await this.#withReader('ComputeDataCid', size, data, (reader) => [size, reader], opts), 'ComputeDataCid')
    return { size: num(r.Size, 'ComputeDataCid.Size'), pieceCid: cidFromJson(r.PieceCID, 'ComputeDataCid.PieceCID') }
  }

  async sectorsStatus (sector: number, showOnChainInfo = false): Promise<SectorInfo> {
    return decodeSectorInfo(await this.rpc.call('SectorsStatus', [sector, showOnChainInfo]), 'SectorsStatus')
  }

  async sectorsList (): Promise<number[]> {
    // A sector number per sector: ~10 bytes each, millions on a large miner.
    const r = await this.rpc.call('SectorsList', [], { maxResponseBytes: 256 << 20 })
    return r === null ? [] : arr(r, 'SectorsList').map((n, i) => num(n, `SectorsList[${i}]`))
  }

  /**
   * Runs a call with a reader param: the JSON-RPC request and the push upload go concurrently; when
   * the call returns, an upload still open is aborted (lotus-miner reads exactly `size` bytes and
   * may never answer the upload itself).
   */
  async #withReader (method: string, size: number, data: PieceData | null, params: (r: ReaderStream) => unknown[], opts: StreamCallOptions): Promise<unknown> {
    if (!isUnpaddedPieceSize(size)) {
      throw new LotusRpcError('ERR_LOTUS_STREAM', `${method}: ${size} is not an unpadded piece size (127·2^k)`, { retry: 'fatal', method })
    }
    if (data === null) {
      return await this.rpc.call(method, params({ Type: 'null', Info: String(size) }), { idempotent: false, timeoutMs: opts.timeoutMs ?? null, signal: opts.signal })
    }
    const id = randomUUID()
    // lotus-miner blocks the call until the upload arrives and never times out a reader it has
    // started, so a failed upload must also end the call, and a finished call the upload.
    const upload = new AbortController()
    const call = new AbortController()
    const outer = opts.signal !== undefined ? [opts.signal] : []
    let uploadError: unknown
    const uploading = pushStream(`${pushBaseUrl(this.rpc.endpoint.url)}/${id}`, padTo(data, size), size, {
      headers: this.rpc.headers(), dispatcher: this.rpc.dispatcher, signal: AbortSignal.any([upload.signal, ...outer])
    }).catch((err: unknown) => {
      if (upload.signal.aborted) return
      uploadError = err
      call.abort(err)
    })
    try {
      return await this.rpc.call(method, params({ Type: 'push', Info: id }), {
        idempotent: false, timeoutMs: opts.timeoutMs ?? null, signal: AbortSignal.any([call.signal, ...outer])
      })
    } catch (err) {
      if (uploadError !== undefined && opts.signal?.aborted !== true) {
        // Whatever the miner said ("got 0 of n bytes", "handler timed out") is a symptom; say why.
        const said = err instanceof LotusRpcError && err !== uploadError ? `; miner said: ${err.message}` : ''
        throw new LotusRpcError('ERR_LOTUS_STREAM', `${method}: upload failed: ${(uploadError as Error).message}${said}`,
          { cause: uploadError, method, retry: uploadError instanceof LotusRpcError ? uploadError.retry : 'auto' })
      }
      throw err
    } finally {
      upload.abort()
      await uploading
    }
  }
}
