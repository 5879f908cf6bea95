/**
 * PublishStorageDeals: the params tuple around already-encoded ClientDealProposals, the message to
 * the market actor, and reading which deals landed with which IDs.
 */
import { decode as decodeCbor } from '@ipld/dag-cbor'
import { cborItemEnd } from '../protocol/framing.ts'
import { LotusRpcError } from './errors.ts'
import { arr, num, obj } from './json.ts'
import { bitsFromRuns, decodeRlePlus } from './rleplus.ts'
import type { UnsignedMessage } from './types.ts'

/** f05, the storage market actor (input accepts the f or t prefix). */
export const STORAGE_MARKET_ACTOR = 'f05'
export const METHOD_PUBLISH_STORAGE_DEALS = 4
export const METHOD_ADD_BALANCE = 2

function cborArrayHeader (n: number): Uint8Array {
  if (n < 24) return Uint8Array.of(0x80 | n)
  if (n < 0x100) return Uint8Array.of(0x98, n)
  if (n < 0x10000) return Uint8Array.of(0x99, n >> 8, n & 0xff)
  return Uint8Array.of(0x9a, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/**
 * CBOR of PublishStorageDealsParams `[[ClientDealProposal...]]`, with each item's bytes copied as
 * they are: the client signed the proposal's exact CBOR, so it is never re-encoded. Each item must
 * be one well-formed CBOR array of 2 (proposal, signature).
 */
export function publishStorageDealsParams (signedProposalsCbor: Uint8Array[]): Uint8Array {
  if (signedProposalsCbor.length === 0) {
    throw new LotusRpcError('ERR_LOTUS_DECODE', 'publish storage deals: no deals', { retry: 'fatal' })
  }
  signedProposalsCbor.forEach((item, i) => {
    let end: number
    try { end = cborItemEnd(item, 0, `deals[${i}]`) } catch (err) {
      throw new LotusRpcError('ERR_LOTUS_DECODE', `publish storage deals: deals[${i}]: ${(err as Error).message}`, { cause: err, retry: 'fatal' })
    }
    if (item[0] !== 0x82 || end !== item.length) {
      throw new LotusRpcError('ERR_LOTUS_DECODE', `publish storage deals: deals[${i}] is not one CBOR ClientDealProposal`, { retry: 'fatal' })
    }
  })
  const header = cborArrayHeader(signedProposalsCbor.length)
  const out = new Uint8Array(1 + header.length + signedProposalsCbor.reduce((n, b) => n + b.length, 0))
  out[0] = 0x81
  out.set(header, 1)
  let pos = 1 + header.length
  for (const b of signedProposalsCbor) { out.set(b, pos); pos += b.length }
  return out
}

/** The unsigned PSD message; MpoolPushMessage fills nonce and gas. */
export function publishStorageDealsMessage (from: string, params: Uint8Array): UnsignedMessage {
  return { to: STORAGE_MARKET_ACTOR, from, method: METHOD_PUBLISH_STORAGE_DEALS, value: 0n, params }
}

export interface PublishResult {
  /** Deal IDs of the valid deals, in input order. */
  ids: number[]
  /** Input indexes the market actor accepted, ascending. */
  validDeals: number[]
}

/** From the receipt's Return bytes: CBOR `[[ids...], ValidDeals (RLE+ bytes)]`. */
export function decodePublishStorageDealsReturn (cbor: Uint8Array): PublishResult {
  let v: unknown
  try { v = decodeCbor(cbor) } catch (err) {
    throw new LotusRpcError('ERR_LOTUS_DECODE', `PublishStorageDealsReturn: ${(err as Error).message}`, { cause: err })
  }
  const t = arr(v, 'PublishStorageDealsReturn')
  if (t.length !== 2 || !(t[1] instanceof Uint8Array)) throw new LotusRpcError('ERR_LOTUS_DECODE', 'PublishStorageDealsReturn: expected [IDs, ValidDeals]')
  return checked({ ids: arr(t[0], 'PublishStorageDealsReturn.IDs').map((n, i) => num(n, `PublishStorageDealsReturn.IDs[${i}]`)), validDeals: decodeRlePlus(t[1]) })
}

/** From StateWaitMsg's ReturnDec: `{"IDs":[...],"ValidDeals":[runs...]}`. */
export function publishResultFromReturnDec (returnDec: unknown): PublishResult {
  const o = obj(returnDec, 'ReturnDec')
  return checked({
    ids: arr(o.IDs, 'ReturnDec.IDs').map((n, i) => num(n, `ReturnDec.IDs[${i}]`)),
    validDeals: bitsFromRuns(o.ValidDeals, 'ReturnDec.ValidDeals')
  })
}

function checked (r: PublishResult): PublishResult {
  if (r.ids.length !== r.validDeals.length) {
    throw new LotusRpcError('ERR_LOTUS_DECODE', `PublishStorageDealsReturn: ${r.ids.length} IDs for ${r.validDeals.length} valid deals`)
  }
  return r
}

/** The deal ID of input index `i`, or undefined if the actor dropped that deal (lotus IsDealValid). */
export function dealIdAt (r: PublishResult, i: number): number | undefined {
  const k = r.validDeals.indexOf(i)
  return k === -1 ? undefined : r.ids[k]
}
