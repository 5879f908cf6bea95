/*
 * SHA-256 node hashing with the x86 SHA extensions (SHA-NI). Two things make it faster than a
 * plain SHA-NI loop:
 *  - nodes of one tree level are independent, so LANES messages are hashed interleaved: a single
 *    chain of sha256rnds2 is latency-bound, interleaving fills the pipeline;
 *  - the second (padding) block of a 64-byte message has a constant schedule, precomputed once as
 *    W[i] + K[i], so it costs only the 32 sha256rnds2 of its rounds.
 * Only these functions are compiled for SHA/SSE4.1; the dispatcher calls them after cpuid says so.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#include "sha256.h"

#define TGT __attribute__((target("sha,sse4.1,ssse3")))

/* 5 measured best on Zen 4 (CPU-time per MiB: 3 lanes 876, 4: 901, 5: ~990, 6: 955, 7: 894,
 * 8: worse): enough chains to hide sha256rnds2 latency before the 16 xmm registers spill badly. */
#ifndef COMMP_LANES
#define COMMP_LANES 5
#endif
#define LANES COMMP_LANES

int commp_cpu_has_shani (void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  int sha = (b >> 29) & 1;
  return sha && ssse3 && sse41;
}

#define LOOP_LANES _Pragma("GCC unroll 8") for (int l = 0; l < LANES; l++)

static TGT inline void hash_group (uint8_t *out, const uint8_t *in) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  const __m128i *k = (const __m128i *)commp_sha_k;
  const __m128i *pk = (const __m128i *)commp_sha_pad_wk;
  /* IV in the ABEF / CDGH register layout sha256rnds2 works on */
  const __m128i iv0 = _mm_set_epi32((int)commp_sha_iv[0], (int)commp_sha_iv[1], (int)commp_sha_iv[4], (int)commp_sha_iv[5]);
  const __m128i iv1 = _mm_set_epi32((int)commp_sha_iv[2], (int)commp_sha_iv[3], (int)commp_sha_iv[6], (int)commp_sha_iv[7]);
  __m128i s0[LANES], s1[LANES], w[LANES][4], m[LANES];

  LOOP_LANES { s0[l] = iv0; s1[l] = iv1; }
  /* block 1: the two children */
  _Pragma("GCC unroll 16")
  for (int g = 0; g < 16; g++) {
    if (g < 4) {
      LOOP_LANES w[l][g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(in + 64 * l + 16 * g)), bswap);
    }
    const __m128i kg = _mm_loadu_si128(k + g);
    LOOP_LANES { m[l] = _mm_add_epi32(w[l][g & 3], kg); s1[l] = _mm_sha256rnds2_epu32(s1[l], s0[l], m[l]); }
    if (g >= 3 && g < 15) {
      LOOP_LANES {
        __m128i t = _mm_alignr_epi8(w[l][g & 3], w[l][(g - 1) & 3], 4);
        w[l][(g + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(w[l][(g + 1) & 3], t), w[l][g & 3]);
      }
    }
    LOOP_LANES { m[l] = _mm_shuffle_epi32(m[l], 0x0E); s0[l] = _mm_sha256rnds2_epu32(s0[l], s1[l], m[l]); }
    if (g >= 1 && g <= 12) {
      LOOP_LANES w[l][(g - 1) & 3] = _mm_sha256msg1_epu32(w[l][(g - 1) & 3], w[l][g & 3]);
    }
  }
  __m128i h0[LANES], h1[LANES];
  LOOP_LANES { h0[l] = s0[l] = _mm_add_epi32(s0[l], iv0); h1[l] = s1[l] = _mm_add_epi32(s1[l], iv1); }
  /* block 2: padding, schedule precomputed */
  _Pragma("GCC unroll 16")
  for (int g = 0; g < 16; g++) {
    const __m128i kg = _mm_loadu_si128(pk + g);
    const __m128i kh = _mm_shuffle_epi32(kg, 0x0E);
    LOOP_LANES s1[l] = _mm_sha256rnds2_epu32(s1[l], s0[l], kg);
    LOOP_LANES s0[l] = _mm_sha256rnds2_epu32(s0[l], s1[l], kh);
  }
  LOOP_LANES {
    __m128i a = _mm_add_epi32(s0[l], h0[l]), b = _mm_add_epi32(s1[l], h1[l]);
    __m128i feba = _mm_shuffle_epi32(a, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(b, 0xB1);
    __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    /* Fr32 truncation: clear the two top bits of byte 31 (the top byte of word H) */
    hgfe = _mm_and_si128(_mm_shuffle_epi8(hgfe, bswap), _mm_set_epi32(0x3fffffff, -1, -1, -1));
    _mm_storeu_si128((__m128i *)(out + 32 * l), _mm_shuffle_epi8(dcba, bswap));
    _mm_storeu_si128((__m128i *)(out + 32 * l + 16), hgfe);
  }
}

static TGT inline void hash_one (uint8_t *out, const uint8_t *in) {
  /* the tail of a level: reuse the lane code on a padded copy */
  uint8_t buf[64 * LANES] __attribute__((aligned(16))) = { 0 };
  uint8_t res[32 * LANES] __attribute__((aligned(16)));
  for (int i = 0; i < 64; i++) buf[i] = in[i];
  hash_group(res, buf);
  for (int i = 0; i < 32; i++) out[i] = res[i];
}

TGT void commp_hash_pairs_shani (uint8_t *out, const uint8_t *in, size_t npairs) {
  size_t n = 0;
  /* Writing out[n..n+LANES) before reading the next group is safe in place: those slots lie at or
   * before the group just read. The group is read into registers before being written. */
  for (; n + LANES <= npairs; n += LANES) hash_group(out + 32 * n, in + 64 * n);
  for (; n < npairs; n++) hash_one(out + 32 * n, in + 64 * n);
}
#endif
