/*
 * ChaCha20-Poly1305 and BLAKE2b through the OpenSSL that Node itself links and exports (Node
 * exports its OpenSSL symbols to addons; the headers ship with it).
 *   chachaOpen(key, nonce, ad, sealed, dst) -> boolean   (tag checked; dst may be sealed itself)
 *   chachaSeal(key, nonce, ad, plaintext, out)   (out: plaintext.length + 16 bytes, ciphertext ‖ tag)
 *   blake2b(data, outLen) -> Uint8Array, or undefined where this OpenSSL cannot set BLAKE2b's output
 *     size (before 3.2): the caller then uses its own implementation
 * Why: the libp2p ingress decrypts ~65 small noise messages per deal proposal (boost's client seals
 * every yamux frame on its own); js-libp2p-noise's WebAssembly ChaCha20 copies key, nonce and data
 * in and out of its memory for each, and its Node path builds a cipher object per message. Here a
 * cipher context per thread is set up once and reused, and decryption runs in place.
 * Contexts are per thread (worker threads may load the addon); crypto_teardown frees the calling
 * thread's when its Node environment goes away.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <string.h>
#include "crypto.h"
#include "napi_bytes.h"

#define TAG_BYTES 16
#define KEY_BYTES 32
#define NONCE_BYTES 12

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *chacha;
static EVP_MD *blake2b512;

static __thread EVP_CIPHER_CTX *open_ctx;
static __thread EVP_CIPHER_CTX *seal_ctx;
static __thread EVP_MD_CTX *md_ctx;

/* Fetched once: a legacy EVP_chacha20_poly1305() would be fetched again at every init. */
static void fetch (void) {
  chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  blake2b512 = EVP_MD_fetch(NULL, "BLAKE2B-512", NULL);
}

void crypto_teardown (void) {
  EVP_CIPHER_CTX_free(open_ctx);
  EVP_CIPHER_CTX_free(seal_ctx);
  EVP_MD_CTX_free(md_ctx);
  open_ctx = seal_ctx = NULL;
  md_ctx = NULL;
}

/* A Uint8Array argument, of exactly `want` bytes unless want is 0. */
static int bytes_arg (napi_env env, napi_value v, const char *what, size_t want, uint8_t **data, size_t *len) {
  if (!uint8_array_arg(env, v, "ERR_CRYPTO_NATIVE", what, data, len)) return 0;
  if (want != 0 && *len != want) {
    napi_throw_range_error(env, "ERR_CRYPTO_NATIVE", what);
    return 0;
  }
  return 1;
}

/* A context with the cipher set for one direction; key and nonce are set per message. */
static EVP_CIPHER_CTX *cipher_ctx (EVP_CIPHER_CTX **slot, int enc) {
  if (*slot != NULL) return *slot;
  pthread_once(&fetch_once, fetch);
  if (chacha == NULL) return NULL;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (c == NULL) return NULL;
  if (EVP_CipherInit_ex(c, chacha, NULL, NULL, NULL, enc) != 1) { EVP_CIPHER_CTX_free(c); return NULL; }
  *slot = c;
  return c;
}

/* (key, nonce, ad, in, out), the arguments both directions take. out may start where in starts
 * (in place) but must not overlap it otherwise. */
struct aead_args { uint8_t *key, *nonce, *ad, *in, *out; size_t adlen, inlen, outlen; };

static int aead_args (napi_env env, napi_callback_info info, const char *usage, const char *in_what, const char *out_what, struct aead_args *a) {
  size_t klen, nlen;
  napi_value argv[5];
  if (!call_args(env, info, 5, argv, "ERR_CRYPTO_NATIVE", usage)) return 0;
  if (!bytes_arg(env, argv[0], "key: 32 bytes", KEY_BYTES, &a->key, &klen) ||
      !bytes_arg(env, argv[1], "nonce: 12 bytes", NONCE_BYTES, &a->nonce, &nlen) ||
      !bytes_arg(env, argv[2], "ad: a Uint8Array", 0, &a->ad, &a->adlen) ||
      !bytes_arg(env, argv[3], in_what, 0, &a->in, &a->inlen) ||
      !bytes_arg(env, argv[4], out_what, 0, &a->out, &a->outlen)) return 0;
  if (a->inlen > INT32_MAX - TAG_BYTES || a->adlen > INT32_MAX) {
    napi_throw_range_error(env, "ERR_CRYPTO_NATIVE", "input too large");
    return 0;
  }
  if (a->out != a->in && a->out < a->in + a->inlen && a->in < a->out + a->outlen) {
    napi_throw_range_error(env, "ERR_CRYPTO_NATIVE", "output overlaps input");
    return 0;
  }
  return 1;
}

static napi_value js_chacha_open (napi_env env, napi_callback_info info) {
  struct aead_args a;
  napi_value out;
  if (!aead_args(env, info, "chachaOpen(key, nonce, ad, sealed, dst)", "sealed: a Uint8Array", "dst: a Uint8Array", &a)) return NULL;
  if (a.inlen < TAG_BYTES || a.outlen != a.inlen - TAG_BYTES) {
    napi_throw_range_error(env, "ERR_CRYPTO_NATIVE", "sealed must hold a tag and dst its plaintext length");
    return NULL;
  }
  EVP_CIPHER_CTX *c = cipher_ctx(&open_ctx, 0);
  if (c == NULL) { napi_throw_error(env, "ERR_CRYPTO_NATIVE", "ChaCha20-Poly1305 unavailable"); return NULL; }
  int n = (int)(a.inlen - TAG_BYTES), l = 0, ok = 0;
  uint8_t tag[TAG_BYTES];
  memcpy(tag, a.in + n, TAG_BYTES);
  if (EVP_DecryptInit_ex(c, NULL, NULL, a.key, a.nonce) == 1 &&
      (a.adlen == 0 || EVP_DecryptUpdate(c, NULL, &l, a.ad, (int)a.adlen) == 1) &&
      EVP_DecryptUpdate(c, a.out, &l, a.in, n) == 1 &&
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, tag) == 1) {
    int fin = 0;
    ok = EVP_DecryptFinal_ex(c, a.out + l, &fin) == 1;
  }
  if (napi_get_boolean(env, ok, &out) != napi_ok) return NULL;
  return out;
}

static napi_value js_chacha_seal (napi_env env, napi_callback_info info) {
  struct aead_args a;
  if (!aead_args(env, info, "chachaSeal(key, nonce, ad, plaintext, out)", "plaintext: a Uint8Array", "out: a Uint8Array", &a)) return NULL;
  if (a.outlen != a.inlen + TAG_BYTES) {
    napi_throw_range_error(env, "ERR_CRYPTO_NATIVE", "out must hold the plaintext and a tag");
    return NULL;
  }
  EVP_CIPHER_CTX *c = cipher_ctx(&seal_ctx, 1);
  if (c == NULL) { napi_throw_error(env, "ERR_CRYPTO_NATIVE", "ChaCha20-Poly1305 unavailable"); return NULL; }
  int l = 0, fin = 0;
  if (EVP_EncryptInit_ex(c, NULL, NULL, a.key, a.nonce) != 1 ||
      (a.adlen != 0 && EVP_EncryptUpdate(c, NULL, &l, a.ad, (int)a.adlen) != 1) ||
      EVP_EncryptUpdate(c, a.out, &l, a.in, (int)a.inlen) != 1 ||
      EVP_EncryptFinal_ex(c, a.out + l, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, a.out + a.inlen) != 1) {
    napi_throw_error(env, "ERR_CRYPTO_NATIVE", "ChaCha20-Poly1305 seal failed");
    return NULL;
  }
  return NULL;
}

static napi_value js_blake2b (napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  if (!call_args(env, info, 2, argv, "ERR_CRYPTO_NATIVE", "blake2b(data, outLen)")) return NULL;
  uint8_t *data;
  size_t len;
  uint32_t outlen = 0;
  if (!bytes_arg(env, argv[0], "data: a Uint8Array", 0, &data, &len)) return NULL;
  if (napi_get_value_uint32(env, argv[1], &outlen) != napi_ok || outlen < 1 || outlen > 64) {
    napi_throw_range_error(env, "ERR_CRYPTO_NATIVE", "outLen: 1 to 64");
    return NULL;
  }
  pthread_once(&fetch_once, fetch);
  if (blake2b512 == NULL) goto unsupported;
  if (md_ctx == NULL && (md_ctx = EVP_MD_CTX_new()) == NULL) goto unsupported;
  size_t size = outlen;
  OSSL_PARAM params[2] = { OSSL_PARAM_construct_size_t("size", &size), OSSL_PARAM_construct_end() };
  /* OpenSSL before 3.2 has no settable output size for BLAKE2b: init fails, the caller falls back */
  if (EVP_DigestInit_ex2(md_ctx, blake2b512, params) != 1) goto unsupported;
  /* a plain Uint8Array, as the JavaScript implementation returns, not a Buffer */
  void *buf;
  napi_value ab;
  unsigned int got = 0;
  if (napi_create_arraybuffer(env, outlen, &buf, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, outlen, ab, 0, &out) != napi_ok) return NULL;
  if (EVP_DigestUpdate(md_ctx, data, len) != 1 || EVP_DigestFinal_ex(md_ctx, buf, &got) != 1 || got != outlen) goto unsupported;
  return out;
unsupported:
  if (napi_get_undefined(env, &out) != napi_ok) return NULL;
  return out;
}

int crypto_register (napi_env env, napi_value exports) {
  napi_value v;
  if (napi_create_function(env, "chachaOpen", NAPI_AUTO_LENGTH, js_chacha_open, NULL, &v) != napi_ok ||
      napi_set_named_property(env, exports, "chachaOpen", v) != napi_ok ||
      napi_create_function(env, "chachaSeal", NAPI_AUTO_LENGTH, js_chacha_seal, NULL, &v) != napi_ok ||
      napi_set_named_property(env, exports, "chachaSeal", v) != napi_ok ||
      napi_create_function(env, "blake2b", NAPI_AUTO_LENGTH, js_blake2b, NULL, &v) != napi_ok ||
      napi_set_named_property(env, exports, "blake2b", v) != napi_ok) return 0;
  return 1;
}
