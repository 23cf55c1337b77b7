#!/usr/bin/env bash
# Builds the filter: ./build.sh [OUT.wasm] (default {{name}}.wasm). Needs node >= 20 and
# npm; installs the packages (assemblyscript, json-as, the SDK in weir-sdk/) first.
set -euo pipefail
out=$(realpath -m "${1:-{{name}}.wasm}")
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "error: node and npm are not installed: apt-get install nodejs npm (node >= 20)" >&2
  exit 1
fi
[ -d node_modules/assemblyscript ] && [ -d node_modules/json-as ] && [ -e node_modules/weir-sdk ] ||
  npm install --no-audit --no-fund
# The entry is assembly/filter.ts: named assembly/index.ts, json-as's transform makes an
# empty module.
node node_modules/assemblyscript/bin/asc.js assembly/filter.ts -o "$out" \
  --runtime incremental --optimize --transform json-as
echo "built $out"
