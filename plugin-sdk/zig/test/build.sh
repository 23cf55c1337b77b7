#!/usr/bin/env bash
# Builds the SDK's exercise filter: build.sh OUT.wasm
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
if command -v zig >/dev/null; then
  zig=(zig)
elif python3 -c 'import ziglang' 2>/dev/null; then
  zig=(python3 -m ziglang)
else
  zig=(python -m ziglang)
fi
"${zig[@]}" build-exe -target wasm32-freestanding -O ReleaseFast -fstrip -fno-entry -rdynamic \
  --dep weir -Mroot=exercise.zig -target wasm32-freestanding -O ReleaseFast -fstrip -Mweir=../weir.zig \
  --name exercise -femit-bin="$out"
