/**
 * Pure-TypeScript SHA-256 of 64-byte messages, truncated to 254 bits: the CommP node hash for the
 * fallback path (no native addon). As in the native code, the padding block's schedule is constant
 * and precomputed once, so each node costs one full compression plus 64 rounds.
 */
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
])
const IV = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])

function expand (w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!, b = w[i - 2]!
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
    w[i] = (s1 + w[i - 7]! + s0 + w[i - 16]!) | 0
  }
}

/** W[i] + K[i] of the padding block of a 64-byte message (0x80, zeros, bit length 512). */
const PAD_WK = (() => {
  const w = new Int32Array(64)
  w[0] = 0x80000000 | 0
  w[15] = 512
  expand(w)
  for (let i = 0; i < 64; i++) w[i] = (w[i]! + K[i]!) | 0
  return w
})()

const W = new Int32Array(64)
const S = new Int32Array(8)

/** 64 rounds over an added-in schedule wk, accumulated into S. */
function rounds (wk: Int32Array): void {
  let a = S[0]!, b = S[1]!, c = S[2]!, d = S[3]!, e = S[4]!, f = S[5]!, g = S[6]!, h = S[7]!
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + wk[i]!) | 0
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0
  }
  S[0] = (S[0]! + a) | 0; S[1] = (S[1]! + b) | 0; S[2] = (S[2]! + c) | 0; S[3] = (S[3]! + d) | 0
  S[4] = (S[4]! + e) | 0; S[5] = (S[5]! + f) | 0; S[6] = (S[6]! + g) | 0; S[7] = (S[7]! + h) | 0
}

/**
 * dst[dstOff + 32i ..] = trunc254(SHA-256(src[srcOff + 64i .. +64])) for i < n. dst may be src
 * with dstOff ≤ srcOff (in-place level reduction): pair i is read before node i is written.
 */
export function hashPairs (dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  for (let p = 0; p < n; p++) {
    let o = srcOff + 64 * p
    for (let i = 0; i < 16; i++, o += 4) W[i] = (src[o]! << 24) | (src[o + 1]! << 16) | (src[o + 2]! << 8) | src[o + 3]!
    expand(W)
    for (let i = 0; i < 64; i++) W[i] = (W[i]! + K[i]!) | 0
    for (let i = 0; i < 8; i++) S[i] = IV[i]! | 0
    rounds(W)
    rounds(PAD_WK)
    let q = dstOff + 32 * p
    for (let i = 0; i < 8; i++, q += 4) {
      const v = S[i]!
      dst[q] = v >>> 24; dst[q + 1] = v >>> 16; dst[q + 2] = v >>> 8; dst[q + 3] = v
    }
    const last = dstOff + 32 * p + 31
    dst[last] = dst[last]! & 0x3f
  }
}

/** trunc254(SHA-256(left ‖ right)) as a new array. */
export function hashNode (left: Uint8Array, right: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64)
  pair.set(left.subarray(0, 32), 0)
  pair.set(right.subarray(0, 32), 32)
  const out = new Uint8Array(32)
  hashPairs(out, 0, pair, 0, 1)
  return out
}
