#!/usr/bin/env bash
# Builds the filter: build.sh OUT.wasm (node >= 20; runs `npm install` first when the
# packages are not there).
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
[ -d node_modules/assemblyscript ] && [ -d node_modules/json-as ] && [ -e node_modules/weir-sdk ] ||
  npm install --no-audit --no-fund
node node_modules/assemblyscript/bin/asc.js assembly/filter.ts -o "$out" \
  --runtime incremental --optimize --transform json-as
