#!/usr/bin/env bash
# Builds the filter: build.sh OUT.wasm (wat2wasm from Debian's wabt; or wasm-tools parse).
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
if command -v wat2wasm >/dev/null; then
  wat2wasm class-filter.wat -o "$out"
else
  wasm-tools parse class-filter.wat -o "$out"
fi
