import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from '@noble/hashes/sha2.js'
import { blake2b } from '@noble/hashes/blake2.js'

/** Multicodec and multihash codes a Filecoin deal engine meets. */
export const Codec = { DagCbor: 0x71, Raw: 0x55, DagPb: 0x70, FilCommitmentUnsealed: 0xf101 } as const
export const Multihash = { Sha2_256: 0x12, Blake2b_256: 0xb220, Sha2_256Trunc254Padded: 0x1012 } as const

/**
 * The signed proposal CID boost uses (ProviderDealState.SignedProposalCid, duplicate checks, status):
 * CIDv1 dag-cbor sha2-256 over the cbor-gen bytes of the ClientDealProposal 2-tuple.
 */
export function signedProposalCidOf (clientDealProposalCbor: Uint8Array): CID {
  return CID.createV1(Codec.DagCbor, Digest.create(Multihash.Sha2_256, sha256(clientDealProposalCbor)))
}

/** DealProposal.Cid(): CIDv1 dag-cbor blake2b-256 over the proposal's CBOR (abi.CidBuilder). */
export function proposalCidOf (dealProposalCbor: Uint8Array): CID {
  return CID.createV1(Codec.DagCbor, Digest.create(Multihash.Blake2b_256, blake2b(dealProposalCbor, { dkLen: 32 })))
}

/**
 * A piece CID as boost's validation requires (deal_acceptance.go, "proposal PieceCID had wrong
 * prefix"): CIDv1, fil-commitment-unsealed, sha2-256-trunc254-padded, 32-byte digest.
 */
export function isPieceCid (c: CID): boolean {
  return c.version === 1 && c.code === Codec.FilCommitmentUnsealed &&
    c.multihash.code === Multihash.Sha2_256Trunc254Padded && c.multihash.size === 32
}

/** A piece CID from a 32-byte CommP digest. */
export function pieceCidFromCommP (commP: Uint8Array): CID {
  if (commP.length !== 32) throw new RangeError(`CommP must be 32 bytes, got ${commP.length}`)
  return CID.createV1(Codec.FilCommitmentUnsealed, Digest.create(Multihash.Sha2_256Trunc254Padded, commP))
}
