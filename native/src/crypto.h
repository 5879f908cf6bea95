#ifndef DEALYARD_CRYPTO_H
#define DEALYARD_CRYPTO_H
#include <node_api.h>

/* Adds chachaOpen, chachaSeal and blake2b to the addon's exports; 0 when N-API failed. */
int crypto_register (napi_env env, napi_value exports);
/* Frees the calling thread's cipher and digest contexts. */
void crypto_teardown (void);

#endif
