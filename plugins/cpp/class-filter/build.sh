#!/usr/bin/env bash
# Builds the filter: build.sh OUT.wasm (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32
# libc++-14-dev-wasm32 libc++abi-14-dev-wasm32).
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
sdk=../../../plugin-sdk
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clang -c --target=wasm32-wasi -O2 -Wall -Wextra -I "$sdk/c" -o "$tmp/weir.o" "$sdk/c/weir.c"
clang++ --target=wasm32-wasi -mexec-model=reactor -std=c++20 -O2 -fno-exceptions -Wall -Wextra \
  -Wl,--strip-all -I "$sdk/c" -I "$sdk/cpp" -o "$out" class_filter.cpp "$tmp/weir.o"
