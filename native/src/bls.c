/*
 * BLS signature verification with blst, the library Lotus and boost verify with (through
 * filecoin-ffi): noble's pure-JS pairing takes ~30 ms of the ingress's only thread per
 * BLS-signed proposal or status request, blst ~1.3 ms. blst's sources are not in this
 * repository: native/build.sh fetches the version binding.gyp names from the Go module proxy
 * (checksummed by the Go toolchain) and compiles them in; without them the addon is built
 * without blsVerify and TypeScript keeps using noble.
 */
#include "bls.h"

#ifdef DEALYARD_BLST
#include <stdbool.h>
#include "blst.h"
#include "napi_bytes.h"

/*
 * Filecoin's scheme (lotus lib/sigs/bls, filecoin-ffi): public keys in G1 (48 bytes compressed),
 * signatures in G2 (96 bytes) over the message itself, hashed to G2 with the caller's DST. Both
 * points must decode and lie in their prime-order subgroups; the identity key is refused.
 */
static bool verify (const uint8_t sig[96], const uint8_t pk[48], const uint8_t *msg, size_t len, const uint8_t *dst, size_t dstlen) {
  blst_p1_affine p;
  blst_p2_affine s;
  if (blst_p1_uncompress(&p, pk) != BLST_SUCCESS || blst_p1_affine_is_inf(&p) || !blst_p1_affine_in_g1(&p)) return false;
  if (blst_p2_uncompress(&s, sig) != BLST_SUCCESS || !blst_p2_affine_in_g2(&s)) return false;
  return blst_core_verify_pk_in_g1(&p, &s, true, msg, len, dst, dstlen, NULL, 0) == BLST_SUCCESS;
}

/* blsVerify(sig: 96 bytes, publicKey: 48 bytes, message, dst) → boolean */
static napi_value js_bls_verify (napi_env env, napi_callback_info info) {
  napi_value argv[4], out;
  if (!call_args(env, info, 4, argv, "ERR_BLS_NATIVE", "blsVerify(sig, publicKey, message, dst)")) return NULL;
  uint8_t *sig, *pk, *msg, *dst;
  size_t siglen, pklen, msglen, dstlen;
  if (!uint8_array_arg(env, argv[0], "ERR_BLS_NATIVE", "sig: a Uint8Array", &sig, &siglen) ||
      !uint8_array_arg(env, argv[1], "ERR_BLS_NATIVE", "publicKey: a Uint8Array", &pk, &pklen) ||
      !uint8_array_arg(env, argv[2], "ERR_BLS_NATIVE", "message: a Uint8Array", &msg, &msglen) ||
      !uint8_array_arg(env, argv[3], "ERR_BLS_NATIVE", "dst: a Uint8Array", &dst, &dstlen)) return NULL;
  bool ok = siglen == 96 && pklen == 48 && verify(sig, pk, msg, msglen, dst, dstlen);
  if (napi_get_boolean(env, ok, &out) != napi_ok) return NULL;
  return out;
}

int bls_register (napi_env env, napi_value exports) {
  napi_value v;
  return napi_create_function(env, "blsVerify", NAPI_AUTO_LENGTH, js_bls_verify, NULL, &v) == napi_ok &&
    napi_set_named_property(env, exports, "blsVerify", v) == napi_ok;
}
#else
int bls_register (napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return 1;
}
#endif
