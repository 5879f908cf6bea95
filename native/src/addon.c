/*
 * Node-API binding of the CommP hasher. Plain C against node_api.h (ABI-stable), so one build works
 * on every Node version with Node-API 8.
 *   implementation: 'sha-ni' | 'portable'   (DEALYARD_COMMP_PORTABLE=1 forces portable)
 *   create(threads) -> handle;  update(handle, Uint8Array);  digest(handle, height) -> Buffer(32)
 *   updateFile(handle, fd, position, length): threaded hashers let pool threads pread the file
 *   hashPairs(Uint8Array of 64*n bytes) -> Buffer(32*n)   (node hashing, for tests)
 *   addressModulo(Uint8Array, m) -> the address of its first byte modulo m (the transfer aligns
 *     O_DIRECT write buffers with it: JavaScript cannot see where memory lies)
 *   chachaOpen, chachaSeal, blake2b: see crypto.c (Node's own OpenSSL)
 *   blsVerify: see bls.c (blst, when native/build.sh could fetch it)
 * Several Node environments (the main thread, worker_threads) may load it at once; each holds the
 * process-wide thread pool through its instance data, whose finalizer (environment teardown, before
 * Node unloads the library from a Worker) lets it go.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "commp.h"
#include "crypto.h"
#include "bls.h"
#include "napi_bytes.h"
#include "sha256.h"

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, "ERR_COMMP_NATIVE", #call " failed"); return NULL; } } while (0)

static void finalize (napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  commp_free((commp_hasher *)data);
}

static commp_hasher *get_hasher (napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "ERR_COMMP_NATIVE", "expected a commp handle");
    return NULL;
  }
  return (commp_hasher *)p;
}

static int get_bytes (napi_env env, napi_value v, uint8_t **data, size_t *len) {
  return uint8_array_arg(env, v, "ERR_COMMP_NATIVE", "expected a Uint8Array", data, len);
}

static napi_value js_create (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t threads = 1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1) CHECK(napi_get_value_int32(env, argv[0], &threads));
  commp_hasher *h = commp_new(threads);
  if (h == NULL) { napi_throw_error(env, "ERR_COMMP_NATIVE", "out of memory"); return NULL; }
  CHECK(napi_create_external(env, h, finalize, NULL, &out));
  return out;
}

static napi_value js_update (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  commp_hasher *h = get_hasher(env, argv[0]);
  uint8_t *data;
  size_t len;
  if (h == NULL || !get_bytes(env, argv[1], &data, &len)) return NULL;
  if (commp_update(h, data, len) != 0) napi_throw_error(env, "ERR_COMMP_NATIVE", "out of memory");
  return NULL;
}

static napi_value js_update_file (napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd;
  int64_t off, len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  commp_hasher *h = get_hasher(env, argv[0]);
  if (h == NULL) return NULL;
  CHECK(napi_get_value_int32(env, argv[1], &fd));
  CHECK(napi_get_value_int64(env, argv[2], &off));
  CHECK(napi_get_value_int64(env, argv[3], &len));
  if (fd < 0 || off < 0 || len < 0) { napi_throw_range_error(env, "ERR_COMMP_NATIVE", "bad fd, offset or length"); return NULL; }
  int rc = commp_update_file(h, fd, (off_t)off, (size_t)len);
  if (rc == -2) napi_throw_error(env, "ERR_COMMP_NATIVE", "out of memory");
  else if (rc != 0) napi_throw_error(env, "ERR_COMMP_READ", rc == EIO ? "read: short file or I/O error" : strerror(rc));
  return NULL;
}

static napi_value js_digest (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  int32_t height;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  commp_hasher *h = get_hasher(env, argv[0]);
  if (h == NULL) return NULL;
  CHECK(napi_get_value_int32(env, argv[1], &height));
  void *buf;
  CHECK(napi_create_buffer(env, 32, &buf, &out));
  int rc = commp_digest(h, height, buf);
  if (rc == -1) { napi_throw_range_error(env, "ERR_COMMP_SIZE", "payload does not fit the tree height"); return NULL; }
  if (rc == -2) { napi_throw_error(env, "ERR_COMMP_NATIVE", "out of memory"); return NULL; }
  if (rc != 0) { napi_throw_error(env, "ERR_COMMP_READ", strerror(rc)); return NULL; }
  return out;
}

static napi_value js_hash_pairs (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *data;
  size_t len;
  if (!get_bytes(env, argv[0], &data, &len)) return NULL;
  void *buf;
  CHECK(napi_create_buffer(env, len / 2, &buf, &out));
  commp_hash_pairs(buf, data, len / 64);
  return out;
}

static napi_value js_address_modulo (napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *data;
  size_t len;
  if (!get_bytes(env, argv[0], &data, &len)) return NULL;
  uint32_t m = 0;
  if (argc < 2 || napi_get_value_uint32(env, argv[1], &m) != napi_ok || m == 0) {
    napi_throw_type_error(env, "ERR_COMMP_NATIVE", "expected a modulus > 0");
    return NULL;
  }
  CHECK(napi_create_uint32(env, (uint32_t)((uintptr_t)data % m), &out));
  return out;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *impl = "portable";

static void init_once (void) {
  const char *force = getenv("DEALYARD_COMMP_PORTABLE");
  impl = commp_sha_init(force != NULL && force[0] != '\0' && force[0] != '0');
  commp_init();
}

/* Instance data needs a non-NULL pointer; what it points to is unused. */
static char env_marker;

/* Runs when the environment is torn down; a Worker's runs before Node dlcloses the library. The
 * hashers' own finalizers may run before or after this one (both are environment finalizers, in no
 * documented order): the last release joins the pool threads, and commp_free only waits for jobs
 * running, which a joined pool has none of, so either order ends with no thread in this library. */
static void env_teardown (napi_env env, void *data, void *hint) {
  (void)env; (void)data; (void)hint;
  commp_pool_release();
  crypto_teardown();
}

static napi_value init (napi_env env, napi_value exports) {
  /* the module may be loaded by several Node environments (worker threads): init once */
  pthread_once(&once, init_once);
  /* Node-API makes one napi_env per load, so this is normally unset; setting it twice would drop
   * the first finalizer (napi_set_instance_data does not call it) and leak a pool reference */
  void *had = NULL;
  CHECK(napi_get_instance_data(env, &had));
  if (had == NULL) {
    CHECK(napi_set_instance_data(env, &env_marker, env_teardown, NULL));
    commp_pool_retain();
  }
  napi_value v;
  CHECK(napi_create_string_utf8(env, impl, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, exports, "implementation", v));
  CHECK(napi_create_function(env, "create", NAPI_AUTO_LENGTH, js_create, NULL, &v));
  CHECK(napi_set_named_property(env, exports, "create", v));
  CHECK(napi_create_function(env, "update", NAPI_AUTO_LENGTH, js_update, NULL, &v));
  CHECK(napi_set_named_property(env, exports, "update", v));
  CHECK(napi_create_function(env, "updateFile", NAPI_AUTO_LENGTH, js_update_file, NULL, &v));
  CHECK(napi_set_named_property(env, exports, "updateFile", v));
  CHECK(napi_create_function(env, "digest", NAPI_AUTO_LENGTH, js_digest, NULL, &v));
  CHECK(napi_set_named_property(env, exports, "digest", v));
  CHECK(napi_create_function(env, "hashPairs", NAPI_AUTO_LENGTH, js_hash_pairs, NULL, &v));
  CHECK(napi_set_named_property(env, exports, "hashPairs", v));
  CHECK(napi_create_function(env, "addressModulo", NAPI_AUTO_LENGTH, js_address_modulo, NULL, &v));
  CHECK(napi_set_named_property(env, exports, "addressModulo", v));
  if (!crypto_register(env, exports) || !bls_register(env, exports)) { napi_throw_error(env, "ERR_COMMP_NATIVE", "registering the crypto functions failed"); return NULL; }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
