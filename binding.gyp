{
  "targets": [
    {
      "target_name": "smoothcert_native",
      "sources": [
        "native/addon.cc",
        "native/engine.cc",
        "native/conv.cc",
        "native/matmul.cc",
        "native/pool.cc",
        "native/batchnorm.cc",
        "native/eltwise.cc",
        "native/copy.cc",
        "native/reduce.cc",
        "native/noise.cc",
        "native/plan.cc",
        "native/peak.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-ffp-contract=off", "-fexceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
