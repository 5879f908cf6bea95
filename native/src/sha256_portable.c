/* Portable SHA-256 node hashing and the runtime dispatch between it and SHA-NI. */
#include <string.h>
#include "sha256.h"

const uint32_t commp_sha_k[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

const uint32_t commp_sha_iv[8] = {
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};

uint32_t commp_sha_pad_wk[64];

commp_hash_pairs_fn commp_hash_pairs = commp_hash_pairs_portable;

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define S0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define S1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define s0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define s1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

static inline uint32_t load_be32 (const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* 64 rounds over an already added-in schedule wk[i] = W[i] + K[i]. */
static inline void rounds (uint32_t st[8], const uint32_t wk[64]) {
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + S1(e) + ((e & f) ^ (~e & g)) + wk[i];
    uint32_t t2 = S0(a) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

static void expand (uint32_t w[64]) {
  for (int i = 16; i < 64; i++) w[i] = s1(w[i - 2]) + w[i - 7] + s0(w[i - 15]) + w[i - 16];
}

void commp_hash_pairs_portable (uint8_t *out, const uint8_t *in, size_t npairs) {
  uint32_t w[64];
  for (size_t n = 0; n < npairs; n++) {
    const uint8_t *blk = in + 64 * n;
    for (int i = 0; i < 16; i++) w[i] = load_be32(blk + 4 * i);
    expand(w);
    for (int i = 0; i < 64; i++) w[i] += commp_sha_k[i];
    uint32_t st[8];
    memcpy(st, commp_sha_iv, sizeof st);
    rounds(st, w);
    /* the padding block's schedule never changes: only its rounds are left to run */
    rounds(st, commp_sha_pad_wk);
    uint8_t *o = out + 32 * n;
    for (int i = 0; i < 8; i++) {
      o[4 * i] = (uint8_t)(st[i] >> 24); o[4 * i + 1] = (uint8_t)(st[i] >> 16);
      o[4 * i + 2] = (uint8_t)(st[i] >> 8); o[4 * i + 3] = (uint8_t)st[i];
    }
    o[31] &= 0x3f;
  }
}

const char *commp_sha_init (int force_portable) {
  /* second block of a 64-byte message: 0x80, zeros, bit length 512 */
  uint32_t w[64] = { 0 };
  w[0] = 0x80000000u;
  w[15] = 512;
  expand(w);
  for (int i = 0; i < 64; i++) commp_sha_pad_wk[i] = w[i] + commp_sha_k[i];
#if defined(__x86_64__) || defined(__i386__)
  if (!force_portable && commp_cpu_has_shani()) {
    commp_hash_pairs = commp_hash_pairs_shani;
    return "sha-ni";
  }
#endif
  (void)force_portable;
  commp_hash_pairs = commp_hash_pairs_portable;
  return "portable";
}
