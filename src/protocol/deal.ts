import type { CborReader } from './cbor/reader.ts'
import { readStruct } from './cbor/reader.ts'
import type { CborWriter } from './cbor/writer.ts'
import { encodeError } from './cbor/writer.ts'
import { decodeWith, encodeWith } from './codec.ts'
import { readClientDealProposal, writeClientDealProposal } from './market.ts'
import type { ClientDealProposal, DealParams, DealResponse, DecodeOptions, Transfer } from './types.ts'
import type { CID } from 'multiformats/cid'

/*
 * boost storagemarket/types (cbor-gen --map-encoding): maps keyed by Go field names, written in
 * canonical order (shorter key first, then bytewise), every key always present.
 */

export function readTransfer (r: CborReader, path: string): Transfer {
  const t: Transfer = { type: '', clientId: '', params: new Uint8Array(0), size: 0 }
  readStruct(r, path, {
    Size: (p) => { t.size = r.uint(p) },
    Type: (p) => { t.type = r.text(p) },
    Params: (p) => { t.params = r.bytes(p) },
    ClientID: (p) => { t.clientId = r.text(p) }
  }, ['Size', 'Type', 'Params', 'ClientID'])
  return t
}

export function writeTransfer (w: CborWriter, path: string, t: Transfer): void {
  if (t == null) throw encodeError(path, 'missing transfer')
  w.header(5, 4)
  w.key('Size').uint(`${path}.Size`, t.size)
  w.key('Type').text(`${path}.Type`, t.type)
  w.key('Params').bytes(`${path}.Params`, t.params ?? new Uint8Array(0))
  w.key('ClientID').text(`${path}.ClientID`, t.clientId)
}

/**
 * Reads DealParams in either form: 7 keys (mk/1.2.1) or the 5-key DealParamsV120 (mk/1.2.0), on
 * either protocol ID, as boost's single handler does; the two 1.2.1 booleans default to false.
 */
export function readDealParams (r: CborReader, path: string): DealParams {
  let dealUuid = ''
  let transfer: Transfer | undefined
  let isOffline = false
  let dealDataRoot: CID | undefined
  let skipIpniAnnounce = false
  let clientDealProposal: ClientDealProposal | undefined
  let removeUnsealedCopy = false
  readStruct(r, path, {
    DealUUID: (p) => { dealUuid = r.uuid(p) },
    Transfer: (p) => { transfer = readTransfer(r, p) },
    IsOffline: (p) => { isOffline = r.bool(p) },
    DealDataRoot: (p) => { dealDataRoot = r.cid(p) },
    SkipIPNIAnnounce: (p) => { skipIpniAnnounce = r.bool(p) },
    ClientDealProposal: (p) => { clientDealProposal = readClientDealProposal(r, p) },
    RemoveUnsealedCopy: (p) => { removeUnsealedCopy = r.bool(p) }
  }, ['DealUUID', 'Transfer', 'IsOffline', 'DealDataRoot', 'ClientDealProposal'])
  return { dealUuid, transfer: transfer!, isOffline, dealDataRoot: dealDataRoot!, skipIpniAnnounce, clientDealProposal: clientDealProposal!, removeUnsealedCopy }
}

export function writeDealParams (w: CborWriter, path: string, d: DealParams): void {
  writeParams(w, path, d, true)
}

/** The mk/1.2.0 DealParamsV120 form: no SkipIPNIAnnounce / RemoveUnsealedCopy. */
export function writeDealParamsV120 (w: CborWriter, path: string, d: DealParams): void {
  writeParams(w, path, d, false)
}

function writeParams (w: CborWriter, path: string, d: DealParams, v121: boolean): void {
  if (d == null) throw encodeError(path, 'missing deal params')
  w.header(5, v121 ? 7 : 5)
  w.key('DealUUID').uuid(`${path}.DealUUID`, d.dealUuid)
  w.key('Transfer'); writeTransfer(w, `${path}.Transfer`, d.transfer)
  w.key('IsOffline').bool(d.isOffline)
  w.key('DealDataRoot').cid(`${path}.DealDataRoot`, d.dealDataRoot)
  if (v121) w.key('SkipIPNIAnnounce').bool(d.skipIpniAnnounce)
  w.key('ClientDealProposal'); writeClientDealProposal(w, `${path}.ClientDealProposal`, d.clientDealProposal)
  if (v121) w.key('RemoveUnsealedCopy').bool(d.removeUnsealedCopy)
}

export function readDealResponse (r: CborReader, path: string): DealResponse {
  const v: DealResponse = { accepted: false, message: '' }
  readStruct(r, path, {
    Message: (p) => { v.message = r.text(p) },
    Accepted: (p) => { v.accepted = r.bool(p) }
  }, ['Message', 'Accepted'])
  return v
}

export function writeDealResponse (w: CborWriter, path: string, v: DealResponse): void {
  w.header(5, 2)
  w.key('Message').text(`${path}.Message`, v.message)
  w.key('Accepted').bool(v.accepted)
}

export const encodeTransfer = (v: Transfer): Uint8Array => encodeWith(v, 'Transfer', writeTransfer)
export const decodeTransfer = (b: Uint8Array, o?: DecodeOptions): Transfer => decodeWith(b, 'Transfer', readTransfer, o)
export const encodeDealParams = (v: DealParams): Uint8Array => encodeWith(v, 'DealParams', writeDealParams)
export const encodeDealParamsV120 = (v: DealParams): Uint8Array => encodeWith(v, 'DealParams', writeDealParamsV120)
export const decodeDealParams = (b: Uint8Array, o?: DecodeOptions): DealParams => decodeWith(b, 'DealParams', readDealParams, o)
export const encodeDealResponse = (v: DealResponse): Uint8Array => encodeWith(v, 'DealResponse', writeDealResponse)
export const decodeDealResponse = (b: Uint8Array, o?: DecodeOptions): DealResponse => decodeWith(b, 'DealResponse', readDealResponse, o)
