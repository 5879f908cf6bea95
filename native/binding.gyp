{
  "targets": [
    {
      "target_name": "dealyard_commp",
      "sources": ["src/addon.c", "src/commp.c", "src/crypto.c", "src/sha256_portable.c", "src/sha256_shani.c"],
      "cflags": ["-O3", "-std=gnu11", "-fno-strict-aliasing", "-Wall", "-Wextra"],
      "cflags!": ["-O2", "-O0"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"],
      "libraries": ["-lpthread"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
