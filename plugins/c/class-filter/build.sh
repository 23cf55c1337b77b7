#!/usr/bin/env bash
# Builds the filter: build.sh OUT.wasm (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32).
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
sdk=../../../plugin-sdk/c
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Wl,--strip-all \
  -I "$sdk" -o "$out" class_filter.c "$sdk/weir.c"
