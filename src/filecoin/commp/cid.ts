/**
 * Piece CIDs from a CommP root (go-fil-commcid commcid.go):
 * - v1: CIDv1, codec fil-commitment-unsealed (0xf101), multihash sha2-256-trunc254-padded (0x1012);
 * - v2 (FRC-0069): CIDv1, codec raw (0x55), multihash fr32-sha256-trunc254-padbintree (0x1011)
 *   whose digest is uvarint(padding) ‖ height ‖ root, where padding is the number of zero payload
 *   bytes that fill the tree: unpadded(2^height · 32) − payloadSize.
 */
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { varint } from 'multiformats'
import { treeHeight, unpaddedSize } from './sizes.ts'

export const FIL_COMMITMENT_UNSEALED = 0xf101
export const SHA2_256_TRUNC254_PADDED = 0x1012
export const RAW = 0x55
export const FR32_SHA256_TRUNC254_PADBINTREE = 0x1011

export function pieceCidV1 (root: Uint8Array): CID {
  return CID.create(1, FIL_COMMITMENT_UNSEALED, createDigest(SHA2_256_TRUNC254_PADDED, root))
}

/**
 * go-fil-commcid derives height and padding from the payload size alone (the natural piece); we take
 * the padded size the root was actually computed for, which gives the same CID for the natural size
 * and a consistent one (root and height agree) when the piece was padded further.
 */
export function pieceCidV2 (root: Uint8Array, payloadSize: number, paddedPieceSize: number): CID {
  const padding = unpaddedSize(paddedPieceSize) - payloadSize
  const n = varint.encodingLength(padding)
  const d = new Uint8Array(n + 1 + 32)
  varint.encodeTo(padding, d, 0)
  d[n] = treeHeight(paddedPieceSize)
  d.set(root, n + 1)
  return CID.create(1, RAW, createDigest(FR32_SHA256_TRUNC254_PADBINTREE, d))
}
