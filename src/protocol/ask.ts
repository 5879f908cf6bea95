import type { CborReader } from './cbor/reader.ts'
import { readStruct } from './cbor/reader.ts'
import type { CborWriter } from './cbor/writer.ts'
import { decodeWith, encodeWith } from './codec.ts'
import type { AskRequest, AskResponse, DecodeOptions, SignedStorageAsk, StorageAsk } from './types.ts'
import type { Address } from '../filecoin/address.ts'

/*
 * /fil/storage/ask/1.1.0 types: boost storagemarket/types/legacytypes (StorageAsk,
 * SignedStorageAsk) and legacytypes/network (AskRequest, AskResponse), all cbor-gen map encoded.
 * The miner's worker key signs the CBOR of StorageAsk.
 */

export function readStorageAsk (r: CborReader, path: string): StorageAsk {
  let miner: Address | undefined
  const v = { price: 0n, verifiedPrice: 0n, minPieceSize: 0, maxPieceSize: 0, timestamp: 0, expiry: 0, seqNo: 0 }
  readStruct(r, path, {
    Miner: (p) => { miner = r.address(p) },
    Price: (p) => { v.price = r.bigint(p) },
    SeqNo: (p) => { v.seqNo = r.uint(p) },
    Expiry: (p) => { v.expiry = r.int(p) },
    Timestamp: (p) => { v.timestamp = r.int(p) },
    MaxPieceSize: (p) => { v.maxPieceSize = r.uint(p) },
    MinPieceSize: (p) => { v.minPieceSize = r.uint(p) },
    VerifiedPrice: (p) => { v.verifiedPrice = r.bigint(p) }
  }, ['Miner', 'Price', 'SeqNo', 'Expiry', 'Timestamp', 'MaxPieceSize', 'MinPieceSize', 'VerifiedPrice'])
  return { ...v, miner: miner! }
}

export function writeStorageAsk (w: CborWriter, path: string, a: StorageAsk): void {
  w.header(5, 8)
  w.key('Miner').address(`${path}.Miner`, a.miner)
  w.key('Price').bigint(`${path}.Price`, a.price)
  w.key('SeqNo').uint(`${path}.SeqNo`, a.seqNo)
  w.key('Expiry').int(`${path}.Expiry`, a.expiry)
  w.key('Timestamp').int(`${path}.Timestamp`, a.timestamp)
  w.key('MaxPieceSize').uint(`${path}.MaxPieceSize`, a.maxPieceSize)
  w.key('MinPieceSize').uint(`${path}.MinPieceSize`, a.minPieceSize)
  w.key('VerifiedPrice').bigint(`${path}.VerifiedPrice`, a.verifiedPrice)
}

export function readSignedStorageAsk (r: CborReader, path: string): SignedStorageAsk {
  const v: SignedStorageAsk = { ask: null, signature: null }
  readStruct(r, path, {
    Ask: (p) => { v.ask = r.null() ? null : readStorageAsk(r, p) },
    Signature: (p) => { v.signature = r.null() ? null : r.signature(p) }
  }, ['Ask', 'Signature'])
  return v
}

export function writeSignedStorageAsk (w: CborWriter, path: string, s: SignedStorageAsk): void {
  w.header(5, 2)
  w.key('Ask')
  if (s.ask == null) w.null(); else writeStorageAsk(w, `${path}.Ask`, s.ask)
  w.key('Signature')
  if (s.signature == null) w.null(); else w.signature(`${path}.Signature`, s.signature)
}

export function readAskRequest (r: CborReader, path: string): AskRequest {
  let miner: Address | undefined
  readStruct(r, path, { Miner: (p) => { miner = r.address(p) } }, ['Miner'])
  return { miner: miner! }
}

export function writeAskRequest (w: CborWriter, path: string, a: AskRequest): void {
  w.header(5, 1).key('Miner').address(`${path}.Miner`, a.miner)
}

export function readAskResponse (r: CborReader, path: string): AskResponse {
  const v: AskResponse = { ask: null }
  readStruct(r, path, { Ask: (p) => { v.ask = r.null() ? null : readSignedStorageAsk(r, p) } }, ['Ask'])
  return v
}

export function writeAskResponse (w: CborWriter, path: string, a: AskResponse): void {
  w.header(5, 1).key('Ask')
  if (a.ask == null) w.null(); else writeSignedStorageAsk(w, `${path}.Ask`, a.ask)
}

export const encodeStorageAsk = (v: StorageAsk): Uint8Array => encodeWith(v, 'StorageAsk', writeStorageAsk)
export const decodeStorageAsk = (b: Uint8Array, o?: DecodeOptions): StorageAsk => decodeWith(b, 'StorageAsk', readStorageAsk, o)
export const encodeSignedStorageAsk = (v: SignedStorageAsk): Uint8Array => encodeWith(v, 'SignedStorageAsk', writeSignedStorageAsk)
export const decodeSignedStorageAsk = (b: Uint8Array, o?: DecodeOptions): SignedStorageAsk => decodeWith(b, 'SignedStorageAsk', readSignedStorageAsk, o)
export const encodeAskRequest = (v: AskRequest): Uint8Array => encodeWith(v, 'AskRequest', writeAskRequest)
export const decodeAskRequest = (b: Uint8Array, o?: DecodeOptions): AskRequest => decodeWith(b, 'AskRequest', readAskRequest, o)
export const encodeAskResponse = (v: AskResponse): Uint8Array => encodeWith(v, 'AskResponse', writeAskResponse)
export const decodeAskResponse = (b: Uint8Array, o?: DecodeOptions): AskResponse => decodeWith(b, 'AskResponse', readAskResponse, o)
