#!/usr/bin/env bash
# Builds the filter: build.sh OUT.wasm (zig on PATH, or PyPI ziglang run as `python3 -m ziglang`).
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
# The target and optimisation options come before the module (-M) they apply to.
"${zig[@]}" build-exe -target wasm32-freestanding -O ReleaseFast -fstrip -fno-entry -rdynamic \
  --dep weir -Mroot=class_filter.zig \
  -target wasm32-freestanding -O ReleaseFast -fstrip -Mweir=../../../plugin-sdk/zig/weir.zig \
  --name class_filter -femit-bin="$out"
