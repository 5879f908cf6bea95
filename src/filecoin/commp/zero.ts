/**
 * Roots of all-zero subtrees: zero(0) is a 32-byte zero leaf, zero(l + 1) = H(zero(l), zero(l)).
 * Level l covers 32·2^l padded bytes; zero(2) is the 128-byte piece 3731bb99… that Lotus tabulates
 * (go-commp-utils zerocomm). Computed once, on first use.
 */
import { hashNode } from './sha256.ts'

export const MAX_LEVEL = 63
let table: Uint8Array[] | undefined

export function zeroSubtree (level: number): Uint8Array {
  if (table === undefined) {
    table = [new Uint8Array(32)]
    for (let l = 0; l < MAX_LEVEL; l++) table.push(hashNode(table[l]!, table[l]!))
  }
  const z = table[level]
  if (z === undefined) throw new RangeError(`commp: no zero subtree at level ${level}`)
  return z
}
