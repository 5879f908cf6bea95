{
  "variables": {
    "blst_version": "v0.3.14",
    "with_blst%": "<!(test -f blst/bindings/blst.h && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "dealyard_commp",
      "sources": ["src/addon.c", "src/bls.c", "src/commp.c", "src/crypto.c", "src/sha256_portable.c", "src/sha256_shani.c"],
      "cflags": ["-O3", "-std=gnu11", "-fno-strict-aliasing", "-Wall", "-Wextra"],
      "cflags!": ["-O2", "-O0"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"],
      "libraries": ["-lpthread"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] },
      "conditions": [
        ["with_blst==1", {
          "dependencies": ["blst"],
          "include_dirs": ["blst/bindings"],
          "defines": ["DEALYARD_BLST"]
        }]
      ]
    }
  ],
  "conditions": [
    ["with_blst==1", {
      "targets": [
        {
          "target_name": "blst",
          "type": "static_library",
          "sources": ["blst/src/server.c", "blst/build/assembly.S"],
          "cflags": ["-O2", "-fno-builtin", "-fPIC", "-Wall", "-Wextra"],
          "defines": ["__BLST_PORTABLE__"]
        }
      ]
    }]
  ]
}
