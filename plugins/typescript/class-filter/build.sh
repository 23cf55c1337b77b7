#!/usr/bin/env bash
# Builds the TypeScript class filter: ./build.sh OUT.wasm
# Needs node, `npm install` in plugin-sdk/javascript (the build tools) and in
# plugin-sdk/typescript (tsc). Checks the types, then bundles and componentizes.
set -euo pipefail
out="$(realpath -m "${1:?usage: build.sh OUT.wasm}")"
here="$(cd "$(dirname "$0")" && pwd)"
sdk="$here/../../../plugin-sdk"
"$sdk/typescript/node_modules/.bin/tsc" -p "$here"
exec node "$sdk/javascript/build.mjs" "$here/src/filter.ts" -o "$out"
