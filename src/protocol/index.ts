/**
 * Boost's deal-protocol wire formats, byte-compatible with boost's cbor-gen code: types, strict
 * decoders (every failure a DealyardError naming the field: ERR_CBOR_DECODE for malformed input,
 * ERR_CBOR_RANGE for a well-formed one with an integer beyond ±(2^53-1), ERR_CBOR_MISSING for a
 * well-formed one whose map lacks a field), encoders,
 * framing (one CBOR item per stream direction) and the protocol IDs.
 *
 * @example
 * const params = decodeDealParams(await readCborItem(stream, { path: 'DealParams', signal }))
 * stream.send(encodeDealResponse({ accepted: true, message: '' }))
 */
export type * from './types.ts'
export { PROTOCOL_IDS, DEAL_PROPOSAL_PROTOCOLS, STREAM_DEADLINES_MS } from './ids.ts'
export { DEFAULT_MAX_MESSAGE_BYTES } from './codec.ts'
export { ERR_CBOR_DECODE, ERR_CBOR_MISSING, ERR_CBOR_RANGE, MAX_STRING_LENGTH, MAX_BYTES_LENGTH, MAX_NESTING } from './cbor/reader.ts'
export { ERR_CBOR_ENCODE } from './cbor/writer.ts'
export { encodeDealProposal, decodeDealProposal, encodeClientDealProposal, decodeClientDealProposal } from './market.ts'
export {
  encodeTransfer, decodeTransfer, encodeDealParams, encodeDealParamsV120, decodeDealParams,
  encodeDealResponse, decodeDealResponse
} from './deal.ts'
export {
  encodeDealStatusRequest, decodeDealStatusRequest, encodeDealStatus, decodeDealStatus,
  encodeDealStatusResponse, decodeDealStatusResponse
} from './status.ts'
export {
  encodeStorageAsk, decodeStorageAsk, encodeSignedStorageAsk, decodeSignedStorageAsk,
  encodeAskRequest, decodeAskRequest, encodeAskResponse, decodeAskResponse
} from './ask.ts'
export { encodeTransportsQueryResponse, decodeTransportsQueryResponse } from './transports.ts'
export { cborItemEnd, readCborItem, type ReadItemOptions } from './framing.ts'
export { signedProposalCid, proposalCid, signProposal, verifyProposalSignature, statusRequestMessage } from './proposal.ts'
export { uuidToBytes, uuidToString, isUuid } from './uuid.ts'
