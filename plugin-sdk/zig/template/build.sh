#!/usr/bin/env bash
# Builds the filter: ./build.sh [OUT.wasm] (default {{name}}.wasm). Needs Zig 0.17
# (pip install ziglang==0.17.1: this script runs it as `python3 -m ziglang` (or
# `python -m ziglang`) when no zig is on PATH).
set -euo pipefail
out=$(realpath -m "${1:-{{name}}.wasm}")
cd "$(dirname "$0")"
if command -v zig >/dev/null; then
  zig=(zig)
elif python3 -c 'import ziglang' 2>/dev/null; then
  zig=(python3 -m ziglang)
elif command -v python >/dev/null && python -c 'import ziglang' 2>/dev/null; then
  zig=(python -m ziglang)
else
  echo "error: zig is not installed: pip install ziglang==0.17.1" >&2
  exit 1
fi
# The target and optimisation options come before the module (-M) they apply to.
"${zig[@]}" build-exe -target wasm32-freestanding -O ReleaseFast -fstrip -fno-entry -rdynamic \
  --dep weir -Mroot=filter.zig \
  -target wasm32-freestanding -O ReleaseFast -fstrip -Mweir=weir-sdk/weir.zig \
  --name {{name}} -femit-bin="$out"
echo "built $out"
