/**
 * Fr32 padding of one 127-byte block into four 32-byte leaves: the block is read as a
 * little-endian bit stream and cut into 254-bit chunks, each stored as 32 bytes whose two top bits
 * are zero (go-fil-commp-hashhash, FRC-0069). Chunk j starts at bit 254j: bytes 0, 31, 63, 95 with
 * shifts 0, 6, 4, 2.
 */
export function fr32Block (dst: Uint8Array, o: number, src: Uint8Array, i: number): void {
  for (let b = 0; b < 32; b++) dst[o + b] = src[i + b]!
  for (let b = 0; b < 32; b++) dst[o + 32 + b] = (src[i + 31 + b]! >>> 6) | (src[i + 32 + b]! << 2)
  for (let b = 0; b < 32; b++) dst[o + 64 + b] = (src[i + 63 + b]! >>> 4) | (src[i + 64 + b]! << 4)
  // the last byte of the block has no successor inside it: src[i + 127] belongs to the next block
  for (let b = 0; b < 31; b++) dst[o + 96 + b] = (src[i + 95 + b]! >>> 2) | (src[i + 96 + b]! << 6)
  dst[o + 127] = src[i + 126]! >>> 2
  dst[o + 31] = dst[o + 31]! & 0x3f
  dst[o + 63] = dst[o + 63]! & 0x3f
  dst[o + 95] = dst[o + 95]! & 0x3f
}
