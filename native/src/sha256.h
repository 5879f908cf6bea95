/*
 * SHA-256 for the CommP tree: every node is SHA-256 of two 32-byte children (one 64-byte block plus
 * the constant padding block), with the two top bits of the last byte cleared (Fr32 truncation).
 */
#ifndef DEALYARD_SHA256_H
#define DEALYARD_SHA256_H
#include <stddef.h>
#include <stdint.h>

/* out[i] = trunc254(SHA-256(in[64i .. 64i+63])) for i < npairs. out may equal in (in-place level
 * reduction): pair i is read before out[i] is written and out[i] never overlaps a later pair. */
typedef void (*commp_hash_pairs_fn)(uint8_t *out, const uint8_t *in, size_t npairs);

/* Chosen once at load by CPU features (cpuid): SHA-NI when present, portable C otherwise. */
extern commp_hash_pairs_fn commp_hash_pairs;

/* Picks the implementation; force_portable=1 skips SHA-NI (tests compare both). Returns its name. */
const char *commp_sha_init(int force_portable);

/* Round constants and the precomputed schedule (W[i] + K[i]) of the padding block of a 64-byte
 * message, shared by both implementations. */
extern const uint32_t commp_sha_k[64];
extern uint32_t commp_sha_pad_wk[64];
extern const uint32_t commp_sha_iv[8];

void commp_hash_pairs_portable(uint8_t *out, const uint8_t *in, size_t npairs);
#if defined(__x86_64__) || defined(__i386__)
void commp_hash_pairs_shani(uint8_t *out, const uint8_t *in, size_t npairs);
int commp_cpu_has_shani(void);
#endif

#endif
