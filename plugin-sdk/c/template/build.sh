#!/usr/bin/env bash
# Builds the filter: ./build.sh [OUT.wasm] (default {{name}}.wasm).
# Needs clang and lld with WASI's libc: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
set -euo pipefail
out=$(realpath -m "${1:-{{name}}.wasm}")
cd "$(dirname "$0")"
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null; then
  echo "error: clang and wasm-ld are not installed: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32" >&2
  exit 1
fi
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Wl,--strip-all \
  -I weir-sdk -o "$out" filter.c weir-sdk/weir.c
echo "built $out"
