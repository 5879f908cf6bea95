/**
 * Piece size arithmetic (go-state-types abi/piece.go, go-padreader PaddedSize): a padded piece is a
 * power of two ≥ 128 bytes; Fr32 stores 127 payload bytes in every 128, so it holds
 * `padded − padded/128` payload bytes. The CommP tree has 32-byte leaves: height = log2(padded) − 5.
 */
import { DealyardError } from '../../errors.ts'

export const MIN_PADDED_PIECE_SIZE = 128
/** Far beyond any sector (64 GiB = 2^36); keeps sizes exact in a JS number. */
export const MAX_PADDED_PIECE_SIZE = 2 ** 50

export function isPaddedPieceSize (n: number): boolean {
  return Number.isSafeInteger(n) && n >= MIN_PADDED_PIECE_SIZE && n <= MAX_PADDED_PIECE_SIZE &&
    2 ** Math.round(Math.log2(n)) === n
}

/** Payload bytes a padded piece holds (`PaddedPieceSize.Unpadded()`). */
export function unpaddedSize (padded: number): number {
  return padded - padded / 128
}

/** The smallest padded piece holding `payload` bytes once Fr32-padded (127 → 128), at least 128. */
export function naturalPaddedSize (payload: number): number {
  const fr32 = Math.ceil(payload / 127) * 128
  let p = MIN_PADDED_PIECE_SIZE
  while (p < fr32) p *= 2
  return p
}

/** log2(padded) − 5: the number of hashing levels above the 32-byte leaves. */
export function treeHeight (padded: number): number {
  return Math.round(Math.log2(padded)) - 5
}

/** Throws ERR_COMMP_SIZE unless `padded` is a valid padded piece size. */
export function checkPaddedPieceSize (padded: number): void {
  if (!isPaddedPieceSize(padded)) {
    throw new DealyardError('ERR_COMMP_SIZE', `commp: padded piece size ${padded} is not a power of two between 128 and 2^50`)
  }
}
