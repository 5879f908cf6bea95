import type { CID } from 'multiformats/cid'
import type { CborReader } from './cbor/reader.ts'
import { readStruct } from './cbor/reader.ts'
import type { CborWriter } from './cbor/writer.ts'
import { decodeWith, encodeWith } from './codec.ts'
import { readDealProposal, writeDealProposal } from './market.ts'
import type { DealProposal, DealStatus, DealStatusRequest, DealStatusResponse, DecodeOptions } from './types.ts'
import type { Signature } from '../filecoin/signature.ts'

export function readDealStatusRequest (r: CborReader, path: string): DealStatusRequest {
  let dealUuid = ''
  let signature: Signature | undefined
  readStruct(r, path, {
    DealUUID: (p) => { dealUuid = r.uuid(p) },
    Signature: (p) => { signature = r.signature(p) }
  }, ['DealUUID', 'Signature'])
  return { dealUuid, signature: signature! }
}

export function writeDealStatusRequest (w: CborWriter, path: string, v: DealStatusRequest): void {
  w.header(5, 2)
  w.key('DealUUID').uuid(`${path}.DealUUID`, v.dealUuid)
  w.key('Signature').signature(`${path}.Signature`, v.signature)
}

export function readDealStatus (r: CborReader, path: string): DealStatus {
  let proposal: DealProposal | undefined
  let signedProposalCid: CID | undefined
  const v = { error: '', status: '', sealingStatus: '', publishCid: null as CID | null, chainDealId: 0 }
  readStruct(r, path, {
    Error: (p) => { v.error = r.text(p) },
    Status: (p) => { v.status = r.text(p) },
    Proposal: (p) => { proposal = readDealProposal(r, p) },
    PublishCid: (p) => { v.publishCid = r.null() ? null : r.cid(p) },
    ChainDealID: (p) => { v.chainDealId = r.uint(p) },
    SealingStatus: (p) => { v.sealingStatus = r.text(p) },
    SignedProposalCid: (p) => { signedProposalCid = r.cid(p) }
  }, ['Error', 'Status', 'Proposal', 'PublishCid', 'ChainDealID', 'SealingStatus', 'SignedProposalCid'])
  return { error: v.error, status: v.status, sealingStatus: v.sealingStatus, proposal: proposal!, signedProposalCid: signedProposalCid!, publishCid: v.publishCid, chainDealId: v.chainDealId }
}

export function writeDealStatus (w: CborWriter, path: string, v: DealStatus): void {
  w.header(5, 7)
  w.key('Error').text(`${path}.Error`, v.error)
  w.key('Status').text(`${path}.Status`, v.status)
  w.key('Proposal'); writeDealProposal(w, `${path}.Proposal`, v.proposal)
  w.key('PublishCid')
  if (v.publishCid == null) w.null(); else w.cid(`${path}.PublishCid`, v.publishCid)
  w.key('ChainDealID').uint(`${path}.ChainDealID`, v.chainDealId)
  w.key('SealingStatus').text(`${path}.SealingStatus`, v.sealingStatus)
  w.key('SignedProposalCid').cid(`${path}.SignedProposalCid`, v.signedProposalCid)
}

export function readDealStatusResponse (r: CborReader, path: string): DealStatusResponse {
  const v: DealStatusResponse = { dealUuid: '', error: '', dealStatus: null, isOffline: false, transferSize: 0, nBytesReceived: 0 }
  readStruct(r, path, {
    Error: (p) => { v.error = r.text(p) },
    DealUUID: (p) => { v.dealUuid = r.uuid(p) },
    IsOffline: (p) => { v.isOffline = r.bool(p) },
    DealStatus: (p) => { v.dealStatus = r.null() ? null : readDealStatus(r, p) },
    TransferSize: (p) => { v.transferSize = r.uint(p) },
    NBytesReceived: (p) => { v.nBytesReceived = r.uint(p) }
  }, ['Error', 'DealUUID', 'IsOffline', 'DealStatus', 'TransferSize', 'NBytesReceived'])
  return v
}

export function writeDealStatusResponse (w: CborWriter, path: string, v: DealStatusResponse): void {
  w.header(5, 6)
  w.key('Error').text(`${path}.Error`, v.error)
  w.key('DealUUID').uuid(`${path}.DealUUID`, v.dealUuid)
  w.key('IsOffline').bool(v.isOffline)
  w.key('DealStatus')
  if (v.dealStatus == null) w.null(); else writeDealStatus(w, `${path}.DealStatus`, v.dealStatus)
  w.key('TransferSize').uint(`${path}.TransferSize`, v.transferSize)
  w.key('NBytesReceived').uint(`${path}.NBytesReceived`, v.nBytesReceived)
}

export const encodeDealStatusRequest = (v: DealStatusRequest): Uint8Array => encodeWith(v, 'DealStatusRequest', writeDealStatusRequest)
export const decodeDealStatusRequest = (b: Uint8Array, o?: DecodeOptions): DealStatusRequest => decodeWith(b, 'DealStatusRequest', readDealStatusRequest, o)
export const encodeDealStatus = (v: DealStatus): Uint8Array => encodeWith(v, 'DealStatus', writeDealStatus)
export const decodeDealStatus = (b: Uint8Array, o?: DecodeOptions): DealStatus => decodeWith(b, 'DealStatus', readDealStatus, o)
export const encodeDealStatusResponse = (v: DealStatusResponse): Uint8Array => encodeWith(v, 'DealStatusResponse', writeDealStatusResponse)
export const decodeDealStatusResponse = (b: Uint8Array, o?: DecodeOptions): DealStatusResponse => decodeWith(b, 'DealStatusResponse', readDealStatusResponse, o)
