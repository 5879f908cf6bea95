/** Loads the golden vectors written by test/vectors/boost and maps decoded values to their plain JSON form. */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CID } from 'multiformats/cid'
import { Address } from '../../../src/filecoin/address.ts'
import * as P from '../../../src/protocol/index.ts'

export const fixturesDir = fileURLToPath(new URL('../../fixtures/boost/', import.meta.url))

export interface Vector { name: string, type: string, hex: string, value: unknown, facts?: Record<string, unknown> }
export interface VectorFile { generator: string, keys: Record<string, { type: string, address: string, file: string }>, vectors: Vector[] }

export function loadVectors (): VectorFile {
  return JSON.parse(readFileSync(fixturesDir + 'vectors.json', 'utf8')) as VectorFile
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
export const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

/** decode/encode pairs by the vector's type name. */
export const codecs: Record<string, { decode: (b: Uint8Array) => unknown, encode: (v: never) => Uint8Array }> = {
  DealProposal: { decode: P.decodeDealProposal, encode: P.encodeDealProposal },
  ClientDealProposal: { decode: P.decodeClientDealProposal, encode: P.encodeClientDealProposal },
  DealParams: { decode: P.decodeDealParams, encode: P.encodeDealParams },
  DealParamsV120: { decode: P.decodeDealParams, encode: P.encodeDealParamsV120 },
  DealResponse: { decode: P.decodeDealResponse, encode: P.encodeDealResponse },
  DealStatusRequest: { decode: P.decodeDealStatusRequest, encode: P.encodeDealStatusRequest },
  DealStatusResponse: { decode: P.decodeDealStatusResponse, encode: P.encodeDealStatusResponse },
  StorageAsk: { decode: P.decodeStorageAsk, encode: P.encodeStorageAsk },
  AskRequest: { decode: P.decodeAskRequest, encode: P.encodeAskRequest },
  AskResponse: { decode: P.decodeAskResponse, encode: P.encodeAskResponse },
  TransportsQueryResponse: { decode: P.decodeTransportsQueryResponse, encode: P.encodeTransportsQueryResponse }
}

/** The plain JSON form the Go program writes: CIDs/addresses as strings, bigints as decimal, bytes as hex. */
export function toPlain (v: unknown): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return hex(v)
  if (v instanceof Address) return v.toString()
  const c = CID.asCID(v)
  if (c != null) return c.toString()
  if (Array.isArray(v)) return v.map(toPlain)
  const o = v as Record<string, unknown>
  if (o.kind === 'bytes' || o.kind === 'string') return { kind: o.kind, value: toPlain(o.value) }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, toPlain(x)]))
}
