#!/usr/bin/env bash
# Builds the filter: ./build.sh [OUT.wasm] (default {{name}}.wasm).
# Needs Rust with the wasm32-wasip2 target: rustup target add wasm32-wasip2
set -euo pipefail
out=$(realpath -m "${1:-{{name}}.wasm}")
cd "$(dirname "$0")"
if ! command -v cargo >/dev/null; then
  echo "error: cargo is not installed: install Rust (https://rustup.rs), then: rustup target add wasm32-wasip2" >&2
  exit 1
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -q '^wasm32-wasip2$'; then
  echo "error: the wasm32-wasip2 target is missing: rustup target add wasm32-wasip2" >&2
  exit 1
fi
cargo build --release --target wasm32-wasip2 --quiet
# Where cargo put it: `target/` unless CARGO_TARGET_DIR or a cargo config says otherwise.
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
cp "${target:-target}/wasm32-wasip2/release/$(echo '{{name}}' | tr - _).wasm" "$out"
echo "built $out"
