#!/usr/bin/env bash
# Builds the filter: ./build.sh [OUT.wasm] (default {{name}}.wasm). Needs node >= 20 and
# npm; installs the packages first (the SDK `weir new` put in weir-sdk/, with its
# componentize-js, from the npm registry).
set -euo pipefail
out=$(realpath -m "${1:-{{name}}.wasm}")
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "error: node and npm are not installed: install Node.js 20 or later with npm" >&2
  exit 1
fi
# --install-links installs weir-sdk/ as a package, with its own dependencies.
[ -d node_modules/weir-filter-sdk ] || npm install --install-links --no-audit --no-fund
npx weir-filter-build filter.js -o "$out"
