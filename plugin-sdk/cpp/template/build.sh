#!/usr/bin/env bash
# Builds the filter: ./build.sh [OUT.wasm] (default {{name}}.wasm). Needs clang, lld,
# WASI's libc and libc++: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
# libc++-14-dev-wasm32 libc++abi-14-dev-wasm32
set -euo pipefail
out=$(realpath -m "${1:-{{name}}.wasm}")
cd "$(dirname "$0")"
if ! command -v clang++ >/dev/null || ! command -v wasm-ld >/dev/null; then
  echo "error: clang++ and wasm-ld are not installed: apt-get install clang lld wasi-libc" \
    "libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clang -c --target=wasm32-wasi -O2 -I weir-sdk -o "$tmp/weir.o" weir-sdk/weir.c
clang++ --target=wasm32-wasi -mexec-model=reactor -std=c++20 -O2 -fno-exceptions -Wall -Wextra \
  -Wl,--strip-all -I weir-sdk -o "$out" filter.cpp "$tmp/weir.o"
echo "built $out"
