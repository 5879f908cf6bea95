#ifndef DEALYARD_BLS_H
#define DEALYARD_BLS_H
#include <node_api.h>

/* Adds blsVerify to the addon's exports when it was built with blst (DEALYARD_BLST); 0 when
 * N-API failed. */
int bls_register (napi_env env, napi_value exports);

#endif
