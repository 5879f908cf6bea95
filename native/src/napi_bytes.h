#ifndef DEALYARD_NAPI_BYTES_H
#define DEALYARD_NAPI_BYTES_H
#include <node_api.h>
#include <stdint.h>

/* The bytes of a Uint8Array argument; anything else throws a TypeError with the given code and
 * message and returns 0. */
static inline int uint8_array_arg (napi_env env, napi_value v, const char *code, const char *what, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  void *base;
  if (napi_get_typedarray_info(env, v, &type, len, &base, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, code, what);
    return 0;
  }
  *data = (uint8_t *)base;
  return 1;
}

/* The call's first n arguments into argv; fewer throws a TypeError with the usage text and
 * returns 0. */
static inline int call_args (napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *code, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    napi_throw_type_error(env, code, usage);
    return 0;
  }
  return 1;
}

#endif
