#!/usr/bin/env bash
# Builds the SDK's exercise filter: build.sh OUT.wasm
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Wl,--strip-all -I .. -o "$out" exercise.c ../weir.c
