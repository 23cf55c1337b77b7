#!/usr/bin/env bash
# Builds the SDK's exercise filter: build.sh OUT.wasm
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clang -c --target=wasm32-wasi -O2 -I ../../c -o "$tmp/weir.o" ../../c/weir.c
clang++ --target=wasm32-wasi -mexec-model=reactor -std=c++20 -O2 -fno-exceptions -Wall -Wextra \
  -Wl,--strip-all -I ../../c -I .. -o "$out" exercise.cpp "$tmp/weir.o"
