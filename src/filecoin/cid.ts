import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { bases } from 'multiformats/basics'
import type { MultibaseDecoder } from 'multiformats/bases/interface'
import { sha256 } from '@noble/hashes/sha2.js'
import { blake2b } from './blake2b.ts'

/** Multicodec and multihash codes a Filecoin deal engine meets. */
export const Codec = { DagCbor: 0x71, Raw: 0x55, DagPb: 0x70, FilCommitmentUnsealed: 0xf101 } as const
export const Multihash = { Sha2_256: 0x12, Blake2b_256: 0xb220, Sha2_256Trunc254Padded: 0x1012 } as const

interface Composable { or: (d: Composable) => Composable }
const anyMultibase = (Object.values(bases).map((b) => b.decoder) as unknown as Composable[]).reduce((a, b) => a.or(b)) as unknown as MultibaseDecoder<string>

/**
 * A CID written in any multibase (or a base58btc CIDv0), as go-cid's Decode reads one: an
 * operator may copy a CID in base32upper, base58btc or base36 from another tool.
 */
export function parseCidAnyBase (text: string): CID {
  return CID.parse(text, anyMultibase)
}

/**
 * The signed proposal CID boost uses (ProviderDealState.SignedProposalCid, duplicate checks, status):
 * CIDv1 dag-cbor sha2-256 over the cbor-gen bytes of the ClientDealProposal 2-tuple.
 */
export function signedProposalCidOf (clientDealProposalCbor: Uint8Array): CID {
  return CID.createV1(Codec.DagCbor, Digest.create(Multihash.Sha2_256, sha256(refmtRecode(clientDealProposalCbor))))
}

/**
 * Boost hashes the signed proposal through cborutil.AsIpld, which decodes the cbor-gen bytes into
 * go-ipld-cbor/refmt generic values and re-encodes them. That round trip turns every empty byte
 * string (`40`: a zero TokenAmount, an empty bytes label) into null (`f6`), so the hashed bytes are
 * not the wire bytes whenever an amount is zero (checked against go-cbor-util v0.0.2 in the golden
 * vectors). This applies the same rewrite to canonical cbor-gen output (definite lengths, no maps
 * to re-sort in a ClientDealProposal).
 */
export function refmtRecode (cbor: Uint8Array): Uint8Array {
  const out: number[] = []
  let pos = 0
  let pending = 1
  const stack: number[] = []
  while (pending > 0 || stack.length > 0) {
    if (pending === 0) { pending = stack.pop()!; continue }
    pending--
    const first = cbor[pos]
    if (first === undefined) throw new RangeError('truncated CBOR')
    const major = first >> 5
    const low = first & 0x1f
    const n = low < 24 ? 0 : low <= 27 ? 1 << (low - 24) : -1
    if (n < 0) throw new RangeError('indefinite or reserved CBOR header')
    let v = low < 24 ? low : 0
    for (let i = 1; i <= n; i++) v = v * 256 + cbor[pos + i]!
    if (major === 2 && v === 0) { out.push(0xf6); pos += 1 + n; continue }
    const headerEnd = pos + 1 + n
    const bodyEnd = major === 2 || major === 3 ? headerEnd + v : headerEnd
    for (let i = pos; i < bodyEnd; i++) out.push(cbor[i]!)
    pos = bodyEnd
    if (major === 4 || major === 5 || major === 6) {
      stack.push(pending)
      pending = major === 4 ? v : major === 5 ? v * 2 : 1
    }
  }
  return Uint8Array.from(out)
}

/** DealProposal.Cid(): CIDv1 dag-cbor blake2b-256 over the proposal's CBOR (abi.CidBuilder). */
export function proposalCidOf (dealProposalCbor: Uint8Array): CID {
  return CID.createV1(Codec.DagCbor, Digest.create(Multihash.Blake2b_256, blake2b(dealProposalCbor, 32)))
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
