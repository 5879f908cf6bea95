import type { CID } from 'multiformats/cid'
import { proposalCidOf, signedProposalCidOf } from '../filecoin/cid.ts'
import { sign, verifySignature } from '../filecoin/signature.ts'
import type { Address } from '../filecoin/address.ts'
import type { PrivateKey } from '../filecoin/keys.ts'
import { encodeClientDealProposal, encodeDealProposal } from './market.ts'
import { uuidToBytes } from './uuid.ts'
import type { ClientDealProposal, DealProposal } from './types.ts'

/** Boost's signed proposal CID (sha2-256 dag-cbor of the ClientDealProposal). */
export function signedProposalCid (c: ClientDealProposal): CID {
  return signedProposalCidOf(encodeClientDealProposal(c))
}

/** DealProposal.Cid() (blake2b-256 dag-cbor of the proposal): its identity on chain. */
export function proposalCid (p: DealProposal): CID {
  return proposalCidOf(encodeDealProposal(p))
}

/** Signs a proposal as `boost deal` does: the key's signature over the proposal's CBOR. */
export function signProposal (p: DealProposal, key: PrivateKey): ClientDealProposal {
  return { proposal: p, clientSignature: sign(key, encodeDealProposal(p)) }
}

/**
 * Checks the client signature over the re-encoded proposal, as boost does (cborutil.Dump of the
 * decoded struct). `signer` is the client's key address (resolve ID addresses on chain first).
 */
export function verifyProposalSignature (c: ClientDealProposal, signer: Address): boolean {
  return verifySignature(c.clientSignature, signer, encodeDealProposal(c.proposal))
}

/** The bytes a status request signs: the 16 raw UUID bytes. */
export function statusRequestMessage (dealUuid: string): Uint8Array {
  return uuidToBytes(dealUuid, 'DealStatusRequest.DealUUID')
}
