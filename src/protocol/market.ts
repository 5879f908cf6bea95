import type { CborReader } from './cbor/reader.ts'
import type { CborWriter } from './cbor/writer.ts'
import { encodeError } from './cbor/writer.ts'
import { decodeWith, encodeWith } from './codec.ts'
import type { ClientDealProposal, DealProposal, DecodeOptions } from './types.ts'

/*
 * go-state-types v0.18.0 builtin/v9/market DealProposal and ClientDealProposal: tuple (array)
 * encoded, fields in declaration order, exact array length required.
 */

export function readDealProposal (r: CborReader, path: string): DealProposal {
  r.arrayHeader(path, 11)
  return {
    pieceCid: r.cid(`${path}.PieceCID`),
    pieceSize: r.uint(`${path}.PieceSize`),
    verifiedDeal: r.bool(`${path}.VerifiedDeal`),
    client: r.address(`${path}.Client`),
    provider: r.address(`${path}.Provider`),
    label: r.label(`${path}.Label`),
    startEpoch: r.int(`${path}.StartEpoch`),
    endEpoch: r.int(`${path}.EndEpoch`),
    storagePricePerEpoch: r.bigint(`${path}.StoragePricePerEpoch`),
    providerCollateral: r.bigint(`${path}.ProviderCollateral`),
    clientCollateral: r.bigint(`${path}.ClientCollateral`)
  }
}

export function writeDealProposal (w: CborWriter, path: string, p: DealProposal): void {
  if (p == null) throw encodeError(path, 'missing proposal')
  w.header(4, 11)
  w.cid(`${path}.PieceCID`, p.pieceCid)
  w.uint(`${path}.PieceSize`, p.pieceSize)
  w.bool(p.verifiedDeal)
  w.address(`${path}.Client`, p.client)
  w.address(`${path}.Provider`, p.provider)
  w.label(`${path}.Label`, p.label)
  w.int(`${path}.StartEpoch`, p.startEpoch)
  w.int(`${path}.EndEpoch`, p.endEpoch)
  w.bigint(`${path}.StoragePricePerEpoch`, p.storagePricePerEpoch)
  w.bigint(`${path}.ProviderCollateral`, p.providerCollateral)
  w.bigint(`${path}.ClientCollateral`, p.clientCollateral)
}

export function readClientDealProposal (r: CborReader, path: string): ClientDealProposal {
  r.arrayHeader(path, 2)
  return { proposal: readDealProposal(r, `${path}.Proposal`), clientSignature: r.signature(`${path}.ClientSignature`) }
}

export function writeClientDealProposal (w: CborWriter, path: string, c: ClientDealProposal): void {
  if (c == null) throw encodeError(path, 'missing client deal proposal')
  w.header(4, 2)
  writeDealProposal(w, `${path}.Proposal`, c.proposal)
  w.signature(`${path}.ClientSignature`, c.clientSignature)
}

/** The bytes a client signs (cborutil.Dump(&proposal)). */
export function encodeDealProposal (p: DealProposal): Uint8Array {
  return encodeWith(p, 'DealProposal', writeDealProposal)
}
export function decodeDealProposal (b: Uint8Array, opts?: DecodeOptions): DealProposal {
  return decodeWith(b, 'DealProposal', readDealProposal, opts)
}
export function encodeClientDealProposal (c: ClientDealProposal): Uint8Array {
  return encodeWith(c, 'ClientDealProposal', writeClientDealProposal)
}
export function decodeClientDealProposal (b: Uint8Array, opts?: DecodeOptions): ClientDealProposal {
  return decodeWith(b, 'ClientDealProposal', readClientDealProposal, opts)
}
