{
  "targets": [
    {
      "target_name": "vgi_shm",
      "sources": ["shm.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lrt"] }]
      ]
    }
  ]
}
